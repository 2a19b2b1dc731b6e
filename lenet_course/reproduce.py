"""Reproduce the paper's LeNet-5 result on full MNIST with its own recipe, in one command.

    python -m lenet_course.reproduce [--data-home DIR] [--distortions] [--seeds 0 1 2]

Trains ``build_paper_recipe`` (``lenet_course.paper_recipe``: stochastic diagonal
Levenberg-Marquardt with the paper's eta stages and mu, h the paper's
backpropagated second derivatives re-estimated on 500 digits before every pass, the
MAP loss, the bitmap codes) for 20 passes on the
first 50,000 official training digits, printing the error on the last 10,000
(the validation split) and the time of every pass. Settings are chosen on that
split only. When the data home also holds the official test set, the last line
is ``test error: X.XX% (paper: 0.95%)`` (0.80% with ``--distortions``): the
trained networks' error on the 10,000 test digits, averaged over the seeds.

``--history-out FILE`` saves every pass's numbers, the seeds, the machine and
the command as JSON; ``lenet_course/_data/reproduction_history.json`` is such a
file, shipped so that chapter 13 shows a full-data run offline.
"""

import argparse
import json
import os
import platform
import sys
import time

from pathlib import Path

import numpy as np

SHIPPED_HISTORY = Path(__file__).parent / "_data" / "reproduction_history.json"
PAPER_TEST_ERROR = {False: 0.0095, True: 0.0080}  # without / with distortions
PAPER_PASSES = 20
# Updates after every 8 digits, not every digit as in the paper. On 2 quiet CPU cores a
# pass of per-digit updates takes 71 s (20 passes would fit in the 30 minutes allowed),
# but at the paper's eta training goes astray: 36.81% and 9.59% validation error after
# passes 1 and 2 (seed 0), against 4.20% and 2.67% with 8 digits per update.
DEFAULT_BATCH_SIZE = 8
# The paper's eta applied to the batch's mean gradient. Chosen on the validation split,
# seed 0, after 3 passes with the paper's curvature: factor 1 1.68%, factor 4 3.45%.
# (With the exact Gauss-Newton curvature, factor 4 had been better: 1.96% against 2.24%.)
DEFAULT_RATE_FACTOR = 1.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lenet_course.reproduce",
        description="Train LeNet-5 with the paper's recipe on full MNIST and report its error.")
    parser.add_argument("--data-home", default=None,
                        help="folder with the MNIST IDX files or mnist.npz (default: "
                             "$LENET_COURSE_DATA_HOME, else Keras's cache; downloads if empty)")
    parser.add_argument("--distortions", action="store_true",
                        help="train on randomly distorted digits (the paper's 0.8%% result)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--passes", type=int, default=PAPER_PASSES)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="digits per update; the paper: 1")
    parser.add_argument("--rate-factor", type=float, default=DEFAULT_RATE_FACTOR,
                        help="multiplies the paper's eta stages (per batch-mean gradient)")
    parser.add_argument("--optimizer", default="sdlm", choices=("sdlm", "sgd"))
    parser.add_argument("--initializer", default="glorot", choices=("paper", "glorot"))
    parser.add_argument("--loss", default="map", choices=("map", "rbf"))
    parser.add_argument("--codes", default="bitmaps", choices=("bitmaps", "random"))
    parser.add_argument("--curvature-digits", type=int, default=500)
    parser.add_argument("--curvature", default="backpropagated", choices=("backpropagated", "gauss-newton"),
                        help="how h is estimated: the paper's diagonal second derivatives, "
                             "backpropagated, or the exact Gauss-Newton diagonal by random signs")
    parser.add_argument("--history-out", default=None, help="write the run's history as JSON here")
    args = parser.parse_args(argv)
    for name in ("passes", "batch_size", "curvature_digits"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def load_data(data_home):
    """(validation split, official test set or None, note)."""
    from .data import load_mnist

    split = load_mnist("full", data_home=data_home, validation=True)
    try:
        test = load_mnist("full", data_home=data_home)
    except OSError as error:
        if "not the official test set" not in str(error):
            raise
        return split, None, "no official test set in the data home: validation error only"
    return split, test, "official test set found: the test error is reported at the end"


class PassReport:
    """A Keras callback printing each pass's validation error and time."""

    def __new__(cls, *args, **kwargs):
        import keras

        class _PassReport(keras.callbacks.Callback):
            def __init__(self, passes, out):
                super().__init__()
                self.passes, self.out, self.rows = passes, out, []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                seconds = time.perf_counter() - self.start
                error = 1 - float(logs["val_rbf_accuracy"])
                self.rows.append({"pass": epoch + 1, "validation_error": error, "seconds": seconds,
                                  "loss": float(logs["loss"])})
                self.out(f"pass {epoch + 1:2d}/{self.passes}  validation error {error:.2%}  "
                         f"{seconds:.1f} s")

        return _PassReport(*args, **kwargs)


def train_once(split, args, seed, out=print):
    """Train one network with the recipe of ``args``; returns (model, per-pass rows, seconds)."""
    import keras

    from .distortions import distorted_dataset
    from .models import preprocess
    from .paper_recipe import CurvatureEstimator, build_paper_recipe, sdlm_learning_rate_schedule
    from .train import STEPS_PER_EXECUTION, _run_steps_per_execution, is_quiet, paper_learning_rate_schedule

    model = build_paper_recipe(seed=seed, optimizer=args.optimizer, initializer=args.initializer,
                               loss=args.loss, codes=args.codes)
    _run_steps_per_execution(model, STEPS_PER_EXECUTION)
    x, y = preprocess(split.x_train, "paper"), split.y_train
    validation = (preprocess(split.x_test, "paper"), split.y_test)
    report = PassReport(args.passes, out)
    callbacks = [report]  # first, so that a pass's time includes estimating the curvature
    if args.optimizer == "sdlm":
        callbacks += [CurvatureEstimator(x, digits=args.curvature_digits, seed=seed,
                                         method=args.curvature),
                      sdlm_learning_rate_schedule(args.rate_factor)]
    else:
        callbacks.append(paper_learning_rate_schedule())
    keras.utils.set_random_seed(seed)
    interactive = sys.stdout.isatty() and not is_quiet()
    start = time.perf_counter()
    if args.distortions:
        model.fit(distorted_dataset(x, y, args.batch_size, seed=seed), epochs=args.passes, shuffle=False,
                  validation_data=validation, callbacks=callbacks, verbose=1 if interactive else 0)
    else:
        model.fit(x, y, batch_size=args.batch_size, epochs=args.passes, shuffle=True,
                  validation_data=validation, callbacks=callbacks, verbose=1 if interactive else 0)
    return model, report.rows, time.perf_counter() - start


def machine():
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}


def main(argv=None, out=print):
    args = parse_args(argv)
    from .models import accuracy

    split, test, note = load_data(args.data_home)
    paper_error = PAPER_TEST_ERROR[args.distortions]
    out(f"data: {split.description.splitlines()[0]}")
    out(note)
    out(f"recipe: optimizer {args.optimizer}, initializer {args.initializer}, loss {args.loss}, "
        f"codes {args.codes}, batch {args.batch_size}, rate factor {args.rate_factor:g}, "
        f"curvature {args.curvature}, {args.passes} passes, "
        f"distortions {'on' if args.distortions else 'off'}")
    runs = []
    for seed in args.seeds:
        out(f"seed {seed}")
        model, rows, seconds = train_once(split, args, seed, out)
        run = {"seed": seed, "passes": rows, "seconds": seconds,
               "validation_error": rows[-1]["validation_error"]}
        line = (f"seed {seed}: validation error {run['validation_error']:.2%} after {args.passes} passes, "
                f"{seconds / 60:.1f} min ({seconds / args.passes:.1f} s per pass)")
        if test is not None:
            run["test_error"] = 1 - accuracy(model, test.x_test, test.y_test)
        runs.append(run)
        out(line)
    if args.history_out:
        history = {
            "command": "python -m lenet_course.reproduce " + " ".join(argv if argv is not None else sys.argv[1:]),
            "data": split.description, "recipe": {k: v for k, v in vars(args).items() if k != "history_out"},
            "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": runs,
        }
        with open(args.history_out, "w") as file:
            json.dump(history, file, indent=1)
        out(f"history written to {args.history_out}")
    if test is not None:
        mean = float(np.mean([run["test_error"] for run in runs]))
        out(f"test error: {mean:.2%} (paper: {paper_error:.2%})")
    return runs


def shipped_history(path=SHIPPED_HISTORY):
    """The full-data runs shipped with the package (see ``tools/collect_reproduction.py``).

    A dict: ``"about"`` (what was run, how to recompute), ``"runs"`` (name ->
    history as ``--history-out`` writes it), ``"ablation"`` and ``"choices"``
    (name -> history of the runs that chose a setting).

    Example:
        >>> history = shipped_history()
        >>> sorted(history)
        ['ablation', 'about', 'choices', 'runs']
    """
    with open(path) as file:
        return json.load(file)


def ablation_rows(ablation):
    """``[(name, passes, seeds, mean validation error, standard deviation)]`` from an ablation dict.

    The standard deviation is over seeds (``ddof=1``; 0 for a single seed).

    Example:
        >>> run = lambda seed, e: {"seed": seed, "validation_error": e}
        >>> name, passes, seeds, mean, sd = ablation_rows(
        ...     {"a": {"recipe": {"passes": 2}, "runs": [run(0, 0.02), run(1, 0.04)]}})[0]
        >>> name, passes, seeds, round(mean, 4), round(sd, 4)
        ('a', 2, [0, 1], 0.03, 0.0141)
    """
    rows = []
    for name, history in ablation.items():
        errors = [run["validation_error"] for run in history["runs"]]
        spread = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
        rows.append((name, history["recipe"]["passes"], [run["seed"] for run in history["runs"]],
                     float(np.mean(errors)), spread))
    return rows


if __name__ == "__main__":
    main()
