"""Backpropagation through LeNet-5 in NumPy: every layer's backward pass, training.

For each forward pass in ``lenet_course.reference`` there is a backward pass here with
the same name and ``_backward``. It takes the layer's input, the weights it needs and
``grad``, the gradient of the loss with respect to the layer's output, and returns the
gradients with respect to the input and to each weight: the chain rule, one layer at
a time.

Unlike the reference loops, everything here works on a batch
``(n, height, width, maps)`` and is vectorised, so that NumPy trains the whole network
in seconds per epoch. The convolution becomes one matrix product over all its windows
(``im2col``); the ``*_forward`` functions are these batched forward passes, checked
against the reference loops and against Keras by ``tests/test_backprop.py``.
``lenet5_forward`` and ``lenet5_backward`` chain the layers of
``build_lenet5("paper")``, and ``train_step`` makes one step of SGD with momentum, as
the compiled Keras model does. ``numerical_gradient`` checks a gradient by finite
differences.

Example:
    >>> rng = np.random.default_rng(0)
    >>> images, kernels = rng.normal(size=(2, 8, 8, 1)), rng.normal(size=(5, 5, 1, 3))
    >>> grad = np.ones((2, 4, 4, 3))   # dL/d(output) for L = the sum of the outputs
    >>> grad_images, grad_kernels, grad_biases = conv2d_backward(images, kernels, grad)
    >>> grad_images.shape, grad_kernels.shape, grad_biases.tolist()
    ((2, 8, 8, 1), (5, 5, 1, 3), [32.0, 32.0, 32.0])
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import C3_TABLE

A, S = 1.7159, 2.0 / 3.0  # the scaled tanh f(a) = A tanh(S a)


# --- convolution (C1, C5) ---------------------------------------------------------


def im2col(images, k):
    """Every k x k window of every map, laid out as one row per output position.

    Row ``[n, y, x]`` holds the window whose top-left corner is ``(y, x)``, in the
    order ``(row, column, map)`` of a Keras kernel ``(k, k, in_maps, out_maps)``, so a
    whole convolution is one matrix product of these rows with the reshaped kernel.

    Args:
        images: ``(n, height, width, maps)``.
        k: side of the square window.

    Returns:
        ``(n, height - k + 1, width - k + 1, k * k * maps)``.

    Example:
        >>> im2col(np.arange(16.0).reshape(1, 4, 4, 1), 3)[0, 0, 0]
        array([ 0.,  1.,  2.,  4.,  5.,  6.,  8.,  9., 10.])
    """
    n, height, width, maps = images.shape
    # (n, out_h, out_w, maps, k, k), a view: nothing is copied yet
    windows = sliding_window_view(images, (k, k), axis=(1, 2))
    windows = windows.transpose(0, 1, 2, 4, 5, 3)  # (n, out_h, out_w, k, k, maps)
    return windows.reshape(n, height - k + 1, width - k + 1, k * k * maps)


def col2im(columns, image_shape, k):
    """The way back from ``im2col``: add each window entry onto the pixel it came from.

    A pixel lies in up to k x k windows, so it collects up to k * k contributions.

    Example:
        >>> col2im(np.ones((1, 2, 2, 4)), (1, 3, 3, 1), 2)[0, :, :, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    n, out_h, out_w, _ = columns.shape
    columns = columns.reshape(n, out_h, out_w, k, k, image_shape[-1])
    images = np.zeros(image_shape, dtype=columns.dtype)
    for i in range(k):
        for j in range(k):
            images[:, i : i + out_h, j : j + out_w, :] += columns[:, :, :, i, j, :]
    return images


def conv2d_forward(images, kernels, biases):
    """``reference.conv2d`` on a batch, as one matrix product: ``im2col @ kernels``.

    Args:
        images: ``(n, height, width, in_maps)``.
        kernels: ``(k, k, in_maps, out_maps)``, as in ``keras.layers.Conv2D``.
        biases: ``(out_maps,)``.

    Returns:
        ``(n, height - k + 1, width - k + 1, out_maps)``.

    Example:
        >>> images, kernels = np.ones((1, 6, 6, 2)), np.ones((5, 5, 2, 3))
        >>> conv2d_forward(images, kernels, np.zeros(3)).shape
        (1, 2, 2, 3)
    """
    k, _, in_maps, out_maps = kernels.shape
    return im2col(images, k) @ kernels.reshape(k * k * in_maps, out_maps) + biases


def conv2d_backward(images, kernels, grad):
    """Gradients of a convolution, given ``grad`` = dL/d(output).

    With ``out[n, y, x, m] = sum_{i, j, c} in[n, y+i, x+j, c] K[i, j, c, m] + b[m]``:

        dL/dK[i, j, c, m]  = sum_{n, y, x} in[n, y+i, x+j, c] grad[n, y, x, m]
        dL/db[m]           = sum_{n, y, x} grad[n, y, x, m]
        dL/din[n, p, q, c] = sum_{i, j, m} grad[n, p-i, q-j, m] K[i, j, c, m]

    In im2col form the first is ``columns^T @ grad`` (each window times its output's
    gradient, added up over positions and images); the last is ``grad @ K^T``, one
    gradient per window entry, which ``col2im`` adds back onto the input's pixels
    (a "full" convolution with the flipped kernels).

    Returns:
        ``(grad_images, grad_kernels, grad_biases)``, shaped like the arguments.

    Example:
        >>> images, kernels = np.ones((1, 6, 6, 1)), np.ones((5, 5, 1, 2))
        >>> g_in, g_k, g_b = conv2d_backward(images, kernels, np.ones((1, 2, 2, 2)))
        >>> g_in[0, :, :, 0].astype(int)   # how many (window, map) pairs use each pixel
        array([[2, 4, 4, 4, 4, 2],
               [4, 8, 8, 8, 8, 4],
               [4, 8, 8, 8, 8, 4],
               [4, 8, 8, 8, 8, 4],
               [4, 8, 8, 8, 8, 4],
               [2, 4, 4, 4, 4, 2]])
    """
    k, _, in_maps, out_maps = kernels.shape
    n = len(images)
    columns = im2col(images, k).reshape(n, -1, k * k * in_maps)  # (n, where, window)
    # Image by image, then summed: small products, which BLAS does without starting
    # threads (one big product is many times slower on 2 busy cores).
    per_image = columns.transpose(0, 2, 1) @ grad.reshape(n, -1, out_maps)
    grad_kernels = per_image.sum(axis=0).reshape(kernels.shape)
    grad_biases = grad.sum(axis=(0, 1, 2))
    grad_columns = grad @ kernels.reshape(k * k * in_maps, out_maps).T
    grad_images = col2im(grad_columns, images.shape, k)
    return grad_images, grad_kernels, grad_biases


# --- the partially connected convolution (C3) -------------------------------------


def dense_kernels(kernels, table):
    """A partial convolution's full ``(k, k, in, out)`` kernel: zero off the ``table``.

    ``kernels`` holds one k x k kernel per True entry of ``table``, in row-major
    order, as ``PartialConv2D`` stores them.

    Example:
        >>> dense_kernels(np.ones((5, 5, 60)), C3_TABLE).shape
        (5, 5, 6, 16)
    """
    k = kernels.shape[0]
    dense = np.zeros((k, k, *table.shape), dtype=kernels.dtype)
    dense[:, :, table] = kernels
    return dense


def partial_conv2d_forward(images, kernels, biases, table):
    """``reference.partial_conv2d`` on a batch: a convolution, unconnected kernels zero.

    Example:
        >>> maps, kernels = np.ones((1, 14, 14, 6)), np.ones((5, 5, 60))
        >>> out = partial_conv2d_forward(maps, kernels, np.zeros(16), C3_TABLE)
        >>> out[0, 0, 0].astype(int).tolist()   # 25 for each S2 map the C3 map sees
        [75, 75, 75, 75, 75, 75, 100, 100, 100, 100, 100, 100, 100, 100, 100, 150]
    """
    return conv2d_forward(images, dense_kernels(kernels, table), biases)


def partial_conv2d_backward(images, kernels, table, grad):
    """Gradients of a partial convolution: the full one's, kept where ``table`` is True.

    An unconnected kernel is a constant zero, not a parameter: its gradient is
    computed along with the others and dropped. The gradient reaching the input
    flows only through the connected kernels, since the others are zero.

    Returns:
        ``(grad_images, grad_kernels, grad_biases)``, ``grad_kernels`` shaped
        ``(k, k, connections)`` like ``kernels``.

    Example:
        >>> maps, kernels = np.ones((1, 14, 14, 6)), np.ones((5, 5, 60))
        >>> grad = np.ones((1, 10, 10, 16))
        >>> _, g_k, _ = partial_conv2d_backward(maps, kernels, C3_TABLE, grad)
        >>> g_k.shape, float(g_k[0, 0, 0])   # 100 output positions, each adds 1 x 1
        ((5, 5, 60), 100.0)
    """
    full = dense_kernels(kernels, table)
    grad_images, grad_full, grad_biases = conv2d_backward(images, full, grad)
    return grad_images, grad_full[:, :, table], grad_biases


# --- trainable subsampling (S2, S4) -----------------------------------------------


def block_sums(maps, pool_size=2):
    """Sum of each non-overlapping ``pool_size`` x ``pool_size`` block, per map.

    Example:
        >>> block_sums(np.ones((1, 4, 4, 1)))[0, :, :, 0]
        array([[4., 4.],
               [4., 4.]])
    """
    n, height, width, channels = maps.shape
    p = pool_size
    blocks = maps.reshape(n, height // p, p, width // p, p, channels)
    return blocks.sum(axis=(2, 4))


def subsample_forward(maps, coefficients, biases, pool_size=2):
    """``reference.subsample`` on a batch: ``coefficient * block sum + bias``, per map.

    Example:
        >>> maps, coefficients = np.ones((1, 4, 4, 2)), np.array([0.25, 1.0])
        >>> subsample_forward(maps, coefficients, np.zeros(2))[0, 0, 0]
        array([1., 4.])
    """
    return coefficients * block_sums(maps, pool_size) + biases


def subsample_backward(maps, coefficients, grad, pool_size=2):
    """Gradients of the trainable subsampling, given ``grad`` = dL/d(output).

    With ``out[n, y, x, c] = u[c] * blocksum[n, y, x, c] + b[c]``:

        dL/du[c]           = sum_{n, y, x} grad[n, y, x, c] * blocksum[n, y, x, c]
        dL/db[c]           = sum_{n, y, x} grad[n, y, x, c]
        dL/din[n, p, q, c] = u[c] * grad[n, p // 2, q // 2, c]

    Every pixel of a block gets the same share of its output's gradient.

    Returns:
        ``(grad_maps, grad_coefficients, grad_biases)``.

    Example:
        >>> maps, grad = np.ones((1, 4, 4, 1)), np.ones((1, 2, 2, 1))
        >>> g_in, g_u, g_b = subsample_backward(maps, np.array([0.25]), grad)
        >>> g_in[0, :2, :2, 0].tolist(), g_u.tolist(), g_b.tolist()
        ([[0.25, 0.25], [0.25, 0.25]], [16.0], [4.0])
    """
    grad_coefficients = (grad * block_sums(maps, pool_size)).sum(axis=(0, 1, 2))
    grad_biases = grad.sum(axis=(0, 1, 2))
    grad_blocks = grad * coefficients  # one value per block ...
    grad_maps = grad_blocks.repeat(pool_size, axis=1).repeat(pool_size, axis=2)
    return grad_maps, grad_coefficients, grad_biases  # ... copied to its pixels


# --- the squashing function ---------------------------------------------------------


def scaled_tanh(a):
    """The paper's squashing function ``f(a) = A tanh(S a)``, A = 1.7159, S = 2/3.

    As ``reference.scaled_tanh``, keeping the dtype of ``a`` (float32 stays float32).

    Example:
        >>> round(float(scaled_tanh(1.0)), 4)
        1.0
    """
    return A * np.tanh(S * a)


def scaled_tanh_backward(a, grad):
    """Gradient of the scaled tanh at the weighted sums ``a``: ``grad * f'(a)``.

        f'(a) = A S (1 - tanh^2(S a)) = (S / A) (A^2 - f(a)^2)

    The slope is largest at 0, ``A S = 1.144``, and falls off as ``f(a)`` nears ``±A``.

    Example:
        >>> scaled_tanh_backward(np.array([0.0, 1.0, 5.0]), np.ones(3)).round(3)
        array([1.144, 0.755, 0.006])
    """
    return grad * A * S * (1.0 - np.tanh(S * a) ** 2)


# --- F6 (fully connected) -----------------------------------------------------------


def dense_forward(features, kernel, biases):
    """A fully connected layer on a batch, as ``keras.layers.Dense``: ``x W + b``.

    Example:
        >>> dense_forward(np.ones((2, 120)), np.ones((120, 84)), np.zeros(84)).shape
        (2, 84)
    """
    return features @ kernel + biases


def dense_backward(features, kernel, grad):
    """Gradients of ``out = x W + b``, given ``grad`` = dL/d(out).

        dL/dW = x^T grad,   dL/db = sum over the batch of grad,   dL/dx = grad W^T

    Returns:
        ``(grad_features, grad_kernel, grad_biases)``.

    Example:
        >>> x, w, grad = np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4))
        >>> g_x, g_w, g_b = dense_backward(x, w, grad)
        >>> g_x.tolist(), g_w[0].tolist(), g_b.tolist()
        ([[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0])
    """
    return grad @ kernel.T, features.T @ grad, grad.sum(axis=0)


# --- the RBF output and its loss ----------------------------------------------------


def rbf_distances_forward(features, codes):
    """``reference.rbf_distances``, batched: ``y[n, i] = sum_j (x[n, j] - w[i, j])^2``.

    Example:
        >>> codes = np.array([[1.0, 1.0], [-1.0, -1.0]])
        >>> rbf_distances_forward(np.array([[1.0, 0.0]]), codes)
        array([[1., 5.]])
    """
    return ((features[:, None, :] - codes[None, :, :]) ** 2).sum(axis=-1)


def rbf_distances_backward(features, codes, grad):
    """Gradient of the RBF distances with respect to F6's outputs ``x``.

        dy_i/dx_j = 2 (x_j - w_ij),   so   dL/dx_j = sum_i grad_i 2 (x_j - w_ij)

    Each code pulls (or pushes, where its ``grad_i`` is negative) the features along
    the line between them. The codes are fixed, so they get no gradient.

    Example:
        >>> codes, x = np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([[1.0, 0.0]])
        >>> rbf_distances_backward(x, codes, np.array([[1.0, 0.0]]))
        array([[ 0., -2.]])
    """
    differences = features[:, None, :] - codes[None, :, :]  # (n, classes, features)
    return 2.0 * (grad[:, :, None] * differences).sum(axis=1)


def rbf_probabilities(distances, temperature=16.0):
    """``softmax(-distance / temperature)``, as ``RBFLoss`` scores the classes.

    Example:
        >>> rbf_probabilities(np.array([[0.0, 16.0 * np.log(3.0)]])).round(2)
        array([[0.75, 0.25]])
    """
    logits = -distances / temperature
    logits = logits - logits.max(axis=1, keepdims=True)  # same softmax, no overflow
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def rbf_loss(distances, labels, temperature=16.0):
    """The loss the paper model trains with (``RBFLoss``), averaged over the batch.

        L = -log softmax(-y / T)[label] = y_label / T + log sum_i exp(-y_i / T)

    Example:
        >>> distances = np.array([[0.0, 16.0 * np.log(3.0)]])
        >>> round(rbf_loss(distances, np.array([0])), 4)   # -log(3/4)
        0.2877
    """
    p = rbf_probabilities(distances, temperature)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def rbf_loss_backward(distances, labels, temperature=16.0):
    """Gradient of ``rbf_loss`` (a batch mean) with respect to the distances.

        dL/dy_i = (1[i = label] - p_i) / T,   p = softmax(-y / T)

    divided by the batch size. Positive for the right class (the step makes its
    distance smaller), negative for the others, most for the likeliest wrong ones.

    Example:
        >>> distances = np.array([[0.0, 16.0 * np.log(3.0)]])
        >>> rbf_loss_backward(distances, np.array([0])) * 16
        array([[ 0.25, -0.25]])
    """
    p = rbf_probabilities(distances, temperature)
    one_hot = np.eye(distances.shape[1], dtype=distances.dtype)[labels]
    return (one_hot - p) / temperature / len(labels)


# --- the whole network --------------------------------------------------------------


def parameters_from_keras(model, dtype="float32"):
    """A ``build_lenet5("paper")`` model's weights as NumPy arrays, keyed layer/weight.

    ``"C1/kernel"``, ``"S2/coefficient"``, ..., and the fixed ``"output/prototypes"``
    (the RBF codes). The arrays are copies: training them leaves the model alone.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> params["C3/kernel"].shape, sum(p.size for p in params.values())
        ((5, 5, 60), 60840)
    """
    return {f"{layer.name}/{weight.name}": np.array(weight, dtype=dtype)
            for layer in model.layers for weight in layer.weights}


def lenet5_forward(params, images):
    """The paper's LeNet-5 on images ``(n, 32, 32, 1)``: RBF distances, weighted sums.

    Returns:
        ``(distances, sums)``: ``distances`` is ``(n, 10)``; ``sums[name]`` is each
        layer's output before the squashing function (the paper's ``a``), all that
        ``lenet5_backward`` needs besides the images.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> images = np.zeros((2, 32, 32, 1), "float32")
        >>> distances, sums = lenet5_forward(params, images)
        >>> distances.shape, sums["C3"].shape
        ((2, 10), (2, 10, 10, 16))
    """
    p, sums, f = params, {}, scaled_tanh
    sums["C1"] = conv2d_forward(images, p["C1/kernel"], p["C1/bias"])
    sums["S2"] = subsample_forward(f(sums["C1"]), p["S2/coefficient"], p["S2/bias"])
    sums["C3"] = partial_conv2d_forward(f(sums["S2"]), p["C3/kernel"], p["C3/bias"],
                                        C3_TABLE)
    sums["S4"] = subsample_forward(f(sums["C3"]), p["S4/coefficient"], p["S4/bias"])
    sums["C5"] = conv2d_forward(f(sums["S4"]), p["C5/kernel"], p["C5/bias"])
    flat = f(sums["C5"]).reshape(len(images), -1)  # Flatten: (n, 1, 1, 120) -> (n, 120)
    sums["F6"] = dense_forward(flat, p["F6/kernel"], p["F6/bias"])
    distances = rbf_distances_forward(f(sums["F6"]), p["output/prototypes"])
    return distances, sums


def lenet5_backward(params, images, sums, grad_distances):
    """Backpropagate ``grad_distances`` = dL/d(distances) through the whole network.

    Walks the layers of ``lenet5_forward`` backwards: each layer is its squashing
    function's backward pass, then its own, fed the gradient the layer above returned.

    Returns:
        A dict of gradients with the keys of ``params`` (except the fixed RBF codes).

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> images = np.zeros((2, 32, 32, 1), "float32")
        >>> distances, sums = lenet5_forward(params, images)
        >>> grads = lenet5_backward(params, images, sums, np.ones_like(distances))
        >>> grads["C1/kernel"].shape, len(grads)
        ((5, 5, 1, 6), 12)
    """
    p, grads, f = params, {}, scaled_tanh
    g = rbf_distances_backward(f(sums["F6"]), p["output/prototypes"], grad_distances)

    g = scaled_tanh_backward(sums["F6"], g)
    flat = f(sums["C5"]).reshape(len(images), -1)
    g, grads["F6/kernel"], grads["F6/bias"] = dense_backward(flat, p["F6/kernel"], g)

    g = scaled_tanh_backward(sums["C5"], g.reshape(sums["C5"].shape))
    g, grads["C5/kernel"], grads["C5/bias"] = conv2d_backward(
        f(sums["S4"]), p["C5/kernel"], g)

    g = scaled_tanh_backward(sums["S4"], g)
    g, grads["S4/coefficient"], grads["S4/bias"] = subsample_backward(
        f(sums["C3"]), p["S4/coefficient"], g)

    g = scaled_tanh_backward(sums["C3"], g)
    g, grads["C3/kernel"], grads["C3/bias"] = partial_conv2d_backward(
        f(sums["S2"]), p["C3/kernel"], C3_TABLE, g)

    g = scaled_tanh_backward(sums["S2"], g)
    g, grads["S2/coefficient"], grads["S2/bias"] = subsample_backward(
        f(sums["C1"]), p["S2/coefficient"], g)

    g = scaled_tanh_backward(sums["C1"], g)
    _, grads["C1/kernel"], grads["C1/bias"] = conv2d_backward(images, p["C1/kernel"], g)
    return grads


def loss_and_gradients(params, images, labels, temperature=16.0):
    """The batch's mean ``rbf_loss``, and its gradient for every trainable weight.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> images, labels = np.zeros((2, 32, 32, 1), "float32"), np.array([3, 5])
        >>> loss, grads = loss_and_gradients(params, images, labels)
        >>> loss > 0, sorted(grads) == sorted(set(params) - {"output/prototypes"})
        (True, True)
    """
    distances, sums = lenet5_forward(params, images)
    grad_distances = rbf_loss_backward(distances, labels, temperature)
    grads = lenet5_backward(params, images, sums, grad_distances)
    return rbf_loss(distances, labels, temperature), grads


def train_step(params, velocities, images, labels, *, rate=0.01, momentum=0.9):
    """One step of SGD with momentum on one batch, in place; returns the batch's loss.

        v <- momentum * v - rate * dL/dw,    w <- w + v

    the update of ``keras.optimizers.SGD(rate, momentum=momentum)``, which
    ``build_lenet5("paper")`` compiles with (0.01 and 0.9). ``momentum=0`` is
    plain SGD.

    Args:
        params: from ``parameters_from_keras``; updated in place.
        velocities: one array per trainable weight, updated in place; start with
            an empty dict (missing velocities start at zero).

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> velocities = {}
        >>> images, labels = np.zeros((2, 32, 32, 1), "float32"), np.array([3, 5])
        >>> first = train_step(params, velocities, images, labels)
        >>> train_step(params, velocities, images, labels) < first
        True
    """
    loss, grads = loss_and_gradients(params, images, labels)
    for name, grad in grads.items():
        velocity = velocities.get(name, np.zeros_like(grad))
        velocities[name] = momentum * velocity - rate * grad
        params[name] += velocities[name]
    return loss


def predict(params, images, batch_size=500):
    """The digit whose RBF code is nearest F6's output, for images ``(n, 32, 32, 1)``.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> params = parameters_from_keras(build_lenet5("paper", seed=0))
        >>> predict(params, np.zeros((3, 32, 32, 1), "float32")).shape
        (3,)
    """
    batches = [lenet5_forward(params, images[i : i + batch_size])[0]
               for i in range(0, len(images), batch_size)]
    return np.concatenate(batches).argmin(axis=1)


def numerical_gradient(loss, weights, *, entries=None, step=1e-5):
    """Central finite differences ``(L(w + h) - L(w - h)) / 2h`` at entries of weights.

    The check every backward pass here must pass. ``loss`` is called with no
    arguments and must read ``weights``, which is nudged in place and restored.
    Use float64: in float32 the difference of two nearly equal losses is mostly
    rounding error.

    Args:
        loss: a function of no arguments returning a number.
        weights: a float64 array the loss depends on.
        entries: flat indices to check (default: all of them).
        step: ``h``.

    Returns:
        The estimated gradient at ``entries``, flat (or the full array's shape when
        ``entries`` is None).

    Example:
        >>> w = np.array([1.0, 2.0])
        >>> numerical_gradient(lambda: float(np.sum(w**3)), w).round(6)   # 3 w^2
        array([ 3., 12.])
    """
    if not (isinstance(weights, np.ndarray) and weights.flags.c_contiguous):
        raise ValueError("Expected weights as a C-contiguous NumPy array, nudged in "
                         f"place. Received: a {type(weights).__name__} that is not")
    flat = weights.reshape(-1)  # a view: nudging it nudges weights
    indices = range(flat.size) if entries is None else entries
    estimate = []
    for i in indices:
        kept = flat[i]
        flat[i] = kept + step
        up = loss()
        flat[i] = kept - step
        down = loss()
        flat[i] = kept
        estimate.append((up - down) / (2 * step))
    estimate = np.array(estimate)
    return estimate.reshape(weights.shape) if entries is None else estimate
