"""Exercise questions for chapter 12, paper, seed and modern (``exercises/12_paper_seed_modern``).

Example:
    >>> [question.name for question in QUESTIONS]
    ['seed-counts', 'seed-spec', 'optimiser-matters']
"""

from ..checks import Answer, Question, Wrong, _describe
from ._kit import measured_again, whole_numbers

NOTEBOOK = "12_paper_seed_modern"


def _judge_seed_spec(model):
    import keras

    from ..models import build_lenet5, layer_table

    if not isinstance(model, keras.Model):
        raise Wrong(f"`my_seed_lenet5` should be a Keras model; it is {_describe(model)}.")
    try:
        input_shape = tuple(model.input_shape)
    except (AttributeError, ValueError):
        raise Wrong("Keras does not know your model's input yet: start with keras.Input((28, 28, 1)).") from None
    if input_shape != (None, 28, 28, 1):
        raise Wrong(f"The seed's input is a 28x28 image, shape (None, 28, 28, 1); yours is {input_shape}.")
    reference, rows = layer_table(build_lenet5("keras", seed=None)), layer_table(model)
    if [r.name for r in rows] != [r.name for r in reference]:
        raise Wrong(f"Name the layers {[r.name for r in reference]} in this order; yours are "
                    f"{[r.name for r in rows]}.")
    for mine, seed in zip(rows, reference):
        if mine.output_shape != seed.output_shape:
            raise Wrong(f"{mine.name} outputs {mine.output_shape}; the seed's outputs {seed.output_shape}. "
                        "Check its maps, kernel or pool size, and padding.")
        if mine.params != seed.params:
            raise Wrong(f"{mine.name} has {mine.params:,} parameters; the seed's has {seed.params:,}.")
    pooling = {layer.name: layer for layer in model.layers if layer.name in ("S2", "S4")}
    for name, layer in pooling.items():
        if not isinstance(layer, keras.layers.AveragePooling2D):
            raise Wrong(f"The seed subsamples by averaging: {name} should be an AveragePooling2D; "
                        f"yours is a {type(layer).__name__}.")
    activations = {layer.name: getattr(getattr(layer, "activation", None), "__name__", "")
                   for layer in model.layers}
    if any(activations.get(name) != "tanh" for name in ("C1", "C3", "C5", "F6")):
        raise Wrong("The seed squashes C1, C3, C5 and F6 with plain tanh (activation='tanh').")
    if activations.get("output") != "softmax":
        raise Wrong("The seed's output layer is a softmax.")
    return f"right: the seed's network, {rows.total_params:,} parameters."


def _judge_optimiser(accuracy_sgd, accuracy_adam, sgd_model, adam_model):
    sgd = measured_again(accuracy_sgd, "accuracy_sgd", sgd_model, "sgd_model", ("keras",))
    adam = measured_again(accuracy_adam, "accuracy_adam", adam_model, "adam_model", ("keras",))
    if adam < 0.85:
        raise Wrong(f"With Adam you measured {adam:.1%}; one epoch of the seed's network with Adam(0.001) "
                    "reads more than 85%. Did you recompile a freshly built network?")
    if adam - sgd < 0.05:
        raise Wrong("Your two numbers are close; with the same network, data and epoch, changing only the "
                    "optimiser should show a clear gap. Did both runs start from a freshly built network?")
    return (f"right: {sgd:.1%} with plain SGD, {adam:.1%} with Adam, same layers: the optimiser explains "
            "most of the gap between the seed and the modern network.")


QUESTIONS = [
    Question("seed-counts", NOTEBOOK, "Count the seed's C3 and output parameters.",
             (Answer("seed_c3_params"), Answer("seed_output_params")),
             whole_numbers(("seed_c3_params", 2_416, {1_516: "That is the paper's C3, with Table I.",
                                                      "default": "The seed's C3 is dense: every C3 map sees all "
                                                                 "6 maps below it."}),
                           ("seed_output_params", 850, {840: "Each of the 10 softmax units also has a bias.",
                                                        0: "That is the paper's RBF output; the seed's is a "
                                                           "trained softmax layer.",
                                                        "default": "Ten units, each with a weight per F6 "
                                                                   "output, and a bias."}))),
    Question("seed-spec", NOTEBOOK, "Build the seed's network in Keras.",
             (Answer("my_seed_lenet5", "model"),), _judge_seed_spec),
    Question("optimiser-matters", NOTEBOOK, "Train the seed's network for one epoch with SGD and with Adam.",
             (Answer("accuracy_sgd"), Answer("accuracy_adam"), Answer("sgd_model", "model"),
              Answer("adam_model", "model")), _judge_optimiser),
]

# What each question asks for: compute (a number), implement (a function or a model) or
# experiment (change something, measure, and answer with the measurement or a choice).
KINDS = {
    "seed-counts": "compute",
    "seed-spec": "implement",
    "optimiser-matters": "experiment",
}
