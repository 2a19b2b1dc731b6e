"""The NumPy backward passes give Keras's gradients and pass finite-difference checks, and train."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lenet_course import backprop, reference
from lenet_course.data import load_mnist
from lenet_course.layers import C3_TABLE, PartialConv2D, RBFLoss, RBFOutput, Subsampling, rbf_bitmaps
from lenet_course.layers import scaled_tanh as keras_scaled_tanh
from lenet_course.models import build_lenet5, preprocess

KERAS_TOL = 1e-4  # float32 arithmetic in a different order: relative differences ~1e-6
NUMERIC_TOL = 1e-6  # float64 central differences: errors ~1e-9


def rng():
    return np.random.default_rng(0)


def relative_error(ours, reference_gradient):
    """Largest difference, as a fraction of the largest entry of the reference gradient."""
    ours, reference_gradient = np.asarray(ours), np.asarray(reference_gradient)
    assert ours.shape == reference_gradient.shape
    return float(np.abs(ours - reference_gradient).max() / np.abs(reference_gradient).max())


def keras_gradients(layer, inputs, grad, weights=None):
    """Keras's gradients of ``sum(layer(inputs) * grad)``: w.r.t. the inputs, then each weight."""
    weights = layer.trainable_weights if weights is None else weights
    x = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) * grad)
    return [np.asarray(g) for g in tape.gradient(loss, [x, *weights])]


def numeric_gradients(forward, arrays, grad):
    """Finite-difference gradients of ``sum(forward(*arrays) * grad)`` for each array (float64)."""
    loss = lambda: float(np.sum(forward(*arrays) * grad))
    return [backprop.numerical_gradient(loss, array) for array in arrays]


# --- the batched forward passes compute what the reference loops compute ------------------


def test_forward_passes_equal_the_reference_loops():
    r = rng()
    images, kernels, biases = r.normal(size=(2, 12, 12, 3)), r.normal(size=(5, 5, 3, 4)), r.normal(size=4)
    for n in range(2):
        np.testing.assert_allclose(backprop.conv2d_forward(images, kernels, biases)[n],
                                   reference.conv2d(images[n], kernels, biases), atol=1e-10)
    maps, c3_kernels, c3_biases = r.normal(size=(2, 14, 14, 6)), r.normal(size=(5, 5, 60)), r.normal(size=16)
    np.testing.assert_allclose(backprop.partial_conv2d_forward(maps, c3_kernels, c3_biases, C3_TABLE)[1],
                               reference.partial_conv2d(maps[1], c3_kernels, c3_biases, C3_TABLE), atol=1e-10)
    coefficients, s_biases = r.normal(size=6), r.normal(size=6)
    np.testing.assert_allclose(backprop.subsample_forward(maps, coefficients, s_biases)[0],
                               reference.subsample(maps[0], coefficients, s_biases), atol=1e-10)
    features, codes = r.normal(size=(2, 84)), rbf_bitmaps().reshape(10, 84).astype("float64")
    np.testing.assert_allclose(backprop.rbf_distances_forward(features, codes)[1],
                               reference.rbf_distances(features[1], codes), atol=1e-10)
    np.testing.assert_allclose(backprop.scaled_tanh(features), reference.scaled_tanh(features))


def test_forward_passes_keep_float32():
    params = backprop.parameters_from_keras(build_lenet5("paper", seed=0))
    distances, sums = backprop.lenet5_forward(params, np.zeros((2, 32, 32, 1), "float32"))
    assert distances.dtype == np.float32 and all(s.dtype == np.float32 for s in sums.values())


# --- each layer: the backward pass against Keras's own gradients (float32) -------------------


def test_conv2d_backward_equals_keras():
    r = rng()
    images = r.normal(size=(3, 12, 12, 3)).astype("float32")
    layer = keras.layers.Conv2D(4, 5)
    layer.build(images.shape)
    layer.bias.assign(r.normal(size=4).astype("float32"))
    grad = r.normal(size=(3, 8, 8, 4)).astype("float32")
    ours = backprop.conv2d_backward(images, np.asarray(layer.kernel), grad)
    for mine, theirs in zip(ours, keras_gradients(layer, images, grad)):
        assert relative_error(mine, theirs) < KERAS_TOL


def test_partial_conv2d_backward_equals_keras():
    r = rng()
    maps = r.normal(size=(3, 14, 14, 6)).astype("float32")
    layer = PartialConv2D(C3_TABLE, 5)
    layer.build(maps.shape)
    grad = r.normal(size=(3, 10, 10, 16)).astype("float32")
    ours = backprop.partial_conv2d_backward(maps, np.asarray(layer.kernel), C3_TABLE, grad)
    assert ours[1].shape == (5, 5, 60)
    for mine, theirs in zip(ours, keras_gradients(layer, maps, grad)):
        assert relative_error(mine, theirs) < KERAS_TOL


def test_subsample_backward_equals_keras():
    r = rng()
    maps = r.normal(size=(3, 10, 10, 16)).astype("float32")
    layer = Subsampling(2)
    layer.build(maps.shape)
    layer.coefficient.assign(r.normal(size=16).astype("float32"))
    grad = r.normal(size=(3, 5, 5, 16)).astype("float32")
    ours = backprop.subsample_backward(maps, np.asarray(layer.coefficient), grad)
    for mine, theirs in zip(ours, keras_gradients(layer, maps, grad)):
        assert relative_error(mine, theirs) < KERAS_TOL


def test_scaled_tanh_backward_equals_keras():
    r = rng()
    a, grad = (3 * r.normal(size=(4, 84))).astype("float32"), r.normal(size=(4, 84)).astype("float32")
    (theirs,) = keras_gradients(keras_scaled_tanh, a, grad, weights=[])
    assert relative_error(backprop.scaled_tanh_backward(a, grad), theirs) < KERAS_TOL


def test_dense_backward_equals_keras():
    r = rng()
    features = r.normal(size=(4, 120)).astype("float32")
    layer = keras.layers.Dense(84)
    layer.build(features.shape)
    grad = r.normal(size=(4, 84)).astype("float32")
    ours = backprop.dense_backward(features, np.asarray(layer.kernel), grad)
    for mine, theirs in zip(ours, keras_gradients(layer, features, grad)):
        assert relative_error(mine, theirs) < KERAS_TOL


def test_rbf_distances_backward_equals_keras():
    r = rng()
    features = r.uniform(-1.7, 1.7, size=(4, 84)).astype("float32")
    layer = RBFOutput()
    grad = r.normal(size=(4, 10)).astype("float32")
    ours = backprop.rbf_distances_backward(features, layer.codes, grad)
    (theirs,) = keras_gradients(layer, features, grad)
    assert relative_error(ours, theirs) < KERAS_TOL


def test_rbf_loss_and_its_gradient_equal_keras():
    r = rng()
    distances = r.uniform(0, 300, size=(8, 10)).astype("float32")
    labels = r.integers(0, 10, size=8)
    x = tf.constant(distances)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = RBFLoss()(labels, x)
    assert np.isclose(backprop.rbf_loss(distances, labels), float(loss), rtol=1e-5)
    theirs = np.asarray(tape.gradient(loss, x))
    assert relative_error(backprop.rbf_loss_backward(distances, labels), theirs) < KERAS_TOL


# --- each layer: the backward pass against finite differences (float64) ----------------------


def test_conv2d_backward_passes_finite_differences():
    r = rng()
    images, kernels, biases = r.normal(size=(2, 7, 7, 2)), r.normal(size=(5, 5, 2, 3)), r.normal(size=3)
    grad = r.normal(size=(2, 3, 3, 3))
    ours = backprop.conv2d_backward(images, kernels, grad)
    numeric = numeric_gradients(backprop.conv2d_forward, [images, kernels, biases], grad)
    for mine, theirs in zip(ours, numeric):
        assert relative_error(mine, theirs) < NUMERIC_TOL


def test_partial_conv2d_backward_passes_finite_differences():
    r = rng()
    maps, kernels, biases = r.normal(size=(2, 6, 6, 6)), r.normal(size=(5, 5, 60)), r.normal(size=16)
    grad = r.normal(size=(2, 2, 2, 16))
    ours = backprop.partial_conv2d_backward(maps, kernels, C3_TABLE, grad)
    forward = lambda m, k, b: backprop.partial_conv2d_forward(m, k, b, C3_TABLE)
    for mine, theirs in zip(ours, numeric_gradients(forward, [maps, kernels, biases], grad)):
        assert relative_error(mine, theirs) < NUMERIC_TOL


def test_subsample_backward_passes_finite_differences():
    r = rng()
    maps, coefficients, biases = r.normal(size=(2, 6, 6, 4)), r.normal(size=4), r.normal(size=4)
    grad = r.normal(size=(2, 3, 3, 4))
    ours = backprop.subsample_backward(maps, coefficients, grad)
    numeric = numeric_gradients(backprop.subsample_forward, [maps, coefficients, biases], grad)
    for mine, theirs in zip(ours, numeric):
        assert relative_error(mine, theirs) < NUMERIC_TOL


def test_scaled_tanh_dense_and_rbf_backward_pass_finite_differences():
    r = rng()
    a, grad = 3 * r.normal(size=(3, 5)), r.normal(size=(3, 5))
    (numeric,) = numeric_gradients(backprop.scaled_tanh, [a], grad)
    assert relative_error(backprop.scaled_tanh_backward(a, grad), numeric) < NUMERIC_TOL
    features, kernel, biases, grad = (r.normal(size=(3, 6)), r.normal(size=(6, 4)), r.normal(size=4),
                                      r.normal(size=(3, 4)))
    numeric = numeric_gradients(backprop.dense_forward, [features, kernel, biases], grad)
    for mine, theirs in zip(backprop.dense_backward(features, kernel, grad), numeric):
        assert relative_error(mine, theirs) < NUMERIC_TOL
    features, codes, grad = r.normal(size=(3, 84)), rbf_bitmaps().reshape(10, 84).astype("float64"), \
        r.normal(size=(3, 10))
    (numeric,) = numeric_gradients(lambda x: backprop.rbf_distances_forward(x, codes), [features], grad)
    assert relative_error(backprop.rbf_distances_backward(features, codes, grad), numeric) < NUMERIC_TOL


def test_rbf_loss_backward_passes_finite_differences():
    r = rng()
    distances, labels = r.uniform(0, 300, size=(5, 10)), r.integers(0, 10, size=5)
    numeric = backprop.numerical_gradient(lambda: backprop.rbf_loss(distances, labels), distances)
    assert relative_error(backprop.rbf_loss_backward(distances, labels), numeric) < NUMERIC_TOL


# --- the checks catch wrong gradients ----------------------------------------------------------


def wrong_scaled_tanh_backward(a, grad):
    """A classic slip: the derivative of tanh(S a) without the inner factor S."""
    return grad * backprop.A * (1.0 - np.tanh(backprop.S * a) ** 2)


def input_gradient_by_correlation(kernels, grad, image_shape):
    """The zero-padded output gradient slid over by ``kernels``: right only if they are flipped.

    Forgetting the flip (correlating with the kernels themselves) is another classic slip.
    """
    k = kernels.shape[0]
    padded = np.pad(grad, ((0, 0), (k - 1, k - 1), (k - 1, k - 1), (0, 0)))
    return backprop.conv2d_forward(padded, kernels.transpose(0, 1, 3, 2), np.zeros(image_shape[-1]))


def test_finite_differences_catch_wrong_gradients():
    r = rng()
    a, grad = 3 * r.normal(size=(3, 5)), r.normal(size=(3, 5))
    (numeric,) = numeric_gradients(backprop.scaled_tanh, [a], grad)
    assert relative_error(wrong_scaled_tanh_backward(a, grad), numeric) > 0.3

    images, kernels, biases = r.normal(size=(2, 7, 7, 2)), r.normal(size=(5, 5, 2, 3)), r.normal(size=3)
    grad = r.normal(size=(2, 3, 3, 3))
    numeric_images = numeric_gradients(backprop.conv2d_forward, [images, kernels, biases], grad)[0]
    flipped = kernels[::-1, ::-1]
    right = input_gradient_by_correlation(flipped, grad, images.shape)
    unflipped = input_gradient_by_correlation(kernels, grad, images.shape)
    assert relative_error(right, numeric_images) < NUMERIC_TOL
    assert relative_error(unflipped, numeric_images) > 0.3

    maps, coefficients, biases = r.normal(size=(2, 6, 6, 4)), r.normal(size=4), r.normal(size=4)
    grad = r.normal(size=(2, 3, 3, 4))
    numeric_maps = numeric_gradients(backprop.subsample_forward, [maps, coefficients, biases], grad)[0]
    without_coefficient = np.repeat(np.repeat(grad, 2, axis=1), 2, axis=2)
    assert relative_error(without_coefficient, numeric_maps) > 0.3


# --- the whole network --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch():
    data = load_mnist("sample", verbose=False)
    return preprocess(data.x_train[:16], "paper").astype("float32"), data.y_train[:16].astype("int64")


def keras_network_gradients(model, images, labels):
    with tf.GradientTape() as tape:
        loss = RBFLoss()(labels, model(images))
    names = [f"{w.path.split('/')[-2]}/{w.name}" for w in model.trainable_weights]
    return float(loss), dict(zip(names, [np.asarray(g) for g in tape.gradient(loss, model.trainable_weights)]))


def test_lenet5_gradients_equal_keras(batch):
    model = build_lenet5("paper", seed=0)
    keras_loss, theirs = keras_network_gradients(model, *batch)
    loss, ours = backprop.loss_and_gradients(backprop.parameters_from_keras(model), *batch)
    assert np.isclose(loss, keras_loss, rtol=1e-5)
    assert sorted(ours) == sorted(theirs) and len(ours) == 12
    for name in theirs:
        assert relative_error(ours[name], theirs[name]) < KERAS_TOL, name


def test_lenet5_gradients_pass_finite_differences(batch):
    images, labels = batch[0][:4].astype("float64"), batch[1][:4]
    params = backprop.parameters_from_keras(build_lenet5("paper", seed=0), dtype="float64")
    _, ours = backprop.loss_and_gradients(params, images, labels)
    loss = lambda: backprop.rbf_loss(backprop.lenet5_forward(params, images)[0], labels)
    r = rng()
    for name, grad in ours.items():
        entries = r.choice(grad.size, size=min(grad.size, 6), replace=False)
        numeric = backprop.numerical_gradient(loss, params[name], entries=entries)
        error = np.abs(grad.reshape(-1)[entries] - numeric).max() / np.abs(grad).max()
        assert error < NUMERIC_TOL, name


def test_the_network_check_catches_a_wrong_layer_gradient(batch, monkeypatch):
    model = build_lenet5("paper", seed=0)
    _, theirs = keras_network_gradients(model, *batch)
    monkeypatch.setattr(backprop, "scaled_tanh_backward", wrong_scaled_tanh_backward)
    _, ours = backprop.loss_and_gradients(backprop.parameters_from_keras(model), *batch)
    assert relative_error(ours["F6/kernel"], theirs["F6/kernel"]) > 0.1
    assert relative_error(ours["C1/kernel"], theirs["C1/kernel"]) > 0.1


# --- training ------------------------------------------------------------------------------------


def test_numpy_training_follows_keras_step_for_step():
    data = load_mnist("sample", verbose=False)
    images = preprocess(data.x_train[:320], "paper").astype("float32")
    labels = data.y_train[:320].astype("int64")
    model = build_lenet5("paper", seed=0)  # SGD with momentum 0.9 at 0.01, as train_step
    params, velocities = backprop.parameters_from_keras(model), {}
    losses = [backprop.train_step(params, velocities, images[i : i + 32], labels[i : i + 32])
              for i in range(0, 320, 32)]
    history = model.fit(images, labels, batch_size=32, epochs=1, shuffle=False, verbose=0)
    # Keras reports the epoch's mean batch loss
    assert np.isclose(np.mean(losses), history.history["loss"][0], rtol=1e-5)
    trained = backprop.parameters_from_keras(model)
    for name in params:
        assert relative_error(params[name], trained[name]) < 1e-5, name
    assert losses[-1] < losses[0]


def test_numpy_training_learns_to_read_digits():
    data = load_mnist("sample", verbose=False)
    images, labels = preprocess(data.x_train, "paper").astype("float32"), data.y_train.astype("int64")
    params, velocities = backprop.parameters_from_keras(build_lenet5("paper", seed=0)), {}
    before = np.mean(backprop.predict(params, preprocess(data.x_test, "paper")) == data.y_test)
    order = np.random.default_rng(0).permutation(len(images))
    for i in range(0, 100 * 32, 32):  # 100 steps: about 0.89 held-out accuracy (seeds 0, 1)
        backprop.train_step(params, velocities, images[order[i : i + 32]], labels[order[i : i + 32]])
    after = np.mean(backprop.predict(params, preprocess(data.x_test, "paper").astype("float32"))
                    == data.y_test)
    assert before < 0.3 and after > 0.8


def test_train_step_with_zero_rate_changes_nothing(batch):
    params = backprop.parameters_from_keras(build_lenet5("paper", seed=0))
    before = {name: value.copy() for name, value in params.items()}
    backprop.train_step(params, {}, *batch, rate=0.0)
    assert all(np.array_equal(params[name], before[name]) for name in params)


def test_numerical_gradient_refuses_an_array_it_cannot_nudge_in_place():
    weights = np.ones((4, 4))[:, ::2]  # a strided view: reshape(-1) would copy it
    with pytest.raises(ValueError, match="C-contiguous"):
        backprop.numerical_gradient(lambda: float(np.sum(weights**2)), weights)
