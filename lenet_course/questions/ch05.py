"""Exercise questions for chapter 5, S4 (``exercises/05_s4``).

``receptive_field`` is the reference the learner's function is compared with.

Example:
    >>> receptive_field([("conv", 5), ("pool", 2), ("conv", 5), ("pool", 2)])
    (16, 4)
    >>> [question.name for question in QUESTIONS]
    ['s4-20-maps', 'receptive-field', 's4-field-3x3']
"""

from ..checks import Answer, Question
from ._kit import same_outputs, whole_numbers

NOTEBOOK = "05_s4"


def receptive_field(layers):
    """(side, step) in input pixels of a unit after ``layers``, a list of ("conv", k) or ("pool", p).

    Convolutions have stride 1; pools are p x p without overlap.
    """
    side, step = 1, 1
    for kind, size in layers:
        side += (size - 1) * step
        if kind == "pool":
            step *= size
    return side, step


def _stack_probes(rng):
    probes = [([("conv", 5), ("pool", 2), ("conv", 5), ("pool", 2)],)]
    for _ in range(5):
        stack = [("conv", int(rng.integers(1, 8))) if rng.random() < 0.5 else ("pool", int(rng.integers(2, 4)))
                 for _ in range(int(rng.integers(1, 6)))]
        probes.append((stack,))
    return probes


def _diagnose_field(args, got, expected):
    return ("Walk from the input side with two numbers, the field's side and the step between "
            "neighbouring units, both in input pixels: which layers change which?")


QUESTIONS = [
    Question("s4-20-maps", NOTEBOOK, "Count S4's parameters and connections if C3 had 20 maps.",
             (Answer("s4_20_params"), Answer("s4_20_connections")),
             whole_numbers(
                 ("s4_20_params", 40, {32: "That is S4 with 16 maps.",
                                       "default": "What does one subsampling map learn?"}),
                 ("s4_20_connections", 2_500, {2_000: "That is S4 with 16 maps.",
                                               "default": "Each 5x5 output unit connects to its 2x2 block "
                                                          "and its bias."}))),
    Question("receptive-field", NOTEBOOK, "Write a function that computes a unit's receptive field.",
             (Answer("my_receptive_field", "function"),),
             same_outputs("my_receptive_field", receptive_field, _diagnose_field, exact=True),
             probes=_stack_probes),
    Question("s4-field-3x3", NOTEBOOK, "Measure an S4 unit's receptive field with 3x3 kernels in C1 and C3.",
             (Answer("s4_field_3x3"),),
             whole_numbers(("s4_field_3x3", 10, {
                 16: "That is the field with the paper's 5x5 kernels; build the network with 3x3 ones.",
                 "default": "Ink one input pixel at a time and count the rows in which the centre S4 unit "
                            "changes."}))),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "s4-20-maps": "compute",
    "receptive-field": "implement",
    "s4-field-3x3": "experiment",
}
