"""Judges that many questions share: whole numbers, measured numbers, a choice, a function.

Each factory returns a judge for ``lenet_course.checks.Question``: it returns a message
when the answer is right, raises ``Wrong`` with a hint when it is not, or returns
``(fraction, message)`` for a partly right answer.

Example:
    >>> judge = whole_numbers(("params", 156, {"default": "Count the biases too."}))
    >>> judge(156)
    'right: 156.'
    >>> judge(150)
    Traceback (most recent call last):
    ...
    lenet_course.checks.Wrong: `params`: 150 is not right. Count the biases too.
"""

import math

import numpy as np

from ..checks import ProbeError, Wrong, _describe, _whole_number


def number(value, name):
    """``value`` as a float, accepting numpy numbers; ``Wrong`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Wrong(f"`{name}` should be a number; it is {_describe(value)}.")
    if not math.isfinite(float(value)):
        raise Wrong(f"`{name}` should be a finite number; it is {value!r}.")
    return float(value)


def accuracy_share(value, name):
    """``value`` as a share of the held-out digits read correctly (0 to 1); ``Wrong`` otherwise."""
    share = number(value, name)
    if not 0 <= share <= 1:
        raise Wrong(f"`{name}` is a share of the held-out digits, between 0 and 1; it is {share:g}.")
    return share


def measured_again(claimed, name, model, model_name, variants):
    """``claimed``, the share of the held-out digits ``model`` reads, checked by measuring it.

    ``model`` must come from ``build_lenet5`` as one of ``variants``. An experiment's
    number is the learner's own measurement: a typed-in or stale one is ``Wrong``.
    Returns the share.
    """
    from ..checks import _held_out
    from ..models import accuracy, variant_of

    share = accuracy_share(claimed, name)
    try:
        variant = variant_of(model)
    except ValueError:
        variant = None
    if variant not in variants:
        raise Wrong(f"`{model_name}` should be the network you trained, from build_lenet5({variants[0]!r}).")
    data = _held_out()
    measured = accuracy(model, data.x_test, data.y_test)
    if abs(share - measured) > 0.01:
        raise Wrong(f"`{name}` is {share:.1%}, but `{model_name}` reads {measured:.1%} of the held-out "
                    "digits. Measure it on that network, after training it.")
    return share


def whole_numbers(*expected):
    """A judge for one or more whole numbers, each ``(name, right value, hints)``.

    ``hints`` maps a wrong value to its hint, and ``"default"`` to the hint for any
    other wrong value. Partly right answers earn the share of right numbers.
    """

    def judge_numbers(*answers):
        problems = []
        for (name, right, hints), answer in zip(expected, answers):
            value = _whole_number(answer, name)
            if value != right:
                problems.append(f"`{name}`: {value:,} is not right. " + hints.get(value, hints["default"]))
        right_count = len(expected) - len(problems)
        if not problems:
            return "right: " + ", ".join(f"{right:,}" for _, right, _ in expected) + "."
        if right_count == 0:
            raise Wrong(" ".join(problems))
        return right_count / len(expected), f"{right_count} of {len(expected)} right. " + " ".join(problems)

    return judge_numbers


def close_to(name, right, *, tolerance, hint, unit=""):
    """A judge for one measured number: right within ``tolerance`` (absolute).

    ``right`` is the number, or a function of no argument that computes it (so the
    judge measures what the learner was asked to measure).
    """

    def judge_measurement(answer):
        value = number(answer, name)
        target = right() if callable(right) else right
        if abs(value - target) <= tolerance:
            return f"right: {value:.4g}{unit}."
        raise Wrong(f"`{name}` = {value:.4g}{unit} is not what the measurement gives. {hint}")

    return judge_measurement


def one_of(name, options, right, hints):
    """A judge for a choice among ``options`` (strings, compared without case or spaces).

    ``hints`` maps each wrong option to what the learner's own measurement should
    have shown them; the message never names the right option.
    """
    canonical = {option.strip().lower(): option for option in options}

    def judge_choice(answer):
        if not isinstance(answer, str) or answer.strip().lower() not in canonical:
            listed = ", ".join(repr(option) for option in options)
            raise Wrong(f"`{name}` should be one of {listed}; it is {_describe(answer)}.")
        chosen = canonical[answer.strip().lower()]
        if chosen == right:
            return f"right: {chosen}."
        raise Wrong(f"not {chosen!r}. {hints[chosen]}")

    return judge_choice


def same_outputs(function_name, reference, diagnose=None, *, exact=False):
    """A judge for a function answer: its outputs on the probes must match ``reference``.

    ``diagnose(args, got, expected)`` may name a likely mistake when values differ.
    """

    def judge_function(probed):
        for args, out in zip(probed.inputs, probed.outputs):
            call = f"{function_name}({_shapes(args)})"
            if isinstance(out, ProbeError):
                raise Wrong(f"{call} raised {out.message}")
            if out is None:
                raise Wrong(f"{call} returned None: does your function end with `return`?")
            expected = np.asarray(reference(*args))
            try:
                got = np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                raise Wrong(f"{call} returned {_describe(out)}, not an array of numbers.") from None
            if got.shape != expected.shape:
                raise Wrong(f"{call} returned shape {got.shape}; expected {expected.shape}.")
            # float32 arithmetic errs relative to the output's scale, also where a value is near 0
            tolerance = 1e-6 + 1e-5 * float(np.abs(expected).max(initial=0))
            same = np.array_equal(got, expected) if exact else np.allclose(got, expected, rtol=1e-5, atol=tolerance)
            if not same:
                where = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.ndim else ()
                advice = diagnose(args, got, expected) if diagnose else ""
                raise Wrong(f"{call}: the shape is right but the values are not (first look at output "
                            f"position {tuple(int(i) for i in where)}). {advice}".strip())
        return f"right on all {len(probed.inputs)} inputs drawn at random."

    return judge_function


def _shapes(args):
    return ", ".join(str(a.shape) if isinstance(a, np.ndarray) else repr(a) for a in args)
