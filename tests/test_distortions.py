import keras
import numpy as np
import pytest

from lenet_course.distortions import PaperDistortion, distorted_dataset
from lenet_course.models import preprocess


def test_distortion_only_acts_in_training(sample):
    images = preprocess(sample.x_train[:4], "paper")
    layer = PaperDistortion(seed=0)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(images)), images)
    distorted = keras.ops.convert_to_numpy(layer(images, training=True))
    assert distorted.shape == images.shape and not np.allclose(distorted, images)
    assert distorted.min() >= images.min() - 1e-5 and distorted.max() <= images.max() + 1e-5  # interpolation


def test_a_pure_translation_moves_the_digit_by_whole_pixels():
    image = np.full((1, 32, 32, 1), -0.1, "float32")
    image[0, 10, 12, 0] = 1.175
    layer = PaperDistortion(translation=0, scaling=0, squeezing=0, shearing=0, seed=0)
    transforms = keras.ops.convert_to_numpy(layer.transforms(1, 32, 32))
    np.testing.assert_allclose(transforms, [[1, 0, 0, 0, 1, 0, 0, 0]], atol=1e-6)  # identity
    shifted = keras.ops.image.affine_transform(image, np.array([[1, 0, 2, 0, 1, -3, 0, 0]], "float32"),
                                               interpolation="bilinear", fill_value=-0.1)
    y, x = np.unravel_index(np.argmax(keras.ops.convert_to_numpy(shifted)[0, :, :, 0]), (32, 32))
    assert (y, x) == (13, 10)  # output (x, y) reads input (x + 2, y - 3)


def test_distortions_stay_within_their_ranges():
    layer = PaperDistortion(translation=2, scaling=0.1, squeezing=0.2, shearing=0.15, seed=1)
    t = keras.ops.convert_to_numpy(layer.transforms(2000, 32, 32))
    scale = np.sqrt(t[:, 0] * t[:, 4])  # (s q) (s / q) = s^2
    squeeze = np.sqrt(t[:, 0] / t[:, 4])
    assert 0.9 <= scale.min() and scale.max() <= 1.1 and scale.max() > 1.09
    assert 0.8 <= squeeze.min() and squeeze.max() <= 1.2
    assert np.abs(t[:, 1]).max() <= 0.15 and (t[:, 3] == 0).all() and (t[:, 6:] == 0).all()


def test_distortion_config_round_trip_and_bad_arguments():
    layer = PaperDistortion(translation=1.5, scaling=0.05, seed=3)
    again = PaperDistortion.from_config(layer.get_config())
    assert again.translation == 1.5 and again.scaling == 0.05 and again.seed == 3
    for bad in ({"scaling": 1.0}, {"translation": -1}, {"shearing": "a"}):
        with pytest.raises(ValueError, match="Expected"):
            PaperDistortion(**bad)


def test_the_pipeline_distorts_afresh_every_pass(sample):
    images = preprocess(sample.x_train[:8], "paper")
    dataset = distorted_dataset(images, sample.y_train[:8], 8, seed=0)
    first, second = [next(iter(dataset))[0].numpy() for _ in range(2)]
    assert first.shape == (8, 32, 32, 1) and not np.allclose(first, second)


def test_a_pass_holds_every_digit_once_as_it_is_and_copies_times_distorted(sample):
    images = preprocess(sample.x_train[:6], "paper")
    labels = np.arange(6)
    batches = list(distorted_dataset(images, labels, 5, copies=2, seed=0))
    seen = np.concatenate([x.numpy() for x, _ in batches])
    seen_labels = np.concatenate([y.numpy() for _, y in batches])
    assert len(seen) == 18 and sorted(np.bincount(seen_labels)) == [3] * 6
    for image, label in zip(images, labels):
        mine = seen[seen_labels == label]
        assert sum(np.array_equal(copy, image) for copy in mine) == 1  # the original, once
    with pytest.raises(ValueError, match="copies"):
        distorted_dataset(images, labels, 5, copies=-1)
