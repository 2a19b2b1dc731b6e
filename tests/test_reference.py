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

def test_map_loss_equals_the_keras_loss():
    from lenet_course.paper_recipe import PaperMAPLoss

    rng = np.random.default_rng(3)
    distances = rng.uniform(0, 20, (4, 10)).astype("float32")
    labels = np.array([0, 3, 9, 5])
    expected = np.mean([reference.map_loss(d, label, 4.0) for d, label in zip(distances, labels)])
    np.testing.assert_allclose(float(PaperMAPLoss(j=4.0)(labels, distances)), expected, rtol=1e-5)


def test_sdlm_step_equals_the_keras_optimizer():
    from lenet_course.paper_recipe import DiagonalLevenbergMarquardt

    rng = np.random.default_rng(4)
    w0, g, h = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.uniform(0, 2, (3, 4))
    w = keras.Variable(w0.astype("float32"))
    optimizer = DiagonalLevenbergMarquardt(learning_rate=0.05, mu=0.02)
    optimizer.build([w])
    optimizer.set_curvature([w], [h])
    optimizer.apply([g.astype("float32")], [w])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), reference.sdlm_step(w0, g, h, 0.05, 0.02),
                               rtol=1e-5, atol=1e-6)


def test_paper_uniform_respects_the_reference_bound():
    from lenet_course.paper_recipe import PaperUniform

    kernel = keras.ops.convert_to_numpy(PaperUniform(seed=0)((5, 5, 6, 16)))
    assert np.abs(kernel).max() <= reference.uniform_limit(150)
    assert np.abs(kernel).max() > 0.95 * reference.uniform_limit(150)
