"""MNIST for the course: the full data set, or a real sample shipped in the package.

Two sources, one result:

* ``"full"`` -- the official 60,000 training and 10,000 test digits. Read from a
  local copy when the data home holds one -- the original IDX files
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each gzipped or not) or Keras's ``mnist.npz`` --
  and otherwise fetched once by Keras's own downloader from the file below.
  Every copy is verified by a checksum of the digits themselves (``DIGITS_SHA256``:
  the sha256 of the uncompressed IDX serialisation of the decoded arrays, so
  independent of container and compression); Keras's ``mnist.npz`` is also
  accepted by its published file sha256. ``validation=True`` holds out the last
  10,000 training digits instead of the official test set, and needs only the
  training files.
* ``"sample"`` -- 10,000 real MNIST *training* digits shipped inside this package
  (``_data/mnist_sample.npz``; provenance, licence and checksum in
  ``_data/README.md``), split deterministically and stratified into 8,000 for
  training and 2,000 for testing. Those 2,000 are *not* the official test digits.

``"auto"`` (the default) takes the full data when it is cached or can be
downloaded, and otherwise falls back to the sample, saying so in one line. The
environment variable ``LENET_COURSE_DATA`` (``full`` or ``sample``) overrides it;
``LENET_COURSE_DATA_HOME`` names the data home when ``data_home`` is not given.

Images are uint8 arrays of shape ``(n, 28, 28)``, labels int64 arrays of shape
``(n,)``. The helpers ``pad_to_32``, ``paper_scale`` and ``unit_scale`` turn
images into network inputs.
"""

import gzip
import hashlib
import os
import socket
import struct
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

# The official IDX files, and the sha256 of each *uncompressed* file. An IDX file
# is a fixed header (magic number, dimensions) followed by the raw uint8 bytes, so
# this is also a checksum of the decoded arrays: ``digits_sha256`` recomputes it
# from any container. Training files: checked against the copy documented in the
# project's shared data folder; test files: the published uncompressed checksums
# (quoted identically by many independent MNIST loaders).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DIGITS_SHA256 = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# The customary validation split: the last 10,000 of the 60,000 training digits.
VALIDATION_SIZE = 10_000
DATA_HOME_VARIABLE = "LENET_COURSE_DATA_HOME"

SAMPLE_FILE = Path(__file__).parent / "_data" / "mnist_sample.npz"
SAMPLE_SHA256 = "0217e13bd0668deb198aa7d305edbf0331eb89f8a6e7dd226e03d1aa3a9bd4ef"
SAMPLE_TEST_FRACTION = 0.2
SAMPLE_SPLIT_SEED = 0

# The paper (LeCun et al. 1998, section II.A): background -0.1, foreground 1.175,
# so that the mean input is roughly 0 and the variance roughly 1.
PAPER_BACKGROUND = -0.1
PAPER_FOREGROUND = 1.175


class MissingTestSetError(OSError):
    """The data home holds MNIST's training files but not its official test set.

    An ``OSError``, so callers that treat any unreadable data alike still catch it;
    ``python -m lenet_course.reproduce`` catches it alone and falls back to the
    validation split.

    Example:
        >>> issubclass(MissingTestSetError, OSError)
        True
    """


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


def load_mnist(source="auto", *, data_home=None, validation=False, verbose=True):
    """Load MNIST as uint8 images and integer labels.

    Args:
        source: ``"auto"`` (full MNIST if available, else the shipped sample),
            ``"full"`` or ``"sample"``. ``LENET_COURSE_DATA`` overrides ``"auto"``.
        data_home: folder holding (or caching) the full data set: the IDX files
            or ``mnist.npz``. Default: ``$LENET_COURSE_DATA_HOME`` if set, else
            Keras's cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``).
        validation: hold out the last 10,000 training digits as ``x_test`` /
            ``y_test`` (training on the first 50,000) instead of using the
            official test set, which is then not needed. For choosing settings
            without ever looking at the test set. The sample's held-out digits
            are training digits already, so it is returned unchanged.
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
        return load_full(data_home=data_home, validation=validation)
    try:
        return load_full(data_home=data_home, validation=validation)
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
        f"({error}), so this uses the MNIST sample shipped with the course. Numbers "
        'differ a little from a full-data run; with an internet connection, load_mnist("full") '
        "fetches all 70,000 digits."
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


def load_full(*, data_home=None, validation=False):
    """The official MNIST: 60,000 training and 10,000 test digits.

    Reads whatever the data home holds -- the IDX files (gzipped or not) or
    Keras's ``mnist.npz`` -- and checks the digits against ``DIGITS_SHA256``;
    a copy that does not match is refused with an ``OSError`` naming the file, and
    training files without the test files with a ``MissingTestSetError``.
    With nothing there, fetches ``mnist.npz`` once with ``keras.utils.get_file``
    and checks its sha256; a cached file with the wrong hash is fetched again,
    and when that is not possible an ``OSError`` says so.

    With ``validation=True``, ``x_train`` / ``y_train`` are the first 50,000
    training digits and ``x_test`` / ``y_test`` the last 10,000: the test files
    are not needed.
    """
    folder = data_folder(data_home)
    npz = folder / FULL_MNIST["filename"]
    test = None if validation else _read_idx_pair(folder, "test")
    holds_training = _idx_path(folder, IDX_FILES["train_images"]) is not None
    if holds_training and test is None and not validation and not npz.exists():
        # Said before the training files are read: 47 MB of them, for nothing.
        missing = " and ".join(f"{IDX_FILES[k]}[.gz]" for k in ("test_images", "test_labels"))
        raise MissingTestSetError(
            f"{folder} holds the MNIST training files but not the official test set "
            f"({missing}). Add them, or pass validation=True to hold out the last "
            f"{VALIDATION_SIZE:,} training digits instead."
        )
    train = _read_idx_pair(folder, "train")
    if train is None or (test is None and not validation):
        arrays = _cached_or_downloaded_npz(npz)
        train = train or (arrays["x_train"], arrays["y_train"])
        if not validation:
            test = test or (arrays["x_test"], arrays["y_test"])
    return _full_data(train, test, validation)


def validation_split(data):
    """The customary validation split of full MNIST already loaded: its first 50,000
    training digits for training, the last 10,000 held out as ``x_test`` / ``y_test``,
    the official test digits dropped; as ``load_mnist("full", validation=True)``
    returns it, without reading the files again.

    Example:
        >>> digits = np.zeros((10_050, 28, 28), np.uint8)
        >>> labels = np.zeros(10_050, np.int64)
        >>> full = MnistData(digits, labels, digits[:5], labels[:5], "full", "full MNIST")
        >>> split = validation_split(full)
        >>> len(split.x_train), len(split.x_test)
        (50, 10000)
    """
    if data.source != "full":
        raise ValueError(f"Expected full MNIST (the sample holds out its own digits). "
                         f"Received: {data!r}")
    return _full_data((data.x_train, data.y_train), None, validation=True)


def data_folder(data_home=None):
    """The data home: ``data_home``, else ``$LENET_COURSE_DATA_HOME``, else Keras's cache."""
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_VARIABLE) or None
    if data_home is None:
        keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        return Path(keras_home) / "datasets"
    folder = Path(data_home).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OSError(f"Expected data_home to be a folder. Received: data_home={str(data_home)!r} is a file")
    if folder.exists() and not os.access(folder, os.R_OK | os.X_OK):
        raise OSError(f"Expected data_home to be readable. Received: data_home={str(data_home)!r}")
    return folder


def full_mnist_path(data_home=None):
    """Where Keras's ``mnist.npz`` is (or would be cached) in the data home."""
    return data_folder(data_home) / FULL_MNIST["filename"]


def digits_sha256(array):
    """sha256 of ``array`` written as an uncompressed IDX file (uint8 only).

    For the official files this is the sha256 of the uncompressed file itself,
    so one checksum verifies the digits whatever container held them.

    Example:
        >>> digits_sha256(np.zeros(3, np.uint8)) == hashlib.sha256(
        ...     bytes([0, 0, 8, 1, 0, 0, 0, 3, 0, 0, 0])).hexdigest()
        True
    """
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"Expected uint8 digits or labels. Received: dtype={array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def read_idx(path):
    """Decode one IDX file of unsigned bytes (gzipped or not) into a uint8 array.

    A file cut short, with trailing bytes, or not an IDX file at all is an
    ``OSError`` that names it.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            blob = file.read()
        if blob[:2] == b"\x1f\x8b":
            blob = gzip.decompress(blob)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise OSError(f"{path} is corrupted: it cannot be read or decompressed ({error})") from None
    if len(blob) < 4 or blob[:3] != b"\x00\x00\x08" or not 1 <= blob[3] <= 3:
        raise OSError(f"{path} is not an IDX file of unsigned bytes (magic number {blob[:4].hex()})")
    ndim = blob[3]
    offset = 4 + 4 * ndim
    if len(blob) < offset:
        raise OSError(f"{path} is corrupted: its header is cut short")
    shape = struct.unpack(f">{ndim}I", blob[4:offset])
    size = int(np.prod(shape))
    if len(blob) != offset + size:
        raise OSError(
            f"{path} is corrupted: its header promises {size:,} bytes of data, "
            f"it holds {len(blob) - offset:,}"
        )
    return np.frombuffer(blob, np.uint8, count=size, offset=offset).reshape(shape)


def _idx_path(folder, name):
    """The IDX file ``name`` in ``folder``, uncompressed or gzipped, or None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_pair(folder, part):
    """(images, labels) of ``part`` ("train"/"test") from IDX files, verified; None if absent."""
    paths = {kind: _idx_path(folder, IDX_FILES[f"{part}_{kind}"]) for kind in ("images", "labels")}
    if paths["images"] is None and paths["labels"] is None:
        return None
    for kind, path in paths.items():
        if path is None:
            other = paths["labels" if kind == "images" else "images"]
            raise OSError(f"{folder} holds {other.name} but not {IDX_FILES[f'{part}_{kind}']}[.gz]")
    arrays = []
    for kind, path in paths.items():
        array = read_idx(path)
        _verify_digits(array, f"{part}_{kind}", path)
        arrays.append(array)
    return arrays[0], arrays[1].astype(np.int64)


def _verify_digits(array, key, path):
    digest = digits_sha256(np.asarray(array, np.uint8) if array.dtype != np.uint8 else array)
    if digest != DIGITS_SHA256[key]:
        raise OSError(
            f"{path} is corrupted: its {key.replace('_', ' ')} are not the official MNIST ones "
            f"(sha256 of the digits {digest[:12]}..., expected {DIGITS_SHA256[key][:12]}...); "
            "a truncated, edited or relabelled copy is refused"
        )


def _cached_or_downloaded_npz(path):
    """The arrays of ``mnist.npz``: the cached copy if faithful, else fetched again."""
    if not path.exists():
        return _download_npz(path, "it has not been downloaded yet")
    try:
        return _read_npz(path)
    except OSError as error:
        return _download_npz(path, str(error))


def _download_npz(path, problem):
    _check_network(FULL_MNIST["url"], problem)
    if path.parent.exists() and not os.access(path.parent, os.W_OK):
        raise OSError(f"{problem}, and the data home {path.parent} is not writable to download it")
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
    return _read_npz(Path(fetched), verify=False)


def _read_npz(path, verify=None):
    """The four arrays of an ``mnist.npz``; verified unless it is Keras's own file."""
    if verify is None:
        verify = _sha256(path) != FULL_MNIST["sha256"]
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in keys}
    except Exception as error:  # zipfile, pickle and key errors alike
        raise OSError(f"{path} is corrupted: it cannot be read as mnist.npz ({error})") from None
    if verify:
        for key, digest_key in zip(keys, ("train_images", "train_labels", "test_images", "test_labels")):
            array = arrays[key]
            if array.dtype != np.uint8:
                if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
                    raise OSError(f"{path} is corrupted: {key} is not uint8 digits")
                array = array.astype(np.uint8)
            _verify_digits(array, digest_key, path)
    arrays["y_train"], arrays["y_test"] = arrays["y_train"].astype(np.int64), arrays["y_test"].astype(np.int64)
    return arrays


def _check_network(url, problem):
    host = url.split("/")[2]
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        raise OSError(f"{problem}, and there is no internet connection to download it") from None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _full_data(train, test, validation):
    x_train, y_train = train
    y_train = np.asarray(y_train, np.int64)
    if validation:
        cut = len(x_train) - VALIDATION_SIZE
        if cut <= 0:
            raise OSError(f"Expected more than {VALIDATION_SIZE:,} training digits for a validation split.")
        return MnistData(
            x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:],
            source="full",
            description=(
                f"full MNIST, validation split: the first {cut:,} training digits for training, "
                f"the last {VALIDATION_SIZE:,} for validation\n(all official training digits; "
                "the official test set is not used)"
            ),
        )
    x_test, y_test = test
    return MnistData(
        x_train, y_train, x_test, np.asarray(y_test, np.int64),
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
