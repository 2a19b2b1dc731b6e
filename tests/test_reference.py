"""The NumPy reference layers compute what the Keras layers compute."""

import keras
import numpy as np

from lenet_course import reference
from lenet_course.layers import C3_TABLE, PartialConv2D, RBFOutput, Subsampling, rbf_bitmaps, scaled_tanh

rng = np.random.default_rng(0)
TOL = dict(rtol=1e-4, atol=1e-4)


def test_conv2d_equals_keras_conv2d():
    image = rng.normal(size=(12, 12, 3)).astype("float32")
    layer = keras.layers.Conv2D(4, 5)
    layer.build(image[None].shape)
    kernels, biases = np.asarray(layer.kernel), rng.normal(size=4).astype("float32")
    layer.bias.assign(biases)
    keras_out = np.asarray(layer(image[None]))[0]
    ours = reference.conv2d(image, kernels, biases)
    assert ours.shape == (8, 8, 4)
    np.testing.assert_allclose(ours, keras_out, **TOL)


def test_partial_conv2d_equals_keras_layer():
    maps = rng.normal(size=(14, 14, 6)).astype("float32")
    layer = PartialConv2D(C3_TABLE, 5)
    layer.build((None, 14, 14, 6))
    layer.bias.assign(rng.normal(size=16).astype("float32"))
    ours = reference.partial_conv2d(maps, np.asarray(layer.kernel), np.asarray(layer.bias), C3_TABLE)
    np.testing.assert_allclose(ours, np.asarray(layer(maps[None]))[0], **TOL)


def test_subsample_equals_keras_layer():
    maps = rng.normal(size=(10, 10, 16)).astype("float32")
    layer = Subsampling(2)
    layer.build((None, 10, 10, 16))
    layer.coefficient.assign(rng.normal(size=16).astype("float32"))
    layer.bias.assign(rng.normal(size=16).astype("float32"))
    ours = reference.subsample(maps, np.asarray(layer.coefficient), np.asarray(layer.bias))
    assert ours.shape == (5, 5, 16)
    np.testing.assert_allclose(ours, np.asarray(layer(maps[None]))[0], **TOL)


def test_rbf_distances_equal_keras_layer():
    features = rng.uniform(-1.7, 1.7, size=84).astype("float32")
    codes = rbf_bitmaps().reshape(10, 84)
    keras_out = np.asarray(RBFOutput()(features[None]))[0]
    np.testing.assert_allclose(reference.rbf_distances(features, codes), keras_out, rtol=1e-4, atol=1e-3)


def test_scaled_tanh_equals_keras_activation():
    a = rng.normal(size=50).astype("float32") * 3
    np.testing.assert_allclose(reference.scaled_tanh(a), np.asarray(scaled_tanh(a)), **TOL)


def test_forward_equals_the_keras_paper_model(sample):
    from lenet_course.export import weight_arrays
    from lenet_course.models import apply_layers, build_lenet5, preprocess

    model = build_lenet5("paper", seed=1)
    weights = {**weight_arrays(model), "C3/table": model.get_layer("C3").table}
    image = preprocess(sample.x_test[:1], "paper")
    distances, layers = reference.forward(image[0], weights)
    np.testing.assert_allclose(distances, model.predict(image, verbose=0)[0], rtol=1e-4, atol=1e-3)
    names = ["C1", "S2", "C3", "S4", "C5", "flatten", "F6"]
    for name in ["C1", "S2", "C3", "S4", "C5", "F6"]:
        keras_out = apply_layers(model, image, names[: names.index(name) + 1])[0]
        np.testing.assert_allclose(layers[name], keras_out, **TOL)
