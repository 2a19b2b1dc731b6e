"""The full-data runs shipped with the package, and the tables chapter 13 draws from them.

``lenet_course/_data/reproduction_history.json`` holds runs of
``python -m lenet_course.reproduce --history-out FILE`` on the official MNIST
training digits (the validation split), merged by ``tools/collect_reproduction.py``:
the recipe per seed, its ablation, the runs that chose its settings and the recipe
trained on fewer digits. The functions here read them: runs per recipe, a mean and
spread over seeds, the rows of a table.

Example:
    >>> shipped = shipped_history()
    >>> mean, spread = mean_and_spread(recipe_runs(shipped, "batched recipe").values())
    >>> f"{mean:.2%} ± {spread:.2%}"
    '1.22% ± 0.09%'
"""

import json
import re

from pathlib import Path

import numpy as np

from .paper_numbers import PAPER_PASSES

SHIPPED_HISTORY = Path(__file__).parent / "_data" / "reproduction_history.json"


def shipped_history(path=SHIPPED_HISTORY):
    """The full-data runs shipped with the package (see ``tools/collect_reproduction.py``).

    A dict: ``"about"`` (what was run, how to recompute), ``"runs"`` (name ->
    history as ``--history-out`` writes it), ``"ablation"`` (one change to the
    recipe per entry, every entry the same passes and seeds), ``"long_ablation"``
    (some of those changes trained for more passes), ``"per_digit_ablation"`` (one
    change to the command's own recipe, per digit, per entry), ``"choices"`` (name ->
    history of the runs that chose a setting) and ``"fewer_training_digits"`` (the
    recipe trained on the first N digits only, ``--training-digits``).

    Example:
        >>> history = shipped_history()
        >>> sorted(history)
        ['ablation', 'about', 'choices', 'fewer_training_digits', 'long_ablation', 'per_digit_ablation', 'runs']
    """
    with open(path) as file:
        return json.load(file)


def recipe_runs(shipped, recipe="paper recipe", distortions=False):
    """The shipped runs of a recipe, one per seed: name -> run.

    ``shipped`` is ``shipped_history()``; each run is as ``--history-out`` writes
    one seed's (``"seed"``, ``"passes"``, ``"validation_error"``, ...). ``recipe``:
    ``"paper recipe"`` (the command's default: every digit) or ``"batched recipe"``
    (every 8 digits, from Glorot's start); ``distortions``: the runs that trained it
    with distortions (as recorded in each run's recipe) instead of without.

    Example:
        >>> sorted(run["seed"] for run in recipe_runs(shipped_history(), "batched recipe").values())
        [0, 1, 2, 3, 4]
    """
    return {name: history["runs"][0] for name, history in shipped["runs"].items()
            if name.startswith(recipe) and history["recipe"]["distortions"] == distortions}


def per_digit_ablation(shipped):
    """The ablation of the command's own recipe (updates after every digit) as an ablation
    dict for ``ablation_rows``: first the recipe itself, its shipped runs on the seeds the
    changes were trained with, then each change of ``"per_digit_ablation"``.

    Example:
        >>> ablation = per_digit_ablation(shipped_history())
        >>> [run["seed"] for run in next(iter(ablation.values()))["runs"]]
        [0, 1, 2]
    """
    changes = shipped["per_digit_ablation"]
    seeds = sorted({run["seed"] for history in changes.values() for run in history["runs"]})
    runs = recipe_runs(shipped)
    name_of = {run["seed"]: name for name, run in runs.items()}
    names = [name_of[seed] for seed in seeds]
    recipe = shipped["runs"][names[0]]["recipe"]
    itself = {"recipe": {**recipe, "seeds": seeds}, "runs": [runs[name] for name in names]}
    return {"the recipe (SDLM with the paper's curvature, every digit, ±2.4/√fan-in, "
            "MAP loss, bitmaps)": itself, **changes}


def training_digits_rows(shipped, recipe="paper recipe"):
    """``[(training digits, seeds, mean validation error, standard deviation)]``, fewest digits
    first: ``recipe`` (as in ``recipe_runs``) trained on all of the split's digits and, from
    ``"fewer_training_digits"``, the runs of the same recipe on fewer (``--training-digits``),
    every row measured on the same 10,000 validation digits.

    Example:
        >>> [(digits, len(seeds)) for digits, seeds, _, _ in training_digits_rows(shipped_history())]
        [(30000, 5), (40000, 5), (50000, 5)]
    """
    full = recipe_runs(shipped, recipe)
    trained = shipped["runs"][next(iter(full))]["recipe"]
    groups = {}
    for history in shipped["fewer_training_digits"].values():
        if same_recipe(history["recipe"], trained):
            groups.setdefault(history["recipe"]["training_digits"], []).extend(history["runs"])
    for name, run in full.items():  # all the split's digits
        digits = re.search(r"the first ([\d,]+) training digits", shipped["runs"][name]["data"])[1]
        groups.setdefault(int(digits.replace(",", "")), []).append(run)
    return [(digits, [run["seed"] for run in runs], *mean_and_spread(runs))
            for digits, runs in sorted(groups.items())]


def same_recipe(one, other, ignoring=("seeds", "training_digits", "threads")):
    """Whether two recorded recipes (a history's ``"recipe"``) train the same way, whatever
    their seeds, number of training digits and threads.

    Example:
        >>> same_recipe({"batch_size": 1, "seeds": [0]}, {"batch_size": 1, "seeds": [3]})
        True
    """
    def kept(recipe):
        return {key: value for key, value in recipe.items() if key not in ignoring}
    return kept(one) == kept(other)


def extrapolated_error(rows, digits):
    """The error at ``digits`` training digits on the straight line through the mean errors of
    ``training_digits_rows`` on log-log axes (error = a * digits ** slope), and that slope.
    A guess from a few means, each as uncertain as the spread between seeds.

    Example:
        >>> rows = [(10_000, [0], 0.04, 0.0), (40_000, [0], 0.02, 0.0)]
        >>> [round(x, 3) for x in extrapolated_error(rows, 160_000)]
        [0.01, -0.5]
    """
    slope, offset = np.polyfit(np.log([row[0] for row in rows]), np.log([row[2] for row in rows]), 1)
    return float(np.exp(offset + slope * np.log(digits))), float(slope)


def mean_and_spread(runs):
    """(mean, standard deviation) of the runs' validation errors: over seeds, ``ddof=1``, and 0
    for a single run.

    Example:
        >>> [round(x, 4) for x in mean_and_spread([{"validation_error": e} for e in (0.02, 0.04)])]
        [0.03, 0.0141]
    """
    errors = [run["validation_error"] for run in runs]
    return float(np.mean(errors)), float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0


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
    return [(name, history["recipe"]["passes"], [run["seed"] for run in history["runs"]],
             *mean_and_spread(history["runs"]))
            for name, history in ablation.items()]


def final_errors(choices, prefix, passes=PAPER_PASSES):
    """``{seed: validation error}`` after ``passes`` passes of the choices named ``prefix...``:
    one setting's runs over its seeds (``"updates every 4 digits, η × 1"`` and its ``", seed N"``).

    Example:
        >>> run = {"seed": 1, "passes": [{}, {}], "validation_error": 0.02}
        >>> final_errors({"a": {"runs": [run]}, "a, seed 1": {"runs": [run]}, "b": {"runs": []}}, "a", passes=2)
        {1: 0.02}
    """
    return {run["seed"]: run["validation_error"] for name, history in choices.items()
            if name.startswith(prefix) for run in history["runs"] if len(run["passes"]) == passes}


def choice_rows(choices):
    """``[(name, seed, passes, errors after each pass, seconds per pass)]``, a row per seed.

    Example:
        >>> passes = [{"validation_error": 0.03, "seconds": 10.0}, {"validation_error": 0.02, "seconds": 12.0}]
        >>> choice_rows({"a": {"runs": [{"seed": 0, "passes": passes}]}})
        [('a', 0, 2, [0.03, 0.02], 11.0)]
    """
    return [(name, run["seed"], len(run["passes"]), [p["validation_error"] for p in run["passes"]],
             float(np.mean([p["seconds"] for p in run["passes"]])))
            for name, history in choices.items() for run in history["runs"]]
