"""Train the paper's LeNet-5 on MNIST and export its weights for the browser.

The book's "Draw a digit" page runs the network in plain JavaScript
(``book/_static/lenet5.js``). It reads two files this module writes:

* ``lenet5_weights.bin`` -- every weight of the trained network as float32
  little-endian, the arrays one after the other in Keras's order and shapes
  (C order): 60,840 numbers, 243,360 bytes.
* ``lenet5_weights.json`` -- beside it: the name, shape and offset of each array,
  Table I, the sha256 of the ``.bin``, how the network was trained and on what,
  its accuracy on the validation split, the versions used, the licence and the
  command that recomputes it all.

and ``draw_digit_samples.json``: one digit of each class from the shipped
sample's held-out part, for the page's "load a sample" buttons.

One command trains and exports (``--data-home`` is a folder with MNIST's
``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``)::

    python -m lenet_course.export --data-home ../shared/mnist

It trains chapter 13's best network: the paper's recipe batched, on the paper's
distorted digits (``RECIPE``, as ``python -m lenet_course.reproduce --distortions``
trains it), on the first 50,000 training digits, holds out the last 10,000 as the
validation split, and prints the seed, the data, every pass and the validation
accuracy. ``tools/drawn_digit_robustness.py`` compares exported networks on
validation digits changed as drawings differ from MNIST's (README).

Example:
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "lenet5_weights.bin"
    >>> metadata = export_weights(build_lenet5("paper"), out)
    >>> metadata["bytes"], metadata["arrays"][0]
    (243360, {'name': 'C1/kernel', 'shape': [5, 5, 1, 6], 'offset': 0})
    >>> model_from_export(out).count_params()
    60840
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

import keras
import numpy as np

from .data import load_mnist
from .models import accuracy, build_lenet5
from .paper_numbers import PAPER_PASSES
from .reproduce import COMMAND, DEFAULT_THREADS, parse_args, train_once, use_threads

# Chapter 13's batched recipe with the paper's distortions: its lowest validation error
# (0.72% +- 0.04% over seeds 0-3, against 1.21% for chapter 9's SGD, 10 epochs, seed 0).
RECIPE = ["--distortions"]
SEED = 0
DEFAULT_OUT = "book/_static/lenet5_weights.bin"  # the Draw a digit page's weights
SAMPLES_FILE = "draw_digit_samples.json"
LICENCE = (
    "Weights learned from MNIST (Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "
    "CC BY-SA 3.0); shared under the same licence, CC BY-SA 3.0. The code that made and "
    "reads them is MIT."
)


def weight_arrays(model):
    """``{"C1/kernel": array, ...}``: every weight of a paper model, in Keras's order, float32.

    Example:
        >>> arrays = weight_arrays(build_lenet5("paper"))
        >>> list(arrays)[:3], sum(a.size for a in arrays.values())
        (['C1/kernel', 'C1/bias', 'S2/coefficient'], 60840)
    """
    return {f"{layer.name}/{weight.name}": np.asarray(keras.ops.convert_to_numpy(weight), np.float32)
            for layer in model.layers for weight in layer.weights}


def export_weights(model, out, *, provenance=None):
    """Write ``model``'s weights to ``out`` (float32 LE) and their description to ``out.json``.

    Args:
        model: a model from ``build_lenet5("paper")``.
        out: path of the ``.bin`` file; the metadata goes beside it with ``.json``.
        provenance: extra entries for the metadata (training, accuracy, command...).

    Returns:
        The metadata dict, as written.
    """
    if model.name != "lenet5_paper":
        raise ValueError(f"Expected a model from build_lenet5('paper'). Received: a model named {model.name!r}")
    out = Path(out)
    arrays, offset, blob = [], 0, b""
    for name, values in weight_arrays(model).items():
        arrays.append({"name": name, "shape": list(values.shape), "offset": offset})
        offset += values.size
        blob += values.astype("<f4").tobytes()  # C order, little-endian float32
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    metadata = {
        "file": out.name,
        "format": "float32 little-endian; the arrays one after the other, each in C order; "
                  "offset and size counted in numbers, not bytes",
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "arrays": arrays,
        "c3_table": model.get_layer("C3").table.astype(int).tolist(),
        "model": "lenet_course.models.build_lenet5('paper')",
        "input": "28x28 digit, white on black (0-255), padded to 32x32 and scaled to -0.1..1.175",
        **(provenance or {}),
        "licence": LICENCE,
    }
    out.with_suffix(".json").write_text(_readable_json(metadata))
    return metadata


def _readable_json(metadata):
    """One key per line, and one line per array or table row: short enough to read in a diff."""
    def value(v):
        if isinstance(v, list) and v and isinstance(v[0], (dict, list)):
            return "[\n  " + ",\n  ".join(json.dumps(item) for item in v) + "\n ]"
        return json.dumps(v)
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {value(v)}" for k, v in metadata.items()) + "\n}\n"


def load_weights(out):
    """``{name: array}`` from an exported ``.bin``, checked against its metadata's sha256."""
    out = Path(out)
    metadata = json.loads(out.with_suffix(".json").read_text())
    blob = out.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != metadata["sha256"]:
        raise ValueError(f"{out} does not match its metadata: sha256 {digest}, expected {metadata['sha256']}")
    numbers = np.frombuffer(blob, "<f4")
    return {a["name"]: numbers[a["offset"]:a["offset"] + int(np.prod(a["shape"]))].reshape(a["shape"])
            for a in metadata["arrays"]}


def model_from_export(out):
    """A ``build_lenet5("paper")`` model holding the exported weights."""
    model = build_lenet5("paper", seed=None)
    arrays = load_weights(out)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([arrays[f"{layer.name}/{w.name}"] for w in layer.weights])
    return model


def sample_digits(data=None):
    """One held-out digit of each class from the shipped sample: ``[{label, pixels}]``."""
    data = load_mnist("sample") if data is None else data
    return [{"label": d, "pixels": data.x_test[np.flatnonzero(data.y_test == d)[0]].tolist()}
            for d in range(10)]


def mnist_with_validation(data_home):
    """The 60,000 training digits from IDX files: the first 50,000 to train, the last 10,000 to validate."""
    return load_mnist("full", data_home=data_home, validation=True)


def train_and_export(data_home, out, *, passes=PAPER_PASSES, seed=SEED):
    """The one reproducible command: train the recipe, measure it, export it."""
    use_threads(DEFAULT_THREADS)  # before TensorFlow starts: one thread per operation is fastest
    data = mnist_with_validation(data_home)
    print(f"seed {seed}; data: {data.description}")
    recipe = [*RECIPE, "--passes", str(passes), "--seeds", str(seed)]
    model, rows, seconds = train_once(data, parse_args(recipe), seed)
    validation_accuracy = accuracy(model, data.x_test, data.y_test)
    print(f"validation accuracy: {validation_accuracy:.4f} on the {len(data.x_test):,} held-out digits")
    # Where this run wrote is no part of the recipe: the command writes the book's files.
    command = ("python -m lenet_course.export --data-home DIR"
               + (f" --passes {passes}" if passes != PAPER_PASSES else ""))
    provenance = {
        "training": {
            "data": data.description,
            "training_digits": len(data.x_train),
            "recipe": "chapter 13's batched recipe with distortions",
            "command": f"{COMMAND} {' '.join(recipe)}",
            "passes": passes, "seed": seed,
            "validation_error_per_pass": [round(row["validation_error"], 6) for row in rows],
            "minutes": round(seconds / 60, 1), "cpu_count": os.cpu_count(),
        },
        "validation_accuracy": round(validation_accuracy, 6),
        "validation_digits": len(data.x_test),
        "recompute": command + f"  (DIR: a folder with MNIST's train-*-idx*-ubyte[.gz] files; "
                               f"it writes {DEFAULT_OUT} and the files beside it)",
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "keras": keras.__version__, "backend": keras.backend.backend(),
                     "tensorflow": importlib.metadata.version("tensorflow")},
    }
    metadata = export_weights(model, out, provenance=provenance)
    samples = Path(out).parent / SAMPLES_FILE
    samples.write_text(json.dumps({"source": "the shipped MNIST sample's held-out part (load_mnist('sample')."
                                             "x_test), its first digit of each class; CC BY-SA 3.0",
                                   "digits": sample_digits()}, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({metadata['bytes']:,} bytes, sha256 {metadata['sha256'][:16]}...), "
          f"{Path(out).with_suffix('.json')} and {samples}")
    return model, metadata


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the paper's LeNet-5 on MNIST and export its weights.")
    parser.add_argument("--data-home", required=True, help="folder with train-*-idx*-ubyte[.gz]")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--passes", type=int, default=PAPER_PASSES)
    args = parser.parse_args(argv)
    train_and_export(args.data_home, args.out, passes=args.passes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
