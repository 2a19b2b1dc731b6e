"""Merge histories written by ``python -m lenet_course.reproduce --history-out`` into the shipped file.

    python tools/collect_reproduction.py OUT.json --run NAME FILE [--run NAME FILE ...]
        [--ablation NAME FILE ...] [--long-ablation NAME FILE ...]
        [--per-digit-ablation NAME FILE ...] [--choice NAME FILE ...]
        [--fewer-training-digits NAME FILE ...] [--into SHIPPED.json]

``--run`` entries are full runs shown per pass in chapter 13; ``--ablation``
entries (one file per configuration, all seeds in it) become the ablation table,
``--long-ablation`` entries (the same configurations, trained longer) its second column;
``--per-digit-ablation`` entries change one piece of the command's own recipe (updates
after every digit) and become the table of what each piece buys per digit;
``--choice`` entries are the short runs that chose a setting;
``--fewer-training-digits`` entries the recipe trained on fewer digits (``--training-digits``).
``--into`` starts from an existing shipped file and adds the entries given (replacing
those of the same section and name).
The shipped ``lenet_course/_data/reproduction_history.json`` was made this way
from runs on the official MNIST training digits (validation split); each entry
keeps the command that recomputes it.
"""

import argparse
import json
import re


# The shipped file's sections, and the options that fill them.
SECTIONS = {"runs": "run", "ablation": "ablation", "long_ablation": "long_ablation",
            "per_digit_ablation": "per_digit_ablation", "choices": "choice",
            "fewer_training_digits": "fewer_training_digits"}


def explicit_options(history):
    """Options to add to a run's command so that, with today's defaults, it still trains the
    recipe it recorded (e.g. ``--batch-size 8`` once the default became 4).

    An added option can move another's default (``--distortions`` changes the batch size and
    the initializer), so options are added one at a time, in the recipe's order, the command
    parsed again after each, until it trains the recorded recipe."""
    from lenet_course.reproduce import parse_command

    added = ""
    for _ in range(len(history["recipe"]) + 1):
        today = vars(parse_command(history["command"] + added))
        changed = [(key, value) for key, value in history["recipe"].items()
                   if key in today and today[key] != value]
        if not changed:
            return added
        added += spelled_out(*changed[0], history["command"])
    raise SystemExit(f"{history['command']!r} does not settle on its recipe with{added!r}")


def spelled_out(key, value, command):
    """`` --option value`` for one recorded setting of the recipe."""
    option = f"--{key.replace('_', '-')}"
    if value is True:
        return f" {option}"
    if value is False or value is None:  # a switch cannot be turned off, nor a default given
        raise SystemExit(f"{command!r} no longer trains its recipe ({key}={value!r})")
    if isinstance(value, list):
        return f" {option} " + " ".join(str(item) for item in value)
    return f" {option} {value:g}" if isinstance(value, float) else f" {option} {value}"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--run", nargs=2, action="append", default=[], metavar=("NAME", "FILE"))
    parser.add_argument("--ablation", nargs=2, action="append", default=[], metavar=("NAME", "FILE"))
    parser.add_argument("--long-ablation", nargs=2, action="append", default=[], metavar=("NAME", "FILE"),
                        help="an --ablation entry's configuration trained for more passes")
    parser.add_argument("--per-digit-ablation", nargs=2, action="append", default=[],
                        metavar=("NAME", "FILE"),
                        help="one change to the command's own recipe (per digit), all seeds in FILE")
    parser.add_argument("--choice", nargs=2, action="append", default=[], metavar=("NAME", "FILE"),
                        help="runs that chose a setting on the validation split")
    parser.add_argument("--fewer-training-digits", nargs=2, action="append", default=[],
                        metavar=("NAME", "FILE"), help="the recipe trained on fewer digits")
    parser.add_argument("--into", default=None, help="a shipped file to add the entries to")
    args = parser.parse_args(argv)
    def load(path):
        history = json.load(open(path))
        finished = [run["seed"] for run in history["runs"]]
        if finished != history["recipe"]["seeds"]:  # the command was interrupted
            raise SystemExit(f"{path}: only seeds {finished} of {history['recipe']['seeds']} finished; "
                             "collect a run that finished every seed it was given")
        # The run read the MNIST files from a folder of the machine it ran on: say DIR.
        home = history["recipe"].pop("data_home", None)
        if home:
            history["command"] = history["command"].replace(home, "DIR")
        history["command"] = re.sub(r" --history-out \S+", "", history["command"])
        history["command"] += explicit_options(history)
        return history

    about = ("Runs of python -m lenet_course.reproduce on the 60,000 official MNIST training "
             "digits: trained on the first 50,000 (fewer where an entry says so), validation error "
             "on the last 10,000; the official test set was not available. Recompute: run each "
             "entry's command with --data-home pointing at the MNIST files and --history-out FILE, "
             "then tools/collect_reproduction.py.")
    shipped = {"about": about, **{section: {} for section in SECTIONS}}
    if args.into:
        with open(args.into) as file:
            shipped.update(json.load(file), about=about)
    for section, option in SECTIONS.items():
        shipped[section].update(
            {name: load(path) for name, path in getattr(args, option)})
    with open(args.out, "w") as file:
        json.dump(shipped, file, indent=1)


if __name__ == "__main__":
    main()
