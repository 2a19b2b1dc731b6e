"""The ``lenet-course`` command: grade submissions, generate the exercises, pack a Gradescope autograder.

``lenet-course grade SUBMISSION.ipynb [MORE ...] --out DIR [--jobs N] [--sandbox auto|bwrap|none] [--resume]``
    Run and grade notebooks (``lenet_course.grading``), each in a sandbox of its own,
    ``N`` at a time; writes ``DIR/<name>.json``, ``DIR/grades.csv`` and, with
    ``--gradescope``, ``DIR/results.json``. ``--resume`` skips the submissions already
    graded there by the same grader with the same options. Exits 0 whenever it wrote
    reports, 2 for a usage error (or ``--sandbox bwrap`` without bubblewrap), 130 when
    interrupted (Ctrl-C), 143 when terminated (``kill``, SIGTERM): the reports written so
    far are complete; run again with ``--resume``.

``lenet-course exercises [--check]``
    Write ``exercises/NAME.md`` and ``.ipynb`` from ``solutions/NAME.md``, and
    ``solutions/NAME.ipynb`` too (``lenet_course.exercises``: solution regions become
    stubs, hints stay). ``--check`` writes nothing and exits 1 when a committed file differs.

``lenet-course autograder --assignment NAME --out autograder.zip``
    A Gradescope autograder (``setup.sh``, ``run_autograder``) for one exercise.
"""

import argparse
import difflib
import signal
import stat
import sys
import textwrap
import time
import zipfile
from collections import Counter
from pathlib import Path

from .exercises import generate_exercises
REPOSITORY = "https://github.com/lenet-course/lenet5-layer-by-layer"


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args, parser)


GRADE_EXAMPLE = """example, a class's notebooks in submissions/:
  lenet-course grade submissions/ --out grades/
writes grades/grades.csv (one row per student) and one grades/<name>.json each"""


def build_parser():
    """The command's subcommands and options, each with what it does.

    Example:
        >>> build_parser().parse_args(["grade", "submissions/", "--out", "reports/"]).jobs is None
        True
    """
    parser = argparse.ArgumentParser(
        prog="lenet-course", epilog=GRADE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grade submitted notebooks, generate the exercises, pack a Gradescope autograder.")
    commands = parser.add_subparsers(dest="command")
    notebooks = _notebooks()
    names = ", ".join(notebooks)

    grade = commands.add_parser("grade", help="run and grade submitted notebooks", epilog=GRADE_EXAMPLE,
                                description="Run each submitted notebook in a sandbox of its own and grade\n"
                                "its answers with the exercise's checks.",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help=".ipynb files, or folders whose .ipynb files are graded")
    grade.add_argument("--out", required=True, metavar="DIR", help="folder for the reports")
    grade.add_argument("--assignment", choices=notebooks, metavar="NAME",
                       help=f"the exercise they answer, one of: {names} (default: from each file's "
                       "name, else from its check() calls)")
    _limits(grade)
    grade.add_argument("--gradescope", action="store_true",
                       help="also write DIR/results.json for Gradescope (one student's notebooks)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                       help="submissions graded at the same time (default: the number of cores)")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                       help="run each submission in a bubblewrap sandbox: auto (where it works, else say so), "
                       "bwrap (refuse to grade without it), none (default: %(default)s)")
    grade.add_argument("--resume", action="store_true",
                       help="after an interruption (Ctrl-C, kill, a crash): skip submissions whose report "
                       "in DIR is from this grader with these options")
    grade.set_defaults(run=_grade)

    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/",
                                    description="Write exercises/NAME.md and .ipynb from solutions/NAME.md: "
                                    "each solution becomes a stub, its hints stay.")
    exercises.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 if the committed notebooks differ")
    exercises.add_argument("--root", default=".", help="the repository (default: here)")
    exercises.set_defaults(run=_exercises)

    autograder = commands.add_parser("autograder", help="pack a Gradescope autograder zip",
                                     description="Pack a Gradescope autograder (setup.sh, run_autograder) "
                                     "that grades one exercise as `lenet-course grade` does.")
    autograder.add_argument("--assignment", required=True, choices=notebooks, metavar="NAME",
                            help=f"the exercise it grades, one of: {names}")
    autograder.add_argument("--out", default="autograder.zip", metavar="ZIP",
                            help="the zip to write (default: %(default)s)")
    autograder.add_argument("--package", default=f"lenet-course @ git+{REPOSITORY}",
                            help="what setup.sh installs with pip (default: %(default)s)")
    _limits(autograder)
    autograder.set_defaults(run=_autograder)
    return parser


def _limits(parser):
    from .grading import GradingOptions

    defaults = GradingOptions()
    parser.add_argument("--cell-timeout", type=_positive, default=defaults.cell_timeout, metavar="S",
                        help="seconds per cell (default: %(default)s)")
    parser.add_argument("--timeout", type=_positive, default=defaults.timeout, metavar="S",
                        help="seconds for all of a submission's cells (default: %(default)s)")
    parser.add_argument("--memory-mb", type=_positive, default=defaults.memory_mb, metavar="MB",
                        help="memory cap of a submission's kernel (default: %(default)s)")


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _notebooks():
    from .checks import notebooks

    return notebooks()


# ---------------------------------------------------------------------------------------
# grade


def _grade(args, parser):
    from .grading import GradingOptions, SandboxUnavailable, grade_many

    options = GradingOptions(cell_timeout=args.cell_timeout, timeout=args.timeout, memory_mb=int(args.memory_mb),
                             sandbox=args.sandbox)
    paths = submission_paths(args.submissions)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot create the report folder {out}: {error.strerror or error}")
    start = time.monotonic()
    terminated = []

    def stop(signum, frame):  # kill (SIGTERM, a batch system's time limit) stops it as Ctrl-C does
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        reports = grade_many(paths, out, assignment=args.assignment, options=options, gradescope=args.gradescope,
                             progress=not args.no_progress, jobs=args.jobs, resume=args.resume)
    except SandboxUnavailable as error:
        print(f"lenet-course grade: {error}; install bubblewrap, or pass --sandbox auto or none", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nlenet-course grade: {'terminated' if terminated else 'interrupted'}; the reports in {out}/ "
              "are complete, run the same command with --resume to grade the rest", file=sys.stderr)
        return 128 + signal.SIGTERM if terminated else 130
    except OSError as error:  # the reports could not be written: the grader's own problem
        print(f"lenet-course grade: cannot write the reports in {out}: {error}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(summary(reports, out, time.monotonic() - start))
    return 0


def submission_paths(arguments):
    """Files as given; a folder stands for the .ipynb files in it (or for itself, if it has none).

    Example:
        >>> [str(p) for p in submission_paths(["alice.ipynb", "no-such-folder"])]
        ['alice.ipynb', 'no-such-folder']
    """
    paths = []
    for argument in arguments:
        path = Path(argument)
        found = sorted(p for p in path.glob("*.ipynb") if p.is_file()) if path.is_dir() else []
        paths.extend(found or [path])
    return paths


def summary(reports, out, seconds):
    """A few lines for the terminal: the score of each submission and the failures by reason."""
    width = min(max((len(r.name) for r in reports), default=4), 40)
    lines = [f"graded {len(reports)} submission(s) in {seconds:.1f} s; reports in {out}/"]
    unconfined = sorted({r.sandbox for r in reports if "NOT SANDBOXED" in r.sandbox})
    lines += [f"WARNING: {note}" for note in unconfined]
    for r in reports:
        line = f"  {r.name[:width]:<{width}}  {r.score:g} / {r.max_score:g}"
        if r.status != "graded":
            line += f"  {r.status}: {r.reason}"
        elif r.reason:
            line += f"  ({r.reason})"
        lines.append(line[:160])
    reasons = Counter()
    for r in reports:
        kinds = {e["kind"] for e in r.errors}
        if r.status != "graded":
            kinds.add(r.status)  # its answers were never read: not also "missing answer"
        else:
            kinds |= {f"{q['status']} answer" for q in r.questions if q["status"] in ("missing", "blank", "error")}
        reasons.update(kinds)
    if reasons:
        lines.append("failures by reason (submissions): "
                     + ", ".join(f"{kind} {count}" for kind, count in sorted(reasons.items())))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# exercises


def _exercises(args, parser):
    root = Path(args.root)
    if not (root / "solutions").is_dir():
        parser.error(f"no solutions/ folder in {root.resolve()}")
    try:
        files = generate_exercises(root)
    except ValueError as error:
        print(f"lenet-course exercises: {error}", file=sys.stderr)
        return 1
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    generated = set((root / "exercises").glob("*.md")) | set((root / "exercises").glob("*.ipynb"))
    orphans = sorted(generated - set(files))
    if args.check:
        for path in stale:
            print(f"{path.relative_to(root)} differs from what solutions/ generates", file=sys.stderr)
            if path.exists():
                diff = difflib.unified_diff(path.read_text().splitlines(), files[path].splitlines(),
                                            "committed", "generated", lineterm="", n=1)
                print("\n".join(list(diff)[:20]), file=sys.stderr)
        for path in orphans:
            print(f"{path.relative_to(root)} has no solution in solutions/", file=sys.stderr)
        if stale or orphans:
            print("run `lenet-course exercises` and commit the result", file=sys.stderr)
            return 1
        print(f"exercises/ and solutions/ are up to date ({len(files)} files)")
        return 0
    (root / "exercises").mkdir(exist_ok=True)
    for path in stale:
        path.write_text(files[path])
        print(f"wrote {path.relative_to(root)}")
    for path in orphans:
        print(f"note: {path.relative_to(root)} has no solution in solutions/", file=sys.stderr)
    if not stale:
        print(f"exercises/ and solutions/ are up to date ({len(files)} files)")
    return 0


# ---------------------------------------------------------------------------------------
# autograder


def _autograder(args, parser):
    try:
        path = write_autograder(args.out, args.assignment, package=args.package, cell_timeout=args.cell_timeout,
                                timeout=args.timeout, memory_mb=int(args.memory_mb))
    except OSError as error:
        parser.error(f"cannot write {args.out}: {error.strerror or error}")
    print(f"wrote {path}: upload it as the Gradescope autograder of {args.assignment}")
    return 0


def write_autograder(path, assignment, *, package, cell_timeout, timeout, memory_mb):
    """Write a Gradescope autograder zip for ``assignment``; returns its path."""
    setup = textwrap.dedent(f"""\
        #!/usr/bin/env bash
        # Gradescope runs this once, when it builds the autograder image: install the grader.
        set -euo pipefail
        command -v pip3 > /dev/null || (apt-get update -qq && apt-get install -y -qq python3-pip)
        python3 -m pip install --quiet "{package}"
        """)
    run = textwrap.dedent(f"""\
        #!/usr/bin/env bash
        # Gradescope runs this for every submission: grade the notebook(s) in /autograder/submission
        # into /autograder/results/results.json.
        export LENET_COURSE_DATA=sample TF_CPP_MIN_LOG_LEVEL=3 LENET_COURSE_QUIET=1
        cd /autograder
        lenet-course grade /autograder/submission --assignment {assignment} --out /autograder/results \\
            --gradescope --no-progress --cell-timeout {cell_timeout:g} --timeout {timeout:g} --memory-mb {memory_mb}
        """)
    path = Path(path)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", setup), ("run_autograder", run)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return path


if __name__ == "__main__":
    sys.exit(main())
