"""MNIST for the course: the full data set, or a real sample shipped in the package.

Two sources, one result:

* ``"full"`` -- the official 60,000 training and 10,000 test digits, fetched once
  by Keras's own downloader from the file below and verified by its sha256.
* ``"sample"`` -- 10,000 real MNIST *training* digits shipped inside this package
  (``_data/mnist_sample.npz``; provenance, licence and checksum in
  ``_data/README.md``), split deterministically and stratified into 8,000 for
  training and 2,000 for testing. Those 2,000 are *not* the official test digits.

``"auto"`` (the default) takes the full data when it is cached or can be
downloaded, and otherwise falls back to the sample, saying so in one line. The
environment variable ``LENET_COURSE_DATA`` (``full`` or ``sample``) overrides it.

Images are uint8 arrays of shape ``(n, 28, 28)``, labels int64 arrays of shape
``(n,)``. The helpers ``pad_to_32``, ``paper_scale`` and ``unit_scale`` turn
images into network inputs.
"""

import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOURCES = ("auto", "full", "sample")

# Keras's own copy of MNIST (keras.datasets.mnist uses the same file and hash).
FULL_MNIST = {
    "filename": "mnist.npz",
    "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "sha256": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
}

SAMPLE_FILE = Path(__file__).parent / "_data" / "mnist_sample.npz"
SAMPLE_SHA256 = "0217e13bd0668deb198aa7d305edbf0331eb89f8a6e7dd226e03d1aa3a9bd4ef"
SAMPLE_TEST_FRACTION = 0.2
SAMPLE_SPLIT_SEED = 0

# The paper (LeCun et al. 1998, section II.A): background -0.1, foreground 1.175,
# so that the mean input is roughly 0 and the variance roughly 1.
PAPER_BACKGROUND = -0.1
PAPER_FOREGROUND = 1.175


@dataclass(frozen=True)
class MnistData:
    """MNIST images and labels, and a sentence saying where they came from.

    Attributes:
        x_train, x_test: uint8 arrays of shape ``(n, 28, 28)``.
        y_train, y_test: int64 arrays of shape ``(n,)``, digits 0-9.
        source: ``"full"`` or ``"sample"``.
        description: names the data and its size, for printing.

    Example:
        >>> data = load_mnist(source="sample")
        >>> data.x_train.shape, data.x_test.shape
        ((8000, 28, 28), (2000, 28, 28))
        >>> data.source
        'sample'
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    description: str

    def __repr__(self):
        return f"MnistData({self.description.splitlines()[0]})"


def load_mnist(source="auto", *, data_home=None, verbose=True):
    """Load MNIST as uint8 images and integer labels.

    Args:
        source: ``"auto"`` (full MNIST if available, else the shipped sample),
            ``"full"`` or ``"sample"``. ``LENET_COURSE_DATA`` overrides ``"auto"``.
        data_home: folder that caches the full data set. Default: Keras's cache
            (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``).
        verbose: print one line when ``"auto"`` falls back to the sample.

    Returns:
        An ``MnistData``; ``print(data.description)`` says what was loaded.

    Example:
        >>> data = load_mnist(source="sample")
        >>> print(data.description)  # doctest: +ELLIPSIS
        shipped MNIST sample: 8,000 training + 2,000 held-out digits
        (all real MNIST training digits; the held-out ones are not the official test set)
    """
    if source not in SOURCES:
        raise ValueError(f"Expected source to be one of {SOURCES}. Received: source={source!r}")
    if source == "auto":
        source = _source_from_environment()
    if source == "sample":
        return load_sample()
    if source == "full":
        return load_full(data_home=data_home)
    try:
        return load_full(data_home=data_home)
    except (OSError, ValueError) as error:
        if verbose:
            _say_once_why_the_sample(error)
        return load_sample()


_said_why_the_sample = False


def _say_once_why_the_sample(error):
    """One line per session, in a learner's words, when ``"auto"`` takes the sample."""
    global _said_why_the_sample
    if _said_why_the_sample:
        return
    _said_why_the_sample = True
    print(
        "lenet_course: the full MNIST is not available here "
        f"({error}), so this uses the MNIST sample shipped with the course: "
        "8,000 training + 2,000 held-out digits. Numbers differ a little from a full-data "
        'run; with an internet connection, load_mnist("full") fetches all 70,000 digits.'
    )


def _source_from_environment():
    value = os.environ.get("LENET_COURSE_DATA", "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value not in ("full", "sample"):
        raise ValueError(f"Expected LENET_COURSE_DATA to be 'full' or 'sample'. Received: {value!r}")
    return value


def load_sample():
    """The shipped sample: 10,000 real MNIST training digits, split 8,000 / 2,000.

    The split is stratified (20% of every digit held out) and fixed by a seed, so
    it is the same on every machine.
    """
    blob = SAMPLE_FILE.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != SAMPLE_SHA256:
        raise OSError(
            f"The shipped sample {SAMPLE_FILE} is corrupted: sha256 {digest}, "
            f"expected {SAMPLE_SHA256}. Reinstall lenet_course."
        )
    with np.load(SAMPLE_FILE) as archive:
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    test = stratified_test_mask(labels, SAMPLE_TEST_FRACTION, seed=SAMPLE_SPLIT_SEED)
    # The file is grouped by digit; mix each part (reproducibly) so it reads like MNIST.
    rng = np.random.default_rng(SAMPLE_SPLIT_SEED)
    train_order, test_order = rng.permutation(np.flatnonzero(~test)), rng.permutation(np.flatnonzero(test))
    return MnistData(
        images[train_order], labels[train_order], images[test_order], labels[test_order],
        source="sample",
        description=(
            f"shipped MNIST sample: {len(train_order):,} training + {len(test_order):,} held-out digits\n"
            "(all real MNIST training digits; the held-out ones are not the official test set)"
        ),
    )


def stratified_test_mask(labels, fraction, seed):
    """Boolean mask choosing ``fraction`` of each class, reproducibly."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        mask[members[: round(fraction * len(members))]] = True
    return mask


def load_full(*, data_home=None):
    """The official MNIST: 60,000 training and 10,000 test digits.

    Fetched once with ``keras.utils.get_file`` and checked against its sha256. A
    cached file with the wrong hash is refused and fetched again; when that is
    not possible, an ``OSError`` says so.
    """
    path = full_mnist_path(data_home)
    if path.exists() and _sha256(path) == FULL_MNIST["sha256"]:
        return _read_full(path)
    problem = "it has not been downloaded yet" if not path.exists() else (
        f"cached file {path} is corrupted (sha256 does not match {FULL_MNIST['sha256'][:12]}...)"
    )
    _check_network(FULL_MNIST["url"], problem)
    import keras

    if path.exists():
        path.unlink()  # never reuse a corrupted file
    try:
        fetched = keras.utils.get_file(
            FULL_MNIST["filename"], FULL_MNIST["url"], file_hash=FULL_MNIST["sha256"],
            cache_dir=str(path.parent), cache_subdir=".",
        )
    except Exception as error:  # get_file raises a bare Exception on failure
        raise OSError(f"{problem}, and downloading {FULL_MNIST['url']} failed: {error}") from None
    return _read_full(Path(fetched))


def full_mnist_path(data_home=None):
    """Where the full data set is cached; checks that the folder is usable."""
    if data_home is None:
        keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        folder = Path(keras_home) / "datasets"
    else:
        folder = Path(data_home).expanduser()
        if folder.exists() and not folder.is_dir():
            raise OSError(f"Expected data_home to be a folder. Received: data_home={str(data_home)!r} is a file")
        if folder.exists() and not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise OSError(f"Expected data_home to be readable and writable. Received: data_home={str(data_home)!r}")
    return folder / FULL_MNIST["filename"]


def _check_network(url, problem):
    host = url.split("/")[2]
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as error:
        raise OSError(f"{problem}, and there is no internet connection to download it") from None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_full(path):
    with np.load(path) as archive:
        arrays = [archive[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    x_train, y_train, x_test, y_test = arrays
    return MnistData(
        x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64),
        source="full",
        description=f"full MNIST: {len(x_train):,} training + {len(x_test):,} official test digits",
    )


def check_images(images, name="images"):
    """Return ``images`` as a ``(n, 28, 28)`` uint8 array, or raise a clear ValueError.

    Accepts one image ``(28, 28)`` and a channel axis ``(n, 28, 28, 1)``.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(
            f"Expected {name} as raw uint8 pixels 0-255 (as load_mnist gives them). "
            f"Received: dtype={images.dtype}"
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"Expected {name} of shape (n, 28, 28) or (28, 28). Received: shape={images.shape}"
        )
    return images


def pad_to_32(images):
    """Pad 28x28 digits with 2 background pixels on each side, as the paper does.

    The paper's input is 32x32 so that strokes can reach the centre of the
    receptive fields of the highest-level feature detectors.

    Example:
        >>> pad_to_32(np.zeros((5, 28, 28), np.uint8)).shape
        (5, 32, 32)
    """
    images = check_images(images)
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))


def paper_scale(images):
    """Map pixels 0..255 linearly to -0.1 (background) .. 1.175 (foreground), float32.

    Example:
        >>> paper_scale(np.array([[0, 255]], np.uint8)).round(3)
        array([[-0.1  ,  1.175]], dtype=float32)
    """
    images = _check_pixels(images)
    return (PAPER_BACKGROUND + images.astype(np.float32) / 255 * (PAPER_FOREGROUND - PAPER_BACKGROUND)).astype(np.float32)


def unit_scale(images):
    """Map pixels 0..255 to 0..1, float32 (the scaling of the seed Keras tutorial).

    Example:
        >>> unit_scale(np.array([[0, 255]], np.uint8))
        array([[0., 1.]], dtype=float32)
    """
    return _check_pixels(images).astype(np.float32) / 255


def _check_pixels(images):
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"Expected uint8 pixels 0-255. Received: dtype={images.dtype}")
    return images
