"""Exercise questions for chapter 2, C1 and the convolution (``exercises/02_c1_convolution``).

``EDGE_KERNELS`` are the two 3x3 kernels of the experiment: which one answers more
strongly to a handwritten 1?

Example:
    >>> [question.name for question in QUESTIONS]
    ['conv-output-size', 'c1-counts', 'c1-small-counts', 'conv2d', 'strongest-kernel']
    >>> EDGE_KERNELS["vertical edges"]
    array([[-1.,  0.,  1.],
           [-1.,  0.,  1.],
           [-1.,  0.,  1.]])
"""

import functools

import numpy as np

from ..checks import CORE_QUESTIONS, Answer, Question, _held_out
from ._kit import one_of, whole_numbers

NOTEBOOK = "02_c1_convolution"

EDGE_KERNELS = {
    "vertical edges": np.array([[-1.0, 0.0, 1.0]] * 3),
    "horizontal edges": np.array([[-1.0, 0.0, 1.0]] * 3).T,
}


def first_one():
    """The first held-out 1 of the sample, scaled to 0..1, shape (28, 28, 1)."""
    data = _held_out()
    return (data.x_test[np.flatnonzero(data.y_test == 1)[0]] / 255.0)[:, :, None]


@functools.lru_cache(maxsize=1)
def edge_responses():
    """The total absolute response of each of ``EDGE_KERNELS`` to ``first_one()``."""
    from ..reference import conv2d

    image = first_one()
    return {name: float(np.abs(conv2d(image, kernel[:, :, None, None], np.zeros(1))).sum())
            for name, kernel in EDGE_KERNELS.items()}


def _judge_strongest(answer):
    responses = edge_responses()
    low, high = sorted(responses.values())
    right = max(responses, key=responses.get) if high > 1.1 * low else "about the same"
    options = list(EDGE_KERNELS) + ["about the same"]
    hints = {option: "Convolve the 1 with each kernel and add up the absolute values of each map: which "
                     "total is larger, and by how much?" for option in options}
    return one_of("strongest_kernel", options, right, hints)(answer)


QUESTIONS = [
    CORE_QUESTIONS["conv-output-size"],
    CORE_QUESTIONS["c1-counts"],
    Question("c1-small-counts", NOTEBOOK,
             "Count the parameters and connections of a C1 with eight 3x3 kernels.",
             (Answer("c1_small_params"), Answer("c1_small_connections")),
             whole_numbers(
                 ("c1_small_params", 80, {72: "Each of the 8 maps also has one bias.",
                                          "default": "Each map has one 3x3 kernel on the one input image, "
                                                     "and a bias."}),
                 ("c1_small_connections", 72_000, {
                     30 * 30 * 10: "That is one map's connections; there are 8 maps.",
                     "default": "First find the output side for a 3x3 kernel on 32x32; every output "
                                "position uses all of a map's parameters once."}))),
    CORE_QUESTIONS["conv2d"],
    Question("strongest-kernel", NOTEBOOK,
             "Measure which edge kernel answers more strongly to a handwritten 1.",
             (Answer("strongest_kernel"),), _judge_strongest),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "conv-output-size": "implement",
    "c1-counts": "compute",
    "c1-small-counts": "compute",
    "conv2d": "implement",
    "strongest-kernel": "experiment",
}
