"""Run the course where a learner runs it: a clean environment with nothing but the package.

    python3 tools/learner_env.py envs/colab.txt --notebooks book/*.ipynb
    python3 tools/learner_env.py envs/minimum.txt --pytest --notebooks book/09_training.ipynb

1. Builds (once; cached, keyed by the environment file) a virtual environment on the Python
   the file names (`# python: 3.12`) holding exactly the versions it pins, and none of
   requirements.txt: no myst-nb, no jupyter-book, no nbval.
2. Installs the package the way a notebook's first cell does, `pip install "lenet-course @
   git+<repository>"`, with its dependencies and not editable, here from this clone's last
   commit. It fails if pip upgrades, downgrades or reinstalls any pinned package.
3. Runs the package tests there (`--pytest`), then executes each notebook top to bottom in a
   fresh kernel, in an empty folder, with an empty trained-model cache. Cells tagged
   `raises-exception` may raise; no other cell may.

Standard library only: it runs with any Python 3, before any environment exists.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LENET_COURSE_ENV_CACHE", Path.home() / ".cache" / "lenet_course" / "envs"))


def pinned_in_requirements(names):
    """``name==version`` for each of ``names``, as requirements.txt pins it.

    Example:
        >>> pinned_in_requirements(["pytest"])  # doctest: +ELLIPSIS
        ['pytest==...']
    """
    pins = read_pins(ROOT / "requirements.txt")
    return [f"{name}=={pins[normalise(name)]}" for name in names]


# Test tooling, not learner packages: only the --pytest run needs them (jupytext: the exercise
# generator, an instructor's tool, which the CLI tests run; the exercises it writes record its
# version, so it must be the version the committed ones were written with: requirements.txt's).
TEST_TOOLS = ["pytest", "pyyaml", "jupytext"]
# Tests that need the book's build tools (jupytext, jupyter-book) or a browser: not a learner's.
BUILD_TOOL_TESTS = ["tests/test_book.py", "tests/test_draw_page.py", "tests/test_readable_figures.py"]


def read_environment_file(path):
    """The Python version (`# python: X.Y`) and the pins (`name==version`) of an environment file."""
    text = Path(path).read_text()
    python = re.search(r"^# python: *(\d+\.\d+) *$", text, re.M)
    if not python:
        raise SystemExit(f"{path}: expected a line '# python: X.Y' naming the Python version")
    return python[1], read_pins(path)


def read_pins(path):
    """The pins (`name==version`, names normalised) of an environment or requirements file."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if not match:
            raise SystemExit(f"{path}: expected 'name==version' lines. Received: {line!r}")
        pins[normalise(match[1])] = match[2]
    return pins


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def find_python(version):
    """A Python of ``version`` on this machine, or this Python with a visible note."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates += [Path(f"/usr/bin/python{version}"), Path(f"/usr/local/bin/python{version}")]
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run([str(candidate), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                                   capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            continue
        if found == version:
            return str(candidate)
    mine = "%d.%d" % sys.version_info[:2]
    print(f"NOTE: no Python {version} on this machine; the environment uses Python {mine} instead.")
    return sys.executable


def build_environment(environment_file, python, pins):
    """The cached virtual environment for this file and Python, built if missing."""
    key = hashlib.sha256(Path(environment_file).read_bytes() + python.encode()).hexdigest()[:12]
    folder = CACHE / f"{Path(environment_file).stem}-{key}"
    if (folder / "complete").exists():
        print(f"environment: {folder} (cached)")
        return folder
    print(f"environment: building {folder} (first run for this environment file; a few minutes)")
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished build
    run([python, "-m", "venv", str(folder)])
    pip = [str(folder / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    if "pip" in pins:
        run(pip + ["install", f"pip=={pins['pip']}"])
    run(pip + ["install"] + [f"{name}=={version}" for name, version in pins.items() if name != "pip"])
    (folder / "complete").write_text(Path(environment_file).read_text())
    return folder


def install_like_the_notebooks(environment, pins):
    """`pip install "lenet-course @ git+..."` from this clone; no pinned package may change."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    print(f"installing lenet-course @ git+file://{ROOT} at commit {commit}, as a notebook's first cell does"
          + (" (uncommitted changes are not part of it)" if dirty else ""))
    python = str(environment / "bin" / "python")
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "lenet-course"], capture_output=True)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--report", str(report),
             f"lenet-course @ git+file://{ROOT}"])
        installed = {normalise(item["metadata"]["name"]): item["metadata"]["version"]
                     for item in json.loads(report.read_text())["install"]}
    print(judge_install(installed, pins))


def judge_install(installed, pins):
    """What pip's install report says; SystemExit if it touched a pinned package.

    ``installed`` maps each package pip installed to its version. Any pinned name among them
    was upgraded, downgraded or reinstalled: Colab's own copy would be replaced.
    """
    changed = {name: version for name, version in installed.items() if name in pins}
    if changed:
        lines = [f"  {name}: pinned {pins[name]}, pip installed {version}" for name, version in changed.items()]
        raise SystemExit("FAIL: installing the package changed the learner's own packages:\n" + "\n".join(lines))
    extra = sorted(f"{name} {version}" for name, version in installed.items() if name != "lenet-course")
    return "pip left every pinned package as it was" + (f"; it added: {', '.join(extra)}" if extra else "")


def run_package_tests(environment):
    python = str(environment / "bin" / "python")
    run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"] + pinned_in_requirements(TEST_TOOLS))
    command = [python, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]
    command += [f"--ignore={path}" for path in BUILD_TOOL_TESTS]
    print("package tests:", " ".join(command[1:]), flush=True)
    run(command, cwd=ROOT)


# Each kernel talks over Unix sockets in a folder of its own (the package's settings, installed
# here by step 2): two kernels starting at once over TCP can draw the same free port.
RUNNER = r"""
import re, sys, tempfile, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from lenet_course.kernel import unix_socket_settings
path, cwd = sys.argv[1], sys.argv[2]
notebook = nbformat.read(path, as_version=4)
start = time.time()
try:
    with tempfile.TemporaryDirectory() as sockets:
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}},
                       config=unix_socket_settings(sockets)).execute()
except CellExecutionError as error:
    cell = next((c for c in notebook.cells if c.get("outputs") and any(o.get("output_type") == "error"
                 for o in c.outputs)), None)
    source = cell.source.strip().splitlines()[:4] if cell else []
    print("  in the cell starting:", *("    " + line for line in source), sep="\n")
    print("  " + re.sub(r"\x1b\[[0-9;]*m", "", str(error).strip().splitlines()[-1])[:500])
    sys.exit(1)
except CellTimeoutError as error:  # before the kernel's failures below: the notebook's doing
    print("  " + str(error).strip()[:1000].replace("\n", "\n  "))
    sys.exit(1)
except Exception as error:  # the kernel did not start or died
    print(f"  the kernel failed: {type(error).__name__}: {error}"[:500])
    sys.exit(1)
print(f"{time.time() - start:6.1f} s")
"""


def execute_notebooks(environment, notebooks, jobs=2):
    """Each notebook in a fresh kernel and an empty folder; returns the ones that failed.

    ``jobs`` notebooks run side by side: much of a notebook's time is its kernel starting and
    importing TensorFlow on one core. They share one trained-model cache, empty at the start.
    """
    python = str(environment / "bin" / "python")
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, LENET_COURSE_CACHE=str(Path(scratch) / "cache"), MPLBACKEND="agg")
        env.pop("PYTHONPATH", None)

        def execute(notebook):
            folder = Path(tempfile.mkdtemp(dir=scratch))
            return subprocess.run([python, "-c", RUNNER, str(Path(notebook).resolve()), str(folder)],
                                  cwd=folder, env=env, capture_output=True, text=True)

        failed = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for notebook, result in zip(notebooks, pool.map(execute, notebooks)):
                if result.returncode == 0:
                    print(f"  {notebook:<45} {result.stdout.strip().splitlines()[-1]}", flush=True)
                else:
                    print(f"  {notebook:<45} FAILED\n{result.stdout.rstrip() or result.stderr.strip()[-2000:]}")
                    failed.append(notebook)
    return failed


def run(command, **kwargs):
    result = subprocess.run(command, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(map(str, command))} exited with {result.returncode}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("environment_file")
    parser.add_argument("--pytest", action="store_true", help="also run the package tests there")
    parser.add_argument("--notebooks", nargs="*", default=[], help="notebooks to execute there")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run side by side (default 2)")
    args = parser.parse_args(argv)
    start = time.time()
    version, pins = read_environment_file(args.environment_file)
    environment = build_environment(args.environment_file, find_python(version), pins)
    install_like_the_notebooks(environment, pins)
    if args.pytest:
        run_package_tests(environment)
    print(f"executing {len(args.notebooks)} notebooks in {environment.name}:", flush=True)
    failed = execute_notebooks(environment, args.notebooks, args.jobs)
    minutes = (time.time() - start) / 60
    if failed:
        raise SystemExit(f"FAIL: {len(failed)} of {len(args.notebooks)} notebooks failed in "
                         f"{args.environment_file}: {', '.join(failed)}")
    print(f"{len(args.notebooks)} passed, 0 failed in {args.environment_file} ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
