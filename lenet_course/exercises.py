r"""Exercise notebooks generated from the solutions: solution regions become stubs.

``generate_exercises(root)`` reads every ``root/solutions/NAME.md`` and returns the text of
``exercises/NAME.md``, ``exercises/NAME.ipynb`` and ``solutions/NAME.ipynb``. In a
solution, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become a
stub in the exercise: ``name = ...`` for each answer they set at the top level of a
cell, or ``raise NotImplementedError`` inside a function; their ``### HINT:`` lines stay
as hints. Cells tagged ``solution-only`` are left out of the exercise;
``raises-in-exercise`` becomes ``raises-exception`` there (for nbval).
``lenet-course exercises`` writes the files (``--check`` compares them).

Example:
    >>> text = "### BEGIN SOLUTION\n### HINT: add.\nx = 1 + 1\n### END SOLUTION"
    >>> print(stub_solutions(text, answers={"x"})[0])
    # Your answer here. Hint: add.
    x = ...
"""

import ast
import copy
import hashlib
import textwrap
from pathlib import Path

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"
SOLUTION_ONLY, RAISES_IN_EXERCISE, RAISES = "solution-only", "raises-in-exercise", "raises-exception"


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
