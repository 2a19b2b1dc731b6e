import gzip
import hashlib
import struct

import numpy as np
import pytest

from lenet_course import data as data_module
from lenet_course.data import (
    DIGITS_SHA256,
    FULL_MNIST,
    IDX_FILES,
    MissingTestSetError,
    check_images,
    digits_sha256,
    load_mnist,
    pad_to_32,
    paper_scale,
    read_idx,
    stratified_test_mask,
    unit_scale,
    validation_split,
)


def fake_full_mnist(path):
    """A small file shaped like Keras's mnist.npz; returns its sha256."""
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y_train=np.arange(60) % 10,
             x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def idx_bytes(array):
    """An IDX file of unsigned bytes, written the way the MNIST files are (not via the loader)."""
    array = np.asarray(array, np.uint8)
    return struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path, array, gz):
    blob = idx_bytes(array)
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path


def fake_digits(n_train=60, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


@pytest.fixture
def fake_mnist(monkeypatch):
    """Small MNIST-shaped digits whose checksums stand in for the official ones."""
    digits = fake_digits()
    for key, array in digits.items():
        monkeypatch.setitem(DIGITS_SHA256, key, hashlib.sha256(idx_bytes(array)).hexdigest())
    monkeypatch.setattr(data_module, "VALIDATION_SIZE", 10)
    return digits


def write_idx_home(folder, digits, gz, parts=("train", "test")):
    folder.mkdir(exist_ok=True)
    for key, array in digits.items():
        if key.split("_")[0] in parts:
            name = IDX_FILES[key] + (".gz" if gz else "")
            write_idx(folder / name, array, gz)
    return folder


@pytest.fixture
def offline(monkeypatch):
    """No network: any connection attempt fails as it does on this machine."""
    def refuse(*args, **kwargs):
        raise OSError("network unreachable (test)")
    monkeypatch.setattr(data_module.socket, "create_connection", refuse)


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("LENET_COURSE_DATA", raising=False)


def test_sample_shapes_and_types(sample):
    assert sample.x_train.shape == (8000, 28, 28) and sample.x_test.shape == (2000, 28, 28)
    assert sample.x_train.dtype == np.uint8 and sample.y_train.dtype == np.int64
    assert set(np.unique(sample.y_train)) == set(range(10))
    assert len(set(sample.y_train[:30])) >= 8, "digits come mixed, not grouped by class"
    assert sample.source == "sample"
    assert "sample" in sample.description and "8,000" in sample.description and "not the official" in sample.description


def test_sample_split_is_stratified_deterministic_and_disjoint(sample):
    again = load_mnist(source="sample")
    assert np.array_equal(sample.x_test, again.x_test) and np.array_equal(sample.y_train, again.y_train)
    for digit in range(10):
        n_train, n_test = (sample.y_train == digit).sum(), (sample.y_test == digit).sum()
        assert abs(n_test / (n_train + n_test) - 0.2) < 0.001
    train_rows = {image.tobytes() for image in sample.x_train}
    assert not any(image.tobytes() in train_rows for image in sample.x_test)


def test_sample_is_real_mnist_digits(sample):
    # Real scans: mostly background with a few hundred dark pixels, not noise or blanks.
    ink = (sample.x_train > 127).sum(axis=(1, 2))
    assert 40 < np.median(ink) < 250
    assert (sample.x_train[:, 0, :] == 0).mean() > 0.99  # the MNIST border is empty


def test_stratified_mask_takes_the_fraction_of_each_class():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    mask = stratified_test_mask(labels, 0.5, seed=1)
    assert [mask[labels == k].sum() for k in range(3)] == [5, 10, 15]


def test_corrupted_sample_is_refused(tmp_path, monkeypatch):
    broken = tmp_path / "mnist_sample.npz"
    blob = bytearray(data_module.SAMPLE_FILE.read_bytes())
    blob[1000] ^= 0xFF
    broken.write_bytes(bytes(blob))
    monkeypatch.setattr(data_module, "SAMPLE_FILE", broken)
    with pytest.raises(OSError, match="corrupted"):
        load_mnist(source="sample")


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match="one of .*Received: source='mnist'"):
        load_mnist(source="mnist")


def test_environment_variable_overrides_auto(monkeypatch):
    monkeypatch.setenv("LENET_COURSE_DATA", "sample")
    monkeypatch.setattr(data_module, "load_full", lambda **kw: pytest.fail("auto must not try full data"))
    assert load_mnist().source == "sample"
    monkeypatch.setenv("LENET_COURSE_DATA", "everything")
    with pytest.raises(ValueError, match="LENET_COURSE_DATA"):
        load_mnist()


def test_auto_falls_back_to_the_sample_offline_and_says_why_once(tmp_path, offline, no_env, capsys, monkeypatch):
    monkeypatch.setattr(data_module, "_said_why_the_sample", False)
    loaded = load_mnist(data_home=tmp_path)
    assert loaded.source == "sample"
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0
    assert "full MNIST is not available" in line and "not been downloaded" in line
    assert "no internet connection" in line and "sample shipped with the course" in line
    assert "Error" not in line and "gaierror" not in line  # no diagnostics for a learner
    assert load_mnist(data_home=tmp_path).source == "sample"
    assert capsys.readouterr().out == ""  # said once per session


def test_full_is_an_error_offline_not_a_fallback(tmp_path, offline):
    with pytest.raises(OSError, match="not been downloaded.*no internet connection"):
        load_mnist(source="full", data_home=tmp_path)


def test_full_loads_a_cached_file_with_the_right_hash(tmp_path, offline, monkeypatch):
    digest = fake_full_mnist(tmp_path / "mnist.npz")
    monkeypatch.setitem(FULL_MNIST, "sha256", digest)
    loaded = load_mnist(source="full", data_home=tmp_path)
    assert loaded.source == "full" and loaded.x_train.shape == (60, 28, 28) and len(loaded.y_test) == 10
    assert "full MNIST" in loaded.description


def test_a_corrupted_cached_file_is_refused_offline(tmp_path, offline, monkeypatch, no_env, capsys):
    monkeypatch.setattr(data_module, "_said_why_the_sample", False)
    digest = fake_full_mnist(tmp_path / "mnist.npz")
    monkeypatch.setitem(FULL_MNIST, "sha256", digest)
    with open(tmp_path / "mnist.npz", "r+b") as file:  # truncate: a download cut short
        file.truncate(500)
    with pytest.raises(OSError, match="corrupted"):
        load_mnist(source="full", data_home=tmp_path)
    assert load_mnist(data_home=tmp_path).source == "sample"
    assert "corrupted" in capsys.readouterr().out


def test_a_corrupted_cached_file_is_fetched_again_when_online(tmp_path, monkeypatch):
    good = tmp_path / "good.npz"
    digest = fake_full_mnist(good)
    monkeypatch.setitem(FULL_MNIST, "sha256", digest)
    cached = tmp_path / "home" / "mnist.npz"
    cached.parent.mkdir()
    cached.write_bytes(b"not an npz")
    monkeypatch.setattr(data_module, "_check_network", lambda url, problem: None)
    fetched = []

    def fake_get_file(fname, origin, file_hash, cache_dir, cache_subdir):
        assert not cached.exists(), "the corrupted file must be removed before fetching"
        fetched.append(origin)
        target = tmp_path / "home" / fname
        target.write_bytes(good.read_bytes())
        return str(target)

    import keras
    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    loaded = load_mnist(source="full", data_home=cached.parent)
    assert fetched == [FULL_MNIST["url"]] and loaded.source == "full"


def test_data_home_must_be_a_folder(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(OSError, match="Expected data_home to be a folder"):
        load_mnist(source="full", data_home=not_a_folder)


def test_pad_to_32_adds_two_background_pixels_each_side(sample):
    padded = pad_to_32(sample.x_train[:3])
    assert padded.shape == (3, 32, 32) and padded.dtype == np.uint8
    assert np.array_equal(padded[:, 2:30, 2:30], sample.x_train[:3])
    assert padded[:, :2].max() == 0 and padded[:, :, -2:].max() == 0


def test_scalings():
    pixels = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_allclose(paper_scale(pixels), [[-0.1, -0.1 + 0.2 * 1.275, 1.175]], rtol=1e-6)
    np.testing.assert_allclose(unit_scale(pixels), [[0, 0.2, 1]], rtol=1e-6)
    assert paper_scale(pixels).dtype == np.float32


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 32, 32), np.uint8), r"\(n, 28, 28\).*shape=\(2, 32, 32\)"),
        (np.zeros((2, 28, 28), np.float32), "uint8.*float32"),
        (np.zeros((28,), np.uint8), r"shape=\(28,\)"),
    ],
)
def test_bad_images_are_clear_errors(images, message):
    with pytest.raises(ValueError, match=message):
        check_images(images)
    with pytest.raises(ValueError, match=message):
        pad_to_32(images)


def test_scaling_wrong_dtype_is_a_clear_error():
    with pytest.raises(ValueError, match="uint8"):
        paper_scale(np.zeros((1, 28, 28)))


def test_digits_sha256_is_the_sha256_of_the_uncompressed_idx_file(tmp_path):
    array = fake_digits()["train_images"][:5]
    written = write_idx(tmp_path / "images", array, gz=False)
    assert digits_sha256(array) == hashlib.sha256(written.read_bytes()).hexdigest()
    assert digits_sha256(array) != digits_sha256(array[:4])
    with pytest.raises(ValueError, match="uint8"):
        digits_sha256(array.astype(np.int64))


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_decodes_images_and_labels(tmp_path, gz):
    digits = fake_digits()
    images = read_idx(write_idx(tmp_path / "i", digits["train_images"], gz))
    labels = read_idx(write_idx(tmp_path / "l", digits["train_labels"], gz))
    assert np.array_equal(images, digits["train_images"]) and images.dtype == np.uint8
    assert np.array_equal(labels, digits["train_labels"]) and labels.shape == (60,)


def test_read_idx_refuses_a_truncated_or_foreign_file_naming_it(tmp_path):
    blob = idx_bytes(fake_digits()["train_images"])
    (tmp_path / "short").write_bytes(blob[:-100])
    with pytest.raises(OSError, match=r"short is corrupted.*47,040 bytes of data, it holds 46,940"):
        read_idx(tmp_path / "short")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(blob)[:200])
    with pytest.raises(OSError, match=r"cut\.gz is corrupted"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(OSError, match="text is not an IDX file"):
        read_idx(tmp_path / "text")


@pytest.mark.parametrize("gz", [False, True])
def test_full_reads_the_original_idx_files_gzipped_or_not(tmp_path, offline, fake_mnist, gz):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz)
    loaded = load_mnist(source="full", data_home=home)
    assert loaded.source == "full" and "official test digits" in loaded.description
    assert np.array_equal(loaded.x_train, fake_mnist["train_images"])
    assert np.array_equal(loaded.y_test, fake_mnist["test_labels"]) and loaded.y_test.dtype == np.int64


def test_full_reads_a_faithful_copy_of_mnist_npz_by_its_digits(tmp_path, offline, fake_mnist):
    # Not Keras's file (its sha256 differs), but the same digits: accepted.
    home = tmp_path / "home"
    home.mkdir()
    d = fake_mnist
    np.savez_compressed(home / "mnist.npz", x_train=d["train_images"], y_train=d["train_labels"],
                        x_test=d["test_images"], y_test=d["test_labels"])
    assert hashlib.sha256((home / "mnist.npz").read_bytes()).hexdigest() != FULL_MNIST["sha256"]
    loaded = load_mnist(source="full", data_home=home)
    assert np.array_equal(loaded.x_test, d["test_images"]) and len(loaded.y_train) == 60


def test_the_data_home_environment_variable(tmp_path, offline, fake_mnist, monkeypatch):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=True)
    monkeypatch.setenv("LENET_COURSE_DATA_HOME", str(home))
    assert np.array_equal(load_mnist(source="full").y_train, fake_mnist["train_labels"])


@pytest.mark.parametrize("change", ["edit a pixel", "relabel", "drop a digit"])
def test_an_altered_idx_copy_is_refused_naming_the_file(tmp_path, offline, fake_mnist, change):
    digits = {key: array.copy() for key, array in fake_mnist.items()}
    if change == "edit a pixel":
        digits["test_images"][3, 14, 14] ^= 1
        culprit = "t10k-images-idx3-ubyte.gz"
    elif change == "relabel":
        digits["train_labels"][7] = (digits["train_labels"][7] + 1) % 10
        culprit = "train-labels-idx1-ubyte.gz"
    else:  # a consistent header, one digit short
        digits["train_images"] = digits["train_images"][:-1]
        culprit = "train-images-idx3-ubyte.gz"
    home = write_idx_home(tmp_path / "home", digits, gz=True)
    with pytest.raises(OSError, match=rf"{culprit} is corrupted.*not the official MNIST"):
        load_mnist(source="full", data_home=home)


def test_an_altered_npz_copy_is_refused_naming_the_file(tmp_path, offline, fake_mnist):
    home = tmp_path / "home"
    home.mkdir()
    d = fake_mnist
    np.savez(home / "mnist.npz", x_train=d["train_images"], y_train=(d["train_labels"] + 1) % 10,
             x_test=d["test_images"], y_test=d["test_labels"])
    with pytest.raises(OSError, match=r"mnist\.npz is corrupted.*train labels.*no internet"):
        load_mnist(source="full", data_home=home)


def test_training_files_only_ask_for_the_test_files_or_a_validation_split(tmp_path, offline, fake_mnist):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=False, parts=("train",))
    with pytest.raises(OSError, match=r"t10k-images-idx3-ubyte\[\.gz\].*t10k-labels.*validation=True"):
        load_mnist(source="full", data_home=home)
    loaded = load_mnist(source="full", data_home=home, validation=True)
    assert loaded.source == "full" and "validation split" in loaded.description
    assert np.array_equal(loaded.x_train, fake_mnist["train_images"][:50])
    assert np.array_equal(loaded.x_test, fake_mnist["train_images"][50:])
    assert np.array_equal(loaded.y_test, fake_mnist["train_labels"][50:])


def test_validation_split_never_uses_the_test_files(tmp_path, offline, fake_mnist):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=True)
    (home / "t10k-images-idx3-ubyte.gz").write_bytes(b"broken")  # would be refused if read
    loaded = load_mnist(source="full", data_home=home, validation=True)
    assert loaded.x_train.shape == (50, 28, 28) and loaded.x_test.shape == (10, 28, 28)
    assert not any(image.tobytes() in {t.tobytes() for t in fake_mnist["test_images"]}
                   for image in loaded.x_test)


def test_training_files_only_are_refused_before_they_are_read(tmp_path, offline, fake_mnist, monkeypatch):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=True, parts=("train",))
    monkeypatch.setattr(data_module, "read_idx", lambda path: pytest.fail(f"read {path.name}"))
    with pytest.raises(MissingTestSetError, match="not the official test set"):
        load_mnist(source="full", data_home=home)


def test_validation_split_of_loaded_data_is_the_loaders_split(tmp_path, offline, fake_mnist, sample):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=True)
    split = validation_split(load_mnist(source="full", data_home=home))
    loaded = load_mnist(source="full", data_home=home, validation=True)
    for name in ("x_train", "y_train", "x_test", "y_test", "source", "description"):
        assert np.array_equal(getattr(split, name), getattr(loaded, name)), name
    with pytest.raises(ValueError, match="Expected full MNIST"):
        validation_split(sample)


def test_half_a_pair_of_idx_files_is_a_clear_error(tmp_path, offline, fake_mnist):
    home = write_idx_home(tmp_path / "home", fake_mnist, gz=False)
    (home / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(OSError, match=r"holds train-images-idx3-ubyte but not train-labels-idx1-ubyte"):
        load_mnist(source="full", data_home=home)


def test_the_sample_ignores_validation(sample):
    assert np.array_equal(load_mnist(source="sample", validation=True).x_test, sample.x_test)
