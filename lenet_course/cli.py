"""The ``lenet-course`` command: grade submissions, generate the exercises, pack a Gradescope autograder.

``lenet-course grade SUBMISSION.ipynb [MORE ...] --out DIR``
    Run and grade notebooks (``lenet_course.grading``); writes ``DIR/<name>.json``,
    ``DIR/grades.csv`` and, with ``--gradescope``, ``DIR/results.json``. Exits 0
    whenever it wrote reports, 2 for a usage error.

``lenet-course exercises [--check]``
    Write ``exercises/NAME.md`` and ``.ipynb`` from ``solutions/NAME.md``, and
    ``solutions/NAME.ipynb`` too. In a solution, the lines between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become a stub in the exercise:
    ``name = ...`` for each answer they set at the top level of a cell, or
    ``raise NotImplementedError`` inside a function; their ``### HINT:`` lines
    stay as hints. Cells tagged ``solution-only`` are left out of the exercise;
    ``raises-in-exercise`` becomes ``raises-exception`` there (for nbval).
    ``--check`` writes nothing and exits 1 when a committed file differs.

``lenet-course autograder --assignment NAME --out autograder.zip``
    A Gradescope autograder (``setup.sh``, ``run_autograder``) for one exercise.
"""

import argparse
import ast
import copy
import difflib
import hashlib
import stat
import sys
import textwrap
import time
import zipfile
from collections import Counter
from pathlib import Path

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"
SOLUTION_ONLY, RAISES_IN_EXERCISE, RAISES = "solution-only", "raises-in-exercise", "raises-exception"
REPOSITORY = "https://github.com/lenet-course/lenet5-layer-by-layer"


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args, parser)


def _parser():
    parser = argparse.ArgumentParser(prog="lenet-course", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")

    grade = commands.add_parser("grade", help="run and grade submitted notebooks")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help=".ipynb files, or folders whose .ipynb files are graded")
    grade.add_argument("--out", required=True, metavar="DIR", help="folder for the reports")
    grade.add_argument("--assignment", choices=_notebooks(), help="the exercise they answer "
                       "(default: from each file's name, else from its check() calls)")
    _limits(grade)
    grade.add_argument("--gradescope", action="store_true",
                       help="also write DIR/results.json for Gradescope (one student's notebooks)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.set_defaults(run=_grade)

    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/")
    exercises.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 if the committed notebooks differ")
    exercises.add_argument("--root", default=".", help="the repository (default: here)")
    exercises.set_defaults(run=_exercises)

    autograder = commands.add_parser("autograder", help="pack a Gradescope autograder zip")
    autograder.add_argument("--assignment", required=True, choices=_notebooks())
    autograder.add_argument("--out", default="autograder.zip", metavar="ZIP")
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


def _notebooks():
    from .checks import notebooks

    return notebooks()


# ---------------------------------------------------------------------------------------
# grade


def _grade(args, parser):
    from .grading import GradingOptions, grade_many

    options = GradingOptions(cell_timeout=args.cell_timeout, timeout=args.timeout, memory_mb=int(args.memory_mb))
    paths = submission_paths(args.submissions)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot create the report folder {out}: {error.strerror or error}")
    start = time.monotonic()
    try:
        reports = grade_many(paths, out, assignment=args.assignment, options=options,
                             gradescope=args.gradescope, progress=not args.no_progress)
    except OSError as error:  # the reports could not be written: the grader's own problem
        print(f"lenet-course grade: cannot write the reports in {out}: {error}", file=sys.stderr)
        return 2
    print(summary(reports, out, time.monotonic() - start))
    return 0


def submission_paths(arguments):
    """Files as given; a folder stands for the .ipynb files in it (or for itself, if it has none)."""
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
            kinds.add(r.status)
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


def generate_exercises(root):
    """{path: text} of every file generated from ``root/solutions/*.md``.

    That is ``exercises/NAME.md``, ``exercises/NAME.ipynb`` and ``solutions/NAME.ipynb``.
    """
    import jupytext

    root = Path(root)
    files = {}
    for source in sorted((root / "solutions").glob("*.md")):
        solution = jupytext.reads(source.read_text(), fmt="md:myst")
        try:
            exercise = exercise_from_solution(solution)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        files[root / "solutions" / f"{source.stem}.ipynb"] = _ipynb(source.read_text(), f"solutions/{source.stem}")
        markdown = _with_newline(jupytext.writes(exercise, fmt="md:myst"))
        files[root / "exercises" / f"{source.stem}.md"] = markdown
        files[root / "exercises" / f"{source.stem}.ipynb"] = _ipynb(markdown, f"exercises/{source.stem}")
    return files


def _ipynb(markdown, key):
    """The .ipynb that ``jupytext --to ipynb`` makes of ``markdown``, with stable cell ids."""
    import jupytext

    notebook = jupytext.reads(markdown, fmt="md:myst")
    for index, cell in enumerate(notebook.cells):
        cell.id = hashlib.sha1(f"{key}:{index}".encode()).hexdigest()[:8]
    return _with_newline(jupytext.writes(notebook, fmt="ipynb"))


def _with_newline(text):
    return text if text.endswith("\n") else text + "\n"


def exercise_from_solution(solution):
    """The exercise notebook: solution regions become stubs, solution-only cells go."""
    from .checks import QUESTIONS

    answers = {read.name for q in QUESTIONS.values() for read in q.reads}
    exercise = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(exercise.cells):
        tags = list(cell.metadata.get("tags", []))
        if SOLUTION_ONLY in tags:
            continue
        if cell.cell_type == "code":
            try:
                cell.source, raises = stub_solutions(cell.source, answers)
            except ValueError as error:
                raise ValueError(f"cell {index + 1}: {error}") from None
            if RAISES_IN_EXERCISE in tags or raises:
                tags = [t for t in tags if t != RAISES_IN_EXERCISE]
                tags += [RAISES] if RAISES not in tags else []
        if tags != list(cell.metadata.get("tags", [])):
            cell.metadata["tags"] = tags
        cells.append(cell)
    exercise.cells = cells
    return exercise


def stub_solutions(source, answers=()):
    """Replace every solution region of a code cell's ``source`` by a stub and its hints.

    Returns ``(new source, raises)``, ``raises`` telling whether a stub raises at the
    top level of the cell.

    Example:
        >>> text = "### BEGIN SOLUTION\\n### HINT: add.\\nx = 1 + 1\\ny = x\\n### END SOLUTION"
        >>> print(stub_solutions(text, answers={"x"})[0])
        # Your answer here. Hint: add.
        x = ...
    """
    lines, out, raises = source.split("\n"), [], False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == END:
            raise ValueError(f"'{END}' without '{BEGIN}'")
        if line.strip() != BEGIN:
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        try:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() in (BEGIN, END))
        except StopIteration:
            raise ValueError(f"'{BEGIN}' without '{END}'") from None
        if lines[end].strip() == BEGIN:
            raise ValueError(f"'{BEGIN}' inside another solution region")
        region = lines[i + 1 : end]
        hints = [r.strip()[len(HINT):].strip() for r in region if r.strip().startswith(HINT)]
        body = [r for r in region if not r.strip().startswith(HINT)]
        stub, stub_raises = _stub(body, indent, answers)
        comment = "# Your answer here." if not indent else "# Your code here."
        if hints:
            comment += " Hint: " + " ".join(hints)
        out += [indent + comment_line for comment_line in _wrap(comment, len(indent))] + stub
        raises = raises or stub_raises
        i = end + 1
    return "\n".join(out), raises


def _wrap(comment, indent):
    return textwrap.wrap(comment, width=max(40, 88 - indent), subsequent_indent="# ",
                         break_long_words=False, break_on_hyphens=False)


def _stub(body, indent, answers):
    if indent:
        return [f"{indent}raise NotImplementedError"], False
    try:
        tree = ast.parse(textwrap.dedent("\n".join(body)))
    except SyntaxError as error:
        raise ValueError(f"the solution does not parse: {error}") from None
    assigned = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id not in assigned:
                    assigned.append(name.id)
    chosen = [name for name in assigned if name in answers] or assigned
    if not chosen:
        return ["raise NotImplementedError"], True
    return [f"{name} = ..." for name in chosen], False


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
