"""How fast does LeNet-5 train? The seed tutorial's Keras code against the package's path.

Three configurations train on the same digits for the same number of images:

  (a) seed   the seed tutorial's code as it writes it (benchmarks/seed_tutorial.py):
             NumPy float arrays, one-hot labels, ``fit(batch_size=32)``
  (b) keras  the same model, ``build_lenet5("keras")``, through ``lenet_course.train.train(fast=True)``
  (c) paper  the paper's model, ``build_lenet5("paper")``, through the same path

Each runs in its own process (so that each one's peak memory is its own), the
runs are interleaved (a, b, c, a, b, c, ...) so that a change in the machine's
load hits all three alike, and each is repeated ``--repeats`` times after one
untimed warm-up run, which traces the model. A run is one ``fit`` / ``train``
call of ``--epochs`` epochs on the same, already warmed-up model; images/s is the
images of that call over its wall-clock seconds. The package's run includes its
own preprocessing; the tutorial's ``fit`` gets arrays it prepared once.

It also measures what the paper's partially connected C3 costs next to a dense
16-map convolution of the same shape (forward and backward, as in training).

    python benchmarks/train_speed.py             # the shipped sample (8,000 digits), ~2 minutes
    python benchmarks/train_speed.py --quick     # smoke test, ~20 s: 2,048 digits, numbers not meaningful
    python benchmarks/train_speed.py --data full # full MNIST, 1 epoch per run (downloads it once)
    python benchmarks/train_speed.py --ablation  # also (b) without each of its choices, ~4 minutes

The last line is ``speedup vs seed code: X.XX×``, the median images/s of (b) over (a).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, load_average

HERE = Path(__file__).resolve().parent

CONFIGS = {
    "seed": "(a) seed tutorial's code, batch 32",
    "keras": "(b) build_lenet5('keras') + train(fast=True)",
    "paper": "(c) build_lenet5('paper') + train(fast=True)",
}
ABLATION = {  # (b) without one of its choices, or with another one
    "keras-exact": "    (b) with fast=False: batch 32, rate as compiled",
    "keras-exact-1step": "    (b) with fast=False and 1 batch per call",
    "keras-1step": "    (b) with 1 batch per call",
    "keras-b256": "    (b) with batches of 256 (rate x 8)",
    "keras-xla": "    (b) with XLA (jit_compile=True)",
}
C3_BATCHES = (32, 256)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("sample", "full"), default="sample",
                        help="the shipped sample (default) or full MNIST (downloaded once by load_mnist)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per timed run (default: 3 on the sample, 1 on full MNIST)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per configuration (>= 3; default 5)")
    parser.add_argument("--images", type=int, default=None, help="train on the first N digits only")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2,048 digits, 1 epoch, 3 repeats")
    parser.add_argument("--ablation", action="store_true", help="also time the package path without each choice")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.epochs, args.repeats = args.images or 2048, args.epochs or 1, 3
    args.epochs = args.epochs or (3 if args.data == "sample" else 1)
    if args.repeats < 3 or args.epochs < 1 or (args.images is not None and args.images < 256):
        parser.error("expected --repeats >= 3, --epochs >= 1 and --images >= 256")
    if args.worker:
        return worker(args)
    return conductor(args)


# --------------------------------------------------------------------------------------------
# The conductor: starts one worker per configuration, interleaves their runs, prints the table.

def conductor(args):
    configs = dict(CONFIGS, **(ABLATION if args.ablation else {}))
    from lenet_course.data import load_mnist

    try:
        data = load_mnist(args.data)  # fail here, with load_mnist's own message, not in every worker
    except OSError as error:
        raise SystemExit(f"train_speed.py: {error}") from None
    if args.images and args.images > len(data.x_train):
        raise SystemExit(f"train_speed.py: --images {args.images} is more than the {len(data.x_train):,} "
                         f"training digits of the {args.data} data")
    load_before = load_average() + " (1, 5, 15 min)"
    print(f"machine: {describe()}")
    print(f"load average before: {load_before}")
    workers = {name: Worker(name, args) for name in [*configs, "c3"]}
    try:
        ready = {name: w.receive() for name, w in workers.items()}
        info = ready["seed"]
        print(f"TensorFlow {info['tensorflow']}, Keras {info['keras']}, devices: {', '.join(info['devices'])}")
        print(f"data: {info['data']}; each run trains {info['images']:,} images "
              f"({args.epochs} epoch{'s' * (args.epochs > 1)}), {args.repeats} runs after 1 warm-up run\n")
        warmup = {}
        for name, w in workers.items():  # warm-ups one after another: tracing is not timed
            warmup[name] = w.ask("run")
        times = {name: [] for name in workers}
        for _ in range(args.repeats):
            for name, w in workers.items():
                times[name].append(w.ask("run"))
        final = {name: w.ask("quit") for name, w in workers.items()}
    finally:
        for w in workers.values():
            w.close()

    images = info["images"]
    rates = {name: sorted(images / r["seconds"] for r in times[name]) for name in configs}
    seed = statistics.median(rates["seed"])
    header = f"{'configuration':48s} {'images/s median':>15s} {'min':>7s} {'max':>7s} {'vs (a)':>7s} " \
             f"{'peak MB':>8s} {'warm-up s':>9s} {'accuracy':>8s}"
    print(header)
    print("-" * len(header))
    for name, label in configs.items():
        r, peak = rates[name], final[name]["peak_rss_mb"]
        print(f"{label:48s} {statistics.median(r):15,.0f} {r[0]:7,.0f} {r[-1]:7,.0f} "
              f"{statistics.median(r) / seed:6.2f}× {f'{peak:8.0f}' if peak else 'n/a'.rjust(8)} "
              f"{warmup[name]['seconds']:9.1f} {final[name]['accuracy']:8.2%}")
    before = f"; {ready['seed']['rss_mb']:.0f} MB of it before training starts" if ready["seed"]["rss_mb"] else ""
    print(f"peak MB: peak resident memory of the configuration's own process, TensorFlow included{before}.")
    print(f"warm-up s: the first, untimed run (it traces the model). accuracy: on the "
          f"{ready['seed']['test_images']:,} held-out digits after the warm-up and all timed runs.")

    print("\nC3 forward + backward, partially connected (60 kernels) vs a dense Conv2D(16, 5) (96 kernels):")
    for batch in C3_BATCHES:
        partial = statistics.median(r[f"partial{batch}"] for r in times["c3"])
        dense = statistics.median(r[f"dense{batch}"] for r in times["c3"])
        print(f"  batch {batch:3d}: partial {partial * 1e3:6.3f} ms, dense {dense * 1e3:6.3f} ms, "
              f"ratio {partial / dense:.2f} (limit 1.2)")

    print(f"\nratio b/a: {statistics.median(rates['keras']) / seed:.2f}   "
          f"ratio c/a: {statistics.median(rates['paper']) / seed:.2f}")
    print(f"load average after: {load_average()} (1, 5, 15 min)")
    print(f"speedup vs seed code: {statistics.median(rates['keras']) / seed:.2f}×")
    return 0


class Worker:
    """One configuration in its own Python process, answering one JSON line per command."""

    def __init__(self, name, args):
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--data", args.data,
                   "--epochs", str(args.epochs), "--repeats", str(args.repeats)]
        if args.images:
            command += ["--images", str(args.images)]
        if args.quick:
            command += ["--quick"]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        self.name = name
        self.log = tempfile.TemporaryFile("w+")  # the worker's stderr, shown if it fails
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True, env=env)

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.receive()

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.log.seek(0)
            raise RuntimeError(f"benchmark worker {self.name!r} stopped:\n{self.log.read()[-3000:]}")
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------
# A worker: one configuration, timed on request.

def worker(args):
    answer = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not reach the conductor
    import keras
    import tensorflow as tf

    from lenet_course.data import MnistData, load_mnist

    data = load_mnist(args.data)
    if args.images:
        if args.images > len(data.x_train):
            raise SystemExit(f"--images {args.images} is more than the {len(data.x_train)} digits of the data")
        data = MnistData(data.x_train[:args.images], data.y_train[:args.images], data.x_test, data.y_test,
                         data.source, data.description)
    run = c3_runner(args) if args.worker == "c3" else training_runner(args.worker, data, args.epochs)
    devices = [f"{d.device_type}:{d.name.split(':')[-1]}" for d in tf.config.list_physical_devices()]
    send(answer, {"tensorflow": tf.__version__, "keras": keras.__version__, "devices": devices,
                  "data": data.description.splitlines()[0], "images": len(data.x_train) * args.epochs,
                  "test_images": len(data.x_test), "rss_mb": _rss_mb()})
    for command in sys.stdin:
        command = command.strip()
        if command == "run":
            send(answer, run())
        elif command == "quit":
            send(answer, {"peak_rss_mb": _peak_rss_mb(), "accuracy": getattr(run, "accuracy", lambda: 0.0)()})
            return 0
    return 0


def training_runner(name, data, epochs):
    import keras
    import numpy as np

    from lenet_course import models
    from lenet_course import train as training
    from lenet_course.models import build_lenet5

    if name == "seed":
        sys.path.insert(0, str(HERE))
        from seed_tutorial import BATCH_SIZE, tutorial_inputs, tutorial_model

        keras.utils.set_random_seed(0)
        x_train, y_train = tutorial_inputs(data.x_train, data.y_train)
        model = tutorial_model()

        def fit():
            model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)

        def accuracy():
            x_test, _ = tutorial_inputs(data.x_test, data.y_test)
            return float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=-1) == data.y_test))
    else:
        model = build_lenet5("paper" if name == "paper" else "keras", seed=0)
        fast = not name.startswith("keras-exact")
        if name.endswith("-1step"):
            training.STEPS_PER_EXECUTION = 1
        if name == "keras-b256":
            training.FAST_BATCH_SIZE = 256
        if name == "keras-xla":
            model.jit_compile = True

        def fit():
            training.train(model, data, epochs=epochs, seed=0, validation=False, verbose=0, fast=fast)

        def accuracy():
            return models.accuracy(model, data.x_test, data.y_test)

    def run():
        start = time.perf_counter()
        fit()
        return {"seconds": time.perf_counter() - start}

    run.accuracy = accuracy
    return run


def c3_runner(args):
    """Forward and backward of C3 as trained: gradients for its input and its weights."""
    import keras
    import numpy as np
    import tensorflow as tf

    from lenet_course.layers import C3_TABLE, PartialConv2D

    loops = 25 if args.quick else 100
    steps = {}
    for batch in C3_BATCHES:
        x = tf.constant(np.random.default_rng(0).normal(size=(batch, 14, 14, 6)).astype("float32"))
        for kind, layer in [("partial", PartialConv2D(C3_TABLE, 5)), ("dense", keras.layers.Conv2D(16, 5))]:
            layer(x)
            steps[f"{kind}{batch}"] = (_gradient_step(layer), x)

    def timed(key):
        step, x = steps[key]
        start = time.perf_counter()
        for _ in range(loops):
            grads = step(x)
        float(grads[0][0, 0, 0, 0])  # wait for the last step
        return time.perf_counter() - start

    def run():
        result = {}
        for batch in C3_BATCHES:
            partial, dense = f"partial{batch}", f"dense{batch}"
            for key in (partial, dense):
                for _ in range(10):
                    steps[key][0](steps[key][1])  # traced and warm
            # partial, dense, dense, partial, ...: a drift in the machine's load hits both alike
            totals = {partial: 0.0, dense: 0.0}
            for round_ in range(4):
                for key in ((partial, dense) if round_ % 2 == 0 else (dense, partial)):
                    totals[key] += timed(key)
            result.update({key: total / (4 * loops) for key, total in totals.items()})
        return result

    return run


def _gradient_step(layer):
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(loss, [x, *layer.trainable_weights])

    return step


def send(stream, message):
    stream.write(json.dumps(message) + "\n")
    stream.flush()


# --------------------------------------------------------------------------------------------
# The machine.

def _rss_mb():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_rss_mb()


def _peak_rss_mb():
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


if __name__ == "__main__":
    sys.exit(main())
