"""tools/drawn_digit_robustness.py: its three changes of a digit, and its table."""

import drawn_digit_robustness as robustness
import numpy as np

from lenet_course.export import export_weights, model_from_export
from lenet_course.models import accuracy, build_lenet5


def a_bar(width):
    """One 28x28 image: a vertical bar ``width`` pixels wide, 255 on 0."""
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 4:24, 13:13 + width] = 255
    return image


def test_thicker_widens_a_stroke_by_a_pixel_each_side_and_thinner_narrows_it_by_one():
    assert (robustness.thicker(a_bar(2))[0, 14] > 0).sum() == 4
    assert (robustness.thinner(a_bar(2))[0, 14] > 0).sum() == 1
    assert robustness.thicker(a_bar(2)).dtype == robustness.thinner(a_bar(2)).dtype == np.uint8


def test_turned_keeps_the_ink_and_leans_each_digit_its_own_way():
    bars = np.repeat(a_bar(3), 2, axis=0)
    turned = robustness.turned(bars, seed=0)
    assert turned.shape == bars.shape and turned.dtype == np.uint8
    assert abs(int(turned[0].sum()) - int(bars[0].sum())) < 0.1 * bars[0].sum()
    assert not np.array_equal(turned[0], bars[0]) and not np.array_equal(turned[0], turned[1])
    np.testing.assert_array_equal(robustness.turned(bars, seed=0), turned)  # seeded


def test_the_table_has_a_row_per_change_and_a_column_per_network(tmp_path, monkeypatch, capsys, sample):
    import lenet_course.export

    monkeypatch.setattr(lenet_course.export, "mnist_with_validation", lambda data_home: sample)
    paths = []
    for seed in (0, 1):
        paths.append(str(tmp_path / f"w{seed}.bin"))
        export_weights(build_lenet5("paper", seed=seed), paths[-1])
    assert robustness.main(["--data-home", "unused", *paths]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[0] == f"| digits | {paths[0]} | {paths[1]} |"
    assert [row.split(" | ")[0] for row in rows[1:]] == [f"| {name}" for name in robustness.CHANGES]
    as_they_are = 1 - accuracy(model_from_export(paths[1]), sample.x_test, sample.y_test)
    assert rows[1].endswith(f" | {as_they_are:.2%} |")
