import matplotlib

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


def test_plot_bars_rejects_non_dict():
    with pytest.raises(ValueError, match="dict"):
        plot_bars([1, 2, 3])


def test_per_class_accuracy_counts_each_class():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 0, 1, 1, 0, 2])
    scores = per_class_accuracy(labels, predictions)
    np.testing.assert_allclose(scores[:3], [0.75, 0.5, 1.0])
    assert np.isnan(scores[3:]).all()  # no examples of 3-9


def test_plot_per_class_accuracy_bars_and_overall_line():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    predictions = np.where(rng.random(500) < 0.9, labels, (labels + 1) % 10)
    fig = plot_per_class_accuracy(labels, predictions)
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], per_class_accuracy(labels, predictions))
    assert ax.lines[0].get_ydata()[0] == pytest.approx(np.mean(labels == predictions))


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
