"""Exercises generated from solutions: stubs instead of answers, hints kept, stable output."""

import re
import shutil
from pathlib import Path

import jupytext
import pytest

from lenet_course.checks import notebooks
from lenet_course.exercises import BEGIN, END, HINT, generate_exercises, stub_solutions

ROOT = Path(__file__).resolve().parents[1]
COLAB = "https://colab.research.google.com/github/lenet-course/lenet5-layer-by-layer/blob/main/exercises/{}.ipynb"


@pytest.fixture
def copy_of_repo(tmp_path):
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


@pytest.mark.parametrize("name", notebooks())
def test_an_exercise_holds_no_solution(name):
    solution = (ROOT / "solutions" / f"{name}.md").read_text()
    exercise = (ROOT / "exercises" / f"{name}.md").read_text()
    assert BEGIN in solution and BEGIN not in exercise and END not in exercise and HINT not in exercise
    for region in re.findall(rf"{BEGIN}\n(.*?)\n\s*{END}", solution, flags=re.S):
        for line in region.split("\n"):
            line = line.strip()
            if len(re.sub(r"\W", "", line)) > 3 and not line.startswith("#"):
                assert line not in exercise, f"solution line leaked into the exercise: {line}"
    assert "solution-only" in solution and "solution-only" not in exercise
    assert "raises-in-exercise" not in exercise


@pytest.mark.parametrize("name", notebooks())
def test_every_exercise_opens_in_colab(name):
    for folder in ("exercises", "solutions"):
        notebook = jupytext.read(ROOT / folder / f"{name}.md")
        assert COLAB.format(name) in notebook.cells[0].source, folder
        assert (ROOT / folder / f"{name}.ipynb").exists()


def test_stubs():
    value, raises = stub_solutions(f"x = 2\n{BEGIN}\n{HINT} think.\ny = x * 21\nz = y\n{END}\nprint(y)", {"y"})
    assert value == "x = 2\n# Your answer here. Hint: think.\ny = ...\nprint(y)" and not raises
    body, raises = stub_solutions(f"def f():\n    {BEGIN}\n    return 1\n    {END}")
    assert body == "def f():\n    # Your code here.\n    raise NotImplementedError" and not raises
    _, raises = stub_solutions(f"{BEGIN}\nprint('no assignment')\n{END}")
    assert raises
    for broken in (f"{BEGIN}\nx = 1", f"x = 1\n{END}", f"{BEGIN}\n{BEGIN}\n{END}", f"{BEGIN}\nx = (\n{END}"):
        with pytest.raises(ValueError):
            stub_solutions(broken)


def test_generated_notebooks_are_stable(copy_of_repo):
    assert generate_exercises(copy_of_repo) == generate_exercises(copy_of_repo)
