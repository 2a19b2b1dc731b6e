"""How many TensorFlow threads should the paper's recipe use? One, against TensorFlow's default.

The batched recipe (``BATCHED_RECIPE``; the command's recipe with ``--distortions``)
updates the weights after every 8 digits. Each operation on 8 digits is too small to
share between cores, so the command runs TensorFlow's operations on one thread
(``--threads 1``). This measures that choice: the batched recipe's training
(``lenet_course.reproduce.train_once``: SDLM, batches of 8,
the curvature re-estimated before every pass) on the shipped sample's 8,000
training digits, with one thread and with TensorFlow's default, without and with
distortions (every digit and ``--copies`` distorted copies per pass).

Each configuration runs in its own process (threads are fixed when TensorFlow
starts), the runs are interleaved so that a change in the machine's load hits all
alike, and each run's first pass (which traces the model) is not timed.

    python benchmarks/recipe_threads.py            # ~3 minutes on 2 cores
    python benchmarks/recipe_threads.py --quick    # smoke test, numbers not meaningful

The last line is ``one thread vs default: X.XX× faster per pass`` (without distortions).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from machine import describe, load_average

CONFIGS = {  # name -> (threads, distortions); threads 0: TensorFlow's default
    "default": (0, False),
    "one": (1, False),
    "default-distorted": (0, True),
    "one-distorted": (1, True),
}
CHILD = """
import dataclasses, json, sys
from lenet_course.data import load_mnist
from lenet_course.reproduce import BATCHED_RECIPE, parse_args, train_once, use_threads
threads, distortions, passes, digits, copies = json.loads(sys.argv[1])
if threads:
    assert use_threads(threads) is None
argv = ["--passes", str(passes), "--distorted-copies", str(copies), *BATCHED_RECIPE] + (["--distortions"] * distortions)
data = load_mnist("sample", verbose=False)
data = dataclasses.replace(data, x_train=data.x_train[:digits], y_train=data.y_train[:digits])
_, rows, _ = train_once(data, parse_args(argv), seed=0, out=lambda line: None)
print(json.dumps([row["seconds"] for row in rows[1:]]))
"""


def run(config, passes, digits, copies):
    threads, distortions = CONFIGS[config]
    arguments = json.dumps([threads, distortions, passes, digits, copies])
    result = subprocess.run([sys.executable, "-c", CHILD, arguments], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.returncode:
        sys.exit(f"{config} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="per run; the first is not timed")
    parser.add_argument("--copies", type=int, default=1, help="distorted copies per digit and pass")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 2 passes of 1,000 digits")
    args = parser.parse_args(argv)
    digits = 1000 if args.quick else 8000
    repeats, passes = (1, 2) if args.quick else (args.repeats, args.passes)
    print(f"machine: {describe()}, load average {load_average()}")
    print(f"the recipe on {digits:,} sample digits, batches of 8, {repeats} runs x {passes - 1} timed passes")
    seconds = {config: [] for config in CONFIGS}
    for _ in range(repeats):
        for config in CONFIGS:
            seconds[config] += run(config, passes, digits, args.copies)
    median = {config: statistics.median(values) for config, values in seconds.items()}
    for config, (threads, distortions) in CONFIGS.items():
        what = f"{'one thread' if threads else 'default threads'}, " + (
            f"distortions (x{args.copies + 1} digits)" if distortions else "no distortions")
        print(f"{what:42s} median {median[config]:6.2f} s per pass ({len(seconds[config])} passes)")
    print(f"with distortions, one thread vs default: {median['default-distorted'] / median['one-distorted']:.2f}× faster per pass")
    print(f"load average after: {load_average()}")
    print(f"one thread vs default: {median['default'] / median['one']:.2f}× faster per pass")


if __name__ == "__main__":
    main()
