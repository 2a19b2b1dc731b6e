"""Exercise questions for chapter 9, training (``exercises/09_training``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['rate-in-pass-12', 'momentum-step', 'momentum-on-off', 'trained-model']
"""

import numpy as np

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong
from ._kit import measured_again, number, same_outputs

NOTEBOOK = "09_training"


def momentum_step(weights, velocity, gradient, learning_rate, momentum):
    """One step of SGD with momentum, as Keras takes it: ``(new weights, new velocity)``."""
    velocity = momentum * velocity - learning_rate * gradient
    return weights + velocity, velocity


def _step_probes(rng):
    probes = []
    for _ in range(4):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 3))))
        probes.append((rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape),
                       float(rng.uniform(0.001, 0.1)), float(rng.uniform(0.5, 0.99))))
    return probes


def _diagnose_step(args, got, expected):
    weights, velocity, gradient, rate, momentum = args
    if np.allclose(got[1], momentum * velocity + rate * gradient, atol=1e-6):
        return "The velocity must move *against* the gradient, downhill."
    if np.allclose(got[0], weights - rate * gradient, atol=1e-6):
        return "That is plain SGD; the step should also carry part of the previous velocity."
    return "Return (new weights, new velocity): update the velocity first, then move the weights by it."


def _judge_rates(paper_rate, our_rate):
    from ..train import paper_learning_rate_schedule

    schedule = paper_learning_rate_schedule().schedule
    right_ours = schedule(11)  # pass 12, the last of its stage: one pass off is another rate
    right_paper = right_ours * 0.0005 / schedule(0)
    paper_rate, our_rate = number(paper_rate, "paper_rate_pass_12"), number(our_rate, "our_rate_pass_12")
    problems = []
    if not np.isclose(paper_rate, right_paper, rtol=1e-6):
        problems.append(f"`paper_rate_pass_12` = {paper_rate:g} is not right: passes count from 1, and the paper "
                        "lists how many passes each rate lasts.")
    if not np.isclose(our_rate, right_ours, rtol=1e-6):
        problems.append(f"`our_rate_pass_12` = {our_rate:g} is not right: the callback's schedule takes the "
                        "0-based epoch.")
    if not problems:
        return f"right: {right_paper:g} in the paper, {right_ours:g} with our SGD, one tenth of the first rate."
    if len(problems) == 2:
        raise Wrong(" ".join(problems))
    return 0.5, "half right. " + problems[0]


def _judge_momentum(with_momentum, without_momentum, with_model, without_model):
    on = measured_again(with_momentum, "accuracy_with_momentum", with_model, "with_model", ("paper",))
    off = measured_again(without_momentum, "accuracy_without_momentum", without_model, "without_model",
                         ("paper",))
    if on < 0.85:
        raise Wrong(f"With momentum you measured {on:.1%}; the paper's network reaches more than 85% in one "
                    "epoch with its own optimiser. Did you train a freshly built network for one epoch?")
    if on - off < 0.02:
        raise Wrong("Your two numbers are too close for one epoch with and without momentum: did you "
                    "recompile the second network with momentum=0 and train it for one epoch too?")
    return (f"right: {on:.1%} with momentum, {off:.1%} without; momentum keeps going in the directions "
            "the gradients agree on, so the same epoch goes further.")


QUESTIONS = [
    Question("rate-in-pass-12", NOTEBOOK, "Give the paper's learning rate in pass 12, and our schedule's.",
             (Answer("paper_rate_pass_12"), Answer("our_rate_pass_12")), _judge_rates),
    Question("momentum-step", NOTEBOOK, "Write one step of SGD with momentum in NumPy.",
             (Answer("my_momentum_step", "function"),),
             same_outputs("my_momentum_step", momentum_step, _diagnose_step), probes=_step_probes),
    Question("momentum-on-off", NOTEBOOK, "Train one epoch with momentum and one without: measure both.",
             (Answer("accuracy_with_momentum"), Answer("accuracy_without_momentum"),
              Answer("with_model", "model"), Answer("without_model", "model")), _judge_momentum),
    CORE_QUESTIONS["trained-model"],
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "rate-in-pass-12": "compute",
    "momentum-step": "implement",
    "momentum-on-off": "experiment",
    "trained-model": "experiment",
}
