"""Exercise questions for "LeNet-5 in five minutes" (``exercises/00_five_minutes``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['c5-f6-params', 'nearest-code', 'one-epoch']
"""

import numpy as np

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong
from ._kit import accuracy_share, measured_again, same_outputs

NOTEBOOK = "00_five_minutes"


def _distance_probes(rng):
    probes = [(rng.uniform(0, 50, size=(1, 10)),)]
    for _ in range(4):
        probes.append((rng.uniform(0, 100, size=(int(rng.integers(2, 30)), 10)),))
    return probes


def _diagnose_reading(args, got, expected):
    (distances,) = args
    if np.array_equal(got, np.argmax(distances, axis=-1)):
        return "You picked the largest distance; a distance measures how far the output is from a digit's code."
    return "Each row holds one image's ten distances; the answer is a position in that row."


def _judge_one_epoch(accuracy_before, accuracy_after, model):
    before = accuracy_share(accuracy_before, "accuracy_before")
    after = measured_again(accuracy_after, "accuracy_after", model, "model", ("paper", "keras", "modern"))
    if after < 0.8:
        raise Wrong(f"After one epoch your network reads only {after:.1%}; did `train` run for one epoch on "
                    "the sample?")
    if before > 0.3:
        raise Wrong(f"`accuracy_before` = {before:.1%} is more than an untrained network manages: measure "
                    "it on a freshly built network, before `train`.")
    return f"right: from {before:.1%} (a guess is right one time in ten) to {after:.1%} in one epoch."


QUESTIONS = [
    CORE_QUESTIONS["c5-f6-params"],
    Question("nearest-code", NOTEBOOK, "Read the digits from the output layer's ten distances.",
             (Answer("my_read_digits", "function"),),
             same_outputs("my_read_digits", lambda d: np.argmin(d, axis=-1), _diagnose_reading, exact=True),
             probes=_distance_probes),
    Question("one-epoch", NOTEBOOK, "Measure the held-out accuracy before and after one epoch of training.",
             (Answer("accuracy_before"), Answer("accuracy_after"), Answer("model", "model")), _judge_one_epoch),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "c5-f6-params": "compute",
    "nearest-code": "implement",
    "one-epoch": "experiment",
}
