import keras
import numpy as np
import pytest

from lenet_course.layers import (
    C3_TABLE,
    PartialConv2D,
    RBFLoss,
    RBFOutput,
    Subsampling,
    rbf_bitmaps,
    rbf_predict,
    rbf_scores,
    scaled_tanh,
)


def test_c3_table_is_table_one_of_the_paper():
    assert C3_TABLE.shape == (6, 16) and C3_TABLE.dtype == bool
    assert C3_TABLE.sum() == 60
    assert C3_TABLE.sum(axis=0).tolist() == [3] * 6 + [4] * 9 + [6]
    # maps 0-5: three contiguous S2 maps (cyclically); 6-11: four contiguous; 15: all
    for j in range(6):
        assert sorted(np.flatnonzero(C3_TABLE[:, j])) == sorted({j % 6, (j + 1) % 6, (j + 2) % 6})
    for j in range(6, 12):
        assert sorted(np.flatnonzero(C3_TABLE[:, j])) == sorted({(j - 6 + k) % 6 for k in range(4)})
    assert [sorted(np.flatnonzero(C3_TABLE[:, j])) for j in (12, 13, 14)] == [[0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5]]


def test_partial_conv_stores_only_connected_kernels():
    layer = PartialConv2D(C3_TABLE, 5)
    out = layer(np.zeros((2, 14, 14, 6), "float32"))
    assert out.shape == (2, 10, 10, 16)
    assert layer.count_params() == 1516
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(5, 5, 60), (16,)]


def test_partial_conv_dense_kernel_is_zero_where_unconnected():
    layer = PartialConv2D(C3_TABLE, 5)
    layer.build((None, 14, 14, 6))
    dense = keras.ops.convert_to_numpy(layer.dense_kernel())
    assert dense.shape == (5, 5, 6, 16)
    assert np.all(dense[:, :, ~C3_TABLE] == 0)
    assert np.all(np.abs(dense[:, :, C3_TABLE]).sum(axis=(0, 1)) > 0)


def test_unconnected_maps_do_not_influence_the_output():
    table = np.array([[1, 0], [0, 1]], bool)
    layer = PartialConv2D(table, 3)
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 2)).astype("float32")
    changed = x.copy()
    changed[..., 1] += 5  # input map 1 feeds only output map 1
    a, b = np.asarray(layer(x)), np.asarray(layer(changed))
    np.testing.assert_allclose(a[..., 0], b[..., 0])
    assert not np.allclose(a[..., 1], b[..., 1])


@pytest.mark.parametrize(
    "table, message",
    [
        (np.ones((6,), bool), "2D boolean"),
        (np.full((2, 2), 0.5), "2D boolean"),
        (np.array([[1, 0], [1, 0]], bool), "empty columns"),
    ],
)
def test_partial_conv_rejects_bad_tables(table, message):
    with pytest.raises(ValueError, match=message):
        PartialConv2D(table, 5)


def test_partial_conv_rejects_wrong_number_of_input_maps():
    with pytest.raises(ValueError, match="6 maps"):
        PartialConv2D(C3_TABLE, 5)(np.zeros((1, 14, 14, 4), "float32"))


def test_subsampling_has_two_parameters_per_map_and_starts_as_average_pooling():
    layer = Subsampling(2)
    x = np.random.default_rng(1).normal(size=(2, 28, 28, 6)).astype("float32")
    out = np.asarray(layer(x))
    assert layer.count_params() == 12 and out.shape == (2, 14, 14, 6)
    np.testing.assert_allclose(out, np.asarray(keras.layers.AveragePooling2D(2)(x)), atol=1e-6)
    s4 = Subsampling(2)
    s4.build((None, 10, 10, 16))
    assert s4.count_params() == 32


def test_subsampling_rejects_bad_pool_size():
    with pytest.raises(ValueError, match="pool_size"):
        Subsampling(0)


def test_scaled_tanh_maps_plus_minus_one_to_themselves():
    values = np.asarray(scaled_tanh(np.array([-1.0, 0.0, 1.0], "float32")))
    np.testing.assert_allclose(values, [-1, 0, 1], atol=1e-4)
    assert abs(float(scaled_tanh(100.0)) - 1.7159) < 1e-4


def test_rbf_bitmaps_are_ten_distinct_plus_minus_one_pictures():
    bitmaps = rbf_bitmaps()
    assert bitmaps.shape == (10, 12, 7)
    assert set(np.unique(bitmaps)) == {-1.0, 1.0}
    flat = bitmaps.reshape(10, -1)
    distances = ((flat[:, None] - flat[None]) ** 2).sum(-1)
    assert distances[~np.eye(10, dtype=bool)].min() >= 4 * 10  # every pair differs in >= 10 pixels


def test_rbf_output_distances_and_parameters():
    layer = RBFOutput()
    codes = rbf_bitmaps().reshape(10, 84)
    distances = np.asarray(layer(codes))
    assert layer.count_params() == 840 and not layer.trainable_weights
    np.testing.assert_allclose(np.diag(distances), 0, atol=1e-3)
    assert rbf_predict(distances).tolist() == list(range(10))
    scores = rbf_scores(distances)
    np.testing.assert_allclose(scores.sum(axis=1), 1)
    assert (scores.argmax(axis=1) == np.arange(10)).all()


def test_rbf_output_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="84 features"):
        RBFOutput()(np.zeros((1, 80), "float32"))


def test_rbf_loss_prefers_the_right_class_close():
    loss = RBFLoss()
    near = float(loss(np.array([2]), np.array([[50.0, 50.0, 1.0] + [50.0] * 7])))
    far = float(loss(np.array([2]), np.array([[1.0, 50.0, 50.0] + [50.0] * 7])))
    assert near < far
    with pytest.raises(ValueError, match="temperature"):
        RBFLoss(temperature=0)


def roundtrip(layer, x, tmp_path):
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    before = np.asarray(model(x))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(x)), before)
    assert loaded.layers[0].get_config() == layer.get_config()
    return loaded


def test_partial_conv_roundtrip(tmp_path):
    x = np.random.default_rng(2).normal(size=(2, 14, 14, 6)).astype("float32")
    loaded = roundtrip(PartialConv2D(C3_TABLE, 5, activation=scaled_tanh), x, tmp_path)
    assert np.array_equal(loaded.layers[0].table, C3_TABLE)


def test_subsampling_roundtrip(tmp_path):
    layer = Subsampling(2, activation=scaled_tanh)
    x = np.random.default_rng(3).normal(size=(2, 28, 28, 6)).astype("float32")
    layer.build(x.shape)
    layer.coefficient.assign(np.linspace(-1, 1, 6))
    roundtrip(layer, x, tmp_path)


def test_rbf_output_roundtrip(tmp_path):
    x = np.random.default_rng(4).normal(size=(3, 84)).astype("float32")
    roundtrip(RBFOutput(), x, tmp_path)


def test_rbf_loss_roundtrip():
    loss = RBFLoss(temperature=4.0)
    again = RBFLoss.from_config(loss.get_config())
    assert again.temperature == 4.0
