"""Exercise questions for chapter 11, what the network sees (``exercises/11_what_the_network_sees``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['values-per-layer', 'scaled-tanh', 'read-from-f6']
"""

import numpy as np

from ..checks import Answer, Question, Wrong, _held_out, _whole_number
from ._kit import same_outputs, whole_numbers

NOTEBOOK = "11_what_the_network_sees"


def _scaled_tanh(a):
    from ..reference import scaled_tanh

    return scaled_tanh(a)


def _array_probes(rng):
    return [(rng.normal(scale=3, size=tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))),)
            for _ in range(4)] + [(np.array([0.0, 1.0, -1.0, 50.0]),)]


def _diagnose_tanh(args, got, expected):
    (a,) = args
    if np.allclose(got, np.tanh(a), atol=1e-6):
        return "That is plain tanh; the paper's function is tanh scaled, inside and outside."
    return "Compare your values at 1 and at a large input with the paper's formula in chapter 2."


def _judge_read_from_f6(digit, model):
    from ..models import predict_digits, variant_of

    digit = _whole_number(digit, "digit_from_f6")
    try:
        if variant_of(model) != "paper":
            raise ValueError
    except ValueError:
        raise Wrong("`model` should be the paper's network, from build_lenet5('paper').") from None
    read = int(predict_digits(model, _held_out().x_test[:1])[0])
    if digit == read:
        return f"right: F6's picture is nearest to the code of a {read}, which is what the network reads."
    raise Wrong("Your network reads that digit as another one. Compute the squared distance from F6's 84 "
                "outputs to each of the ten 84-number codes: which is the smallest?")


QUESTIONS = [
    Question("values-per-layer", NOTEBOOK, "Count the numbers C1 and S4 output for one image.",
             (Answer("values_c1"), Answer("values_s4")),
             whole_numbers(("values_c1", 4_704, {784: "That is the 28x28 input.", 1_024: "That is the input.",
                                                 "default": "Maps x height x width of C1's output."}),
                           ("values_s4", 400, {"default": "Maps x height x width of S4's output."}))),
    Question("scaled-tanh", NOTEBOOK, "Write the paper's squashing function in NumPy.",
             (Answer("my_scaled_tanh", "function"),), same_outputs("my_scaled_tanh", _scaled_tanh, _diagnose_tanh),
             probes=_array_probes),
    Question("read-from-f6", NOTEBOOK, "Read the digit yourself from F6's output and the ten codes.",
             (Answer("digit_from_f6"), Answer("model", "model")), _judge_read_from_f6),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "values-per-layer": "compute",
    "scaled-tanh": "implement",
    "read-from-f6": "experiment",
}
