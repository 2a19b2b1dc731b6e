"""The `lenet-course` command: `exercises --check`, grading, the Gradescope zip."""

import json
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lenet_course.cli import build_parser, main, write_autograder

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


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
    reasons = printed.split("failures by reason (submissions): ")[1].strip()
    assert reasons == "invalid 1, missing answer 1"  # the file that is not JSON only as invalid
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
    ["grade", "a.ipynb", "--out", "x", "--jobs", "0"],
    ["grade", "a.ipynb", "--out", "x", "--sandbox", "docker"],
    ["autograder"],
    ["no-such-command"],
])
def test_usage_errors_exit_with_2(arguments, capsys):
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    assert exit.value.code == 2


def test_without_bubblewrap_auto_says_so_and_bwrap_refuses(tmp_path, capsys, monkeypatch):
    import lenet_course.sandbox as sandbox

    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "bubblewrap is not installed")
    submission = FIXTURES / "01-not-json.ipynb"
    assert main(["grade", str(submission), "--out", str(tmp_path / "a"), "--sandbox", "bwrap"]) == 2
    assert "cannot sandbox submissions: bubblewrap is not installed" in capsys.readouterr().err
    assert not (tmp_path / "a" / "01-not-json.json").exists()
    assert main(["grade", str(submission), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "NOT SANDBOXED" in captured.err and "NOT SANDBOXED" in captured.out
    assert "NOT SANDBOXED" in json.loads((tmp_path / "b" / "01-not-json.json").read_text())["sandbox"]


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "grade" in capsys.readouterr().out


def test_every_option_of_every_command_says_what_it_does(capsys):
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command").choices
    for name, command in commands.items():
        options = [action for action in command._actions if action.option_strings]
        assert [action.dest for action in options if not action.help] == [], name
    with pytest.raises(SystemExit):  # a mistyped name: the error lists the exercises
        main(["grade", "x.ipynb", "--out", "reports", "--assignment", "05-s4"])
    assert "invalid choice: '05-s4'" in capsys.readouterr().err.replace('"', "'")


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
