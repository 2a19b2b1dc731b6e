"""Exercise questions for chapter 13, reproducing the paper (``exercises/13_reproducing_the_paper``).

Example:
    >>> shift_images(np.arange(4, dtype=np.uint8).reshape(1, 2, 2), 0, 1)
    array([[[0, 0],
            [0, 2]]], dtype=uint8)
    >>> [question.name for question in QUESTIONS]
    ['paper-errors', 'shift-images', 'shifted-accuracy']
"""

import numpy as np

from ..checks import Answer, Question, Wrong, _held_out
from ._kit import number, same_outputs, whole_numbers

NOTEBOOK = "13_reproducing_the_paper"
SHIFT = (0, 3)  # the experiment's shift: 3 pixels to the right


def shift_images(images, down, right):
    """Move the content of (n, h, w) images ``down`` and ``right`` pixels (negative: up, left), filling with 0."""
    images = np.asarray(images)
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    if abs(down) >= h or abs(right) >= w:
        return out
    source = images[:, max(-down, 0):h - max(down, 0), max(-right, 0):w - max(right, 0)]
    out[:, max(down, 0):max(down, 0) + source.shape[1], max(right, 0):max(right, 0) + source.shape[2]] = source
    return out


def _shift_probes(rng):
    probes = [(rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8), 0, 3)]
    for _ in range(4):
        h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
        probes.append((rng.integers(0, 256, size=(int(rng.integers(1, 4)), h, w), dtype=np.uint8),
                       int(rng.integers(-h + 1, h)), int(rng.integers(-w + 1, w))))
    return probes


def _diagnose_shift(args, got, expected):
    images, down, right = args
    if np.array_equal(got, np.roll(images, (down, right), axis=(1, 2))):
        return "np.roll wraps the pixels round to the other side; what leaves the image must be lost."
    return "Output[i, y + down, x + right] = images[i, y, x] where both are inside the image; the rest is 0."


def _judge_shifted(accuracy_shifted, model):
    from ..models import accuracy, variant_of

    value = number(accuracy_shifted, "accuracy_shifted")
    try:
        variant_of(model)
    except ValueError:
        raise Wrong("`model` should be the network you trained, from build_lenet5(...).") from None
    data = _held_out()
    right = accuracy(model, shift_images(data.x_test, *SHIFT), data.y_test)
    if abs(value - right) <= 0.01:
        plain = accuracy(model, data.x_test, data.y_test)
        return (f"right: {value:.1%} on shifted digits against {plain:.1%} on the digits as they are. The "
                "paper's distortions teach the network exactly such shifts.")
    raise Wrong(f"Your model reads another share of the shifted held-out digits. Shift every held-out digit "
                f"{SHIFT[1]} pixels to the right with your function and measure `accuracy` on them.")


QUESTIONS = [
    Question("paper-errors", NOTEBOOK, "Turn the paper's 0.95% test error into numbers of digits.",
             (Answer("errors_in_10000"), Answer("errors_in_2000")),
             whole_numbers(("errors_in_10000", 95, {950: "A percentage is a share of 100, not of 1.",
                                                    "default": "A percentage is a share of 100."}),
                           ("errors_in_2000", 19, {"default": "The same share of 2,000 digits."}))),
    Question("shift-images", NOTEBOOK, "Write a function that shifts digits, as the paper's distortions do.",
             (Answer("my_shift_images", "function"),),
             same_outputs("my_shift_images", shift_images, _diagnose_shift, exact=True), probes=_shift_probes),
    Question("shifted-accuracy", NOTEBOOK, "Measure the trained network on digits shifted 3 pixels.",
             (Answer("accuracy_shifted"), Answer("model", "model")), _judge_shifted),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "paper-errors": "compute",
    "shift-images": "implement",
    "shifted-accuracy": "experiment",
}
