import matplotlib
import matplotlib.text

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lenet_course.layers import rbf_bitmaps  # noqa: E402
from lenet_course.plots import (  # noqa: E402
    per_class_accuracy,
    plot_bars,
    plot_learning_rates,
    plot_per_class_accuracy,
    show_f6_output,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_f6_output_draws_features_and_the_nearest_code():
    codes = rbf_bitmaps().reshape(10, 84)
    features = codes[7] * 0.9
    distances = ((codes - features) ** 2).sum(axis=1)
    fig = show_f6_output(np.zeros((32, 32, 1), np.uint8), features, distances)
    digit_ax, f6_ax, code_ax, bars_ax = fig.axes
    assert code_ax.get_title() == "nearest code: 7"
    np.testing.assert_allclose(f6_ax.images[0].get_array(), features.reshape(12, 7))
    np.testing.assert_array_equal(code_ax.images[0].get_array(), rbf_bitmaps()[7])
    np.testing.assert_allclose([p.get_height() for p in bars_ax.patches], distances, rtol=1e-6)


@pytest.mark.parametrize("features, distances", [(np.zeros(83), np.zeros(10)), (np.zeros(84), np.zeros(9))])
def test_show_f6_output_rejects_wrong_sizes(features, distances):
    with pytest.raises(ValueError, match="Expected"):
        show_f6_output(np.zeros((28, 28)), features, distances)


def test_plot_bars_one_axis_per_panel_and_highlight():
    fig = plot_bars({"a": [3, 1, 2], "b": {"x": 1.0, "y": 2.0}}, highlight=1, fmt="{:.1f}")
    assert len(fig.axes) == 2
    assert [p.get_height() for p in fig.axes[0].patches] == [3.0, 1.0, 2.0]
    colors = [p.get_facecolor() for p in fig.axes[0].patches]
    assert colors[1] != colors[0] and colors[0] == colors[2]
    assert [t.get_text() for t in fig.axes[1].texts] == ["1.0", "2.0"]


def test_plot_bars_format_per_panel():
    fig = plot_bars({"share": [0.5, 0.25], "count": [1000, 2]}, fmt={"share": "{:.0%}"})
    assert [t.get_text() for t in fig.axes[0].texts] == ["50%", "25%"]
    assert len(fig.axes[1].texts) == 0


def test_plot_bars_rejects_non_dict():
    with pytest.raises(ValueError, match="dict"):
        plot_bars([1, 2, 3])


def test_per_class_accuracy_counts_each_class():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 0, 1, 1, 0, 2])
    scores = per_class_accuracy(labels, predictions)
    np.testing.assert_allclose(scores[:3], [0.75, 0.5, 1.0])
    assert np.isnan(scores[3:]).all()  # no examples of 3-9


def _tick_labels(ax):
    """The y-axis tick labels as drawn."""
    ax.figure.canvas.draw()
    return [tick.get_text() for tick in ax.get_yticklabels() if tick.get_text()]


def test_plot_per_class_accuracy_bars_and_overall_line():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    predictions = np.where(rng.random(500) < 0.9, labels, (labels + 1) % 10)
    fig = plot_per_class_accuracy(labels, predictions)
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], per_class_accuracy(labels, predictions))
    assert ax.lines[0].get_ydata()[0] == pytest.approx(np.mean(labels == predictions))
    labels = _tick_labels(ax)
    assert labels and all(label.endswith("%") for label in labels)  # as the bars' own labels


def test_plot_per_class_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        plot_per_class_accuracy([0, 1, 2], [0, 1])


def test_plot_learning_rates_log_scale_one_line_per_schedule():
    fig = plot_learning_rates({"paper": [5e-4, 5e-4, 2e-4], "ours": [1e-2, 1e-2, 4e-3]})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1e-2, 1e-2, 4e-3])


def test_plot_learning_rates_rejects_non_positive_rates():
    with pytest.raises(ValueError, match="positive"):
        plot_learning_rates({"bad": [0.1, 0.0]})


# ---- Helpers of chapters 1-6 (data, C1-C5) -----------------------------------------------

from lenet_course.plots import (  # noqa: E402
    compare_maps,
    plot_class_counts,
    plot_value_histograms,
    show_convolution_step,
    show_images,
    show_receptive_fields,
)


def test_plot_class_counts_draws_one_bar_per_class_with_its_count():
    labels = np.array([0, 1, 1, 3, 3, 3])
    fig = plot_class_counts(labels, classes=5)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [1, 2, 0, 3, 0]
    assert [t.get_text() for t in ax.texts] == ["1", "2", "0", "3", "0"]


@pytest.mark.parametrize("labels", [np.zeros((2, 2), int), np.array([0.5, 1.0])])
def test_plot_class_counts_rejects_non_integer_or_non_1d_labels(labels):
    with pytest.raises(ValueError, match="Expected labels"):
        plot_class_counts(labels)


def test_plot_value_histograms_titles_carry_mean_and_std():
    values = np.array([0.0, 1.0, 2.0, 3.0])
    fig = plot_value_histograms({"a": values, "b": values * 2})
    assert len(fig.axes) == 2
    assert "mean 1.500, std 1.118" in fig.axes[0].get_title()
    assert "mean 3.000, std 2.236" in fig.axes[1].get_title()
    assert sum(p.get_height() for p in fig.axes[0].patches) == 4


def test_plot_value_histograms_rejects_empty_mapping():
    with pytest.raises(ValueError, match="at least one"):
        plot_value_histograms({})


def test_show_images_keeps_each_image_and_its_own_range():
    small, large = np.arange(28 * 28.0).reshape(28, 28), -np.ones((32, 32))
    fig = show_images({"small": small, "large": large[..., None]})
    image_axes = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in image_axes] == ["small\n28x28", "large\n32x32"]
    np.testing.assert_array_equal(image_axes[0].images[0].get_array(), small)
    assert image_axes[0].images[0].get_clim() == (0.0, 28 * 28 - 1.0)


def test_show_images_rejects_a_stack_of_images():
    with pytest.raises(ValueError, match="2D images"):
        show_images({"stack": np.zeros((3, 28, 28))})


def test_show_convolution_step_marks_the_window_and_the_output_pixel():
    image = np.arange(64.0).reshape(8, 8)
    kernel = np.ones((5, 5))
    output = np.zeros((4, 4))
    output[1, 2] = 7.5
    fig = show_convolution_step(image, kernel, output, (1, 2))
    left, middle, right = fig.axes
    window = left.patches[0]
    assert (window.get_x(), window.get_y(), window.get_width()) == (1.5, 0.5, 5)
    assert len(middle.texts) == 25
    assert "(1, 2) = 7.500" in right.get_title()


def test_show_convolution_step_rejects_a_position_outside_the_output():
    with pytest.raises(ValueError, match="inside the output"):
        show_convolution_step(np.zeros((8, 8)), np.ones((5, 5)), np.zeros((4, 4)), (4, 0))


def test_compare_maps_one_row_per_name_and_symmetric_scales():
    maps = np.stack([np.full((4, 4), -1.0), np.full((4, 4), 3.0)], axis=-1)
    fig = compare_maps({"two maps": maps, "one map": np.full((2, 2), 0.5)},
                       titles={"one map": ["only"]}, cmap={"one map": "gray_r"})
    axes = np.array(fig.axes[:4]).reshape(2, 2)   # then the two colour bars
    assert len(fig.axes) == 6
    assert axes[0, 0].images[0].get_clim() == (-3.0, 3.0)
    assert axes[1, 0].get_title() == "only" and axes[1, 0].get_ylabel() == "one map"
    assert not axes[1, 1].images  # the shorter row leaves its extra panel empty
    assert axes[1, 0].images[0].get_cmap().name == "gray_r"


def test_compare_maps_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="height, width, maps"):
        compare_maps({"bad": np.zeros((1, 2, 3, 4))})


def test_show_receptive_fields_draws_boxes_and_centres():
    fig = show_receptive_fields(np.zeros((32, 32)), boxes=[(6, 6, 20), (0, 0, 16)],
                                points=[(6.5, 6.5), (8.5, 6.5)], box_labels=["a", "b"])
    ax = fig.axes[0]
    assert [(p.get_x(), p.get_y(), p.get_width()) for p in ax.patches] == [(5.5, 5.5, 20), (-0.5, -0.5, 16)]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[6.5, 6.5], [6.5, 8.5]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "centres"]


def test_show_receptive_fields_rejects_non_2d_images():
    with pytest.raises(ValueError, match="2D image"):
        show_receptive_fields(np.zeros((2, 32, 32)))


def test_plot_error_per_epoch_draws_error_in_percent_and_the_reference():
    from lenet_course.plots import plot_error_per_epoch

    fig = plot_error_per_epoch({"a": {"val_rbf_accuracy": [0.9, 0.98, 0.99]}, "b": {"val_accuracy": [0.8]}},
                               reference=0.0095, reference_label="paper")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [10.0, 2.0, 1.0])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [0.95, 0.95])
    assert "paper: 0.95%" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_error_per_epoch_needs_a_validation_accuracy():
    from lenet_course.plots import plot_error_per_epoch

    with pytest.raises(ValueError, match="validation accuracy"):
        plot_error_per_epoch({"a": {"loss": [1.0], "accuracy": [0.5]}})


def test_compare_maps_wraps_rows_longer_than_eight_maps_and_keeps_one_colour_bar_per_row():
    from lenet_course.plots import MAX_MAPS_PER_ROW

    fig = compare_maps({"S2": np.ones((14, 14, 6)), "C3": np.ones((10, 10, 16))})
    maps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert MAX_MAPS_PER_ROW == 8 and len(maps) == 22
    assert [ax.get_title() for ax in maps][6:] == [str(j) for j in range(16)]
    columns = {round(ax.get_position().x0, 3) for ax in maps}
    assert len(columns) == 8
    assert len(fig.axes) == 8 * 3 + 2   # three lines of 8 panels and two colour bars


def test_draw_lenet5_highlights_the_chosen_layer_only():
    from lenet_course.plots import LENET5_LAYERS, draw_lenet5

    fig = draw_lenet5("S4")
    ax = fig.axes[0]
    assert ax.get_title() == "you are here: S4"
    bold = [text.get_text() for text in ax.texts if text.get_fontweight() == "bold"]
    assert bold == ["S4"]
    assert {layer[0] for layer in LENET5_LAYERS} <= {text.get_text() for text in ax.texts}
    assert draw_lenet5().axes[0].get_title() == "LeNet-5"
    with pytest.raises(ValueError, match="layer names"):
        draw_lenet5("C7")


def test_plot_scaled_tanh_marks_f_of_one_and_the_slope_there():
    from lenet_course.plots import plot_scaled_tanh

    fig = plot_scaled_tanh()
    left, right = fig.axes
    points = [line for line in left.lines if line.get_marker() == "o"]
    np.testing.assert_allclose(points[0].get_ydata(), [-1, 1], atol=1e-4)   # f(±1) = ±1
    slope_at_one = [line for line in right.lines if line.get_marker() == "o"][0].get_ydata()[0]
    assert 0.75 < slope_at_one < 0.76 and "66% of the maximum" in right.get_legend().texts[0].get_text()
    assert 1.14 < right.lines[0].get_ydata().max() < 1.15


def _all_figures():
    from lenet_course import plots

    maps = np.random.default_rng(0).normal(size=(10, 10, 16))
    return {
        "compare_maps": plots.compare_maps({"S2": maps[..., :6], "C3": maps}),
        "show_maps": plots.show_maps(maps),
        "show_kernels": plots.show_kernels(maps[:5, :5, :6]),
        "convolution_step": plots.show_convolution_step(np.zeros((8, 8)), np.ones((5, 5)),
                                                        np.zeros((4, 4)), (1, 2)),
        "history": plots.plot_history({"loss": [1, 0.5], "accuracy": [0.5, 0.9]}),
        "f6": show_f6_output(np.zeros((28, 28)), rbf_bitmaps()[3].ravel(), np.arange(10.0)),
        "bars": plot_bars({"a": [1, 2], "b": [3, 4], "c": [5, 6]}, fmt="{:.0f}"),
        "lenet5": plots.draw_lenet5("C1"),
        "tanh": plots.plot_scaled_tanh(),
        "confusion": plots.plot_confusion_matrix([0, 1, 2], [0, 1, 1]),
        "bitmaps": plots.show_bitmaps(rbf_bitmaps()),
        "digits": plots.show_digits(np.zeros((30, 28, 28)), labels=[1] * 30, predictions=[2] * 30),
        "runs": plots.plot_runs({name: [0.9, 0.95, 0.97] for name in "abcde"}),
    }


def test_every_figure_keeps_text_legible_at_the_book_column_width():
    """The rule tools/check_book_in_browser.py relies on: text >= MIN_FONT_PT, width <= 9.5 in.

    At 100 dpi a 9.5-inch figure is 950 pixels; in the book's 684-pixel column it is
    shown at 72%, where 8-point text is 8 pixels high.
    """
    from lenet_course.plots import MIN_FONT_PT

    for name, fig in _all_figures().items():
        assert fig.get_size_inches()[0] <= 9.5, name
        fig.canvas.draw()
        sizes = [text.get_fontsize() for text in fig.findobj(matplotlib.text.Text)
                 if text.get_text() and text.get_visible()]
        assert min(sizes) >= MIN_FONT_PT, (name, min(sizes))


def test_plot_runs_draws_the_mean_the_range_and_every_run():
    from lenet_course.plots import plot_runs

    fig = plot_runs({"a": [0.9, 0.92, 0.94], "b": [0.8, 0.85, 0.9]})
    ax = fig.axes[0]
    means = [round(float(c.get_segments()[0][0, 1]), 3) for c in ax.collections[::3]]
    assert means == [0.92, 0.85]
    assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")) >= 6
    assert "3 runs each" in ax.get_title()
    labels = _tick_labels(ax)
    assert labels and all(label.endswith("%") for label in labels)  # as the means above them
    seconds = _tick_labels(plot_runs({"a": [12.0, 13.5]}, ylabel="seconds", fmt="{:.1f} s").axes[0])
    assert seconds and not any(label.endswith("%") for label in seconds)
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_runs({})

def test_show_distortions_draws_originals_and_distorted_copies():
    from lenet_course.distortions import PaperDistortion
    from lenet_course.plots import show_distortions

    images = np.full((2, 32, 32, 1), -0.1, "float32")
    images[:, 10:22, 14:18] = 1.175
    fig = show_distortions(images, PaperDistortion(seed=0), copies=4)
    assert len(fig.axes) == 10 and fig.axes[0].get_title() == "original"
    shown = [ax.images[0].get_array() for ax in fig.axes[:5]]
    assert np.array_equal(shown[0], images[0, :, :, 0]) and not np.allclose(shown[1], shown[0])
    with pytest.raises(ValueError, match="shape"):
        show_distortions(np.zeros((2, 32, 32)), PaperDistortion())


def test_plot_reproduction_draws_each_run_in_percent():
    from lenet_course.plots import plot_reproduction

    run = {"passes": [{"pass": p, "validation_error": e} for p, e in [(1, 0.05), (2, 0.02), (3, 0.011)]]}
    fig = plot_reproduction({"a": run, "b": run}, reference=0.0095)
    lines = fig.axes[0].lines
    assert len(lines) == 3 and list(lines[0].get_xdata()) == [1, 2, 3]
    np.testing.assert_allclose(lines[1].get_ydata(), [5.0, 2.0, 1.1])
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_reproduction({})


def test_plot_reproduction_dashes_the_training_error_in_the_runs_colour():
    from lenet_course.plots import plot_reproduction

    rows = [(1, 0.05, 0.04), (2, 0.02, 0.01)]
    trained = {"passes": [{"pass": p, "validation_error": v, "training_error": t} for p, v, t in rows]}
    plain = {"passes": [{"pass": p, "validation_error": v} for p, v, _ in rows]}
    lines = plot_reproduction({"a": trained, "b": plain}).axes[0].lines
    assert [line.get_label() for line in lines] == ["a, validation", "a, training", "b, validation"]
    np.testing.assert_allclose(lines[1].get_ydata(), [4.0, 1.0])
    assert lines[1].get_linestyle() == "--" and lines[1].get_color() == lines[0].get_color()


def test_plot_reproduction_labels_enough_error_ticks_to_read_a_curve_off():
    from lenet_course.plots import plot_reproduction

    run = {"passes": [{"pass": p, "validation_error": e} for p, e in [(1, 0.055), (2, 0.026)]]}
    fig = plot_reproduction({"a": run})
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    shown = [tick.get_text() for tick, value in zip(ax.get_yticklabels(), ax.get_yticks())
             if low <= value <= high]
    assert shown == ["3%", "5%"]


def test_plot_reproduction_names_the_held_out_digits():
    from lenet_course.plots import plot_reproduction

    run = {"passes": [{"pass": 1, "validation_error": 0.05, "training_error": 0.04}]}
    lines = plot_reproduction({"a": run}, held_out="official test").axes[0].lines
    assert [line.get_label() for line in lines] == ["a, official test", "a, training"]
