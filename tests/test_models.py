from html.parser import HTMLParser

import keras
import numpy as np
import pytest

from lenet_course.layers import PartialConv2D, RBFOutput, Subsampling
from lenet_course.models import (
    PAPER_COUNTS,
    apply_layers,
    build_lenet5,
    layer_table,
    predict_digits,
    preprocess,
    read_digits,
    variant_of,
)


@pytest.fixture(scope="module")
def paper():
    return build_lenet5("paper")


def test_paper_counts_every_layer(paper):
    table = {row.name: row for row in layer_table(paper)}
    assert list(table) == ["C1", "S2", "C3", "S4", "C5", "F6", "output"]
    for name, counts in PAPER_COUNTS.items():
        assert (table[name].params, table[name].connections) == (counts["params"], counts["connections"]), name
    assert table["C1"].params == 156 and table["C1"].connections == 122_304
    assert table["S2"].params == 12 and table["S2"].connections == 5_880
    assert table["C3"].params == 1_516 and table["C3"].connections == 151_600
    assert table["S4"].params == 32 and table["S4"].connections == 2_000
    assert table["C5"].params == 48_120 and table["F6"].params == 10_164


def test_paper_totals_as_keras_counts_them(paper):
    trainable = sum(int(np.prod(w.shape)) for w in paper.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in paper.non_trainable_weights)
    assert (trainable, frozen) == (60_000, 840)
    assert paper.count_params() == 60_840
    table = layer_table(paper)
    assert (table.total_params, table.total_connections) == (60_000, 340_908)
    assert paper.get_layer("C3").count_params() == 1_516


def test_summary_shows_60000_trainable(paper, capsys):
    paper.summary()
    out = capsys.readouterr().out
    assert "Trainable params: 60,000" in out and "1,516" in out


def test_paper_shapes_32_28_14_10_5_1(paper):
    shapes = [tuple(layer.output.shape[1:]) for layer in paper.layers]
    assert shapes == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (1, 1, 120), (120,), (84,), (10,)]
    assert paper.input_shape == (None, 32, 32, 1)
    assert isinstance(paper.get_layer("C3"), PartialConv2D)
    assert isinstance(paper.get_layer("S2"), Subsampling) and isinstance(paper.get_layer("output"), RBFOutput)


def test_keras_variant_is_the_seed_tutorial_model():
    model = build_lenet5("keras")
    assert model.count_params() == 61_706
    assert model.input_shape == (None, 28, 28, 1)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "AveragePooling2D", "Conv2D", "AveragePooling2D", "Conv2D", "Flatten", "Dense", "Dense"]
    assert model.get_layer("C1").padding == "same"
    assert all(model.get_layer(n).activation.__name__ == "tanh" for n in ("C1", "C3", "C5", "F6"))
    assert model.get_layer("output").activation.__name__ == "softmax"
    assert type(model.optimizer).__name__ == "SGD" and model.loss == "categorical_crossentropy"


def test_modern_variant_uses_relu_max_pooling_and_adam():
    model = build_lenet5("modern")
    assert isinstance(model.get_layer("S2"), keras.layers.MaxPooling2D)
    assert model.get_layer("C1").activation.__name__ == "relu"
    assert type(model.optimizer).__name__ == "Adam"


def test_layer_table_counts_pooling_connections():
    table = {row.name: row for row in layer_table(build_lenet5("keras"))}
    assert table["S2"].connections == 14 * 14 * 6 * 4 and table["S2"].params == 0
    assert table["C3"].params == 2_416 and table["C3"].connections == 241_600
    assert "paper params" in str(layer_table(build_lenet5("keras")))


def test_layer_table_in_a_notebook_spaces_its_columns_and_aligns_the_counts(paper):
    # Colab draws a bare <table> with no space between columns: "output" ran into "10".
    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.style, self.text = [], "", ""

        def handle_starttag(self, tag, attrs):
            if tag in ("th", "td"):
                self.style, self.text = dict(attrs).get("style", ""), ""

        def handle_data(self, data):
            self.text += data

        def handle_endtag(self, tag):
            if tag in ("th", "td"):
                self.cells.append((self.text, self.style))

    cells = Cells()
    cells.feed(layer_table(paper)._repr_html_())
    assert len(cells.cells) == 6 * (1 + 8)  # the header, 7 layers and the total
    for position, (text, style) in enumerate(cells.cells):
        is_count = position % 6 >= 2  # layer, output shape, then the four counts
        assert "padding" in style and ("text-align: right" in style) == is_count, (text, style)


def test_same_seed_same_initial_weights():
    a, b, c = build_lenet5("paper", seed=3), build_lenet5("paper", seed=3), build_lenet5("paper", seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="one of .*'paper'.*Received: variant='lenet'"):
        build_lenet5("lenet")


@pytest.mark.parametrize("variant", ["paper", "keras", "modern"])
def test_predict_digits_reads_raw_images_for_every_variant(variant, sample):
    model = build_lenet5(variant)
    labels = predict_digits(model, sample.x_test[:7])
    assert labels.shape == (7,) and labels.dtype.kind == "i" and set(labels) <= set(range(10))
    assert predict_digits(model, sample.x_test[0]).shape == (1,)


def test_read_digits_reads_the_nearest_code_from_preprocessed_inputs(sample):
    model = build_lenet5("paper", seed=1)
    inputs = preprocess(sample.x_test[:50], "paper")
    f6 = apply_layers(model, inputs, ["C1", "S2", "C3", "S4", "C5", "flatten", "F6"])
    codes = model.get_layer("output").codes
    nearest = np.argmin(((f6[:, None, :] - codes[None]) ** 2).sum(-1), axis=-1)
    read = read_digits(model, inputs)
    np.testing.assert_array_equal(read, nearest)
    assert len(set(read)) > 1  # untrained, yet not one constant answer
    np.testing.assert_array_equal(read, predict_digits(model, sample.x_test[:50]))


def test_read_digits_reads_the_largest_softmax_output_of_the_other_variants(sample):
    model = build_lenet5("modern", seed=1)
    inputs = preprocess(sample.x_test[:50], "modern")
    largest = np.argmax(keras.ops.convert_to_numpy(model(inputs)), axis=-1)
    np.testing.assert_array_equal(read_digits(model, inputs), largest)


def test_predict_digits_bad_input_says_the_expected_shape(paper):
    with pytest.raises(ValueError, match=r"\(n, 28, 28\).*Received: shape=\(3, 32, 32\)"):
        predict_digits(paper, np.zeros((3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        predict_digits(paper, np.zeros((3, 28, 28), np.float32))


def test_model_called_with_a_wrong_shape_says_the_expected_shape(paper):
    with pytest.raises(ValueError, match=r"expects images of shape \(batch, 32, 32, 1\).*\(2, 28, 28, 1\)"):
        paper(np.zeros((2, 28, 28, 1), "float32"))
    keras_model = build_lenet5("keras")
    with pytest.raises(ValueError, match=r"\(batch, 28, 28, 1\)"):
        keras_model.predict(np.zeros((2, 32, 32, 1), "float32"), verbose=0)


def test_predict_digits_needs_a_model_from_build_lenet5():
    other = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)], name="mine")
    with pytest.raises(ValueError, match="build_lenet5.*'mine'"):
        variant_of(other)


def test_preprocess_gives_each_variant_its_input(sample):
    paper_input = preprocess(sample.x_train[:2], "paper")
    assert paper_input.shape == (2, 32, 32, 1)
    assert paper_input.min() == pytest.approx(-0.1) and paper_input.max() == pytest.approx(1.175)
    seed_input = preprocess(sample.x_train[:2], "keras")
    assert seed_input.shape == (2, 28, 28, 1) and seed_input.min() == 0 and seed_input.max() == 1


@pytest.mark.filterwarnings("error:Skipping variable loading:UserWarning")
def test_a_trained_paper_model_round_trips_with_its_optimizer_state(tmp_path, sample):
    """Saved after a step of training, as a learner saves one: weights, momentum, step count."""
    model = build_lenet5("paper", seed=0)
    model.fit(preprocess(sample.x_train[:32], "paper"), sample.y_train[:32], verbose=0)
    path = tmp_path / "lenet5.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = preprocess(sample.x_test[:16], "paper")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert variant_of(loaded) == "paper"
    assert layer_table(loaded).total_params == 60_000
    assert int(loaded.optimizer.iterations) == 1
    saved, restored = model.optimizer.variables, loaded.optimizer.variables
    assert len(restored) == len(saved) > 2  # the step count, the rate and a momentum per weight
    for before, after in zip(saved, restored):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before))


def test_apply_layers_runs_named_layers_on_any_image_size(paper, sample):
    x = preprocess(sample.x_test[:2], "paper")
    s4 = apply_layers(paper, x, ["C1", "S2", "C3", "S4"])
    assert s4.shape == (2, 5, 5, 16) and isinstance(s4, np.ndarray)
    distances = apply_layers(paper, apply_layers(paper, s4, ["C5", "flatten"]), ["F6", "output"])
    np.testing.assert_allclose(distances, np.asarray(paper(x)), rtol=1e-5, atol=1e-4)
    assert apply_layers(paper, np.zeros((1, 40, 40, 1), "float32"), ["C1", "S2", "C3", "S4", "C5"]).shape == (1, 3, 3, 120)
