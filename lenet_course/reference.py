"""LeNet-5's layers as plain NumPy loops, written to be read, not to be fast.

Each function computes exactly what its Keras layer computes (the tests check it
on random inputs), so a chapter can explain a layer with a few lines of Python.
Shapes follow Keras: one image is ``(height, width, maps)``.

Example:
    >>> image = np.zeros((32, 32, 1)); kernels = np.zeros((5, 5, 1, 6))
    >>> conv2d(image, kernels, np.zeros(6)).shape
    (28, 28, 6)
"""

import numpy as np

# Table I of LeCun et al. (1998): row i, column j is True when S2 map i feeds C3 map j.
# C3 maps 0-5 see 3 contiguous S2 maps, 6-11 see 4 contiguous, 12-14 see 4
# non-contiguous, and 15 sees all 6: 60 connections instead of 96.
C3_TABLE = np.array(
    [
        # 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
        [1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1],  # S2 map 0
        [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1],  # S2 map 1
        [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1],  # S2 map 2
        [0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1],  # S2 map 3
        [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1],  # S2 map 4
        [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1],  # S2 map 5
    ],
    dtype=bool,
)

# Trainable parameters and connections of each layer, as the paper counts them (its Section II.B).
PAPER_COUNTS = {
    "C1": {"params": 156, "connections": 122_304},
    "S2": {"params": 12, "connections": 5_880},
    "C3": {"params": 1_516, "connections": 151_600},
    "S4": {"params": 32, "connections": 2_000},
    "C5": {"params": 48_120, "connections": 48_120},
    "F6": {"params": 10_164, "connections": 10_164},
    "output": {"params": 0, "connections": 840},
}


def scaled_tanh(a):
    """The paper's squashing function, ``1.7159 * tanh(2a/3)``."""
    return 1.7159 * np.tanh(2.0 / 3.0 * np.asarray(a))


def conv2d(image, kernels, biases):
    """A 'valid' convolution with stride 1, as in C1, C3 and C5.

    Args:
        image: ``(height, width, in_maps)``.
        kernels: ``(k, k, in_maps, out_maps)``.
        biases: ``(out_maps,)``.

    Returns:
        ``(height - k + 1, width - k + 1, out_maps)``: each output pixel is the sum
        of a k x k window of every input map times its kernel, plus the bias.
    """
    k = kernels.shape[0]
    out_h, out_w = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((out_h, out_w, kernels.shape[3]))
    for y in range(out_h):
        for x in range(out_w):
            window = image[y : y + k, x : x + k, :]  # (k, k, in_maps)
            for m in range(kernels.shape[3]):
                out[y, x, m] = np.sum(window * kernels[:, :, :, m]) + biases[m]
    return out


def partial_conv2d(image, kernels, biases, table):
    """A convolution through a connection table, as in C3.

    Output map ``j`` sees only the input maps ``i`` with ``table[i, j]``.

    Args:
        kernels: ``(k, k, connections)``, one kernel per True entry of ``table``
            in row-major order (as ``PartialConv2D`` stores them).
        table: boolean ``(in_maps, out_maps)``, e.g. ``C3_TABLE``.
    """
    k = kernels.shape[0]
    out_h, out_w = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((out_h, out_w, table.shape[1]))
    connection = 0
    for i in range(table.shape[0]):  # row-major: the order the kernels are stored in
        for j in range(table.shape[1]):
            if not table[i, j]:
                continue
            kernel = kernels[:, :, connection]
            for y in range(out_h):
                for x in range(out_w):
                    out[y, x, j] += np.sum(image[y : y + k, x : x + k, i] * kernel)
            connection += 1
    return out + biases


def subsample(maps, coefficients, biases, pool_size=2):
    """The paper's subsampling: each block's sum, times a coefficient, plus a bias.

    One coefficient and one bias per map.
    """
    p = pool_size
    out_h, out_w = maps.shape[0] // p, maps.shape[1] // p
    out = np.zeros((out_h, out_w, maps.shape[2]))
    for y in range(out_h):
        for x in range(out_w):
            block_sum = maps[y * p : y * p + p, x * p : x * p + p, :].sum(axis=(0, 1))
            out[y, x, :] = coefficients * block_sum + biases
    return out


def rbf_distances(features, codes):
    """The RBF output: the squared Euclidean distance from ``features`` to each code.

    Args:
        features: ``(84,)``, F6's output for one image.
        codes: ``(10, 84)``, one fixed code per class.
    """
    return np.array([np.sum((features - code) ** 2) for code in codes])


def dense(vector, kernel, biases):
    """A fully connected layer, as in F6: ``vector (n,) @ kernel (n, units) + biases``."""
    return np.asarray(vector) @ kernel + biases


def forward(image, weights):
    """One padded, scaled image ``(32, 32, 1)`` through the paper's LeNet-5.

    Args:
        weights: ``{"C1/kernel": array, ...}`` as ``lenet_course.export.weight_arrays``
            gives them, plus ``"C3/table"`` (Table I, e.g. ``C3_TABLE``).

    Returns:
        ``(distances, layers)``: the 10 RBF distances (the digit is the smallest)
        and each layer's output, ``{"C1": (28, 28, 6), ..., "F6": (84,)}``.
    """
    w = weights
    C1 = scaled_tanh(conv2d(image, w["C1/kernel"], w["C1/bias"]))
    S2 = scaled_tanh(subsample(C1, w["S2/coefficient"], w["S2/bias"]))
    C3 = scaled_tanh(partial_conv2d(S2, w["C3/kernel"], w["C3/bias"], w["C3/table"]))
    S4 = scaled_tanh(subsample(C3, w["S4/coefficient"], w["S4/bias"]))
    C5 = scaled_tanh(conv2d(S4, w["C5/kernel"], w["C5/bias"]))
    F6 = scaled_tanh(dense(C5.ravel(), w["F6/kernel"], w["F6/bias"]))
    distances = rbf_distances(F6, w["output/prototypes"])
    return distances, {"C1": C1, "S2": S2, "C3": C3, "S4": S4, "C5": C5, "F6": F6}

def map_loss(distances, label, j):
    """The paper's loss for one image (equation 9): ``y_D + log(exp(-j) + sum_i exp(-y_i))``.

    Args:
        distances: ``(10,)``, the RBF distances ``y`` of one image.
        label: the right class ``D``.
        j: the positive constant of equation 9.
    """
    return distances[label] + np.log(np.exp(-j) + sum(np.exp(-y) for y in distances))


def sdlm_step(weights, gradient, curvature, eta, mu):
    """One stochastic diagonal Levenberg-Marquardt update.

    Each weight ``k`` moves by ``eta / (mu + curvature[k])`` times its gradient.
    """
    new = np.array(weights, dtype=float)
    for k in np.ndindex(new.shape):
        new[k] -= eta / (mu + curvature[k]) * gradient[k]
    return new


def uniform_limit(fan_in):
    """The paper's initialisation bound: weights are drawn uniformly in ``[-2.4 / F, 2.4 / F]``."""
    return 2.4 / fan_in
