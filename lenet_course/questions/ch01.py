"""Exercise questions for chapter 1, the data (``exercises/01_data``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['input-sizes', 'paper-scale', 'pixel-statistics']
"""

import functools

import numpy as np

from ..checks import Answer, Question, Wrong, _held_out
from ._kit import number, same_outputs, whole_numbers

NOTEBOOK = "01_data"


@functools.lru_cache(maxsize=1)
def measured_statistics():
    """(share of background pixels, mean after the paper's scaling) of the padded training digits."""
    from ..data import pad_to_32, paper_scale

    padded = pad_to_32(_held_out().x_train)
    return float(np.mean(padded == 0)), float(paper_scale(padded).mean())


def _paper_scale(images):
    from ..data import paper_scale

    return paper_scale(images)


def _pixel_probes(rng):
    probes = [(rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8),)]
    for _ in range(3):
        shape = tuple(int(n) for n in rng.integers(1, 12, size=int(rng.integers(1, 4))))
        probes.append((rng.integers(0, 256, size=shape, dtype=np.uint8),))
    probes.append((np.array([0, 255], dtype=np.uint8),))
    return probes


def _diagnose_scale(args, got, expected):
    (images,) = args
    unit = images / 255
    if np.allclose(got, unit, atol=1e-5):
        return "That is 0..1, the seed's scaling; the paper's background is -0.1 and its full ink 1.175."
    if np.allclose(got - got.flat[0] + expected.flat[0], expected, atol=1e-5):
        return "The slope is right; check where 0 (the background) lands."
    return "The scaling is a straight line through two points: pixel 0 -> -0.1 and pixel 255 -> 1.175."


def _judge_pixel_statistics(background_share, paper_mean):
    share, mean = number(background_share, "background_share"), number(paper_mean, "paper_mean")
    right_share, right_mean = measured_statistics()
    problems = []
    if not abs(share - right_share) <= 0.005:
        hint = ("that is a percentage; give a share between 0 and 1." if 1 < share <= 100 else
                "Count the pixels equal to 0 in the padded training digits, over all pixels.")
        problems.append(f"`background_share` = {share:.3g}: {hint}")
    if not abs(mean - right_mean) <= 0.005:
        problems.append(f"`paper_mean` = {mean:.3g} is not the mean of the padded training digits after "
                        "paper_scale (pad first, then scale).")
    if not problems:
        return (f"right: {share:.1%} of the pixels are background, and the paper's scaling gives a mean of "
                f"{mean:.3f}, close to 0.")
    if len(problems) == 2:
        raise Wrong(" ".join(problems))
    return 0.5, "half right. " + problems[0]


QUESTIONS = [
    Question("input-sizes", NOTEBOOK, "Find the smallest input for a 1x1 C5, and C5's size for a 40x40 input.",
             (Answer("smallest_input"), Answer("c5_side_40")),
             whole_numbers(
                 ("smallest_input", 32, {
                     28: "With 28x28, S4 ends up 4x4: too small for C5's 5x5 kernel.",
                     "default": "Work backwards from a 1x1 C5: what side must S4 have for a 5x5 kernel to "
                                "fit once, then C3, S2, C1 and the input?"}),
                 ("c5_side_40", 3, {
                     "default": "Go forwards layer by layer: a 5x5 convolution takes 4 from the side, a "
                                "2x2 subsampling halves it."}))),
    Question("paper-scale", NOTEBOOK, "Write the paper's pixel scaling as a NumPy function.",
             (Answer("my_paper_scale", "function"),), same_outputs("my_paper_scale", _paper_scale, _diagnose_scale),
             probes=_pixel_probes),
    Question("pixel-statistics", NOTEBOOK,
             "Measure the share of background pixels and the mean after the paper's scaling.",
             (Answer("background_share"), Answer("paper_mean")), _judge_pixel_statistics),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "input-sizes": "compute",
    "paper-scale": "implement",
    "pixel-statistics": "experiment",
}
