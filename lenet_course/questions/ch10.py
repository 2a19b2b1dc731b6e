"""Exercise questions for chapter 10, evaluation (``exercises/10_evaluation``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['confusion-cells', 'confusion-matrix', 'confused-pair']
"""

import numpy as np

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong, _describe, _whole_number
from ._kit import same_outputs

NOTEBOOK = "10_evaluation"
SUM_OPTIONS = ("row 4", "column 4")


def _confusion(labels, predictions):
    from ..plots import confusion_matrix

    return confusion_matrix(labels, predictions)


def _label_probes(rng):
    probes = []
    for n in (1, 20, 200):
        probes.append((rng.integers(0, 10, size=n), rng.integers(0, 10, size=n)))
    return probes


def _diagnose_confusion(args, got, expected):
    if np.array_equal(got, expected.T):
        return "Rows are the true digits, columns the predictions."
    return "Cell [t, p] counts the images whose label is t and which were read as p."


def _judge_cells(cell, rows_or_columns):
    try:
        cell = tuple(_whole_number(i, "cell_4_read_as_9") for i in cell)
    except TypeError:
        raise Wrong(f"`cell_4_read_as_9` should be (row, column); it is {_describe(cell)}.") from None
    if not isinstance(rows_or_columns, str) or rows_or_columns.strip().lower() not in SUM_OPTIONS:
        raise Wrong(f"`sum_for_accuracy_on_4s` should be one of {list(SUM_OPTIONS)}; it is "
                    f"{_describe(rows_or_columns)}.")
    problems = []
    if cell != (4, 9):
        problems.append("`cell_4_read_as_9`: " + ("the other way round." if cell == (9, 4) else
                                                   "which index is the true digit, which the reading?"))
    if rows_or_columns.strip().lower() != "row 4":
        problems.append("`sum_for_accuracy_on_4s`: the accuracy on 4s divides by the number of 4s; where are "
                        "all the true 4s?")
    if not problems:
        return "right: cell [4, 9], and the accuracy on 4s is the diagonal cell over the sum of row 4."
    if len(problems) == 2:
        raise Wrong(" ".join(problems))
    return 0.5, "half right. " + problems[0]


QUESTIONS = [
    Question("confusion-cells", NOTEBOOK, "Find the cell of 4s read as 9s, and what to sum for the accuracy on 4s.",
             (Answer("cell_4_read_as_9"), Answer("sum_for_accuracy_on_4s")), _judge_cells),
    Question("confusion-matrix", NOTEBOOK, "Write the confusion matrix in NumPy.",
             (Answer("my_confusion_matrix", "function"),),
             same_outputs("my_confusion_matrix", _confusion, _diagnose_confusion, exact=True),
             probes=_label_probes),
    CORE_QUESTIONS["confused-pair"],
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "confusion-cells": "compute",
    "confusion-matrix": "implement",
    "confused-pair": "experiment",
}
