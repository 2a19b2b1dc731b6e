import keras
import numpy as np
import pytest

from lenet_course.train import paper_learning_rate_schedule


def test_paper_schedule_gives_the_papers_rates_from_its_first_rate():
    schedule = paper_learning_rate_schedule(0.0005).schedule
    expected = [0.0005] * 2 + [0.0002] * 3 + [0.0001] * 3 + [0.00005] * 4 + [0.00001] * 8
    assert [schedule(epoch) for epoch in range(20)] == expected


def test_paper_schedule_keeps_the_ratios_for_sgd():
    schedule = paper_learning_rate_schedule().schedule  # from the paper model's SGD rate, 0.01
    assert [schedule(epoch) for epoch in (0, 1, 2, 4, 5, 7, 8, 11, 12, 30)] == [
        0.01, 0.01, 0.004, 0.004, 0.002, 0.002, 0.001, 0.001, 0.0002, 0.0002]


@pytest.mark.parametrize("base_rate", [0, -0.01, "0.01", True])
def test_paper_schedule_rejects_a_bad_base_rate(base_rate):
    with pytest.raises(ValueError, match="base_rate"):
        paper_learning_rate_schedule(base_rate)


def test_paper_schedule_rejects_a_negative_epoch():
    with pytest.raises(ValueError, match="epoch"):
        paper_learning_rate_schedule().schedule(-1)


def test_paper_schedule_sets_the_optimizers_rate_during_fit():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, epochs=6, verbose=0, callbacks=[paper_learning_rate_schedule(0.01), record])
    np.testing.assert_allclose(seen, [0.01, 0.01, 0.004, 0.004, 0.004, 0.002], rtol=1e-6)
