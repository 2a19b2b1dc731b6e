import keras
import numpy as np
import pytest

from lenet_course.layers import C3_TABLE, PartialConv2D
from lenet_course.models import preprocess
from lenet_course.paper_recipe import (
    DiagonalLevenbergMarquardt,
    PaperMAPLoss,
    PaperUniform,
    build_paper_recipe,
    effective_learning_rates,
    first_steps,
    sdlm_eta,
    sdlm_learning_rate_schedule,
)


def test_paper_uniform_stays_within_its_fan_in_bound_and_fills_it():
    weights = keras.ops.convert_to_numpy(PaperUniform(seed=1)((5, 5, 16, 120)))
    limit = 2.4 / 400
    assert np.abs(weights).max() <= limit and np.abs(weights).max() > 0.95 * limit
    assert abs(weights.mean()) < limit / 20  # symmetric around 0
    dense = keras.ops.convert_to_numpy(PaperUniform(seed=1)((120, 84)))
    assert np.abs(dense).max() <= 2.4 / 120 and np.abs(dense).max() > 0.95 * 2.4 / 120


@pytest.mark.parametrize("sqrt", [False, True])
def test_c3_gets_each_maps_own_fan_in(sqrt):
    layer = PartialConv2D(C3_TABLE, 5, kernel_initializer=PaperUniform(seed=0, sqrt=sqrt))
    layer.build((None, 14, 14, 6))
    kernel = keras.ops.convert_to_numpy(layer.kernel)  # (5, 5, 60): one kernel per connection
    inputs_of_map = C3_TABLE.sum(axis=0)[np.nonzero(C3_TABLE)[1]]
    for fan in (3, 4, 6):
        limit = 2.4 / (np.sqrt(25 * fan) if sqrt else 25 * fan)
        largest = np.abs(kernel[:, :, inputs_of_map == fan]).max()
        assert 0.9 * limit < largest <= limit


def test_paper_uniform_read_with_sqrt_divides_by_the_root_of_the_fan_in():
    weights = keras.ops.convert_to_numpy(PaperUniform(seed=1, sqrt=True)((5, 5, 16, 120)))
    limit = 2.4 / 20  # sqrt(400)
    assert np.abs(weights).max() <= limit and np.abs(weights).max() > 0.95 * limit


def test_paper_uniform_read_with_sqrt_gives_every_unit_the_same_spread_of_total_input():
    """The paper's reason for dividing by the fan-in, which only the square root fulfils."""
    rng = np.random.default_rng(0)
    spreads = {}
    for sqrt in (False, True):
        for fan_in in (25, 400):
            w = keras.ops.convert_to_numpy(PaperUniform(seed=2, sqrt=sqrt)((fan_in, 2000)))
            spreads[sqrt, fan_in] = (rng.normal(size=(500, fan_in)) @ w).std()
    assert spreads[True, 400] == pytest.approx(spreads[True, 25], rel=0.05)
    assert spreads[False, 400] < spreads[False, 25] / 3  # 1 / F: shrinks as sqrt(25 / 400)


def test_paper_uniform_round_trips_and_rejects_a_bad_fan_in():
    again = PaperUniform.from_config(PaperUniform(fan_in=7, seed=3, sqrt=True).get_config())
    assert again.fan_in == 7 and again.seed == 3 and again.sqrt is True
    with pytest.raises(ValueError, match="fan_in"):
        PaperUniform(fan_in=0)
    with pytest.raises(ValueError, match="sqrt"):
        PaperUniform(sqrt="yes")


def test_map_loss_matches_equation_9_in_numpy():
    rng = np.random.default_rng(0)
    distances = rng.uniform(0, 30, (5, 10)).astype("float32")
    labels = rng.integers(0, 10, 5)
    j = 7.0
    expected = np.mean([distances[n, labels[n]] + np.log(np.exp(-j) + np.exp(-distances[n]).sum())
                        for n in range(5)])
    np.testing.assert_allclose(float(PaperMAPLoss(j=j)(labels, distances)), expected, rtol=1e-5)


def test_map_loss_is_the_squared_distance_when_every_code_is_far():
    # exp(-j) dominates: E = y_D - j, i.e. the squared distance to the right code.
    distances = np.array([[50.0, 80.0, 90.0]], "float32")
    np.testing.assert_allclose(float(PaperMAPLoss(j=5.0)(np.array([0]), distances)), 45.0, rtol=1e-4)


def test_map_loss_config_and_bad_j():
    assert PaperMAPLoss.from_config(PaperMAPLoss(j=3.0).get_config()).j == 3.0
    with pytest.raises(ValueError, match="j"):
        PaperMAPLoss(j=-1)


def test_sdlm_step_is_rate_over_mu_plus_h_times_gradient():
    w = keras.Variable(np.array([[1.0, -2.0], [0.5, 3.0]], "float32"))
    optimizer = DiagonalLevenbergMarquardt(learning_rate=0.01, mu=0.02)
    optimizer.build([w])
    h = np.array([[0.0, 1.0], [0.3, 10.0]], "float32")
    optimizer.set_curvature([w], [h])
    gradient = np.array([[1.0, 2.0], [-1.0, 4.0]], "float32")
    before = keras.ops.convert_to_numpy(w).copy()
    optimizer.apply([gradient], [w])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), before - 0.01 / (0.02 + h) * gradient, rtol=1e-6)
    np.testing.assert_allclose(optimizer.curvature(w), h)


def test_sdlm_rejects_bad_curvature_and_mu():
    w = keras.Variable(np.zeros(3, "float32"))
    optimizer = DiagonalLevenbergMarquardt()
    with pytest.raises(ValueError, match="curvature >= 0 of shape"):
        optimizer.set_curvature([w], [np.zeros(4)])
    with pytest.raises(ValueError, match="curvature >= 0"):
        optimizer.set_curvature([w], [-np.ones(3)])
    with pytest.raises(ValueError, match="mu"):
        DiagonalLevenbergMarquardt(mu=0)


def test_sdlm_config_round_trip():
    config = DiagonalLevenbergMarquardt(learning_rate=0.003, mu=0.05).get_config()
    again = DiagonalLevenbergMarquardt.from_config(config)
    assert again.mu == 0.05 and np.isclose(float(again.learning_rate), 0.003)


def test_eta_stages_are_the_papers():
    expected = [0.0005] * 2 + [0.0002] * 3 + [0.0001] * 3 + [0.00005] * 4 + [0.00001] * 8
    assert [sdlm_eta(p) for p in range(20)] == expected
    assert [sdlm_learning_rate_schedule(4).schedule(p, None) for p in (0, 19)] == [0.002, 0.00004]
    with pytest.raises(ValueError, match="factor"):
        sdlm_learning_rate_schedule(0)


@pytest.mark.parametrize("ingredient, value", [("optimizer", "adam"), ("loss", "mse"), ("codes", "onehot")])
def test_recipe_rejects_unknown_ingredients(ingredient, value):
    with pytest.raises(ValueError, match=f"Expected {ingredient} to be one of"):
        build_paper_recipe(**{ingredient: value})


@pytest.mark.filterwarnings("error:Skipping variable loading:UserWarning")
def test_recipe_switches_each_piece_and_round_trips(tmp_path):
    model = build_paper_recipe(seed=0, initializer="paper", codes="random")
    c1 = keras.ops.convert_to_numpy(model.get_layer("C1").kernel)
    assert np.abs(c1).max() <= 2.4 / 25
    c1 = keras.ops.convert_to_numpy(build_paper_recipe(initializer="paper-sqrt").get_layer("C1").kernel)
    assert 2.4 / 25 < np.abs(c1).max() <= 2.4 / 5
    codes = keras.ops.convert_to_numpy(model.get_layer("output").prototypes)
    assert set(np.unique(codes)) == {-1.0, 1.0} and not np.array_equal(codes, build_paper_recipe().get_layer(
        "output").codes)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 1)).astype("float32")
    weights = model.trainable_variables
    model.optimizer.set_curvature(weights, [np.full(w.shape, 0.5, "float32") for w in weights])
    model.fit(x, np.array([3, 7]), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, DiagonalLevenbergMarquardt) and isinstance(loaded.loss, PaperMAPLoss)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    assert int(loaded.optimizer.iterations) == 1 and loaded.optimizer.mu == model.optimizer.mu
    for weight in loaded.trainable_variables:  # the curvatures set before the pass come back
        np.testing.assert_array_equal(loaded.optimizer.curvature(weight), 0.5)
    glorot = build_paper_recipe(seed=0, initializer="glorot", optimizer="sgd", loss="rbf")
    assert np.abs(keras.ops.convert_to_numpy(glorot.get_layer("C1").kernel)).max() > 2.4 / 25
    assert type(glorot.optimizer).__name__ == "SGD" and type(glorot.loss).__name__ == "RBFLoss"


def test_effective_rates_are_eta_over_mu_plus_h_in_one_flat_array():
    h = [np.array([[0.0, 1.0]]), np.array([3.0])]
    rates = effective_learning_rates(h, eta=0.001, mu=0.5)
    np.testing.assert_allclose(rates, [0.002, 0.001 / 1.5, 0.001 / 3.5])
    for bad in ([np.array([-1.0])], [np.array([np.nan])], []):
        with pytest.raises(ValueError, match="curvatures"):
            effective_learning_rates(bad)


def test_glorot_starts_with_the_spread_of_rates_the_paper_reports_and_paper_uniform_does_not(sample):
    """Section III.C: first-pass rates from 7e-5 to 0.016. Chapter 13 draws its conclusion from this."""
    from lenet_course.curvature import backpropagated_curvature

    inputs = preprocess(sample.x_train[:200], "paper")
    spread = {}
    for initializer in ("paper", "paper-sqrt", "glorot"):
        h = backpropagated_curvature(build_paper_recipe(seed=0, initializer=initializer), inputs)
        rates = effective_learning_rates(h)
        spread[initializer] = (rates.min(), np.median(rates), rates.max())
    low, median, _ = spread["paper"]
    assert median > 0.99 * 0.0005 / 0.02 and low > 1e-4  # tiny h: nearly every step eta / mu
    low, _, high = spread["glorot"]
    assert 2e-5 < low < 2e-4 and 0.005 < high < 0.025 and high / low > 100
    low, _, _ = spread["paper-sqrt"]  # larger weights: the smallest steps far below the paper's
    assert low < 7e-5 / 4


def test_per_digit_first_steps_go_farther_and_leave_h_behind_as_chapter_13_says(sample):
    """Chapter 13's reading of its table, on the chapter's own digits (1,000 of the first 2,000)."""
    inputs, labels = preprocess(sample.x_train[:2000], "paper"), sample.y_train[:2000]
    per_digit = first_steps(inputs, labels, batch_size=1, seed=0)
    per_8 = first_steps(inputs, labels, batch_size=8, seed=0)
    assert list(per_digit) == ["C1", "C3", "C5", "F6"]
    for name in per_digit:
        assert per_digit[name][0] > 2 * per_8[name][0], name  # "about three times as far"
    assert per_digit["C1"][1] < 0.1 and per_digit["C3"][1] < 0.1  # "a few hundredths"
    assert all(0.25 < per_8[name][1] < 4 for name in ("C1", "C3", "C5"))  # "within a few times"
    assert per_digit["F6"][1] > 1 and per_8["F6"][1] > 1  # "F6's grows either way"
    from_sqrt = first_steps(inputs, labels, batch_size=1, seed=0, initializer="paper-sqrt")
    for name in per_digit:  # "less than a third of their size ... within a factor of three"
        assert from_sqrt[name][0] < 1 / 3 and 1 / 3 < from_sqrt[name][1] < 3, name


def test_first_steps_is_repeatable_and_rejects_bad_arguments(sample):
    inputs, labels = preprocess(sample.x_train[:64], "paper"), sample.y_train[:64]
    once = first_steps(inputs, labels, batch_size=4, digits=32, curvature_digits=16, seed=3)
    assert once == first_steps(inputs, labels, batch_size=4, digits=32, curvature_digits=16, seed=3)
    for bad in ({"digits": 65}, {"digits": 0}, {"curvature_digits": 0}, {"batch_size": 0}):
        arguments = {"batch_size": 4, "digits": 32, "curvature_digits": 16, **bad}
        with pytest.raises(ValueError, match="Expected 1 <= digits"):
            first_steps(inputs, labels, **arguments)
