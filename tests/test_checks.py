"""The questions and their checks: right answers pass, wrong ones get a hint, nothing raises."""

import doctest
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lenet_course import checks, reference
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


def test_at_least_eight_questions_over_four_notebooks():
    assert len(QUESTIONS) >= 8
    assert notebooks() == ["01_shapes_and_counts", "02_c3_table", "03_numpy_layers", "04_build_and_train"]
    for question in QUESTIONS.values():
        assert question.points > 0 and question.reads
        assert all(read.kind in checks.KINDS for read in question.reads)
        assert (question.probes is not None) == any(read.kind == "function" for read in question.reads)


@pytest.mark.parametrize("notebook", notebooks())
def test_every_question_is_checked_in_its_solution_and_exercise(notebook):
    for folder in ("solutions", "exercises"):
        text = (ROOT / folder / f"{notebook}.md").read_text()
        for question in questions_for(notebook):
            names = ", ".join(read.name for read in question.reads)
            assert f'check("{question.name}", {names})' in text, (folder, question.name)


# ---- right answers pass -----------------------------------------------------------------

def test_right_answers_pass(capsys):
    from lenet_course.layers import C3_TABLE
    from lenet_course.models import PAPER_COUNTS

    c1, c3 = PAPER_COUNTS["C1"], PAPER_COUNTS["C3"]
    answers = {
        "conv-output-size": (right_output_size,),
        "c1-counts": (c1["params"], c1["connections"]),
        "c5-f6-params": (PAPER_COUNTS["C5"]["params"] + PAPER_COUNTS["F6"]["params"],),
        "c3-table": (C3_TABLE.astype(int).tolist(),),  # a nested list of 0/1 is fine too
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


def test_c3_table_hints_point_at_the_mistake():
    from lenet_course.layers import C3_TABLE

    assert "16 rows and 6 columns" in evaluate("c3-table", C3_TABLE.T).message
    swapped = C3_TABLE.copy()
    swapped[:, [12, 13]] = swapped[:, [13, 12]]
    assert "[12, 13]" in evaluate("c3-table", swapped).message
    extra = C3_TABLE.copy()
    extra[3, 0] = True
    verdict = evaluate("c3-table", extra)
    assert not verdict.passed and "[0]" in verdict.message


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
