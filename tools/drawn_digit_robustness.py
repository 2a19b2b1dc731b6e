"""How well two exported networks read digits that differ from MNIST's as drawings do.

The "Draw a digit" page runs the network ``python -m lenet_course.export`` wrote.
A reader's drawing is not an MNIST digit: the page's pen makes strokes thicker or
thinner than the scanned ones, and a digit drawn with a mouse leans. This prints
each network's error on the validation split's 10,000 digits (the last 10,000
training digits, which neither network trained on) as they are, with strokes one
pixel thicker, with strokes thinner, and each turned by its own random angle of up
to 15 degrees (seeded). None of these changes is among the paper's distortions
(translation, scaling, squeezing, shearing).

    python tools/drawn_digit_robustness.py --data-home DIR FIRST.bin SECOND.bin

``DIR`` holds MNIST's training files; each ``.bin`` has its ``.json`` beside it.
"""

import argparse
import sys

import numpy as np

ANGLE = 15  # degrees, each way


def thicker(images):
    """Each pixel the brightest of its 3x3 neighbourhood: strokes a pixel wider on each side."""
    return _over_neighbourhoods(np.max, images, 3)


def thinner(images):
    """Each pixel the darkest of its 2x2 neighbourhood: strokes a pixel narrower."""
    return _over_neighbourhoods(np.min, images, 2)


def _over_neighbourhoods(reduce, images, size):
    """``reduce`` over each pixel's ``size`` x ``size`` neighbourhood (zeros beyond the edge)."""
    before, after = (size - 1) // 2, size // 2
    padded = np.pad(images, ((0, 0), (before, after), (before, after)))
    return reduce([padded[:, i:i + 28, j:j + 28] for i in range(size) for j in range(size)], axis=0)


def turned(images, seed=0):
    """Each digit turned about its centre by its own angle, uniform in +-ANGLE degrees."""
    from keras import ops

    angles = np.radians(np.random.default_rng(seed).uniform(-ANGLE, ANGLE, len(images)))
    cos, sin, centre = np.cos(angles), np.sin(angles), 13.5
    zeros = np.zeros_like(angles)
    transforms = np.stack([cos, -sin, centre - cos * centre + sin * centre,
                           sin, cos, centre - sin * centre - cos * centre, zeros, zeros], axis=1)
    out = ops.image.affine_transform(images[..., None].astype("float32"), transforms.astype("float32"),
                                     interpolation="bilinear", fill_mode="constant")
    return np.clip(np.rint(ops.convert_to_numpy(out)[..., 0]), 0, 255).astype(np.uint8)


CHANGES = {"as they are": lambda x: x, "strokes thicker": thicker, "strokes thinner": thinner,
           f"turned up to {ANGLE} degrees": turned}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", required=True, help="folder with MNIST's training files")
    parser.add_argument("networks", nargs="+", help="exported .bin files (lenet_course.export)")
    args = parser.parse_args(argv)
    from lenet_course.export import mnist_with_validation, model_from_export
    from lenet_course.models import accuracy
    from lenet_course.tables import markdown_table

    data = mnist_with_validation(args.data_home)
    print(f"{len(data.x_test):,} validation digits: {data.description.splitlines()[0]}")
    models = [model_from_export(path) for path in args.networks]
    rows = []
    for name, change in CHANGES.items():
        digits = change(data.x_test)
        rows.append([name, *(f"{1 - accuracy(model, digits, data.y_test):.2%}" for model in models)])
    print(markdown_table(["digits", *args.networks], rows).data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
