"""The curvature estimates of stochastic diagonal Levenberg-Marquardt (lenet_course.curvature)."""

import keras
import numpy as np
import pytest

from lenet_course.curvature import (
    CurvatureEstimator,
    backpropagated_curvature,
    estimate_curvature,
    gauss_newton_curvature,
)
from lenet_course.layers import Subsampling, scaled_tanh
from lenet_course.models import build_lenet5, preprocess
from lenet_course.paper_recipe import build_paper_recipe


def exact_gauss_newton_diagonal(model, inputs):
    """2 * sum_j (dx_j/dw)^2 per digit, averaged, from the full Jacobian (84 rows)."""
    import tensorflow as tf

    variables = model.trainable_variables
    total = [np.zeros(tuple(v.shape)) for v in variables]
    for image in inputs:
        with tf.GradientTape() as tape:
            features = tf.constant(image[None])
            for layer in model.layers[:-1]:
                features = layer(features)
            features = features[0]
        for t, jac in zip(total, tape.jacobian(features, [v.value for v in variables])):
            t += 2 * np.square(jac.numpy()).sum(axis=0)
    return [t / len(inputs) for t in total]


def test_random_sign_estimate_agrees_with_the_exact_gauss_newton_diagonal(sample):
    model = build_lenet5("paper", seed=0)
    inputs = preprocess(sample.x_train[:40], "paper")
    exact = exact_gauss_newton_diagonal(model, inputs)
    estimate = gauss_newton_curvature(model, inputs, seed=0)
    for variable, e, x in zip(model.trainable_variables, estimate, exact):
        assert e.shape == x.shape and (e >= 0).all()
        # random signs: unbiased, so the layer's mean is close after 40 digits
        assert abs(e.mean() / x.mean() - 1) < 0.25, variable.path
    f6_bias = model.trainable_variables[-1]
    assert f6_bias.path.endswith("F6/bias")
    np.testing.assert_allclose(estimate[-1], exact[-1], rtol=1e-4)  # exact: one row per unit


@pytest.mark.parametrize("method", ["backpropagated", "gauss-newton"])
def test_curvature_estimator_sets_h_before_each_pass(sample, method):
    model = build_paper_recipe(seed=0)
    x, y = preprocess(sample.x_train[:64], "paper"), sample.y_train[:64]
    estimator = CurvatureEstimator(x, digits=16, seed=0, method=method)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(model.optimizer.curvature(model.trainable_variables[-1]).copy())

    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[estimator, Record()])
    assert len(estimator.seconds) == 2 and all(h.min() > 0 for h in seen)
    assert not np.array_equal(seen[0], seen[1])  # re-estimated on other digits, other weights


def test_curvature_estimator_needs_the_sdlm_optimizer(sample):
    model = build_paper_recipe(seed=0, optimizer="sgd")
    x = preprocess(sample.x_train[:8], "paper")
    with pytest.raises(ValueError, match="DiagonalLevenbergMarquardt"):
        model.fit(x, sample.y_train[:8], epochs=1, verbose=0, callbacks=[CurvatureEstimator(x, digits=4)])


def test_backpropagated_curvature_is_exact_where_the_paper_drops_nothing(sample):
    """F6's weights each feed one unit and F6 is the last layer: no term is dropped there."""
    model = build_lenet5("paper", seed=0)
    inputs = preprocess(sample.x_train[:20], "paper")
    exact = exact_gauss_newton_diagonal(model, inputs)
    paper = backpropagated_curvature(model, inputs, chunk=7)  # chunks must not matter
    for variable, p, x in zip(model.trainable_variables, paper, exact):
        assert p.shape == x.shape and (p >= 0).all(), variable.path
        if "F6" in variable.path:
            np.testing.assert_allclose(p, x, rtol=1e-4, atol=1e-9)
        else:  # off-diagonal terms dropped: a different number, but the same order of size
            assert 0.01 < p.mean() / x.mean() < 10, variable.path


def connection_by_connection(model, images):
    """Appendix C's recursion with explicit loops over every connection of a small network:
    conv 3x3 (2 maps) -> subsampling 2x2 -> flatten -> dense (3 units), scaled tanh each."""
    conv, sub, _, dense = model.layers[:4]
    kernel, conv_bias = (keras.ops.convert_to_numpy(v) for v in conv.weights)
    coefficient, sub_bias = (keras.ops.convert_to_numpy(v) for v in sub.weights)
    weights, dense_bias = (keras.ops.convert_to_numpy(v) for v in dense.weights)
    slope = lambda a: 1.7159 * 2 / 3 * (1 - np.tanh(2 / 3 * a) ** 2)  # noqa: E731
    h = {"kernel": np.zeros_like(kernel), "conv_bias": np.zeros_like(conv_bias),
         "coefficient": np.zeros_like(coefficient), "sub_bias": np.zeros_like(sub_bias),
         "weights": np.zeros_like(weights), "dense_bias": np.zeros_like(dense_bias)}
    for image in images[..., 0]:
        a1 = np.zeros((4, 4, 2))
        for i in range(4):
            for j in range(4):
                for m in range(2):
                    a1[i, j, m] = (image[i:i + 3, j:j + 3] * kernel[:, :, 0, m]).sum() + conv_bias[m]
        x1 = 1.7159 * np.tanh(2 / 3 * a1)
        a2 = np.zeros((2, 2, 2))
        for i in range(2):
            for j in range(2):
                a2[i, j] = coefficient * x1[2 * i:2 * i + 2, 2 * j:2 * j + 2].sum(axis=(0, 1)) + sub_bias
        x2 = (1.7159 * np.tanh(2 / 3 * a2)).reshape(-1)
        a3 = x2 @ weights + dense_bias
        h_a3 = slope(a3) ** 2 * 2.0
        h["weights"] += np.outer(x2**2, h_a3)
        h["dense_bias"] += h_a3
        h_a2 = slope(a2) ** 2 * ((weights**2) @ h_a3).reshape(2, 2, 2)
        h_x1 = np.zeros((4, 4, 2))
        for i in range(2):
            for j in range(2):
                for di in range(2):
                    for dj in range(2):
                        x = x1[2 * i + di, 2 * j + dj]
                        h["coefficient"] += x**2 * h_a2[i, j]
                        h_x1[2 * i + di, 2 * j + dj] += coefficient**2 * h_a2[i, j]
                h["sub_bias"] += h_a2[i, j]
        h_a1 = slope(a1) ** 2 * h_x1
        for i in range(4):
            for j in range(4):
                for m in range(2):
                    h["kernel"][:, :, 0, m] += image[i:i + 3, j:j + 3] ** 2 * h_a1[i, j, m]
                    h["conv_bias"][m] += h_a1[i, j, m]
    return [value / len(images) for value in h.values()]


def test_backpropagated_curvature_follows_the_papers_recursion_connection_by_connection():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        keras.layers.Conv2D(2, 3, activation=scaled_tanh),
        Subsampling(2, activation=scaled_tanh),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation=scaled_tanh),
        keras.layers.Dense(1),  # stands for the RBF layer, which the estimate stops before
    ])
    images = np.random.default_rng(0).uniform(-0.1, 1.175, (5, 6, 6, 1)).astype("float32")
    expected = connection_by_connection(model, images)
    for variable, got, want in zip(model.trainable_variables, backpropagated_curvature(model, images), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8, err_msg=variable.path)


def test_estimates_reject_a_wrong_shape_and_an_unknown_method():
    model = build_lenet5("paper", seed=0)
    with pytest.raises(ValueError, match=r"Expected network inputs of shape \(n, height, width, 1\)"):
        backpropagated_curvature(model, np.zeros((32, 32)))
    with pytest.raises(ValueError, match="Expected method to be one of"):
        estimate_curvature(model, np.zeros((1, 32, 32, 1)), method="exact")
    with pytest.raises(ValueError, match="Expected method to be one of"):
        CurvatureEstimator(np.zeros((1, 32, 32, 1)), method="newton")
