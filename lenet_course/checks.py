"""Instant feedback for the exercise notebooks, and the very checks the grader uses.

In an exercise notebook, after each answer::

    from lenet_course.checks import check
    check("c1-counts", c1_params, c1_connections)   # prints ✅ ... or ❌ ... with a hint

``check`` never raises, whatever it is passed, and is cheap: the questions about
a trained network measure the learner's own network again (on the sample's
held-out digits), and no check trains anything itself.

The questions of the per-chapter exercise notebooks are defined in
``lenet_course.questions`` (one module per chapter) and registered here, in
``QUESTIONS``; the first ten, defined below, are ``CORE_QUESTIONS``.

Every question is a ``Question`` in ``QUESTIONS``: its name, the notebook it
belongs to, the variables it reads from the learner's notebook (``reads``) and a
judge. ``evaluate(name, *answers)`` runs the judge and returns a ``Verdict``;
``check`` prints it. The instructor's grader (``lenet_course.grading``) runs the
same judges on the answers it extracts from a submission, so a learner sees in
the notebook exactly what the grader will decide.

Answers come in four kinds:

* ``"value"`` -- numbers, tuples, arrays (plain data);
* ``"function"`` -- a function the judge calls on inputs it draws (``probes``)
  and compares with the package's reference (``lenet_course.reference``);
* ``"model"`` -- a Keras model;
* ``"history"`` -- what ``train`` or ``model.fit`` returned (or its ``.history`` dict).

Example:
    >>> check("c1-counts", 156, 122_304)
    ✅ c1-counts: right: 156 parameters and 122,304 connections.
    >>> check("c1-counts", 150, 122_304)
    ❌ c1-counts: half right. `c1_params`: 150 is not right. Each of the 6 maps also has one bias.
    >>> check("c1-counts", ..., ...)  # doctest: +ELLIPSIS
    ❌ c1-counts: not answered yet: ...
"""

import functools
import math
import reprlib
from dataclasses import dataclass, field

import numpy as np

PASS, FAIL = "✅", "❌"
KINDS = ("value", "function", "model", "history")

# The training question: a goal reachable in well under a minute on two CPU cores.
TRAINING_TARGET = 0.94   # accuracy on the 2,000 held-out digits of the shipped sample
TRAINING_MAX_EPOCHS = 3

# In the notebook, functions are probed with this seed, so feedback is repeatable;
# the grader draws its own inputs.
NOTEBOOK_SEED = 0

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist = 40, 40, 6


class Wrong(Exception):
    """Raised inside a judge: the answer is wrong, and the message says how to fix it."""


@dataclass(frozen=True)
class Answer:
    """One variable a question reads from the learner's notebook."""

    name: str
    kind: str = "value"


@dataclass(frozen=True)
class Question:
    """A graded question.

    Attributes:
        name: what ``check`` is called with, e.g. ``"c3-counts"``.
        notebook: the exercise notebook it belongs to, e.g. ``"04_c3_connection_table"``
            (named after its chapter).
        title: one line saying what is asked.
        reads: the learner's variables, in the order ``check`` takes them.
        judge: ``judge(*answers)`` returns a message when right, raises ``Wrong``
            when not; it may return ``(fraction, message)`` for partial credit.
        points: what a fully right answer earns.
        probes: for a function answer, ``probes(rng)`` returns the argument tuples
            the judge calls it with.
    """

    name: str
    notebook: str
    title: str
    reads: tuple
    judge: object
    points: float = 1.0
    probes: object = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of one question: points earned, ``status`` and a message for the learner.

    ``status`` is ``"passed"``, ``"partial"``, ``"failed"``, ``"blank"`` (the stub is
    still there), ``"missing"`` (the variable does not exist) or ``"error"`` (the
    answer could not be checked, e.g. the learner's function crashed the check).
    """

    question: str
    score: float
    max_score: float
    status: str
    message: str

    @property
    def passed(self):
        return self.status == "passed"

    def line(self):
        return f"{PASS if self.passed else FAIL} {self.question}: {self.message}"


@dataclass
class Probed:
    """A function answer seen through its outputs: ``outputs[i]`` is what it returned
    for ``inputs[i]``, or a ``ProbeError``."""

    inputs: list
    outputs: list = field(default_factory=list)


@dataclass(frozen=True)
class ProbeError:
    """The learner's function raised (``message`` is ``'TypeError: ...'``)."""

    message: str


@dataclass(frozen=True)
class Opaque:
    """An object the grader could not bring out of the learner's kernel (only its type is known)."""

    type_name: str


class RecordedHistory:
    """A training history rebuilt from the data of a Keras ``History`` (``epoch``, ``history``)."""

    def __init__(self, epoch, history):
        self.epoch, self.history = list(epoch), dict(history)


# ---------------------------------------------------------------------------------------
# The public functions


def check(name=None, *answers):
    """Print ✅ or ❌ and a hint for the answer(s) to question ``name``. Never raises.

    Args:
        name: the question, e.g. ``"c3-counts"`` (the notebook says which to use).
        *answers: the learner's variables, in the order the question reads them
            (e.g. ``check("c1-counts", c1_params, c1_connections)``).
    """
    try:
        verdict = evaluate(name, *answers)
        print(verdict.line())
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the promise: a check never raises
        label = name if isinstance(name, str) else type(name).__name__
        print(f"{FAIL} {label}: the check itself failed ({type(error).__name__}); please report it.")


def evaluate(name, *answers):
    """Judge the learner's live objects (as in a notebook) and return a ``Verdict``.

    Function answers are called here, on inputs drawn with ``NOTEBOOK_SEED``.
    """
    question = QUESTIONS.get(name) if isinstance(name, str) else None
    if question is None:
        known = ", ".join(f'"{q}"' for q in QUESTIONS)
        label = _short.repr(name)
        return Verdict(label, 0.0, 0.0, "error", f"there is no question {label}. The questions are: {known}.")
    if len(answers) != len(question.reads):
        names = ", ".join(a.name for a in question.reads)
        return _verdict(question, 0.0, "error",
                        f'expected {len(question.reads)} answer(s): check("{question.name}", {names}); '
                        f"received {len(answers)}.")
    prepared = []
    for read, value in zip(question.reads, answers):
        if read.kind == "function" and callable(value):
            value = probe(question, value, np.random.default_rng(NOTEBOOK_SEED))
        elif read.kind == "history":
            value = _as_history(value)
        prepared.append(value)
    return judge(question, prepared)


def judge(question, answers):
    """Run ``question``'s judge on prepared answers (function answers already ``Probed``).

    This is what both ``check`` and the grader call. It never raises: blank answers
    (``...``), wrong answers and answers that break the judge all become a ``Verdict``.
    """
    for read, value in zip(question.reads, answers):
        if value is Ellipsis:
            return _verdict(question, 0.0, "blank",
                            f"not answered yet: replace the `...` in `{read.name} = ...` with your answer.")
        if read.kind == "function" and not isinstance(value, Probed):
            return _verdict(question, 0.0, "failed",
                            f"`{read.name}` should be a function; it is {_describe(value)}.")
        if read.kind == "function" and value.outputs and all(
                isinstance(out, ProbeError) and out.message.startswith("NotImplementedError")
                for out in value.outputs):
            return _verdict(question, 0.0, "blank",
                            f"not answered yet: write the body of `{read.name}` "
                            "in place of `raise NotImplementedError`.")
    try:
        result = question.judge(*answers)
    except Wrong as wrong:
        return _verdict(question, 0.0, "failed", str(wrong))
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return _verdict(question, 0.0, "error",
                        f"your answer could not be checked: {type(error).__name__}: {_short.repr(str(error))}")
    fraction, message = result if isinstance(result, tuple) else (1.0, result)
    status = "passed" if fraction >= 1 else ("partial" if fraction > 0 else "failed")
    return _verdict(question, fraction, status, message)


def exception_text(error):
    """``'TypeError: message'``, or the bare name of an exception raised without one.

    Example:
        >>> exception_text(ValueError("bad shape")), exception_text(NotImplementedError())
        ('ValueError: bad shape', 'NotImplementedError')
    """
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def probe(question, function, rng):
    """Call ``function`` on ``question.probes(rng)``; exceptions become ``ProbeError``."""
    inputs = question.probes(rng)
    outputs = []
    for args in inputs:
        try:
            outputs.append(function(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args]))
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            outputs.append(ProbeError(exception_text(error)))
    return Probed(inputs, outputs)


def questions_for(notebook):
    """The questions of one exercise notebook, in order (``[]`` for an unknown name)."""
    return [q for q in QUESTIONS.values() if q.notebook == notebook]


def notebooks():
    """The exercise notebooks that have questions, in order."""
    return list(dict.fromkeys(q.notebook for q in QUESTIONS.values()))


# ---------------------------------------------------------------------------------------
# Helpers for judges


def _verdict(question, fraction, status, message):
    fraction = min(max(float(fraction), 0.0), 1.0)
    return Verdict(question.name, round(fraction * question.points, 4), question.points, status, message)


def _describe(value):
    if isinstance(value, Opaque):
        return f"a {value.type_name} object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"{type(value).__name__} {_short.repr(value)}"


def _whole_number(value, name):
    """``value`` as an int, accepting 156, 156.0 and numpy numbers; ``Wrong`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Wrong(f"`{name}` should be a whole number; it is {_describe(value)}.")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise Wrong(f"`{name}` should be a whole number; it is {value!r}.")
    return int(value)


def _as_history(value):
    if hasattr(value, "epoch") and isinstance(getattr(value, "history", None), dict):
        return RecordedHistory(value.epoch, value.history)
    return value


def _epochs_trained(history):
    if isinstance(history, RecordedHistory):
        return len(history.epoch)
    if isinstance(history, dict) and history:
        lengths = {len(v) for v in history.values() if isinstance(v, (list, tuple, np.ndarray))}
        if len(lengths) == 1:
            return lengths.pop()
    raise Wrong("`history` should be what `train(...)` (or `model.fit`) returned, or its `.history` "
                f"dict; it is {_describe(history)}.")


def _counts_judge(layer, what_params, what_connections, params_hints, connections_hints):
    """A judge for ``(params, connections)`` of one layer of the paper."""

    def judge_counts(params, connections):
        from .reference import PAPER_COUNTS

        expected = PAPER_COUNTS[layer]
        params = _whole_number(params, what_params)
        connections = _whole_number(connections, what_connections)
        problems = []
        if params != expected["params"]:
            problems.append(f"`{what_params}`: {params:,} is not right. "
                            + params_hints.get(params, params_hints["default"]))
        if connections != expected["connections"]:
            problems.append(f"`{what_connections}`: {connections:,} is not right. "
                            + connections_hints.get(connections, connections_hints["default"]))
        if not problems:
            return f"right: {params:,} parameters and {connections:,} connections."
        if len(problems) == 2:
            raise Wrong(" ".join(problems))
        return 0.5, "half right. " + problems[0]

    return judge_counts


# ---------------------------------------------------------------------------------------
# Chapters 0 and 2: counts, the output size, the convolution


def _output_size_probes(rng):
    # LeNet-5's sides, then strides that do not divide evenly (the last kernel that would hang
    # over the edge gives no output: 7 pixels pooled 2 by 2 give 3), then random ones
    cases = [(32, 5, 1, 0), (14, 5, 1, 0), (28, 5, 1, 2), (28, 2, 2, 0),
             (7, 2, 2, 0), (28, 3, 2, 0), (32, 5, 3, 1)]
    while len(cases) < 10:
        k, s, p = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
        n = k - 2 * p + int(rng.integers(1, 40))
        if n >= 1:
            cases.append((n, k, s, p))
    return cases


def _judge_output_size(probed):
    wrong = []
    for (n, k, s, p), out in zip(probed.inputs, probed.outputs):
        if isinstance(out, ProbeError):
            raise Wrong(f"conv_output_size({n}, {k}, {s}, {p}) raised {out.message}")
        try:
            value = _whole_number(out.item() if isinstance(out, np.ndarray) and out.ndim == 0 else out, "it")
        except Wrong:
            raise Wrong(f"conv_output_size({n}, {k}, {s}, {p}) returned {_describe(out)}; "
                        "it should return a whole number.") from None
        if value != (n + 2 * p - k) // s + 1:
            wrong.append((n, k, s, p, value))
    if not wrong:
        return f"right on all {len(probed.inputs)} cases (C1: 32 -> {(32 - 5) + 1})."
    n, k, s, p, value = wrong[0]
    simple = [w for w in wrong if w[2] == 1 and w[3] == 0]
    uneven = [w for w in wrong if (w[0] + 2 * w[3] - w[1]) % w[2]]
    if simple:
        n, k, s, p, value = simple[0]
        hint = "With stride 1 and no padding, count the positions the left edge of a k-wide kernel can take in n pixels."
    elif len(uneven) == len(wrong):
        n, k, s, p, value = uneven[0]
        hint = ("Only positions where the kernel fits entirely count: when the last jump would hang over "
                "the edge, there is no output pixel for it (round down).")
    elif any(w[3] > 0 for w in wrong) and not any(w[3] == 0 for w in wrong):
        hint = "Padding p adds p pixels on *each* side of the input."
    else:
        hint = "With stride s the kernel jumps s pixels at a time: how many jumps fit after the first position?"
    raise Wrong(f"conv_output_size({n}, {k}, {s}, {p}) returned {value}. {hint}")


_judge_c1_counts = _counts_judge(
    "C1", "c1_params", "c1_connections",
    {150: "Each of the 6 maps also has one bias.",
     26: "That is one map; C1 has 6.",
     "default": "Each of the 6 maps has one 5x5 kernel over the single input image, and one bias."},
    {156: "That is the parameter count: a connection is one multiply-add at one output position.",
     28 * 28 * 26: "That is one map's connections; C1 has 6 maps.",
     "default": "Every one of the 28x28 output positions of a map uses all of that map's 26 weights."},
)


def _judge_c5_f6_params(total):
    from .reference import PAPER_COUNTS

    c5, f6 = PAPER_COUNTS["C5"]["params"], PAPER_COUNTS["F6"]["params"]
    total = _whole_number(total, "c5_f6_params")
    if total == c5 + f6:
        share = total / sum(row["params"] for row in PAPER_COUNTS.values())
        return f"right: {total:,} parameters, {share:.0%} of the network, sit in its two fully connected layers."
    if total == c5:
        raise Wrong(f"{total:,} is C5 alone; add F6.")
    if total == f6:
        raise Wrong(f"{total:,} is F6 alone; add C5.")
    raise Wrong(f"{total:,} is not right. C5 has 120 maps, each with a 5x5 kernel over every one of "
                "the 16 S4 maps, plus a bias; F6 connects C5's 120 outputs to 84 units, plus a bias each.")


# ---------------------------------------------------------------------------------------
# Chapter 4: the C3 connection table


_judge_c3_counts = _counts_judge(
    "C3", "c3_params", "c3_connections",
    {2_416: "That is a fully connected C3: only the 60 map pairs of Table I have a kernel.",
     1_500: "Each of the 16 C3 maps also has one bias.",
     "default": "Count one 5x5 kernel per connection of the table (60 of them), plus one bias per C3 map."},
    {1_516: "That is the parameter count: a connection is one multiply-add at one output position.",
     241_600: "That is a fully connected C3; only the pairs in Table I count.",
     "default": "Every one of the 10x10 output positions uses all of C3's parameters once."},
)


# ---------------------------------------------------------------------------------------
# Chapters 2 and 3: NumPy forward passes


def _conv2d_probes(rng):
    cases = [((32, 32, 1), 5, 6)]  # C1's shapes
    for _ in range(3):
        cases.append(((int(rng.integers(5, 11)), int(rng.integers(5, 11)), int(rng.integers(1, 4))),
                      int(rng.choice([2, 3, 5])), int(rng.integers(1, 5))))
    probes = []
    for (h, w, m), k, out in cases:
        probes.append((rng.normal(size=(h, w, m)), rng.normal(size=(k, k, m, out)), rng.normal(size=(out,))))
    return probes


def _subsample_probes(rng):
    probes = [(rng.normal(size=(28, 28, 6)), rng.normal(size=6), rng.normal(size=6), 2)]
    for pool in (2, 2, 3):
        maps = int(rng.integers(1, 5))
        shape = (pool * int(rng.integers(1, 6)), pool * int(rng.integers(1, 6)), maps)
        probes.append((rng.normal(size=shape), rng.normal(size=maps), rng.normal(size=maps), pool))
    return probes


def _judge_conv2d(probed):
    from .reference import conv2d

    def diagnose(args, got, expected):
        image, kernels, biases = args
        if np.allclose(got, expected - biases, atol=1e-6):
            return "Only the bias is missing: add biases[m] to output map m."
        if np.allclose(got, conv2d(image, kernels[::-1, ::-1], biases), atol=1e-6):
            return "Your kernel is flipped: in deep learning a convolution slides the kernel as it is."
        return ("Output[y, x, m] is the sum over the k x k window at (y, x) and over all input maps of "
                "window * kernels[:, :, :, m], plus biases[m].")

    from .questions._kit import same_outputs

    return same_outputs("my_conv2d", conv2d, diagnose)(probed)


def _judge_subsample(probed):
    from .reference import subsample

    def diagnose(args, got, expected):
        maps, coefficients, biases, pool = args
        plain = subsample(maps, np.ones_like(coefficients), np.zeros_like(biases), pool)
        if np.allclose(got, plain * coefficients / pool**2 + biases, atol=1e-6):
            return "Use the block's sum, not its mean: the coefficient does the scaling."
        if np.allclose(got, expected - biases, atol=1e-6):
            return "Only the bias is missing: add biases[c] to map c."
        return ("Each output is coefficients[c] times the sum of a non-overlapping pool x pool block of "
                "map c, plus biases[c].")

    from .questions._kit import same_outputs

    return same_outputs("my_subsample", subsample, diagnose)(probed)


# ---------------------------------------------------------------------------------------
# Chapters 8 to 10: build, train, evaluate


def _judge_lenet5_spec(model):
    import keras

    from .models import build_lenet5, layer_table

    if not isinstance(model, keras.Model):
        raise Wrong(f"`my_lenet5` should be a Keras model; it is {_describe(model)}.")
    try:
        model.input_shape
    except (AttributeError, ValueError):
        raise Wrong("Keras does not know your model's input yet: start the Sequential with "
                    "keras.Input((32, 32, 1)).") from None
    if tuple(model.input_shape) != (None, 32, 32, 1):
        raise Wrong(f"The input should be one 32x32 image, shape (None, 32, 32, 1); yours is {model.input_shape}.")
    reference = layer_table(build_lenet5("paper", seed=None))
    rows = layer_table(model)
    names = [row.name for row in rows]
    if names != [row.name for row in reference]:
        raise Wrong(f"The layers that compute should be named {[r.name for r in reference]} in this order "
                    f"(pass name=...); yours are {names}.")
    for mine, paper in zip(rows, reference):
        if mine.output_shape != paper.output_shape:
            raise Wrong(f"{mine.name} outputs {mine.output_shape}; the paper's {paper.name} outputs "
                        f"{paper.output_shape}. Check its number of maps and its kernel or pool size.")
        if (mine.params, mine.connections) != (paper.params, paper.connections):
            raise Wrong(f"{mine.name} has {mine.params:,} trainable parameters and {mine.connections:,} "
                        f"connections; the paper's has {paper.params:,} and {paper.connections:,}. Is it "
                        "the right kind of layer (see the spec)?")
    squashed = [layer.name for layer in model.layers
                if getattr(getattr(layer, "activation", None), "__name__", "") == "scaled_tanh"]
    missing = [name for name in ("C1", "S2", "C3", "S4", "C5", "F6") if name not in squashed]
    if missing:
        raise Wrong(f"{missing} should use the paper's squashing function: activation=scaled_tanh.")
    return (f"right: every layer matches the paper, {rows.total_params:,} trainable parameters and "
            f"{rows.total_connections:,} connections.")


@functools.lru_cache(maxsize=1)
def _held_out():
    from .data import load_mnist

    return load_mnist(source="sample", verbose=False)


def _judge_trained_model(model, history):
    from .models import accuracy, variant_of

    try:
        variant_of(model)
    except ValueError:
        raise Wrong(f"`model` should be a network from build_lenet5(...); it is {_describe(model)}.") from None
    epochs = _epochs_trained(history)
    if epochs > TRAINING_MAX_EPOCHS:
        raise Wrong(f"You trained {epochs} epochs; the goal is to get there in at most {TRAINING_MAX_EPOCHS}.")
    data = _held_out()
    score = accuracy(model, data.x_test, data.y_test)
    if score >= TRAINING_TARGET:
        return f"right: {score:.1%} of the {len(data.y_test):,} held-out digits, after {epochs} epoch(s)."
    raise Wrong(f"Your model reads {score:.1%} of the {len(data.y_test):,} held-out digits; the goal is "
                f"{TRAINING_TARGET:.0%}. Did you train it on load_mnist('sample') and use all "
                f"{TRAINING_MAX_EPOCHS} epochs?")


def _judge_confused_pair(pair, model):
    from .models import predict_digits
    from .plots import confusion_matrix

    try:
        true, predicted = (_whole_number(v, "most_confused_pair") for v in pair)
    except (TypeError, ValueError):
        raise Wrong("`most_confused_pair` should be two digits, (true digit, predicted digit); "
                    f"it is {_describe(pair)}.") from None
    if not (0 <= true <= 9 and 0 <= predicted <= 9):
        raise Wrong(f"{(true, predicted)}: digits go from 0 to 9.")
    if true == predicted:
        raise Wrong("The diagonal counts the digits read correctly; look off the diagonal.")
    data = _held_out()
    matrix = confusion_matrix(data.y_test, predict_digits(model, data.x_test))
    off_diagonal = matrix - np.diag(np.diag(matrix))
    most = int(off_diagonal.max())
    if matrix[true, predicted] == most:
        return f"right: {most} held-out {true}s were read as {predicted}s, more than any other mistake."
    if matrix[predicted, true] == most:
        raise Wrong("Nearly: the pair is the other way round. Rows are the true digits, columns the predictions.")
    raise Wrong(f"Your model read {matrix[true, predicted]} {true}s as {predicted}s, but another mistake "
                f"happens {most} times. Look for the largest number off the diagonal "
                "(row = true digit, column = predicted digit).")


# ---------------------------------------------------------------------------------------
# The registry


def _register(*questions):
    return {q.name: q for q in questions}


# The questions defined above, each filed under the exercise notebook of its chapter; the
# chapter modules of ``lenet_course.questions`` place them among their own.
CORE_QUESTIONS = _register(
    Question("c5-f6-params", "00_five_minutes",
             "Count the trainable parameters of C5 and F6 together.",
             (Answer("c5_f6_params"),), _judge_c5_f6_params),
    Question("conv-output-size", "02_c1_convolution",
             "Write the output-size formula of a convolution as a function.",
             (Answer("conv_output_size", "function"),), _judge_output_size, probes=_output_size_probes),
    Question("c1-counts", "02_c1_convolution",
             "Count C1's trainable parameters and connections.",
             (Answer("c1_params"), Answer("c1_connections")), _judge_c1_counts),
    Question("conv2d", "02_c1_convolution",
             "Write a convolution's forward pass in NumPy.",
             (Answer("my_conv2d", "function"),), _judge_conv2d, probes=_conv2d_probes),
    Question("subsample", "03_s2_subsampling",
             "Write the paper's subsampling forward pass in NumPy.",
             (Answer("my_subsample", "function"),), _judge_subsample, probes=_subsample_probes),
    Question("c3-counts", "04_c3_connection_table",
             "Count C3's trainable parameters and connections.",
             (Answer("c3_params"), Answer("c3_connections")), _judge_c3_counts),
    Question("lenet5-spec", "08_whole_network",
             "Build the paper's LeNet-5 in Keras to the given spec.",
             (Answer("my_lenet5", "model"),), _judge_lenet5_spec),
    Question("trained-model", "09_training",
             f"Train a network to {TRAINING_TARGET:.0%} on the sample's held-out digits "
             f"in at most {TRAINING_MAX_EPOCHS} epochs.",
             (Answer("model", "model"), Answer("history", "history")), _judge_trained_model),
    Question("confused-pair", "10_evaluation",
             "Read the confusion matrix: which pair of digits is confused most?",
             (Answer("most_confused_pair"), Answer("model", "model")), _judge_confused_pair),
)

from .questions import all_questions  # noqa: E402  (its modules use the names above)

QUESTIONS = _register(*all_questions())
