"""Train a LeNet-5 from ``build_lenet5`` on raw MNIST, reproducibly.

``train`` is a thin layer over ``model.fit``: it feeds the variant's own inputs
and targets, seeds everything, and returns Keras's ``History``. A chapter can
always call ``model.fit`` itself on ``preprocess(...)`` output instead.
"""

import os
import time

import keras

from .models import encode_labels, preprocess, variant_of


def train(model, data, *, epochs=10, batch_size=32, seed=0, validation=True, verbose=None):
    """Train ``model`` on ``data.x_train`` and return the Keras ``History``.

    Args:
        model: a compiled model from ``build_lenet5`` (any variant).
        data: an ``MnistData`` from ``load_mnist`` (raw uint8 digits).
        epochs, batch_size: as in ``model.fit``.
        seed: seeds Keras, NumPy and Python before training, so the same seed (and
            the same initial weights) gives the same trained weights.
        validation: also report loss and accuracy on ``data.x_test`` each epoch
            (monitoring only: nothing is chosen by it).
        verbose: Keras's verbosity. Default: its progress bar, except under CI
            (``CI`` or ``LENET_COURSE_QUIET`` set), where only one summary line is printed.

    Example:
        >>> model = build_lenet5("paper")                          # doctest: +SKIP
        >>> history = train(model, load_mnist("sample"), epochs=1)  # doctest: +SKIP
        >>> sorted(history.history)                                # doctest: +SKIP
        ['loss', 'rbf_accuracy', 'val_loss', 'val_rbf_accuracy']
    """
    variant = variant_of(model)
    x, y = preprocess(data.x_train, variant), encode_labels(data.y_train, variant)
    validation_data = (preprocess(data.x_test, variant), encode_labels(data.y_test, variant)) if validation else None
    quiet = verbose is None and is_quiet()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                        shuffle=True, verbose=0 if quiet else ("auto" if verbose is None else verbose))
    if quiet:
        print(summary_line(history, time.perf_counter() - start))
    return history


def is_quiet():
    """True under CI or a book build: no progress bars in logs and pages."""
    return bool(os.environ.get("CI") or os.environ.get("LENET_COURSE_QUIET"))


def summary_line(history, seconds):
    """'trained 3 epochs in 12.3 s: loss 0.123, accuracy 0.961, ...' from a History."""
    last = {name: values[-1] for name, values in history.history.items()}
    metrics = ", ".join(f"{name.replace('rbf_', '')} {value:.3f}" for name, value in last.items())
    return f"trained {len(history.epoch)} epochs in {seconds:.1f} s: {metrics}"
