"""The `lenet-course` command: exercises generated from solutions, grading, the Gradescope zip."""

import json
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import pytest

from lenet_course.checks import notebooks
from lenet_course.cli import BEGIN, END, HINT, generate_exercises, main, stub_solutions, write_autograder

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
COLAB = "https://colab.research.google.com/github/lenet-course/lenet5-layer-by-layer/blob/main/exercises/{}.ipynb"


def test_the_console_script_is_installed():
    script = Path(sys.executable).with_name("lenet-course")
    assert script.exists()
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "grade" in result.stdout and "exercises" in result.stdout


# ---- exercises/ generated from solutions/ -------------------------------------------------

def test_committed_exercises_are_what_the_solutions_generate(capsys):
    assert main(["exercises", "--check", "--root", str(ROOT)]) == 0, capsys.readouterr().err


@pytest.fixture
def copy_of_repo(tmp_path):
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_check_fails_when_an_exercise_was_edited_by_hand(copy_of_repo, capsys):
    exercise = copy_of_repo / "exercises" / "04_c3_connection_table.md"
    exercise.write_text(exercise.read_text().replace("c3_params = ...", "c3_params = 'my answer'"))
    assert main(["exercises", "--check", "--root", str(copy_of_repo)]) == 1
    assert "exercises/04_c3_connection_table.md differs" in capsys.readouterr().err
    assert main(["exercises", "--root", str(copy_of_repo)]) == 0  # regenerate
    assert main(["exercises", "--check", "--root", str(copy_of_repo)]) == 0


def test_check_fails_when_a_solution_changed_or_an_exercise_has_none(copy_of_repo, capsys):
    solution = copy_of_repo / "solutions" / "02_c1_convolution.md"
    solution.write_text(solution.read_text().replace("## 4. Experiment: what an edge", "## 4. Experiment: an edge"))
    assert main(["exercises", "--check", "--root", str(copy_of_repo)]) == 1
    err = capsys.readouterr().err
    assert "exercises/02_c1_convolution.md differs" in err and "solutions/02_c1_convolution.ipynb" in err
    main(["exercises", "--root", str(copy_of_repo)])
    (copy_of_repo / "exercises" / "99_orphan.md").write_text("# no solution\n")
    assert main(["exercises", "--check", "--root", str(copy_of_repo)]) == 1
    assert "99_orphan.md has no solution" in capsys.readouterr().err


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


# ---- grade ----------------------------------------------------------------------------------

def test_grade_writes_reports_and_a_summary(tmp_path, capsys):
    out = tmp_path / "reports"
    submissions = [str(FIXTURES / "02-not-json.ipynb"), str(FIXTURES / "02-deleted-cells.ipynb")]
    code = main(["grade", *submissions, "--out", str(out), "--gradescope", "--cell-timeout", "10",
                 "--timeout", "60", "--no-progress"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"02-not-json.json", "02-deleted-cells.json", "grades.csv",
                                               "results.json"}
    printed = capsys.readouterr().out
    assert "graded 2 submission(s)" in printed
    assert re.search(r"02-deleted-cells\s+1 / 5", printed) and re.search(r"02-not-json\s+0 / 5\s+invalid", printed)
    assert "failures by reason" in printed and "invalid 1" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 1 and len(results["tests"]) == 10


def test_grade_takes_a_folder_and_reports_an_empty_one(tmp_path, capsys):
    empty = tmp_path / "submission"
    empty.mkdir()
    out = tmp_path / "results"
    assert main(["grade", str(empty), "--out", str(out), "--assignment", "02_c1_convolution",
                 "--gradescope", "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 0 and len(results["tests"]) == 5
    assert "folder" in results["output"]


@pytest.mark.parametrize("arguments", [
    ["grade", "--out", "x"],                                   # no submission
    ["grade", "a.ipynb"],                                      # no --out
    ["grade", "a.ipynb", "--out", "x", "--cell-timeout", "0"],
    ["grade", "a.ipynb", "--out", "x", "--timeout", "soon"],
    ["grade", "a.ipynb", "--out", "x", "--assignment", "99_nothing"],
    ["autograder"],
    ["no-such-command"],
])
def test_usage_errors_exit_with_2(arguments, capsys):
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    assert exit.value.code == 2


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "grade" in capsys.readouterr().out


# ---- autograder ------------------------------------------------------------------------------

def test_autograder_zip(tmp_path, capsys):
    path = tmp_path / "autograder.zip"
    assert main(["autograder", "--assignment", "04_c3_connection_table", "--out", str(path), "--cell-timeout", "60"]) == 0
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"setup.sh", "run_autograder"}
        for info in archive.infolist():
            assert (info.external_attr >> 16) & stat.S_IXUSR, f"{info.filename} is not executable"
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    assert setup.startswith("#!/usr/bin/env bash") and "pip install" in setup and "lenet-course" in setup
    assert run.startswith("#!/usr/bin/env bash")
    assert "lenet-course grade /autograder/submission" in run and "--assignment 04_c3_connection_table" in run
    assert "--out /autograder/results" in run and "--gradescope" in run and "--cell-timeout 60" in run
    result = subprocess.run(["bash", "-n", "-c", run], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_autograder_package_spec_is_used(tmp_path):
    path = write_autograder(tmp_path / "a.zip", "02_c1_convolution", package="lenet-course==9.9",
                            cell_timeout=5, timeout=50, memory_mb=1024)
    with zipfile.ZipFile(path) as archive:
        assert '"lenet-course==9.9"' in archive.read("setup.sh").decode()
        assert "--memory-mb 1024" in archive.read("run_autograder").decode()
