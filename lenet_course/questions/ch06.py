"""Exercise questions for chapter 6, C5 (``exercises/06_c5``).

``windows_reading_right`` is the experiment: a digit on a 48x48 page, read by C5 sliding.

Example:
    >>> [question.name for question in QUESTIONS]
    ['c5-48', 'c5-as-dense', 'sliding-c5']
    >>> page_with_digit(np.full((28, 28), 255, np.uint8)).shape
    (48, 48)
"""

import numpy as np

from ..checks import Answer, Question, Wrong, _held_out, _whole_number
from ._kit import same_outputs, whole_numbers

NOTEBOOK = "06_c5"
PAGE_SIDE, DIGIT_TOP, DIGIT_LEFT = 48, 10, 10  # the 28x28 digit's place on the page


def page_with_digit(digit):
    """A 48x48 page of background (0) with the 28x28 ``digit`` at row 10, column 10."""
    page = np.zeros((PAGE_SIDE, PAGE_SIDE), np.uint8)
    page[DIGIT_TOP:DIGIT_TOP + 28, DIGIT_LEFT:DIGIT_LEFT + 28] = digit
    return page


def readings_on_page(model, page):
    """The digit read in each window of ``page`` by sliding C5 (and F6, output) over S4: an int grid."""
    from ..data import paper_scale
    from ..models import apply_layers

    c5 = apply_layers(model, paper_scale(page[None])[..., None], ["C1", "S2", "C3", "S4", "C5"])[0]
    distances = apply_layers(model, c5.reshape(-1, c5.shape[-1]), ["F6", "output"])
    return np.argmin(distances, axis=-1).reshape(c5.shape[:2])


def _judge_windows(windows_right, model):
    from ..models import variant_of

    count = _whole_number(windows_right, "windows_right")
    try:
        if variant_of(model) != "paper":
            raise ValueError
    except ValueError:
        raise Wrong("`model` should be the paper's network you trained, from build_lenet5('paper').") from None
    data = _held_out()
    readings = readings_on_page(model, page_with_digit(data.x_test[0]))
    right = int(np.sum(readings == data.y_test[0]))
    if count == right:
        return (f"right: {right} of the {readings.size} windows read a {data.y_test[0]}; the ones far from "
                "the digit's centre see it off-centre, where the network never learnt to read.")
    if count == readings.size - right:
        raise Wrong("That is the number of windows that read something else.")
    raise Wrong(f"Your model's readings give another count. Count the windows of the {readings.shape[0]}x"
                f"{readings.shape[1]} grid whose digit is the page's true label, {data.y_test[0]}.")


def _dense_probes(rng):
    probes = [(rng.normal(size=(5, 5, 16, 120)),)]
    for _ in range(3):
        k, m, n = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 6))
        probes.append((rng.normal(size=(k, k, m, n)),))
    return probes


def _diagnose_dense(args, got, expected):
    return ("Flatten orders S4's numbers by row, then column, then map (the last axis changes fastest); "
            "a Dense weight matrix has one row per input number and one column per unit.")


QUESTIONS = [
    Question("c5-48", NOTEBOOK, "Give S4's and C5's sides and C5's parameters for a 48x48 input.",
             (Answer("s4_side_48"), Answer("c5_side_48"), Answer("c5_params_48")),
             whole_numbers(
                 ("s4_side_48", 9, {"default": "Go layer by layer: 48 -> C1 -> S2 -> C3 -> S4."}),
                 ("c5_side_48", 5, {"default": "C5's 5x5 kernel slides over S4's maps with stride 1."}),
                 ("c5_params_48", 48_120, {"default": "Does a kernel's size depend on the size of the "
                                                      "input it slides over?"}))),
    Question("c5-as-dense", NOTEBOOK, "Turn C5's kernels into the weight matrix of a Dense layer.",
             (Answer("c5_kernels_to_dense", "function"),),
             same_outputs("c5_kernels_to_dense", lambda k: k.reshape(-1, k.shape[-1]), _diagnose_dense),
             probes=_dense_probes),
    Question("sliding-c5", NOTEBOOK, "Slide the trained network over a 48x48 page: count the windows that read "
             "the digit.", (Answer("windows_right"), Answer("model", "model")), _judge_windows),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "c5-48": "compute",
    "c5-as-dense": "implement",
    "sliding-c5": "experiment",
}
