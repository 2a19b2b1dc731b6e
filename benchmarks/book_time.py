"""How long does the book take to run? Executes every chapter and exercise notebook, timing each.

Finds the notebooks by glob -- ``book/*.ipynb``, ``exercises/*.ipynb`` and
``solutions/*.ipynb`` -- so new chapters are timed as soon as they exist, and runs
them one after another in a fresh kernel each, as ``jupyter-book build`` and
``nbval`` do. By default the trained-model cache (``trained_lenet5``) starts
empty, as on a fresh clone or in CI, so the chapters that train pay for it; pass
``--warm-cache`` to use your own cache instead.

    python benchmarks/book_time.py                 # every notebook, on the shipped sample
    python benchmarks/book_time.py book/0*.ipynb   # only these
    python benchmarks/book_time.py --warm-cache    # reuse ~/.cache/lenet_course
    make book-time                                 # every notebook, as make book runs it

``make book-time`` runs the kernels on one TensorFlow thread per operation, as
``make book`` does; run the script directly for TensorFlow's default threads.

Prints seconds per notebook, per folder and in total, and exits non-zero if a
notebook fails. The goal (issue 5): the whole book and the exercises under 6
minutes on 2 CPU cores.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import load_average

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("book", "exercises", "solutions")
GOAL_SECONDS = 6 * 60


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: every one in " +
                        ", ".join(f"{f}/" for f in FOLDERS) + ")")
    parser.add_argument("--data", choices=("sample", "auto", "full"), default="sample",
                        help="LENET_COURSE_DATA for the notebooks (default: the shipped sample, as in CI)")
    parser.add_argument("--warm-cache", action="store_true",
                        help="use the usual trained-model cache instead of an empty one")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    args = parser.parse_args(argv)

    notebooks = [Path(n).resolve() for n in args.notebooks] or find_notebooks()
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if not notebooks:
        print("no notebooks found in " + ", ".join(f"{f}/" for f in FOLDERS))
        return 1

    os.environ.update(LENET_COURSE_DATA=args.data, LENET_COURSE_QUIET="1",
                      TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    with tempfile.TemporaryDirectory(prefix="lenet_course_cache_") as empty_cache:
        if not args.warm_cache:
            os.environ["LENET_COURSE_CACHE"] = empty_cache
        cache = os.environ.get("LENET_COURSE_CACHE", "~/.cache/lenet_course")
        print(f"{len(notebooks)} notebooks, data: {args.data}, trained-model cache: "
              f"{'empty (as on a fresh clone)' if not args.warm_cache else cache}, "
              f"TensorFlow threads: {tensorflow_threads()}, load average: {load_average()}\n")
        results = [(notebook, *run_notebook(notebook, args.timeout)) for notebook in notebooks]

    width = max(len(_name(n)) for n, _, _ in results)
    for notebook, seconds, error in results:
        print(f"{_name(notebook):{width}s} {seconds:7.1f} s" + (f"   FAILED: {error}" if error else ""))
    print("-" * (width + 10))
    for folder in FOLDERS:
        inside = [s for n, s, _ in results if _name(n).startswith(folder + "/")]
        if inside:
            print(f"{folder + '/ (' + str(len(inside)) + ')':{width}s} {sum(inside):7.1f} s")
    total = sum(s for _, s, _ in results)
    failed = [n for n, _, error in results if error]
    print(f"{'total':{width}s} {total:7.1f} s  ({total / 60:.1f} min; goal under {GOAL_SECONDS // 60} min)"
          f"   load average after: {load_average()}")
    if failed:
        print(f"{len(failed)} notebook(s) failed")
    return 1 if failed else 0


def tensorflow_threads():
    """The kernels' TensorFlow threads per operation, as the environment sets them."""
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    if not threads:
        return "TensorFlow's default"
    return f"{threads} per operation" + (" (make book's setting)" if threads == "1" else "")


def find_notebooks():
    notebooks = []
    for folder in FOLDERS:
        notebooks += sorted(p for p in (ROOT / folder).glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return notebooks


def run_notebook(path, timeout):
    """Execute one notebook in a fresh kernel in its own folder; return (seconds, error or None)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except Exception as problem:  # report it, time the rest
        last_line = (str(problem).strip().splitlines() or [""])[-1]
        error = f"{problem.__class__.__name__}: {last_line[:120]}"
    return time.perf_counter() - start, error


def _name(path):
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
