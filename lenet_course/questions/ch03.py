"""Exercise questions for chapter 3, S2 and the subsampling (``exercises/03_s2_subsampling``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['subsample-3x3', 'subsample', 'shift-effect']
"""

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong, _describe, _whole_number
from ._kit import one_of

NOTEBOOK = "03_s2_subsampling"

SHIFT_OPTIONS = ("S2 changes less than C1", "S2 changes as much as C1", "S2 changes more than C1")


def _judge_subsample_3x3(shape, params, connections):
    try:
        shape = tuple(_whole_number(n, "subsample_shape") for n in shape)
    except TypeError:
        raise Wrong(f"`subsample_shape` should be a tuple (height, width, maps); it is {_describe(shape)}.") from None
    problems = []
    if shape != (10, 10, 6):
        problems.append(f"`subsample_shape` {shape} is not right: a 3x3 block without overlap turns 3 rows "
                        "into 1, and the number of maps does not change.")
    params = _whole_number(params, "subsample_params")
    if params != 12:
        problems.append(f"`subsample_params` = {params} is not right: what does each map learn, whatever "
                        "the block size?")
    connections = _whole_number(connections, "subsample_connections")
    if connections != 6_000:
        problems.append(f"`subsample_connections` = {connections:,} is not right: each output unit "
                        "connects to every pixel of its block, and to its bias.")
    if not problems:
        return "right: (10, 10, 6), 12 parameters, 6,000 connections."
    if len(problems) == 3:
        raise Wrong(" ".join(problems))
    return (3 - len(problems)) / 3, f"{3 - len(problems)} of 3 right. " + " ".join(problems)


QUESTIONS = [
    Question("subsample-3x3", NOTEBOOK,
             "Give the output shape, parameters and connections of a 3x3 subsampling on 30x30x6 maps.",
             (Answer("subsample_shape"), Answer("subsample_params"), Answer("subsample_connections")),
             _judge_subsample_3x3),
    CORE_QUESTIONS["subsample"],
    Question("shift-effect", NOTEBOOK,
             "Shift a digit by one pixel: measure how much C1's maps and S2's maps change.",
             (Answer("shift_effect"),),
             one_of("shift_effect", SHIFT_OPTIONS, SHIFT_OPTIONS[0], {
                 SHIFT_OPTIONS[1]: "Compare the two relative changes you printed: are they equal?",
                 SHIFT_OPTIONS[2]: "Look again at the two relative changes: which one is the larger?"})),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "subsample-3x3": "compute",
    "subsample": "implement",
    "shift-effect": "experiment",
}
