"""Exercise questions for the chapter after 9, backpropagation (``exercises/09b_backpropagation``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['backprop-counts', 'scaled-tanh-backward', 'float32-gradient-check']
"""

import numpy as np

from ..checks import Answer, Question, Wrong, _describe, _whole_number
from ._kit import number, same_outputs

NOTEBOOK = "09b_backpropagation"

A, S = 1.7159, 2.0 / 3.0  # the scaled tanh f(a) = A tanh(S a)

# The bands the gradient check's relative errors fall in: float64 agrees to about 1e-9,
# float32 is off by tens of percent (rounding of a loss near 2, divided by 2h = 2e-5).
FLOAT64_MAX_ERROR = 1e-6
FLOAT32_MIN_ERROR, FLOAT32_MAX_ERROR = 1e-3, 100.0


def scaled_tanh_backward(a, grad):
    """The right answer: ``lenet_course.backprop.scaled_tanh_backward``."""
    from ..backprop import scaled_tanh_backward as right

    return right(a, grad)


def _judge_counts(multiply_adds, shape):
    problems = []
    multiply_adds = _whole_number(multiply_adds, "c1_kernel_grad_multiply_adds")
    if multiply_adds != 6 * 25 * 28 * 28:
        hint = {28 * 28: "that is the cost of one weight's gradient; C1 has more weights.",
                6 * 26 * 28 * 28: "the biases are not kernel weights: count the kernels' only.",
                6 * 25: "each weight is used at more than one position of its map."}
        problems.append(f"`c1_kernel_grad_multiply_adds` = {multiply_adds:,} is not right: "
                        + hint.get(multiply_adds, "count the products for one weight, then "
                                   "multiply by the number of kernel weights."))
    try:
        shape = tuple(_whole_number(n, "c3_kernel_grad_shape") for n in shape)
    except TypeError:
        raise Wrong("`c3_kernel_grad_shape` should be a tuple of whole numbers; it is "
                    f"{_describe(shape)}.") from None
    if shape != (5, 5, 60):
        hint = ("the connections the table leaves out are not parameters, so they get no "
                "gradient." if shape == (5, 5, 6, 16) else
                "a gradient has the shape of the weights it is the gradient of: look at "
                "`PartialConv2D`'s kernel.")
        problems.append(f"`c3_kernel_grad_shape` {shape} is not right: {hint}")
    if not problems:
        return "right: 117,600 multiply-adds per digit; a gradient of shape (5, 5, 60)."
    if len(problems) == 2:
        raise Wrong(" ".join(problems))
    return 0.5, "1 of 2 right. " + problems[0]


def _tanh_probes(rng):
    probes = []
    for _ in range(4):
        shape = tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 4))))
        probes.append((rng.normal(scale=2.0, size=shape), rng.normal(size=shape)))
    return probes


def _diagnose_tanh(args, got, expected):
    a, grad = args
    if np.allclose(got, grad * A * (1 - np.tanh(S * a) ** 2), atol=1e-6):
        return "Close: the inner function S a has a derivative too."
    if np.allclose(got, grad * (1 - np.tanh(a) ** 2), atol=1e-6):
        return "That is the derivative of plain tanh; this one is scaled inside and outside."
    if np.allclose(got * grad, expected, atol=1e-6) or np.allclose(got, expected / grad):
        return "The chain rule: multiply the derivative by the gradient that arrives, `grad`."
    if np.allclose(got, A * np.tanh(S * a) * grad, atol=1e-6):
        return "That multiplies by f(a) itself, not by its derivative."
    return "Differentiate A tanh(S a) with respect to a, then multiply by `grad`."


def _judge_errors(error_float64, error_float32):
    e64 = number(error_float64, "error_float64")
    e32 = number(error_float32, "error_float32")
    for name, value in (("error_float64", e64), ("error_float32", e32)):
        if value < 0:
            raise Wrong(f"`{name}` is a relative error, a norm divided by a norm: it cannot "
                        f"be negative; it is {value:g}.")
    problems = []
    if e64 > FLOAT64_MAX_ERROR:
        problems.append(f"`error_float64` = {e64:.1e} is far more than float64 gives: did you "
                        "cast every parameter and the images, and keep the default step?")
    if not FLOAT32_MIN_ERROR <= e32 <= FLOAT32_MAX_ERROR:
        problems.append(f"`error_float32` = {e32:.1e} is not what float32 gives: did you cast "
                        "every parameter and the images to float32, and nudge the float32 "
                        "copy of C1's kernel that the loss reads?")
    if not problems:
        return (f"right: {e64:.0e} in float64, {e32:.0e} in float32. A loss near 2 is "
                "stored to about 1e-7 in float32: divided by 2h, that is as large as the "
                "gradient itself.")
    if len(problems) == 2:
        raise Wrong(" ".join(problems))
    return 0.5, "half right. " + problems[0]


QUESTIONS = [
    Question("backprop-counts", NOTEBOOK,
             "Count the multiply-adds of C1's kernel gradient per digit; give the shape of "
             "C3's kernel gradient.",
             (Answer("c1_kernel_grad_multiply_adds"), Answer("c3_kernel_grad_shape")),
             _judge_counts),
    Question("scaled-tanh-backward", NOTEBOOK,
             "Write the backward pass of the scaled tanh in NumPy.",
             (Answer("my_scaled_tanh_backward", "function"),),
             same_outputs("my_scaled_tanh_backward", scaled_tanh_backward, _diagnose_tanh),
             probes=_tanh_probes),
    Question("float32-gradient-check", NOTEBOOK,
             "Check C1's kernel gradient by finite differences in float64 and in float32: "
             "measure both relative errors.",
             (Answer("error_float64"), Answer("error_float32")), _judge_errors),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "backprop-counts": "compute",
    "scaled-tanh-backward": "implement",
    "float32-gradient-check": "experiment",
}
