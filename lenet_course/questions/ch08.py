"""Exercise questions for chapter 8, the whole network (``exercises/08_whole_network``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['lenet5-spec', 'dense-c3-and-s2', 'params-and-work']
"""

from ..checks import CORE_QUESTIONS, Answer, Question, Wrong, _describe
from ._kit import whole_numbers

NOTEBOOK = "08_whole_network"
LAYERS = ("C1", "S2", "C3", "S4", "C5", "F6", "output")


def _judge_params_and_work(most_params, most_connections):
    from ..reference import PAPER_COUNTS

    answers = {"most_params_layer": most_params, "most_connections_layer": most_connections}
    for name, value in answers.items():
        if not isinstance(value, str) or value.strip() not in LAYERS:
            raise Wrong(f"`{name}` should be a layer's name, one of {list(LAYERS)}; it is {_describe(value)}.")
    right = {"most_params_layer": max(PAPER_COUNTS, key=lambda n: PAPER_COUNTS[n]["params"]),
             "most_connections_layer": max(PAPER_COUNTS, key=lambda n: PAPER_COUNTS[n]["connections"])}
    wrong = [name for name in answers if answers[name].strip() != right[name]]
    if not wrong:
        return (f"right: {right['most_params_layer']} holds the weights, {right['most_connections_layer']} "
                "does the work: weight sharing makes a convolution cheap in parameters, not in arithmetic.")
    hint = ("Sort the layer table by the column you need; a convolution's connections are its parameters "
            "times its output positions.")
    if len(wrong) == 2:
        raise Wrong(f"Neither is right. {hint}")
    return 0.5, f"half right: `{wrong[0]}` is not. {hint}"


QUESTIONS = [
    CORE_QUESTIONS["lenet5-spec"],
    Question("dense-c3-and-s2", NOTEBOOK, "Count a dense C3's parameters, and S2's connections without its bias.",
             (Answer("dense_c3_params"), Answer("s2_connections_without_bias")),
             whole_numbers(
                 ("dense_c3_params", 2_416, {1_516: "That is C3 with Table I; dense, every C3 map sees all "
                                                    "6 S2 maps.",
                                             "default": "Dense: a 5x5 kernel for every pair (S2 map, C3 map), "
                                                        "and a bias per C3 map."}),
                 ("s2_connections_without_bias", 4_704, {
                     5_880: "That is S2 with its bias.",
                     "default": "Each of S2's 14x14x6 units connects to its 2x2 block."}))),
    Question("params-and-work", NOTEBOOK, "Read the layer table: which layer holds most parameters, which does "
             "most connections?", (Answer("most_params_layer"), Answer("most_connections_layer")),
             _judge_params_and_work),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "lenet5-spec": "implement",
    "dense-c3-and-s2": "compute",
    "params-and-work": "experiment",
}
