"""The layers of LeNet-5 that Keras does not have, written as Keras 3 layers.

* ``scaled_tanh`` -- the paper's squashing function ``1.7159 * tanh(2x/3)``.
* ``PartialConv2D`` -- a convolution in which each output map sees only the input
  maps a connection table allows (C3 with ``C3_TABLE``).
* ``Subsampling`` -- the paper's trainable subsampling (S2, S4).
* ``RBFOutput`` -- the paper's Euclidean RBF output layer, with ``RBFLoss`` to
  train it and ``rbf_scores`` / ``rbf_predict`` to read it.

Every layer has ``get_config`` and survives a ``.keras`` save and load; the
plain NumPy versions in ``lenet_course.reference`` compute the same numbers.
"""

import keras
import numpy as np
from keras import ops

from .reference import C3_TABLE  # noqa: F401 (kept in reference, so that checks read it without Keras)

PACKAGE = "lenet_course"

# The ten 7x12 bitmaps of the RBF output layer, drawn after Fig. 3 of the paper
# ('#' = +1, '.' = -1). Each is the ideal F6 output for its digit.
_BITMAP_DRAWINGS = {
    0: ["..###..", ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#",
        "#.....#", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."],
    1: ["...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...",
        "...#...", "...#...", "...#...", "...#...", "...#...", ".#####."],
    2: [".#####.", "#.....#", "......#", "......#", ".....#.", "....#..",
        "...#...", "..#....", ".#.....", "#......", "#......", "#######"],
    3: [".#####.", "#.....#", "......#", "......#", "......#", "..####.",
        "......#", "......#", "......#", "......#", "#.....#", ".#####."],
    4: ["....##.", "...#.#.", "..#..#.", ".#...#.", "#....#.", "#....#.",
        "#######", ".....#.", ".....#.", ".....#.", ".....#.", ".....#."],
    5: ["#######", "#......", "#......", "#......", "######.", "......#",
        "......#", "......#", "......#", "......#", "#.....#", ".#####."],
    6: ["..####.", ".#.....", "#......", "#......", "#.####.", "##....#",
        "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", ".#####."],
    7: ["#######", "......#", "......#", ".....#.", ".....#.", "....#..",
        "....#..", "...#...", "...#...", "..#....", "..#....", "..#...."],
    8: [".#####.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###..",
        ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#", ".#####."],
    9: [".#####.", "#.....#", "#.....#", "#.....#", "#.....#", "#....##",
        ".####.#", "......#", "......#", "......#", ".....#.", ".####.."],
}


def rbf_bitmaps():
    """The paper-style output codes: float32 array (10, 12, 7) of -1 and +1.

    Example:
        >>> rbf_bitmaps().shape
        (10, 12, 7)
    """
    return np.array(
        [[[1.0 if c == "#" else -1.0 for c in row] for row in _BITMAP_DRAWINGS[d]] for d in range(10)],
        dtype=np.float32,
    )


@keras.saving.register_keras_serializable(package=PACKAGE)
def scaled_tanh(x):
    """The paper's squashing function ``f(a) = 1.7159 * tanh(2a/3)``.

    Chosen so that f(1) = 1 and f(-1) = -1, with the steepest slope around 0.

    Example:
        >>> round(float(scaled_tanh(1.0)), 4)
        1.0
    """
    return 1.7159 * ops.tanh(2.0 / 3.0 * ops.convert_to_tensor(x))


@keras.saving.register_keras_serializable(package=PACKAGE)
class PartialConv2D(keras.layers.Layer):
    """A 2D convolution (valid, stride 1) in which each output map sees only some input maps.

    ``table[i, j]`` says whether input map ``i`` feeds output map ``j``:

        out[:, :, j] = bias[j] + sum over i with table[i, j] of conv(in[:, :, i], kernel[i, j])

    Only the connected kernels are weights, so Keras counts exactly them:
    with ``C3_TABLE`` and 5x5 kernels that is 60 * 25 + 16 = 1,516 parameters.

    Example:
        >>> layer = PartialConv2D(C3_TABLE, kernel_size=5)
        >>> tuple(layer(np.zeros((1, 14, 14, 6), "float32")).shape)
        (1, 10, 10, 16)
        >>> layer.count_params()
        1516

    Args:
        table: boolean array ``(input maps, output maps)``; every output map
            needs at least one input.
        kernel_size: side of the square kernels.
        activation: applied to the output (None: linear).
        kernel_initializer, bias_initializer: as in ``keras.layers.Conv2D``.
    """

    def __init__(self, table, kernel_size=5, activation=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        table = np.asarray(table)
        if table.ndim != 2 or table.dtype.kind not in "biu" or not np.isin(table, (0, 1)).all():
            raise ValueError(
                "Expected table as a 2D boolean array (input maps, output maps). "
                f"Received: table with shape {table.shape} and dtype {table.dtype}"
            )
        table = table.astype(bool)
        if not table.any(axis=0).all():
            raise ValueError(f"Expected every output map to have an input. Received: empty columns "
                             f"{np.flatnonzero(~table.any(axis=0)).tolist()}")
        if int(kernel_size) < 1:
            raise ValueError(f"Expected kernel_size >= 1. Received: kernel_size={kernel_size}")
        self.table = table
        self.kernel_size = int(kernel_size)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        # Index of each (input, output) pair's kernel among the connected ones; the
        # unconnected pairs point at one extra all-zero kernel.
        n_connections = int(table.sum())
        index = np.full(table.shape, n_connections, dtype="int32")
        index[table] = np.arange(n_connections)
        self._kernel_index = index
        self.n_connections = n_connections

    def build(self, input_shape):
        if input_shape[-1] != self.table.shape[0]:
            raise ValueError(f"Expected inputs with {self.table.shape[0]} maps (the table's rows). "
                             f"Received: input_shape={tuple(input_shape)}")
        k = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(k, k, self.n_connections),
                                      initializer=self._connected_kernels)
        self.bias = self.add_weight(name="bias", shape=(self.table.shape[1],), initializer=self.bias_initializer)

    def _connected_kernels(self, shape, dtype=None):
        k = self.kernel_size
        if getattr(self.kernel_initializer, "per_unit_fan_in", False):
            # An initializer scaled by each unit's own fan-in (the paper's): an output map fed
            # by m input maps has m * k * k inputs.
            fan_in = k * k * self.table.sum(axis=0)[np.nonzero(self.table)[1]]
            return self.kernel_initializer((k, k, self.n_connections), dtype=dtype, fan_in=fan_in)
        # Initialise as a dense Conv2D would (same fan-in and fan-out), keep the connected kernels.
        dense = self.kernel_initializer((k, k, *self.table.shape), dtype=dtype)
        connected = np.flatnonzero(self.table.ravel())
        return ops.take(ops.reshape(dense, (k, k, -1)), connected, axis=2)

    def dense_kernel(self):
        """The full ``(k, k, in, out)`` kernel, zero where the table has no connection."""
        padded = ops.concatenate([self.kernel, ops.zeros((self.kernel_size, self.kernel_size, 1), self.kernel.dtype)], -1)
        return ops.take(padded, self._kernel_index, axis=2)

    def call(self, inputs):
        outputs = ops.conv(inputs, self.dense_kernel(), strides=1, padding="valid") + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        k = self.kernel_size
        side = [None if s is None else s - k + 1 for s in input_shape[1:3]]
        return (input_shape[0], *side, self.table.shape[1])

    def get_config(self):
        return {
            **super().get_config(),
            "table": self.table.astype(int).tolist(),
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class Subsampling(keras.layers.Layer):
    """The paper's trainable subsampling: each map's 2x2 block sums, times a weight, plus a bias.

        out[y, x, c] = coefficient[c] * sum(in[2y:2y+2, 2x:2x+2, c]) + bias[c]

    Two trainable numbers per map: S2 (6 maps) has 12 parameters, S4 (16 maps) 32.
    With coefficient 0.25 and bias 0 it is plain average pooling, which is where
    it starts.

    Example:
        >>> layer = Subsampling()
        >>> tuple(layer(np.ones((1, 28, 28, 6), "float32")).shape)
        (1, 14, 14, 6)
        >>> layer.count_params()
        12

    Args:
        pool_size: side of the non-overlapping blocks (2 in LeNet-5).
        activation: applied to the output (None: linear).
    """

    def __init__(self, pool_size=2, activation=None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 1:
            raise ValueError(f"Expected pool_size >= 1. Received: pool_size={pool_size}")
        self.pool_size = int(pool_size)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        maps = input_shape[-1]
        area = self.pool_size**2
        self.coefficient = self.add_weight(name="coefficient", shape=(maps,),
                                           initializer=keras.initializers.Constant(1.0 / area))
        self.bias = self.add_weight(name="bias", shape=(maps,), initializer="zeros")

    def call(self, inputs):
        p = self.pool_size
        block_sums = ops.average_pool(inputs, p, strides=p, padding="valid") * float(p * p)
        outputs = block_sums * self.coefficient + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        side = [None if s is None else s // self.pool_size for s in input_shape[1:3]]
        return (input_shape[0], *side, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RBFOutput(keras.layers.Layer):
    """The paper's output layer: one Euclidean radial basis function unit per class.

        distance[i] = sum_j (x[j] - w[i, j])**2

    ``w[i]`` is a fixed code for class ``i``: by default the 7x12 bitmap of digit
    ``i`` (``rbf_bitmaps()``) flattened to 84 values of -1 and +1. The codes are
    not trained (840 non-trainable parameters). A *small* distance means a likely
    class: read it with ``rbf_predict`` or ``rbf_scores``, train it with ``RBFLoss``.

    Example:
        >>> layer = RBFOutput()
        >>> codes = rbf_bitmaps().reshape(10, 84)
        >>> distances = layer(codes[[3]])       # F6 output exactly the bitmap of a 3
        >>> int(np.argmin(distances, axis=-1)[0])
        3

    Args:
        codes: array (classes, features) of the fixed prototypes; default the
            ten 84-pixel digit bitmaps.
    """

    def __init__(self, codes=None, **kwargs):
        super().__init__(**kwargs)
        codes = rbf_bitmaps().reshape(10, -1) if codes is None else np.asarray(codes, dtype="float32")
        if codes.ndim != 2:
            raise ValueError(f"Expected codes of shape (classes, features). Received: shape={codes.shape}")
        self.codes = codes

    def build(self, input_shape):
        if input_shape[-1] != self.codes.shape[1]:
            raise ValueError(f"Expected inputs with {self.codes.shape[1]} features. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.prototypes = self.add_weight(name="prototypes", shape=self.codes.shape, trainable=False,
                                          initializer=keras.initializers.Constant(self.codes))

    def call(self, inputs):
        # |x - w|^2 for every pair, as |x|^2 - 2 x.w + |w|^2 (one matrix product).
        x_sq = ops.sum(ops.square(inputs), axis=-1, keepdims=True)
        w_sq = ops.sum(ops.square(self.prototypes), axis=-1)
        return ops.maximum(x_sq - 2.0 * ops.matmul(inputs, ops.transpose(self.prototypes)) + w_sq, 0.0)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.codes.shape[0])

    def get_config(self):
        return {**super().get_config(), "codes": self.codes.tolist()}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RBFLoss(keras.losses.Loss):
    """Cross-entropy over ``-distance / temperature``: a trainable loss for ``RBFOutput``.

    With temperature 1 this is the paper's maximum a posteriori criterion (its
    equation 9) without the constant ``j``: it pulls the right class's distance
    down and pushes the others up. Dividing the distances by a temperature
    (default 16) keeps the softmax from saturating at the start of training,
    which trains markedly better on MNIST. Labels are integers 0-9.

    Example:
        >>> loss = RBFLoss()
        >>> float(loss(np.array([0]), np.array([[0.0, 160.0]]))) < 1e-4
        True
    """

    def __init__(self, temperature=16.0, name="rbf_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if not float(temperature) > 0:
            raise ValueError(f"Expected temperature > 0. Received: temperature={temperature}")
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(
            y_true, -ops.convert_to_tensor(y_pred) / self.temperature, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package=PACKAGE)
def rbf_accuracy(y_true, y_pred):
    """Keras metric: the fraction of samples whose nearest code is the label."""
    predicted = ops.argmin(y_pred, axis=-1)
    return ops.cast(ops.equal(ops.cast(ops.reshape(y_true, (-1,)), "int64"), ops.cast(predicted, "int64")), "float32")


def rbf_predict(distances):
    """The class of the nearest code: ``argmin`` over the last axis (NumPy ints)."""
    return np.argmin(np.asarray(distances), axis=-1)


def rbf_scores(distances, temperature=16.0):
    """Class probabilities from RBF distances: ``softmax(-distance / temperature)``.

    Example:
        >>> rbf_scores(np.array([[0.0, 1e3]])).round(3)
        array([[1., 0.]])
    """
    logits = -np.asarray(distances, dtype="float64") / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)
