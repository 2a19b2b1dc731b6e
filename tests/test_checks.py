"""The questions and their checks: right answers pass, wrong ones get a hint, nothing raises."""

import doctest
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lenet_course import checks, questions, reference
from lenet_course.checks import QUESTIONS, check, evaluate, notebooks, questions_for

ROOT = Path(__file__).resolve().parents[1]


def printed(capsys, *args):
    check(*args)
    return capsys.readouterr().out


def right_output_size(input_size, kernel_size, stride=1, padding=0):
    return (input_size + 2 * padding - kernel_size) // stride + 1


def test_docstring_examples():
    result = doctest.testmod(checks, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def chapter_stems():
    """book/five_minutes is exercise 00, book/backpropagation (after 09) exercise 09b; every other
    chapter gives its stem to its exercise."""
    numbered = [p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.md")]
    return sorted(["00_five_minutes", "09b_backpropagation"] + numbered)


def test_a_notebook_per_chapter_and_at_least_35_questions():
    assert len(QUESTIONS) >= 35
    assert notebooks() == chapter_stems()
    assert set(checks.CORE_QUESTIONS.values()) <= set(QUESTIONS.values())
    for question in QUESTIONS.values():
        assert question.points > 0 and question.reads
        assert all(read.kind in checks.KINDS for read in question.reads)
        assert (question.probes is not None) == any(read.kind == "function" for read in question.reads)


@pytest.mark.parametrize("notebook", notebooks())
def test_every_notebook_asks_all_three_kinds_of_question(notebook):
    kinds = questions.kinds()
    assert {kinds[q.name] for q in questions_for(notebook)} == {"compute", "implement", "experiment"}


def test_every_question_has_a_kind():
    assert set(questions.kinds()) == set(QUESTIONS)


@pytest.mark.parametrize("notebook", notebooks())
def test_every_question_is_checked_in_its_solution_and_exercise(notebook):
    for folder in ("solutions", "exercises"):
        text = re.sub(r",\s+", ", ", (ROOT / folder / f"{notebook}.md").read_text())  # a call may wrap
        for question in questions_for(notebook):
            names = ", ".join(read.name for read in question.reads)
            assert f'check("{question.name}", {names})' in text, (folder, question.name)


# ---- right answers pass -----------------------------------------------------------------

def test_right_answers_pass(capsys):
    from lenet_course.models import PAPER_COUNTS

    c1, c3 = PAPER_COUNTS["C1"], PAPER_COUNTS["C3"]
    answers = {
        "conv-output-size": (right_output_size,),
        "c1-counts": (c1["params"], c1["connections"]),
        "c5-f6-params": (PAPER_COUNTS["C5"]["params"] + PAPER_COUNTS["F6"]["params"],),
        "c3-counts": (float(c3["params"]), np.int64(c3["connections"])),
        "conv2d": (reference.conv2d,),
        "subsample": (reference.subsample,),
    }
    for name, answer in answers.items():
        verdict = evaluate(name, *answer)
        assert verdict.status == "passed" and verdict.score == verdict.max_score, verdict
        assert printed(capsys, name, *answer).startswith("✅ " + name)


def test_the_package_model_meets_the_spec():
    from lenet_course.models import build_lenet5

    verdict = evaluate("lenet5-spec", build_lenet5("paper", seed=0))
    assert verdict.passed, verdict.message


# ---- wrong answers fail, with a hint that does not give the answer away --------------------

@pytest.mark.parametrize("name, answers, secret", [
    ("c1-counts", (1, 2), ["156", "122,304", "122304"]),
    ("c1-counts", (150, 1), ["156", "122,304"]),
    ("c3-counts", (2416, 241600), ["1,516", "1516", "151,600"]),
    ("c5-f6-params", (48_120,), ["58,284", "58284"]),
    ("conv-output-size", (lambda n, k, s=1, p=0: n - k,), ["28"]),
])
def test_wrong_answers_get_a_hint_without_the_answer(capsys, name, answers, secret):
    out = printed(capsys, name, *answers)
    assert out.startswith("❌ " + name) and len(out.strip()) > len(name) + 10
    assert not any(s in out for s in secret), out
    assert evaluate(name, *answers).score < QUESTIONS[name].points


def test_half_right_counts_earn_half():
    verdict = evaluate("c1-counts", 156, 0)
    assert verdict.status == "partial" and verdict.score == pytest.approx(0.5)


def test_c3_inputs_hints_point_at_the_mistake():
    from lenet_course.layers import C3_TABLE

    right = [int(i) for i in np.flatnonzero(C3_TABLE[:, 13])]
    assert evaluate("c3-inputs", right).passed
    assert evaluate("c3-inputs", np.array(right)).passed
    extra = evaluate("c3-inputs", right + [next(i for i in range(6) if i not in right)])
    assert not extra.passed and "does not change" in extra.message
    missing = evaluate("c3-inputs", right[:2])
    assert not missing.passed and "missing" in missing.message and str(right) not in missing.message
    assert "list" in evaluate("c3-inputs", set(right)).message


def test_function_hints_name_the_common_mistakes():
    no_bias = evaluate("conv2d", lambda image, kernels, biases: reference.conv2d(image, kernels, 0 * biases))
    assert "bias" in no_bias.message and not no_bias.passed
    flipped = evaluate("conv2d", lambda image, kernels, biases: reference.conv2d(image, kernels[::-1, ::-1], biases))
    assert "flipped" in flipped.message
    mean = evaluate("subsample", lambda maps, c, b, p=2: reference.subsample(maps, c / p**2, b, p))
    assert "sum, not its mean" in mean.message
    fixed_pool = evaluate("subsample", lambda maps, c, b, p=2: reference.subsample(maps, c, b, 2))
    assert "shape" in fixed_pool.message and not fixed_pool.passed


def test_untrained_model_misses_the_training_goal():
    from lenet_course.models import build_lenet5

    model = build_lenet5("modern", seed=0)
    verdict = evaluate("trained-model", model, {"loss": [1.0], "accuracy": [0.5]})
    assert verdict.status == "failed" and "the goal is" in verdict.message
    too_long = evaluate("trained-model", model, {"loss": [1.0] * (checks.TRAINING_MAX_EPOCHS + 1)})
    assert too_long.status == "failed" and "epochs" in too_long.message


def test_confused_pair_is_read_from_the_models_own_confusion_matrix():
    from lenet_course.data import load_mnist
    from lenet_course.models import build_lenet5, predict_digits
    from lenet_course.plots import confusion_matrix

    model = build_lenet5("modern", seed=0)  # untrained: it confuses plenty
    data = load_mnist(source="sample")
    matrix = confusion_matrix(data.y_test, predict_digits(model, data.x_test))
    np.fill_diagonal(matrix, -1)
    true, predicted = (int(i) for i in np.unravel_index(matrix.argmax(), matrix.shape))
    assert evaluate("confused-pair", (true, predicted), model).passed
    assert evaluate("confused-pair", [np.int64(true), np.int64(predicted)], model).passed
    smallest = np.unravel_index(np.where(matrix >= 0, matrix, 10**9).argmin(), matrix.shape)
    assert not evaluate("confused-pair", tuple(int(i) for i in smallest), model).passed
    assert "diagonal" in evaluate("confused-pair", (3, 3), model).message


# ---- never raises, whatever it is passed ---------------------------------------------------

class Hostile:
    """An answer that breaks every protocol it is asked for."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")

    def __eq__(self, other):
        raise RuntimeError("no comparison")

    def __iter__(self):
        raise RuntimeError("no iteration")

    def __repr__(self):
        raise RuntimeError("no repr")

    def __call__(self, *args):
        sys.exit("a learner's function calling sys.exit")


def raising_function(*args):
    raise ZeroDivisionError("learner's bug")


WEIRD = [None, "text", 3.5, -1, [], [[1, 2], [3]], {"a": 1}, float("nan"), np.zeros((0,)), True,
         Hostile(), raising_function, lambda *a: "a string", lambda *a: np.full((2, 2), np.nan)]


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_check_never_raises(capsys, name):
    arity = len(QUESTIONS[name].reads)
    for value in WEIRD:
        out = printed(capsys, name, *([value] * arity))
        assert out.startswith("❌ ") and out.count("\n") == 1, (value, out)
    assert printed(capsys, name).startswith("❌ ")                        # too few answers
    assert printed(capsys, name, *([1] * (arity + 1))).startswith("❌ ")  # too many


def test_unknown_questions_and_blank_answers(capsys):
    assert "there is no question" in printed(capsys, "no-such-question", 1)
    assert "there is no question" in printed(capsys, Hostile())
    for name, question in QUESTIONS.items():
        verdict = evaluate(name, *([...] * len(question.reads)))
        assert verdict.status == "blank" and verdict.score == 0 and "not answered yet" in verdict.message


def test_a_stub_function_counts_as_blank():
    def conv_output_size(input_size, kernel_size, stride=1, padding=0):
        raise NotImplementedError

    assert evaluate("conv-output-size", conv_output_size).status == "blank"


def test_a_function_that_raises_without_a_message_is_named_without_an_empty_one():
    def conv_output_size(input_size, kernel_size, stride=1, padding=0):
        raise ValueError  # no message

    message = evaluate("conv-output-size", conv_output_size).message
    assert message.endswith("raised ValueError"), message


def test_function_answers_are_called_on_copies():
    def right_but_mutating(image, kernels, biases):
        out = reference.conv2d(image, kernels, biases)
        image[:], kernels[:] = 0, 0  # must not change the inputs the reference is computed on
        return out

    assert evaluate("conv2d", right_but_mutating).passed


def test_messages_use_the_training_goal_from_the_package():
    title = QUESTIONS["trained-model"].title
    assert f"{checks.TRAINING_TARGET:.0%}" in title and str(checks.TRAINING_MAX_EPOCHS) in title
    assert re.search(r"at most \d+ epochs", title)


# ---- the chapter questions: right answers pass, wrong ones get a hint without the answer ------

def chapter_right_answers():
    """Right answers to every chapter question that needs no trained network."""
    from lenet_course.data import paper_scale
    from lenet_course.layers import C3_TABLE
    from lenet_course.plots import confusion_matrix
    from lenet_course.questions import ch01, ch02, ch05, ch09, ch09b, ch13

    share, mean = ch01.measured_statistics()
    right_kernel = max(ch02.edge_responses(), key=ch02.edge_responses().get)
    return {
        "nearest-code": (lambda d: np.argmin(d, axis=-1),),
        "input-sizes": (32, 3),
        "paper-scale": (paper_scale,),
        "pixel-statistics": (share, mean),
        "c1-small-counts": (80, 72_000),
        "strongest-kernel": (right_kernel.upper(),),  # case does not matter
        "subsample-3x3": ([10, 10, 6], 12, 6_000),  # a list is fine for a shape
        "shift-effect": ("S2 changes less than C1",),
        "partial-conv2d": (lambda image, kernels, biases, table:
                           reference.conv2d(image, kernels * table[None, None], biases),),
        "c3-inputs": ([int(i) for i in np.flatnonzero(C3_TABLE[:, 13])],),
        "c3-field": (14,),
        "s4-20-maps": (40, 2_500),
        "receptive-field": (ch05.receptive_field,),
        "s4-field-3x3": (10,),
        "c5-48": (9, 5, 48_120),
        "c5-as-dense": (lambda k: k.reshape(-1, k.shape[-1]),),
        "f6-100-inputs": (8_484,),
        "rbf-distances": (lambda f, c: np.array([reference.rbf_distances(row, c) for row in f]),),
        "dense-c3-and-s2": (2_416, 4_704),
        "params-and-work": ("C5", "C3"),
        "rate-in-pass-12": (0.00005, 0.001),
        "momentum-step": (ch09.momentum_step,),
        "backprop-counts": (117_600, [5, 5, 60]),
        "scaled-tanh-backward": (ch09b.scaled_tanh_backward,),
        "float32-gradient-check": (6e-10, 0.4),
        "confusion-cells": ((4, 9), "row 4"),
        "confusion-matrix": (confusion_matrix,),
        "values-per-layer": (4_704, 400),
        "scaled-tanh": (reference.scaled_tanh,),
        "seed-counts": (2_416, 850),
        "paper-errors": (95, 19),
        "shift-images": (ch13.shift_images,),
    }


def test_chapter_questions_accept_right_answers():
    for name, answer in chapter_right_answers().items():
        verdict = evaluate(name, *answer)
        assert verdict.passed and verdict.score == verdict.max_score, verdict


def test_the_rate_in_pass_12_tells_a_pass_counted_from_0_from_the_right_one():
    from lenet_course.train import paper_learning_rate_schedule

    schedule = paper_learning_rate_schedule().schedule
    verdict = evaluate("rate-in-pass-12", 0.00005, schedule(12))  # pass 13's rate
    assert verdict.score < verdict.max_score and "0-based" in verdict.message
    assert evaluate("rate-in-pass-12", 0.00001, schedule(11)).score < verdict.max_score


def test_the_output_size_rounds_down_when_the_last_step_hangs_over_the_edge():
    import math

    right = evaluate("conv-output-size", right_output_size)
    assert right.passed
    for almost in (lambda n, k, s=1, p=0: math.ceil((n + 2 * p - k) / s) + 1,
                   lambda n, k, s=1, p=0: round((n + 2 * p - k) / s) + 1,
                   lambda n, k, s=1, p=0: (n + 2 * p - k) / s + 1):
        verdict = evaluate("conv-output-size", almost)
        assert not verdict.passed, verdict


def test_a_convolution_computed_in_float32_is_right():
    # float32 errs by about 1e-6 of the output's scale, also at outputs near 0 (seen: 1.7e-6 at -0.035)
    def conv2d_in_float32(image, kernels, biases):
        image, kernels, biases = (array.astype(np.float32) for array in (image, kernels, biases))
        k = kernels.shape[0]
        out = np.zeros((image.shape[0] - k + 1, image.shape[1] - k + 1, kernels.shape[3]), np.float32)
        for y in range(out.shape[0]):
            for x in range(out.shape[1]):
                out[y, x] = np.tensordot(image[y:y + k, x:x + k], kernels, axes=3) + biases
        return out

    assert evaluate("conv2d", conv2d_in_float32).passed
    assert not evaluate("conv2d", lambda i, k, b: reference.conv2d(i, k, b) + 1e-3).passed


def test_counting_one_map_of_c1_is_told_so():
    assert "one map's connections; C1 has 6" in evaluate("c1-counts", 156, 28 * 28 * 26).message
    assert "one map's connections; there are 8" in evaluate("c1-small-counts", 80, 30 * 30 * 10).message


def test_the_seed_network_meets_its_spec():
    from lenet_course.models import build_lenet5

    assert evaluate("seed-spec", build_lenet5("keras", seed=0)).passed
    assert not evaluate("seed-spec", build_lenet5("modern", seed=0)).passed  # ReLU, max pooling


def test_the_seed_spec_wants_average_pooling_not_max_pooling():
    # Max pooling has the same shapes and no parameters either: only the layer's kind tells
    import keras

    from lenet_course.models import _seed_shaped

    verdict = evaluate("seed-spec", _seed_shaped("keras", "tanh", keras.layers.MaxPooling2D))
    assert not verdict.passed and "S2 should be an AveragePooling2D" in verdict.message


@pytest.mark.parametrize("name, answers, secret", [
    ("input-sizes", (28, 7), ["32"]),
    ("c1-small-counts", (72, 1), ["80", "72,000", "72000"]),
    ("subsample-3x3", ((15, 15, 6), 18, 1), ["(10, 10, 6)", "6,000"]),
    ("c3-field", (5,), ["14"]),
    ("s4-20-maps", (32, 2_000), ["40", "2,500"]),
    ("s4-field-3x3", (16,), ["10"]),
    ("backprop-counts", (784, (5, 5, 6, 16)), ["117,600", "117600", "(5, 5, 60)"]),
    ("float32-gradient-check", (0.4, 6e-10), []),
    ("scaled-tanh-backward", (lambda a, g: g * (1 - np.tanh(a) ** 2),), ["1.7159", "2/3"]),
    ("c5-48", (10, 6, 1), ["9", "48,120"]),
    ("f6-100-inputs", (10_164,), ["8,484", "8484"]),
    ("dense-c3-and-s2", (1_516, 5_880), ["2,416", "4,704"]),
    ("params-and-work", ("F6", "C1"), ["C5", "C3"]),
    ("rate-in-pass-12", (0.0001, 0.002), ["5e-05", "0.00005", "0.001"]),
    ("confusion-cells", ((9, 4), "column 4"), ["(4, 9)", "row 4"]),
    ("values-per-layer", (784, 256), ["4,704", "400"]),
    ("seed-counts", (1_516, 840), ["2,416", "850"]),
    ("paper-errors", (950, 180), ["95 ", "19 "]),
    ("shift-effect", ("S2 changes more than C1",), ["less than"]),
    ("scaled-tanh", (np.tanh,), ["1.7159", "2/3"]),
    ("shift-images", (lambda images, down, right: np.roll(images, (down, right), axis=(1, 2)),), []),
    ("momentum-step", (lambda w, v, g, lr, m: (w - lr * g, v),), []),
    ("rbf-distances", (lambda f, c: np.sqrt(((f[:, None] - c[None]) ** 2).sum(-1)),), []),
    ("c5-as-dense", (lambda k: k.transpose(2, 0, 1, 3).reshape(-1, k.shape[-1]),), []),
    ("confusion-matrix", (lambda labels, predictions: confusion_matrix_transposed(labels, predictions),), []),
])
def test_chapter_questions_hint_without_giving_the_answer(capsys, name, answers, secret):
    out = printed(capsys, name, *answers)
    assert out.startswith("❌ " + name) and len(out.strip()) > len(name) + 20, out
    assert not any(s in out for s in secret), out
    assert evaluate(name, *answers).score < QUESTIONS[name].points


def confusion_matrix_transposed(labels, predictions):
    from lenet_course.plots import confusion_matrix

    return confusion_matrix(labels, predictions).T


def test_function_hints_name_the_common_chapter_mistakes():
    assert "plain tanh" in evaluate("scaled-tanh", np.tanh).message
    assert "wraps" in evaluate("shift-images", lambda i, d, r: np.roll(i, (d, r), axis=(1, 2))).message
    assert "squared" in evaluate("rbf-distances",
                                 lambda f, c: np.sqrt(((f[:, None] - c[None]) ** 2).sum(-1))).message
    assert "Rows are the true digits" in evaluate("confusion-matrix", confusion_matrix_transposed).message
    assert "every input map" in evaluate("partial-conv2d", lambda i, k, b, t: reference.conv2d(i, k, b)).message
    assert "largest distance" in evaluate("nearest-code", lambda d: np.argmax(d, axis=-1)).message
    assert "S a has a derivative" in evaluate(
        "scaled-tanh-backward", lambda a, g: g * 1.7159 * (1 - np.tanh(2 * a / 3) ** 2)).message
    assert "plain SGD" in evaluate("momentum-step", lambda w, v, g, lr, m: (w - lr * g, v)).message


def test_experiments_on_a_model_measure_the_model():
    """The judges of experiment answers recompute the measurement with the learner's own model."""
    from lenet_course.data import load_mnist
    from lenet_course.models import accuracy, build_lenet5, predict_digits
    from lenet_course.questions import ch06, ch07, ch13

    data = load_mnist(source="sample")
    model = build_lenet5("paper", seed=0)  # untrained: its measurements are its own
    read = int(predict_digits(model, data.x_test[:1])[0])
    assert evaluate("read-from-f6", read, model).passed
    assert not evaluate("read-from-f6", (read + 1) % 10, model).passed
    shifted = accuracy(model, ch13.shift_images(data.x_test, *ch13.SHIFT), data.y_test)
    assert evaluate("shifted-accuracy", shifted, model).passed
    assert not evaluate("shifted-accuracy", shifted + 0.2, model).passed
    readings = ch06.readings_on_page(model, ch06.page_with_digit(data.x_test[0]))
    right = int((readings == data.y_test[0]).sum())
    assert evaluate("sliding-c5", right, model).passed
    assert not evaluate("sliding-c5", right + 1, model).passed
    softmax = build_lenet5("modern", seed=0)
    answer = {(True, False): "the RBF output", (False, True): "the softmax output", (True, True): "both",
              (False, False): "neither"}[(ch07.separates(model), ch07.separates(softmax))]
    assert evaluate("not-a-digit", answer, model, softmax).passed
    wrong = next(option for option in ch07.OUTPUT_OPTIONS if option != answer)
    verdict = evaluate("not-a-digit", wrong, model, softmax)
    assert not verdict.passed and answer not in verdict.message
    assert "`accuracy_after`" in evaluate("one-epoch", 0.1, 0.95, model).message  # untrained: not 95%
    # two experiments measure both networks again: typed-in numbers are not measurements
    untrained = accuracy(model, data.x_test, data.y_test)
    other = build_lenet5("paper", seed=1)
    other_accuracy = accuracy(other, data.x_test, data.y_test)
    typed_in = evaluate("momentum-on-off", 0.92, other_accuracy, model, other)
    assert not typed_in.passed and "`with_model` reads" in typed_in.message
    measured = evaluate("momentum-on-off", untrained, other_accuracy, model, other)
    assert not measured.passed and "With momentum you measured" in measured.message
    seed_model, another = build_lenet5("keras", seed=0), build_lenet5("keras", seed=1)
    sgd, adam = accuracy(seed_model, data.x_test, data.y_test), accuracy(another, data.x_test, data.y_test)
    typed_in = evaluate("optimiser-matters", sgd, 0.91, seed_model, another)
    assert not typed_in.passed and "`adam_model` reads" in typed_in.message
    assert "With Adam you measured" in evaluate("optimiser-matters", sgd, adam, seed_model, another).message
    assert "build_lenet5('keras')" in evaluate("optimiser-matters", sgd, adam, model, another).message
    assert "build_lenet5('modern')" in evaluate("not-a-digit", answer, model, model).message
