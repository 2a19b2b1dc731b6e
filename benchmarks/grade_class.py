"""How fast does ``lenet-course grade`` grade a class? Submissions per minute and peak memory, 1 job vs all cores.

Generates a class of submissions of an exercise from its solution: right ones (the
solution), partly wrong ones (one answer changed, or the untouched exercise), and each
broken kind (a cell that raises, loops forever, exits, kills its kernel, floods the
output, eats memory, does not parse; a file that is empty or not JSON). Then grades it
with ``lenet-course grade`` (sandbox on, as an instructor would), once per ``--jobs``
value, and prints a table. Peak memory is the largest sum of resident memory of the
grader and every process it started (workers, sandboxes, kernels), sampled 5 times a
second.

    python benchmarks/grade_class.py                            # 200 of exercise 1 and of exercise 4
    python benchmarks/grade_class.py --size 40 --exercise 02_c1_convolution
    python benchmarks/grade_class.py --correct-only --size 100 --jobs 2   # issue 13's "done when"

The README's "Grading a class" table comes from this script; it prints the machine it
ran on and its load average, since other work on the machine slows every number here.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from machine import describe, load_average

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ("02_c1_convolution", "13_reproducing_the_paper")  # a light one and the heaviest one

# Cells that break a notebook, each inserted after the notebook's first code cell.
BROKEN_CELLS = {
    "raises": "raise ValueError('a bug')",
    "infinite-loop": "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass",
    "sys-exit": "import sys\nsys.exit(3)",
    "os-exit": "import os\nos._exit(1)",
    "output-flood": "for i in range(300_000):\n    print('flood', i, 'x' * 40)",
    "memory-hog": "hog = bytearray(64 * 2**30)",
    "syntax-error": "x = (1 +",
}
BROKEN_FILES = {"empty": b"", "not-json": b"this is not a notebook\n"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exercise", action="append",
                        choices=sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb")),
                        help=f"which exercise (repeatable; default: {' and '.join(EXERCISES)})")
    parser.add_argument("--size", type=int, default=200, help="submissions in the class (default 200)")
    parser.add_argument("--jobs", type=int, action="append",
                        help="--jobs values to compare (repeatable; default: 1 and the number of cores)")
    parser.add_argument("--correct-only", action="store_true", help="a class of right submissions only")
    parser.add_argument("--cell-timeout", type=float, default=20, help="seconds per cell (default 20)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per submission (default 300)")
    parser.add_argument("--sandbox", default="bwrap", choices=("auto", "bwrap", "none"))
    args = parser.parse_args(argv)
    exercises = args.exercise or list(EXERCISES)
    jobs = args.jobs or sorted({1, os.cpu_count() or 1})

    print(f"machine: {machine()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lenet-course-bench-") as scratch:
        for exercise in exercises:
            class_dir = Path(scratch) / exercise
            kinds = write_class(class_dir, exercise, args.size, correct_only=args.correct_only)
            print(f"{exercise}: {args.size} submissions ({', '.join(f'{k} {n}' for k, n in kinds.items())})",
                  flush=True)
            for n in jobs:
                out = Path(scratch) / f"{exercise}-reports-{n}"
                row = grade(class_dir, out, exercise, n, args)
                rows.append(row)
                print(f"  --jobs {n}: {row['seconds']:.0f} s, {row['per_minute']:.1f}/min, "
                      f"peak {row['peak_mb']:.0f} MB, full marks {row['full_marks']}/{row['graded']}, "
                      f"load {load_average()}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    print()
    print("| exercise | submissions | --jobs | wall time | submissions / min | peak memory | full marks |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['exercise']} | {row['graded']} | {row['jobs']} | {row['seconds']:.0f} s | "
              f"{row['per_minute']:.1f} | {row['peak_mb'] / 1024:.1f} GB | {row['full_marks']} |")
    return 0


def write_class(folder, exercise, size, *, correct_only=False):
    """``size`` submissions of ``exercise``; returns how many of each kind."""
    folder.mkdir(parents=True)
    solution = nbformat.read(ROOT / "solutions" / f"{exercise}.ipynb", as_version=4)
    untouched = nbformat.read(ROOT / "exercises" / f"{exercise}.ipynb", as_version=4)
    makers = [("correct", lambda: solution)]
    if not correct_only:
        makers += [("partly-wrong", lambda: partly_wrong(solution, exercise)), ("untouched", lambda: untouched)]
        makers += [(f"broken-{kind}", lambda cell=cell: with_cell(solution, cell)) for kind, cell in BROKEN_CELLS.items()]
        makers += [(f"broken-{kind}", None) for kind in BROKEN_FILES]
    # Half the class is right, the other half shares the other kinds in turn.
    counts = {}
    for index in range(size):
        kind, make = makers[0] if (correct_only or index % 2 == 0) else makers[1 + (index // 2) % (len(makers) - 1)]
        counts[kind] = counts.get(kind, 0) + 1
        path = folder / f"{exercise[:2]}-{index:03d}-{kind}.ipynb"
        if make is None:
            path.write_bytes(BROKEN_FILES[kind.removeprefix("broken-")])
        else:
            nbformat.write(make(), path)
    return counts


def partly_wrong(notebook, exercise):
    """The solution with its last answer overwritten by a wrong one, in a last cell."""
    from lenet_course.checks import questions_for

    return with_cell(notebook, f"{questions_for(exercise)[-1].reads[-1].name} = 0", at_end=True)


def with_cell(notebook, source, at_end=False):
    import copy

    broken = copy.deepcopy(notebook)
    first = next(i for i, cell in enumerate(broken.cells) if cell.cell_type == "code")
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "added-cell"
    broken.cells.insert(len(broken.cells) if at_end else first + 1, cell)
    return broken


def grade(class_dir, out, exercise, jobs, args):
    command = [sys.executable, "-m", "lenet_course.cli", "grade", str(class_dir), "--out", str(out),
               "--assignment", exercise, "--jobs", str(jobs), "--sandbox", args.sandbox, "--no-progress",
               "--cell-timeout", f"{args.cell_timeout:g}", "--timeout", f"{args.timeout:g}"]
    env = {**os.environ, "LENET_COURSE_DATA": os.environ.get("LENET_COURSE_DATA", "sample"),
           "TF_CPP_MIN_LOG_LEVEL": "3", "LENET_COURSE_QUIET": "1"}
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid)
    _, stderr = process.communicate()
    seconds = time.monotonic() - start
    sampler.stop()
    if process.returncode != 0:
        sys.exit(f"lenet-course grade failed ({process.returncode}): {stderr[-2000:]}")
    reports = [json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "results.json"]
    full = sum(1 for r in reports if r["score"] == r["max_score"] > 0)
    for r in sorted(reports, key=lambda r: r["name"]):  # what did not earn full marks, and why
        if r["score"] < r["max_score"]:
            print(f"    {r['name']}: {r['score']:g} / {r['max_score']:g} ({r['reason'][:150]})", flush=True)
    return {"exercise": exercise, "jobs": jobs, "graded": len(reports), "seconds": seconds,
            "per_minute": 60 * len(reports) / seconds, "peak_mb": sampler.peak_kb / 1024, "full_marks": full}


class MemorySampler:
    """Largest total resident memory of a process and all its descendants (Linux /proc)."""

    def __init__(self, root, interval=0.2):
        self.root, self.interval, self.peak_kb = root, interval, 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            self.peak_kb = max(self.peak_kb, self._total_kb())
            time.sleep(self.interval)

    def _total_kb(self):
        parents, rss = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
            rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
        tree, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in parents.items():
                if ppid == parent and pid not in tree:
                    tree.add(pid)
                    frontier.append(pid)
        return sum(rss.get(pid, 0) for pid in tree)

    def stop(self):
        self.running = False
        self.thread.join()


def machine():
    return f"{describe()}, load average {load_average()}"


if __name__ == "__main__":
    sys.exit(main())
