"""Train a LeNet-5 from ``build_lenet5`` on raw MNIST, reproducibly.

``train`` is a thin layer over ``model.fit``: it feeds the variant's own inputs
and targets, seeds everything, and returns Keras's ``History``. A chapter can
always call ``model.fit`` itself on ``preprocess(...)`` output instead.

How it is fast (each choice measured by ``benchmarks/train_speed.py --ablation``,
README "Performance"): Keras runs ``STEPS_PER_EXECUTION`` batches per call into
TensorFlow instead of one, which changes nothing in the arithmetic; and
``train(..., fast=True)`` trains on batches of ``FAST_BATCH_SIZE`` with the
learning rate scaled to match. Tried and left out, because they did not help on
2 CPU cores: a ``tf.data`` pipeline of our own (no faster than the one Keras
builds from NumPy arrays), XLA (``jit_compile=True``: slower; Keras's own choice
stays -- XLA on a GPU, not on a CPU) and bfloat16 (no faster).
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

from . import layers, models
from .data import load_mnist
from .models import LEARNING_RATES, build_lenet5, encode_labels, preprocess, variant_of

# Batches run per call into TensorFlow (Keras's ``steps_per_execution``): fewer
# round trips through Python for the same arithmetic -- the trained weights are
# bit for bit those of one batch per call -- and 8-10% faster on 2 CPU cores.
STEPS_PER_EXECUTION = 32

# The batch of ``train(..., fast=True)``: large enough that 2 CPU cores spend
# their time in the convolutions, small enough that, with the learning rate
# scaled by the same factor, accuracy after each epoch matches batch 32's
# (tests/test_train.py checks it against the seed tutorial's code). Measured on
# the sample, held-out accuracy next to batch 32's (seeds 0-4 for "keras", 0-1
# for the others): at 128, "keras" stays within 0.4 points after 5 and after 10
# epochs, "paper" within 0.5, and "modern" gains about 0.6. At 256, which trains
# 4-29% faster on 2 cores (two ablation runs), "keras" trails by up to 1.05
# points after 5 epochs and "paper" by up to 0.75 after 10; at 512 "keras"
# trails by up to 1.1.
FAST_BATCH_SIZE = 128


def train(model, data, *, epochs=10, batch_size=32, seed=0, validation=True, verbose=None, fast=False,
          callbacks=None):
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
        fast: train on batches of ``FAST_BATCH_SIZE`` (128) instead of ``batch_size``,
            with the optimizer's learning rate multiplied by ``128 / batch_size``
            for the duration of the call (the "linear scaling rule": one large step
            does the work of that many small ones). About 1.7 times as fast on 2 CPU
            cores, and after the same number of epochs as accurate as batch 32's
            small steps. Needs a constant learning rate. A ``batch_size`` of 128 or
            more is used as it is.
        callbacks: Keras callbacks for ``model.fit``, e.g. ``paper_learning_rate_schedule()``.

    Example:
        >>> model = build_lenet5("paper")                          # doctest: +SKIP
        >>> history = train(model, load_mnist("sample"), epochs=1)  # doctest: +SKIP
        >>> sorted(history.history)                                # doctest: +SKIP
        ['loss', 'rbf_accuracy', 'val_loss', 'val_rbf_accuracy']
        >>> history = train(model, load_mnist("sample"), epochs=1, fast=True)  # doctest: +SKIP
    """
    variant = variant_of(model)
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    step_batch = max(batch_size, FAST_BATCH_SIZE) if fast else batch_size
    x, y = preprocess(data.x_train, variant), encode_labels(data.y_train, variant)
    validation_data = (preprocess(data.x_test, variant), encode_labels(data.y_test, variant)) if validation else None
    quiet = verbose is None and is_quiet()
    _run_steps_per_execution(model, STEPS_PER_EXECUTION)
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    with _learning_rate_scaled(model, step_batch / batch_size):
        history = model.fit(x, y, epochs=epochs, batch_size=step_batch, validation_data=validation_data,
                            shuffle=True, callbacks=callbacks,
                            verbose=0 if quiet else ("auto" if verbose is None else verbose))
    if quiet:
        print(summary_line(history, time.perf_counter() - start))
    return history


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Expected {name} as an integer >= 1. Received: {name}={value!r}")
    return int(value)


class _learning_rate_scaled:
    """Multiply the optimizer's constant learning rate by ``factor`` inside a ``with``."""

    def __init__(self, model, factor):
        self.model, self.factor, self.rate = model, factor, None

    def __enter__(self):
        if self.factor == 1:
            return
        optimizer = self.model.optimizer
        if not isinstance(optimizer.learning_rate, keras.Variable):  # a schedule or a callable
            raise ValueError(
                "Expected an optimizer with a constant learning rate: fast=True scales it to the larger "
                f"batch. Received: {type(optimizer).__name__} with a learning rate that changes "
                "during training. Train with fast=False, or compile the model with a constant rate."
            )
        self.rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        optimizer.learning_rate = self.rate * self.factor

    def __exit__(self, *exc):
        if self.rate is not None:
            self.model.optimizer.learning_rate = self.rate


def _run_steps_per_execution(model, steps):
    """Make ``model`` run ``steps`` batches per call from now on (also in evaluate and predict).

    The setting stays after training: Keras traces its train, test and predict
    functions with it baked in, and setting it back would make every later
    ``train`` call trace them again (about half a second each time).
    """
    if model.steps_per_execution != steps:
        model.steps_per_execution = steps
        model.train_function = model.test_function = model.predict_function = None


def is_quiet():
    """True under CI or a book build: no progress bars in logs and pages."""
    return bool(os.environ.get("CI") or os.environ.get("LENET_COURSE_QUIET"))


def summary_line(history, seconds):
    """'trained 3 epochs in 12.3 s: accuracy 0.961, loss 0.123, val_accuracy ...' from a History.

    Always the same order, whatever the variant names its metrics: accuracy, loss,
    then the validation ones (anything else after them).

    Example:
        >>> from types import SimpleNamespace
        >>> logs = {"loss": [0.5], "rbf_accuracy": [0.9]}
        >>> summary_line(SimpleNamespace(history=logs, epoch=[0]), 1.0)
        'trained 1 epoch in 1.0 s: accuracy 0.900, loss 0.500'
    """
    last = {name.replace("rbf_", ""): values[-1] for name, values in history.history.items()}
    order = ["accuracy", "loss", "val_accuracy", "val_loss"]
    names = [n for n in order if n in last] + [n for n in last if n not in order]
    metrics = ", ".join(f"{name} {last[name]:.3f}" for name in names)
    epochs = len(history.epoch)
    return f"trained {epochs} epoch{'' if epochs == 1 else 's'} in {seconds:.1f} s: {metrics}"


def trained_lenet5(variant="paper", data=None, *, epochs=10, batch_size=32, seed=0, cache_dir=None,
                   learning_rate=None, momentum=None, activation=None):
    """A LeNet-5 built with ``seed`` and trained by ``train``, cached on disk.

    Several chapters need the same trained network; the first one trains it, the
    others load it (the result is the same either way, since training is seeded).
    The cache key holds the variant, the epochs, the batch size, the seed, a
    fingerprint of the training data and of the package's model and training
    code, so a change to any of them trains afresh. A cache file that does not
    load is ignored and the model retrained.

    Args:
        data: an ``MnistData``; default ``load_mnist()``.
        cache_dir: default ``$LENET_COURSE_CACHE`` or ``~/.cache/lenet_course``.
        learning_rate, momentum, activation: change one thing of the variant before
            training (an ablation), each cached under its own key: the optimiser's
            learning rate (the variant's own rate is no change: it shares the unchanged
            network's entry); SGD's momentum (SGD variants only); the activation of the
            hidden ``Conv2D`` and ``Dense`` layers (``"tanh"``, ``"relu"``; seed-shaped
            variants only). See ``modify_lenet5``.

    Returns:
        ``(model, history)``, history being the dict of per-epoch metrics.

    Example:
        >>> model, history = trained_lenet5("paper", load_mnist("sample"), epochs=2)  # doctest: +SKIP
    """
    data = load_mnist() if data is None else data
    if learning_rate is not None and learning_rate == LEARNING_RATES.get(variant):
        learning_rate = None  # the variant's own rate: the same training, so the same cache entry
    folder = Path(cache_dir or os.environ.get("LENET_COURSE_CACHE") or Path.home() / ".cache" / "lenet_course")
    fingerprint = hashlib.sha256()
    for part in (data.x_train, data.y_train):
        fingerprint.update(np.ascontiguousarray(part).tobytes())
    for module in (layers, models, sys.modules[__name__]):
        fingerprint.update(Path(module.__file__).read_bytes())
    changes = "".join(f"-{name}{value}" for name, value in
                      (("lr", learning_rate), ("m", momentum), ("a", activation)) if value is not None)
    key = (f"{variant}{changes}-{data.source}{len(data.x_train)}-e{epochs}-b{batch_size}-s{seed}"
           f"-{fingerprint.hexdigest()[:12]}")
    model_path, history_path = folder / f"{key}.keras", folder / f"{key}.json"
    if model_path.exists() and history_path.exists():
        try:
            return keras.saving.load_model(model_path), json.loads(history_path.read_text())
        except Exception as error:  # a partial or corrupted cache file: train again
            print(f"lenet_course: ignoring unreadable cache {model_path.name} ({error.__class__.__name__})")
    model = modify_lenet5(build_lenet5(variant, seed=seed), learning_rate=learning_rate,
                          momentum=momentum, activation=activation)
    history = train(model, data, epochs=epochs, batch_size=batch_size, seed=seed).history
    history = {name: [float(v) for v in values] for name, values in history.items()}
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a private name, then renamed: notebooks running side by side never see half a file.
    partial = folder / f"{key}.{os.getpid()}.partial"
    model.save(partial.with_suffix(".keras"))
    partial.with_suffix(".json").write_text(json.dumps(history))
    os.replace(partial.with_suffix(".json"), history_path)
    os.replace(partial.with_suffix(".keras"), model_path)
    return model, history


def modify_lenet5(model, *, learning_rate=None, momentum=None, activation=None):
    """Change one thing of a freshly built LeNet-5 before it is trained, for an ablation.

    Args:
        model: a model from ``build_lenet5``, not yet trained.
        learning_rate: the optimiser's learning rate.
        momentum: SGD's momentum (0 for plain SGD); only for the SGD variants.
        activation: ``"tanh"`` or ``"relu"`` for the hidden ``Conv2D`` and ``Dense``
            layers (not the output layer); only for ``"keras"`` and ``"modern"``.

    Returns:
        the same model, changed in place.

    Example:
        >>> model = modify_lenet5(build_lenet5("keras"), momentum=0.9)
        >>> float(model.optimizer.momentum)
        0.9
    """
    variant = variant_of(model)
    if learning_rate is not None:
        if not learning_rate > 0:
            raise ValueError(f"Expected a learning rate > 0. Received: learning_rate={learning_rate}")
        model.optimizer.learning_rate = float(learning_rate)
    if momentum is not None:
        if not isinstance(model.optimizer, keras.optimizers.SGD) or not 0 <= momentum < 1:
            raise ValueError("Expected momentum in [0, 1) for an SGD variant. Received: "
                             f"momentum={momentum} for {type(model.optimizer).__name__}")
        model.optimizer.momentum = float(momentum)  # read when the optimiser builds its slots
    if activation is not None:
        if variant == "paper" or activation not in ("tanh", "relu"):
            raise ValueError("Expected activation 'tanh' or 'relu' for the 'keras' or 'modern' variant. "
                             f"Received: activation={activation!r} for {variant!r}")
        for layer in model.layers:
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and layer.name != "output":
                layer.activation = keras.activations.get(activation)
    return model


def paper_learning_rate_schedule(base_rate=None, *, verbose=0):
    """The paper's decreasing learning rate, as a Keras callback for ``model.fit``.

    LeCun et al. (1998, section III.C) trained LeNet-5 for 20 passes with a global
    learning rate of 0.0005 for the first two passes, 0.0002 for the next three,
    0.0001 for the next three, 0.00005 for the next four, and 0.00001 after that.
    Those rates belong to their stochastic diagonal Levenberg-Marquardt method,
    where each weight's step is the global rate divided by ``mu + h`` (``h`` an
    estimate of that weight's second derivative), so the numbers do not carry over
    to plain SGD. The *shape* does: this schedule keeps the paper's ratios (1, 0.4,
    0.2, 0.1, 0.02 of the first rate) and starts from ``base_rate``.

    Args:
        base_rate: the rate of the first two epochs. Default: the rate
            ``build_lenet5("paper")`` compiles its SGD with (0.01). ``0.0005``
            gives the paper's own numbers.
        verbose: passed to ``keras.callbacks.LearningRateScheduler``.

    Returns:
        A ``keras.callbacks.LearningRateScheduler``; its ``schedule(epoch, rate)``
        gives the rate of a (0-based) epoch.

    Example:
        >>> callback = paper_learning_rate_schedule()
        >>> [round(callback.schedule(epoch, None), 6) for epoch in (0, 2, 5, 8, 12)]
        [0.01, 0.004, 0.002, 0.001, 0.0002]
        >>> model.fit(x, y, epochs=20, callbacks=[callback])  # doctest: +SKIP
    """
    base_rate = LEARNING_RATES["paper"] if base_rate is None else base_rate
    if isinstance(base_rate, bool) or not isinstance(base_rate, (int, float)) or not base_rate > 0:
        raise ValueError(f"Expected base_rate as a number > 0. Received: base_rate={base_rate!r}")
    # (passes, global rate) from the paper; the last rate holds for every later pass.
    paper_steps = [(2, 0.0005), (3, 0.0002), (3, 0.0001), (4, 0.00005)]
    paper_final, paper_first = 0.00001, paper_steps[0][1]

    def schedule(epoch, rate=None):
        if epoch < 0:
            raise ValueError(f"Expected epoch >= 0. Received: epoch={epoch}")
        end = 0
        for passes, paper_rate in paper_steps:
            end += passes
            if epoch < end:
                break
        else:
            paper_rate = paper_final
        return float(f"{base_rate * paper_rate / paper_first:.12g}")  # 0.004, not 0.004000000000000001

    return keras.callbacks.LearningRateScheduler(schedule, verbose=verbose)
