"""LeNet-5 in three variants, its layer table, and reading digits from a model.

* ``"paper"`` -- LeCun et al. (1998): 32x32 input scaled to -0.1..1.175, C1, S2
  (trainable subsampling), C3 (partially connected by Table I), S4, C5, F6 with
  the scaled tanh, and the Euclidean RBF output. 60,000 trainable parameters.
* ``"keras"`` -- the seed Keras tutorial's model: 28x28 input scaled to 0..1,
  Conv2D/AveragePooling2D/Dense with tanh, a softmax output, plain SGD and
  categorical cross-entropy. 61,706 parameters.
* ``"modern"`` -- the same shapes with today's defaults: ReLU, max pooling,
  softmax, Adam.

Every model is compiled and named ``lenet5_<variant>``, which is how
``predict_digits`` and ``lenet_course.train.train`` know how to feed and read it.
"""

from dataclasses import dataclass

import keras
import numpy as np

from .data import check_images, pad_to_32, paper_scale, unit_scale
from .layers import (
    C3_TABLE, PartialConv2D, RBFLoss, RBFOutput, Subsampling, rbf_accuracy, rbf_predict, scaled_tanh,
)
from .reference import PAPER_COUNTS  # noqa: F401 (kept in reference, so that checks read it without Keras)

VARIANTS = ("paper", "keras", "modern")

# Table and text of section II.B of the paper: trainable parameters and connections.
PAPER_TOTAL_PARAMS = 60_000
PAPER_TOTAL_CONNECTIONS = 340_908

LEARNING_RATES = {"paper": 0.01, "keras": 0.01, "modern": 0.001}


def build_lenet5(variant="paper", *, seed=0, kernel_initializer=None, codes=None):
    """Build and compile LeNet-5.

    Args:
        variant: ``"paper"``, ``"keras"`` or ``"modern"`` (see the module docstring).
        seed: seeds Keras's random generators before the weights are drawn, so the
            same seed gives the same initial weights. ``None`` leaves them as they are.
        kernel_initializer: ``"paper"`` only: the initializer of every kernel of
            C1, C3, C5 and F6 (default Keras's Glorot uniform), e.g.
            ``lenet_course.paper_recipe.PaperUniform()``.
        codes: ``"paper"`` only: the RBF output codes ``(10, 84)`` (default the
            digit bitmaps).

    Returns:
        A compiled ``LeNet5`` (a ``keras.Sequential``) named ``lenet5_<variant>``.

    Example:
        >>> model = build_lenet5("paper")
        >>> model.input_shape, model.output_shape
        ((None, 32, 32, 1), (None, 10))
    """
    if variant not in VARIANTS:
        raise ValueError(f"Expected variant to be one of {VARIANTS}. Received: variant={variant!r}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if variant != "paper" and (kernel_initializer is not None or codes is not None):
        raise ValueError(f"Expected kernel_initializer and codes only for variant 'paper'. Received: {variant!r}")
    if variant == "paper":
        model = _paper(kernel_initializer or "glorot_uniform", codes)
    elif variant == "keras":
        model = _seed_shaped("keras", "tanh", keras.layers.AveragePooling2D)
    else:
        model = _seed_shaped("modern", "relu", keras.layers.MaxPooling2D)
    _compile(model, variant)
    return model


@keras.saving.register_keras_serializable(package="lenet_course")
class LeNet5(keras.Sequential):
    """A ``keras.Sequential`` that names the expected input shape when given a wrong one.

    Plain Keras reports a wrong image size deep inside a layer (a negative
    dimension in C5); this says what the network wanted instead.
    """

    def call(self, inputs, training=None, mask=None, **kwargs):
        expected, received = tuple(self.input_shape[1:]), tuple(inputs.shape[1:])
        if len(expected) != len(received) or any(e is not None and r is not None and e != r
                                                 for e, r in zip(expected, received)):
            raise ValueError(
                f"{self.name} expects images of shape (batch, {', '.join(map(str, expected))}). "
                f"Received: shape={tuple(inputs.shape)}. For raw 28x28 digits use predict_digits, "
                "or preprocess(images, variant) to get the model's own input."
            )
        return super().call(inputs, training=training, mask=mask, **kwargs)


def _paper(init="glorot_uniform", codes=None):
    L = keras.layers
    return LeNet5(
        [
            keras.Input((32, 32, 1)),
            L.Conv2D(6, 5, activation=scaled_tanh, kernel_initializer=init, name="C1"),
            Subsampling(2, activation=scaled_tanh, name="S2"),
            PartialConv2D(C3_TABLE, 5, activation=scaled_tanh, kernel_initializer=init, name="C3"),
            Subsampling(2, activation=scaled_tanh, name="S4"),
            L.Conv2D(120, 5, activation=scaled_tanh, kernel_initializer=init, name="C5"),
            L.Flatten(name="flatten"),
            L.Dense(84, activation=scaled_tanh, kernel_initializer=init, name="F6"),
            RBFOutput(codes, name="output"),
        ],
        name="lenet5_paper",
    )


def _seed_shaped(variant, activation, pooling):
    """The seed tutorial's layers; "modern" is the same with ReLU and max pooling."""
    L = keras.layers
    return LeNet5(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(6, 5, padding="same", activation=activation, name="C1"),
            pooling(2, name="S2"),
            L.Conv2D(16, 5, activation=activation, name="C3"),
            pooling(2, name="S4"),
            L.Conv2D(120, 5, activation=activation, name="C5"),
            L.Flatten(name="flatten"),
            L.Dense(84, activation=activation, name="F6"),
            L.Dense(10, activation="softmax", name="output"),
        ],
        name=f"lenet5_{variant}",
    )


def _compile(model, variant):
    rate = LEARNING_RATES[variant]
    if variant == "paper":
        # SGD with momentum 0.9 at 0.01 trains well with the scaled tanh; at 0.05 it diverges.
        model.compile(keras.optimizers.SGD(rate, momentum=0.9), RBFLoss(), metrics=[rbf_accuracy])
    elif variant == "keras":
        model.compile(keras.optimizers.SGD(rate), "categorical_crossentropy", metrics=["accuracy"])
    else:
        model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])


def variant_of(model):
    """The variant a model was built as, read from its name (``lenet5_<variant>``)."""
    name = getattr(model, "name", "")
    variant = name.removeprefix("lenet5_")
    if not name.startswith("lenet5_") or variant not in VARIANTS:
        raise ValueError(
            f"Expected a model from build_lenet5 (named 'lenet5_paper', 'lenet5_keras' or "
            f"'lenet5_modern'). Received: a model named {name!r}"
        )
    return variant


def preprocess(images, variant):
    """Raw uint8 digits ``(n, 28, 28)`` -> the float input the variant expects.

    ``"paper"``: padded to 32x32, scaled to -0.1..1.175; the others: 28x28 in 0..1.
    A channel axis is added: ``(n, 32, 32, 1)`` or ``(n, 28, 28, 1)``.
    """
    images = check_images(images)
    if variant == "paper":
        return paper_scale(pad_to_32(images))[..., None]
    return unit_scale(images)[..., None]


def encode_labels(labels, variant):
    """Digit labels -> the targets the variant's loss expects (one-hot for the seed model)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError(f"Expected labels as integers 0-9 of shape (n,). Received: shape={labels.shape}, "
                         f"dtype={labels.dtype}")
    if variant == "keras":
        return keras.utils.to_categorical(labels, 10)
    return labels.astype("int64")


def predict_digits(model, images, *, batch_size=256):
    """The digit (0-9) a model built by ``build_lenet5`` reads in each raw image.

    Applies the variant's own preprocessing and reads its output: the nearest
    RBF code for ``"paper"``, the largest softmax output otherwise.

    Example:
        >>> data = load_mnist("sample")                        # doctest: +SKIP
        >>> predict_digits(build_lenet5("paper"), data.x_test[:3])  # doctest: +SKIP
        array([7, 2, 1])
    """
    return read_digits(model, preprocess(images, variant_of(model)), batch_size=batch_size)


def read_digits(model, inputs, *, batch_size=256):
    """The digit (0-9) a model built by ``build_lenet5`` reads in each of its own inputs.

    ``predict_digits`` without the preprocessing: for inputs already made by
    ``preprocess``, as a training loop that reads the same digits every pass has.

    Example:
        >>> inputs = preprocess(np.zeros((2, 28, 28), "uint8"), "paper")
        >>> read_digits(build_lenet5("paper"), inputs).shape
        (2,)
    """
    outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
    if variant_of(model) == "paper":
        return rbf_predict(outputs)
    return np.argmax(outputs, axis=-1)


def apply_layers(model, inputs, names):
    """Run network inputs through the named layers of ``model``, in order; NumPy out.

    Unlike calling the model, this starts and stops at any layer and takes any
    image size, which is how a chapter looks inside the network or feeds C5 a
    larger S4.

    Example:
        >>> model = build_lenet5("paper")
        >>> apply_layers(model, np.zeros((1, 40, 40, 1), "float32"), ["C1", "S2", "C3", "S4"]).shape
        (1, 7, 7, 16)
    """
    outputs = inputs
    for name in names:
        outputs = model.get_layer(name)(outputs)
    return keras.ops.convert_to_numpy(outputs)


def accuracy(model, images, labels):
    """Fraction of ``images`` that ``predict_digits`` labels correctly."""
    return float(np.mean(predict_digits(model, images) == np.asarray(labels)))


@dataclass(frozen=True)
class LayerRow:
    name: str
    output_shape: tuple
    params: int
    connections: int


class LayerTable(list):
    """A list of ``LayerRow``, shown as a table in a notebook or with ``print``."""

    @property
    def total_params(self):
        return sum(row.params for row in self)

    @property
    def total_connections(self):
        return sum(row.connections for row in self)

    def rows(self, compare_with_paper=True):
        header = ["layer", "output shape", "trainable params", "connections"]
        if compare_with_paper:
            header += ["paper params", "paper connections"]
        lines = []
        for row in self:
            line = [row.name, "x".join(map(str, row.output_shape)), f"{row.params:,}", f"{row.connections:,}"]
            if compare_with_paper:
                paper = PAPER_COUNTS.get(row.name, {})
                line += [f"{paper['params']:,}" if paper else "", f"{paper['connections']:,}" if paper else ""]
            lines.append(line)
        total = ["total", "", f"{self.total_params:,}", f"{self.total_connections:,}"]
        if compare_with_paper:
            total += [f"{PAPER_TOTAL_PARAMS:,}", f"{PAPER_TOTAL_CONNECTIONS:,}"]
        return header, lines + [total]

    def __str__(self):
        header, lines = self.rows()
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
        fmt = lambda r: "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])

    def _repr_html_(self):
        # Styled in the table itself: Colab shows a bare table with no space between its
        # columns ("output10"). The class gives it the book's table look.
        header, lines = self.rows()
        body = "".join(_html_row(line, "td") for line in lines)
        return f'<table class="table"><thead>{_html_row(header, "th")}</thead><tbody>{body}</tbody></table>'


def _html_row(cells, tag):
    """A table row: the layer and its shape to the left, the counts to the right."""
    style = "padding: 0.25em 0.6em; text-align: {}"
    return "<tr>" + "".join(f'<{tag} style="{style.format("left" if i < 2 else "right")}">{cell}</{tag}>'
                            for i, cell in enumerate(cells)) + "</tr>"


def layer_table(model):
    """Each computing layer's output shape, trainable parameters and connections.

    Connections are counted as the paper counts them: every multiply-add from an
    input (or a bias) into an output unit. For a convolution that is
    ``output positions x parameters``, e.g. C1: 28 * 28 * 156 = 122,304.

    Example:
        >>> table = layer_table(build_lenet5("paper"))
        >>> [(row.name, row.params) for row in table][:3]
        [('C1', 156), ('S2', 12), ('C3', 1516)]
        >>> table.total_params
        60000
    """
    rows = LayerTable()
    for layer in model.layers:
        connections = count_connections(layer)
        if connections == 0:
            continue  # Flatten, Dropout, ...: no arithmetic of their own
        params = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        rows.append(LayerRow(layer.name, tuple(layer.output.shape[1:]), params, connections))
    return rows


def count_connections(layer):
    """Multiply-adds into the layer's output units, as the paper counts connections."""
    shape = layer.output.shape[1:]
    positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    params = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    if isinstance(layer, (keras.layers.Conv2D, PartialConv2D)):
        return positions * params
    if isinstance(layer, Subsampling):
        return positions * shape[-1] * (layer.pool_size**2 + 1)
    if isinstance(layer, (keras.layers.AveragePooling2D, keras.layers.MaxPooling2D)):
        return positions * shape[-1] * int(np.prod(layer.pool_size))
    if isinstance(layer, keras.layers.Dense):
        return params
    if isinstance(layer, RBFOutput):
        return int(np.prod(layer.codes.shape))
    return 0
