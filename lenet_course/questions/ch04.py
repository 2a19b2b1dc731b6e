"""Exercise questions for chapter 4, C3 and Table I (``exercises/04_c3_connection_table``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['c3-counts', 'partial-conv2d', 'c3-inputs', 'c3-field']
"""

import numpy as np

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong, _describe, _whole_number
from ._kit import same_outputs, whole_numbers

NOTEBOOK = "04_c3_connection_table"
PROBED_MAP = 13  # the C3 map whose inputs the learner finds by experiment


def _partial_conv2d(image, kernels, biases, table):
    from ..reference import conv2d

    return conv2d(image, kernels * np.asarray(table, dtype=float)[None, None], biases)


def _partial_probes(rng):
    from ..reference import C3_TABLE

    probes = [(rng.normal(size=(9, 9, 6)), rng.normal(size=(5, 5, 6, 16)), rng.normal(size=16), C3_TABLE.copy())]
    for _ in range(3):
        maps, out, k = int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.choice([2, 3]))
        side = int(rng.integers(k, 8))
        table = rng.random((maps, out)) < 0.5
        probes.append((rng.normal(size=(side, side, maps)), rng.normal(size=(k, k, maps, out)),
                       rng.normal(size=out), table))
    return probes


def _diagnose_partial(args, got, expected):
    from ..reference import conv2d

    image, kernels, biases, table = args
    if np.allclose(got, conv2d(image, kernels, biases), atol=1e-6):
        return "You used every input map: output map j may only use the input maps i where table[i, j]."
    return "Output map j is the sum, over the input maps i with table[i, j], of a convolution, plus biases[j]."


def _judge_c3_inputs(inputs):
    from ..reference import C3_TABLE

    if isinstance(inputs, (set, frozenset, dict)):
        raise Wrong("`map13_inputs` should be a list, such as [0, 3] (the grader reads lists, not sets).")
    try:
        found = sorted({_whole_number(i, "map13_inputs") for i in np.asarray(inputs).ravel()})
    except Wrong:
        raise
    except Exception:
        raise Wrong(f"`map13_inputs` should be a list of S2 map numbers; it is {_describe(inputs)}.") from None
    right = [int(i) for i in np.flatnonzero(C3_TABLE[:, PROBED_MAP])]
    if found == right:
        return f"right: C3 map {PROBED_MAP} sees S2 maps {right}, not all neighbours."
    if any(not 0 <= i <= 5 for i in found):
        raise Wrong("S2 has maps 0 to 5 only.")
    extra, missing = set(found) - set(right), set(right) - set(found)
    parts = []
    if extra:
        parts.append(f"changing S2 map(s) {sorted(extra)} does not change C3 map {PROBED_MAP}")
    if missing:
        parts.append(f"{len(missing)} S2 map(s) that do change it are missing")
    raise Wrong("; ".join(parts).capitalize() + ". Change one S2 map at a time and compare C3 map "
                f"{PROBED_MAP}'s output before and after.")


QUESTIONS = [
    CORE_QUESTIONS["c3-counts"],
    Question("partial-conv2d", NOTEBOOK, "Write a partially connected convolution in NumPy.",
             (Answer("my_partial_conv2d", "function"),), same_outputs("my_partial_conv2d", _partial_conv2d,
                                                                     _diagnose_partial),
             probes=_partial_probes),
    Question("c3-inputs", NOTEBOOK, f"Find by experiment which S2 maps feed C3 map {PROBED_MAP}.",
             (Answer("map13_inputs"),), _judge_c3_inputs),
    Question("c3-field", NOTEBOOK, "Measure the receptive field of a C3 unit in input pixels.",
             (Answer("c3_field"),),
             whole_numbers(("c3_field", 14, {
                 5: "That is C3's kernel, counted in S2 units; how many input pixels are behind them?",
                 10: "That is the field in C1 units; each C1 unit itself sees several input pixels.",
                 "default": "Count the rows of the input in which inking a pixel changes the centre C3 unit."}))),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "c3-counts": "compute",
    "partial-conv2d": "implement",
    "c3-inputs": "experiment",
    "c3-field": "experiment",
}
