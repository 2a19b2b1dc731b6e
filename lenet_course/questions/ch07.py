"""Exercise questions for chapter 7, F6 and the output (``exercises/07_f6_and_output``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['f6-100-inputs', 'rbf-distances', 'not-a-digit']
"""

import numpy as np

from ..checks import Answer, Question, Wrong, _held_out
from ._kit import one_of, same_outputs, whole_numbers

NOTEBOOK = "07_f6_and_output"
OUTPUT_OPTIONS = ("the RBF output", "the softmax output", "both", "neither")
NOISE_IMAGES = 200


def noise_images():
    """200 images of uniform random pixels, the same every time: shape (200, 28, 28), uint8."""
    return np.random.default_rng(0).integers(0, 256, size=(NOISE_IMAGES, 28, 28), dtype=np.uint8)


def output_scores(model, images):
    """Each image's answer score: the smallest RBF distance (paper) or the top softmax probability."""
    from ..models import preprocess, variant_of

    variant = variant_of(model)
    outputs = model.predict(preprocess(images, variant), verbose=0)
    return outputs.min(axis=-1) if variant == "paper" else outputs.max(axis=-1)


def separates(model):
    """Whether the model's scores on noise stand clearly apart from its scores on held-out digits.

    Clearly: the RBF network's mean smallest distance on noise at least 1.5 times that on
    digits; the softmax network's mean top probability on noise at most two thirds of that on digits.
    """
    from ..models import variant_of

    on_noise = float(np.mean(output_scores(model, noise_images())))
    on_digits = float(np.mean(output_scores(model, _held_out().x_test[:NOISE_IMAGES])))
    if variant_of(model) == "paper":
        return on_noise >= 1.5 * on_digits
    return on_noise <= on_digits * 2 / 3


def _judge_not_a_digit(answer, rbf_model, softmax_model):
    from ..models import variant_of

    for name, model, variants in (("rbf_model", rbf_model, ("paper",)),
                                  ("softmax_model", softmax_model, ("modern", "keras"))):
        try:
            if variant_of(model) not in variants:
                raise ValueError
        except ValueError:
            raise Wrong(f"`{name}` should be a network from build_lenet5({variants[0]!r}), trained.") from None
    rbf, softmax = separates(rbf_model), separates(softmax_model)
    right = {(True, False): OUTPUT_OPTIONS[0], (False, True): OUTPUT_OPTIONS[1], (True, True): OUTPUT_OPTIONS[2],
             (False, False): OUTPUT_OPTIONS[3]}[(rbf, softmax)]
    hint = ("Your networks' own numbers decide: for each one, compare its mean score on noise with its mean "
            "score on digits. Clearly apart means a distance at least 1.5 times as large, or a "
            "probability at most two thirds as large.")
    return one_of("says_not_a_digit", OUTPUT_OPTIONS, right, {option: hint for option in OUTPUT_OPTIONS})(answer)


def _distances(features, codes):
    return ((features[:, None, :] - codes[None, :, :]) ** 2).sum(axis=-1)


def _rbf_probes(rng):
    probes = [(rng.normal(size=(3, 84)), np.sign(rng.normal(size=(10, 84))))]
    for _ in range(3):
        n, d, c = int(rng.integers(1, 6)), int(rng.integers(1, 10)), int(rng.integers(2, 6))
        probes.append((rng.normal(size=(n, d)), rng.normal(size=(c, d))))
    return probes


def _diagnose_rbf(args, got, expected):
    if np.allclose(got ** 2, expected, atol=1e-5):
        return "The paper's RBF unit gives the *squared* distance: no square root."
    return "Output [i, j] is the sum of the squared differences between features[i] and codes[j]."


QUESTIONS = [
    Question("f6-100-inputs", NOTEBOOK, "Count F6's parameters if C5 had 100 maps.",
             (Answer("f6_params_100"),),
             whole_numbers(("f6_params_100", 8_484, {
                 8_400: "Each of the 84 units also has one bias.",
                 10_164: "That is F6 with C5's 120 inputs.",
                 "default": "Every one of the 84 units has a weight per input, and a bias."}))),
    Question("rbf-distances", NOTEBOOK, "Write the RBF output layer's distances in NumPy.",
             (Answer("my_rbf_distances", "function"),), same_outputs("my_rbf_distances", _distances, _diagnose_rbf),
             probes=_rbf_probes),
    Question("not-a-digit", NOTEBOOK, "Show both trained networks noise: which output can say 'not a digit'?",
             (Answer("says_not_a_digit"), Answer("rbf_model", "model"), Answer("softmax_model", "model")),
             _judge_not_a_digit),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "f6-100-inputs": "compute",
    "rbf-distances": "implement",
    "not-a-digit": "experiment",
}
