"""The grader: solutions earn full marks, untouched exercises 0, broken submissions what they earn."""

import csv
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

from lenet_course import grading
from lenet_course.checks import QUESTIONS, notebooks, questions_for
from lenet_course.grading import GradingOptions, grade_many, grade_submission, gradescope_results

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# Small limits, so that the broken submissions (an endless loop...) take seconds, not minutes.
FAST = GradingOptions(cell_timeout=10, timeout=60, sandbox="bwrap")  # fails loudly without bubblewrap

_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)
BROKEN = make_fixtures.EXPECTED
NOT_NOTEBOOKS = make_fixtures.NOT_NOTEBOOKS
ASSIGNMENT = "02_c1_convolution"
FULL_MARKS = sum(question.points for question in questions_for(ASSIGNMENT))


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Grade every fixture in one batch, as an instructor would."""
    out = tmp_path_factory.mktemp("reports")
    paths = sorted(FIXTURES.glob("*.ipynb"))
    reports = grade_many(paths, out, options=FAST, gradescope=True, progress=False)
    return out, {report.name: report for report in reports}


def test_fixtures_are_what_make_fixtures_writes():
    for name, (sources, _, _) in BROKEN.items():
        committed = nbformat.read(FIXTURES / f"{name}.ipynb", as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in make_fixtures.notebook(sources).cells], name
    for name, (content, _) in NOT_NOTEBOOKS.items():
        assert (FIXTURES / f"{name}.ipynb").read_bytes() == content


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_submission_gets_what_its_untouched_parts_earn(broken, name):
    out, reports = broken
    _, right, problem = BROKEN[name]
    report = reports[name]
    saved = json.loads((out / f"{name}.json").read_text())
    assert saved == json.loads(json.dumps(report.to_dict()))
    assert report.status == "graded" and report.assignment == ASSIGNMENT
    assert {q["name"] for q in report.questions if q["status"] == "passed"} == right
    expected = sum(QUESTIONS[q].points for q in right)
    assert report.score == pytest.approx(expected)
    assert report.max_score == sum(q.points for q in questions_for(ASSIGNMENT))
    for q in report.questions:
        assert q["feedback"], q
    if problem is not None:
        assert problem in {e["kind"] for e in report.errors}, report.errors
        assert report.reason, "a problem needs a readable reason"
    # each run ends within its limits: all cells, plus one cell timeout per answer read, plus start-up
    assert report.time_seconds < FAST.timeout + 3 * FAST.cell_timeout + 30


@pytest.mark.parametrize("name", sorted(NOT_NOTEBOOKS))
def test_a_file_that_is_not_a_notebook_still_gets_a_report(broken, name):
    out, reports = broken
    report = reports[name]
    assert (out / f"{name}.json").exists()
    assert report.status == "invalid" and report.score == 0
    assert report.max_score == len(questions_for(ASSIGNMENT))
    assert NOT_NOTEBOOKS[name][1] in report.reason
    assert [q["name"] for q in report.questions] == [q.name for q in questions_for(ASSIGNMENT)]


def test_the_reasons_are_readable(broken):
    _, reports = broken
    assert "timed out after 10 s" in reports["02-infinite-loop"].reason
    assert reports["02-infinite-loop"].kernel_restarts == 1  # it ignored the interrupt
    assert "sys.exit" in reports["02-sys-exit"].reason
    assert "stopped the kernel" in reports["02-os-exit"].reason and reports["02-os-exit"].kernel_restarts == 1
    assert "MB of output" in reports["02-output-flood"].reason
    assert "memory" in reports["02-memory-hog"].reason
    assert "SyntaxError" in reports["02-syntax-error"].reason
    deleted = {q["name"]: q for q in reports["02-deleted-cells"].questions}
    assert deleted["c1-small-counts"]["status"] == "missing"
    assert "deleted" in deleted["c1-small-counts"]["feedback"]
    blank = reports["02-blank-answers"]
    assert {q["status"] for q in blank.questions} == {"blank"} and blank.score == 0


def test_monkeypatching_the_checks_does_not_change_the_grade(broken):
    _, reports = broken
    report = reports["02-monkeypatching"]
    assert report.errors == []  # its patches ran without error, and changed nothing here
    status = {q["name"]: q["status"] for q in report.questions}
    assert status == {"conv-output-size": "failed", "c1-counts": "failed", "c1-small-counts": "passed",
                      "conv2d": "missing", "strongest-kernel": "missing"}
    assert report.score == QUESTIONS["c1-small-counts"].points


def test_grades_csv_has_a_row_per_submission(broken):
    out, reports = broken
    with open(out / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(reports) == len(list(FIXTURES.glob("*.ipynb")))
    by_name = {row["name"]: row for row in rows}
    for name, report in reports.items():
        assert float(by_name[name]["score"]) == pytest.approx(report.score)
        assert by_name[name]["status"] == report.status
    assert {q.name for q in questions_for(ASSIGNMENT)} <= set(rows[0])


GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def assert_gradescope_format(results):
    """The fields Gradescope reads from results.json, with their types."""
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], (int, float)) and results["execution_time"] >= 0
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert isinstance(test["output"], str)
        assert test["visibility"] in GRADESCOPE_VISIBILITY
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_gradescope_results_json(broken):
    out, reports = broken
    results = json.loads((out / "results.json").read_text())
    assert_gradescope_format(results)
    assert len(results["tests"]) == sum(len(r.questions) for r in reports.values())
    single = gradescope_results([reports["02-syntax-error"]])
    assert_gradescope_format(single)
    assert single["score"] == reports["02-syntax-error"].score
    assert [t["status"] for t in single["tests"]] == ["passed", "failed", "passed", "failed", "failed"]


def test_the_total_timeout_stops_a_slow_submission(tmp_path):
    cells = ["import time\ntime.sleep(3)"] * 4 + ["c1_params = 156\nc1_connections = 122_304"]
    path = tmp_path / "02-slow.ipynb"
    nbformat.write(make_fixtures.notebook(cells), path)
    report = grade_submission(path, options=GradingOptions(cell_timeout=10, timeout=4))
    kinds = [e["kind"] for e in report.errors]
    assert "not-run" in kinds and "total time limit" in report.reason
    assert report.score == 0  # the answer came after the time ran out
    assert report.time_seconds < 4 + 3 * 10 + 30


def test_an_unknown_assignment_is_said(tmp_path):
    path = tmp_path / "homework.ipynb"
    nbformat.write(make_fixtures.notebook(["x = 1"]), path)
    report = grade_submission(path, options=FAST)
    assert report.status == "invalid" and "--assignment" in report.reason


def test_the_assignment_is_recognised_from_check_calls(tmp_path):
    path = tmp_path / "my homework.ipynb"
    nbformat.write(make_fixtures.notebook(["from lenet_course.checks import check",
                                           "c3_params = None", 'check("c3-counts", c3_params, 1)']), path)
    report = grade_submission(path, options=FAST)
    assert report.assignment == "04_c3_connection_table" and report.status == "graded" and report.score == 0


# ---- the real notebooks: every solution full marks, every untouched exercise 0 ------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    options = GradingOptions(cell_timeout=300, timeout=600)
    solutions = grade_many(sorted((ROOT / "solutions").glob("*.ipynb")), out / "solutions", options=options,
                           progress=False)
    exercises = grade_many(sorted((ROOT / "exercises").glob("*.ipynb")), out / "exercises", options=options,
                           progress=False)
    return out, solutions, exercises


def test_every_solution_scores_full_marks(course):
    _, solutions, _ = course
    assert [r.assignment for r in solutions] == notebooks()
    for report in solutions:
        assert report.status == "graded" and report.errors == [], (report.name, report.errors)
        assert report.score == report.max_score == len(questions_for(report.assignment)), report.questions


def test_every_untouched_exercise_scores_zero_and_gets_a_report(course):
    out, _, exercises = course
    assert [r.assignment for r in exercises] == notebooks()
    for report in exercises:
        assert (out / "exercises" / f"{report.name}.json").exists()
        assert report.status == "graded" and report.score == 0 and report.max_score > 0
        assert {q["status"] for q in report.questions} == {"blank"}, report.questions
        # the cells that need an answer raise, as tagged; nothing else goes wrong
        assert {e["kind"] for e in report.errors} <= {"exception"}


def test_grading_works_from_inside_an_event_loop(tmp_path):
    """An instructor may call the grader from a notebook, where an event loop is already running."""
    import asyncio

    path = tmp_path / "02-small.ipynb"
    nbformat.write(make_fixtures.notebook(["c1_params = 156\nc1_connections = 122_304"]), path)

    async def inside_a_loop():
        return grade_submission(path, options=FAST)

    report = asyncio.run(inside_a_loop())
    assert report.status == "graded" and report.score == 1


# ---- the broken-submission guarantees hold for every exercise notebook ------------------------

BREAKAGES = ["x = (", "raise ValueError('a mistake of mine')", "import sys\nsys.exit(3)"]


def broken_solution(notebook):
    """A solution with three broken cells of its own and its first answer's cell broken.

    Returns the notebook and the question whose answer was broken.
    """
    solution = nbformat.read(ROOT / "solutions" / f"{notebook}.ipynb", as_version=4)
    first = questions_for(notebook)[0]
    name = first.reads[0].name
    sets_it = re.compile(rf"^\s*(def\s+{name}\b|{name}\s*=)", re.M)
    code = [i for i, cell in enumerate(solution.cells) if cell.cell_type == "code"]
    answer = next(i for i in code if "### BEGIN SOLUTION" in solution.cells[i].source
                  and sets_it.search(solution.cells[i].source))
    solution.cells[answer].source = "(\n" + solution.cells[answer].source  # a syntax error
    imports = code[1]  # code[0] is the Colab install cell
    solution.cells[imports + 1:imports + 1] = [nbformat.v4.new_code_cell(s) for s in BREAKAGES]
    return solution, first


@pytest.fixture(scope="module")
def broken_course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    broken = {}
    for notebook in notebooks():
        submission, question = broken_solution(notebook)
        nbformat.write(submission, folder / f"{notebook}.ipynb")
        broken[notebook] = question
    reports = grade_many(sorted(folder.glob("*.ipynb")), folder / "reports",
                         options=GradingOptions(cell_timeout=300, timeout=600), progress=False)
    return broken, {report.assignment: report for report in reports}


@pytest.mark.parametrize("notebook", notebooks())
def test_a_broken_solution_keeps_every_answer_it_did_not_break(broken_course, notebook):
    broken, reports = broken_course
    report, question = reports[notebook], broken[notebook]
    assert report.status == "graded"
    status = {q["name"]: q["status"] for q in report.questions}
    assert status.pop(question.name) != "passed"
    assert set(status.values()) == {"passed"}, report.questions
    assert report.score == report.max_score - question.points
    assert {"syntax-error", "exception", "exit"} <= {e["kind"] for e in report.errors}, report.errors
    assert report.reason


# ---- a class: in parallel, resumable --------------------------------------------------------

SMALL_CLASS = ["02-raising-cell", "02-sys-exit", "02-deleted-cells", "02-monkeypatching", "02-not-json"]


def without_times(report):
    return {key: value for key, value in report.to_dict().items() if key != "time_seconds"}


def test_reports_do_not_depend_on_the_number_of_jobs(tmp_path):
    paths = [FIXTURES / f"{name}.ipynb" for name in SMALL_CLASS]
    options = GradingOptions(cell_timeout=10, timeout=60, sandbox="bwrap", seed=7)
    serial = grade_many(paths, tmp_path / "one", options=options, jobs=1, progress=False)
    parallel = grade_many(paths, tmp_path / "two", options=options, jobs=2, progress=False)
    assert [r.name for r in parallel] == SMALL_CLASS  # in the order given, whatever finished first
    assert [without_times(r) for r in serial] == [without_times(r) for r in parallel]
    for folder in ("one", "two"):
        with open(tmp_path / folder / "grades.csv", newline="") as file:
            rows = [{k: v for k, v in row.items() if k != "time_seconds"} for row in csv.DictReader(file)]
        assert [row["name"] for row in rows] == SMALL_CLASS
    assert rows == [{k: v for k, v in row.items() if k != "time_seconds"}
                    for row in csv.DictReader(open(tmp_path / "one" / "grades.csv", newline=""))]


def write_honest_class(folder, size, slow_seconds=0):
    folder.mkdir()
    cells = list(make_fixtures.FULL_MARKS)
    if slow_seconds:
        cells.insert(0, f"import time\ntime.sleep({slow_seconds})")
    for index in range(size):
        nbformat.write(make_fixtures.notebook(cells), folder / f"student-{index:02d}.ipynb")
    return sorted(folder.glob("*.ipynb"))


def start_grading_the_class(tmp_path, *extra, **popen):
    """``lenet-course grade`` on ``tmp_path/class`` into ``tmp_path/reports``, two at a time,
    sandboxed, with ``tmp_path/tmp`` as its temporary folder; returns (command, env, process)."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "lenet_course.cli", "grade", str(tmp_path / "class"),
               "--out", str(tmp_path / "reports"), "--assignment", ASSIGNMENT, "--sandbox", "bwrap",
               "--jobs", "2", "--no-progress", *extra]
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    return command, env, subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, **popen)


def wait_for_reports(out, count, grader):
    import time

    deadline = time.monotonic() + 600
    while len(list(out.glob("student-*.json"))) < count and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.05)


def processes_mentioning(folder):
    import os

    return [line for line in os.popen("ps -eo args").read().splitlines() if str(folder) in line]


def test_resume_after_kill_9_finishes_the_class_with_every_grade(tmp_path):
    import signal
    import subprocess
    import time

    paths = write_honest_class(tmp_path / "class", 6, slow_seconds=2)
    out, scratch = tmp_path / "reports", tmp_path / "tmp"
    command, env, grader = start_grading_the_class(tmp_path, "--cell-timeout", "30", "--timeout", "60",
                                                   stderr=subprocess.DEVNULL)
    wait_for_reports(out, 2, grader)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    time.sleep(1)
    first = {path.name: path.stat().st_mtime_ns for path in out.glob("student-*.json")}
    assert 2 <= len(first) < len(paths), "kill the grader mid-class"
    for path in out.glob("*.json"):  # only complete reports: each parses, each at full marks
        assert json.loads(path.read_text())["score"] == FULL_MARKS
    assert not processes_mentioning(tmp_path / "class")
    left = [p.name for p in scratch.glob("lenet-course-*")]  # the killed grader could not clear its own
    assert len(left) == 1 and left[0].startswith(f"lenet-course-grade-{grader.pid}-"), left

    result = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = {path.name: json.loads(path.read_text()) for path in out.glob("student-*.json")}
    assert len(reports) == len(paths) and all(r["score"] == r["max_score"] == FULL_MARKS for r in reports.values())
    assert all((out / name).stat().st_mtime_ns == mtime for name, mtime in first.items()), "graded again"
    with open(out / "grades.csv", newline="") as file:
        assert [row["score"] for row in csv.DictReader(file)] == [f"{FULL_MARKS:.1f}"] * len(paths)
    assert not list(out.glob(".*.tmp"))
    assert not list(scratch.glob("lenet-course-*")), "the next grader clears what a killed one left"


@pytest.mark.parametrize("how", ["Ctrl-C", "kill"])
def test_an_interrupted_class_stops_at_once_says_so_and_leaves_nothing_behind(tmp_path, how):
    import os
    import signal
    import subprocess
    import time

    write_honest_class(tmp_path / "class", 3, slow_seconds=10)
    out, scratch = tmp_path / "reports", tmp_path / "tmp"
    _, _, grader = start_grading_the_class(tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_reports(out, 2, grader)
    time.sleep(1)  # one worker grades the third submission, the other waits for work
    if how == "Ctrl-C":
        os.killpg(grader.pid, signal.SIGINT)  # a terminal sends it to every process of the command
    else:
        grader.terminate()  # SIGTERM to the grader only, as kill and batch systems send it
    try:
        _, stderr = grader.communicate(timeout=8)  # the third submission sleeps 10 s
    except subprocess.TimeoutExpired:
        grader.kill()
        pytest.fail("the grader went on grading the submission in hand instead of stopping")
    assert grader.returncode == {"Ctrl-C": 130, "kill": 143}[how], stderr
    assert "are complete, run the same command with --resume" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    reports = [json.loads(path.read_text()) for path in out.glob("student-*.json")]
    assert len(reports) == 2 and all(report["score"] == FULL_MARKS for report in reports)
    assert not list(scratch.iterdir()), "the grader removes its temporary files"
    assert not processes_mentioning(tmp_path / "class")


def test_a_class_leaves_no_files_behind_and_clears_only_what_dead_graders_left(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = scratch / f"lenet-course-grade-{int(ended.stdout)}-abc"
    (dead / "lenet-course-job-xyz" / "work").mkdir(parents=True)
    running = scratch / f"lenet-course-grade-{os.getpid()}-def"  # a grader still at work: this process
    running.mkdir()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "grades.csv").write_text("alice,5.0\n")
    link = scratch / f"lenet-course-grade-{int(ended.stdout)}-link"  # not a folder of ours: a link
    link.symlink_to(precious)

    paths = write_honest_class(tmp_path / "class", 2)
    reports = grade_many(paths, tmp_path / "out", options=FAST, assignment=ASSIGNMENT, jobs=2, progress=False)
    assert [report.score for report in reports] == [FULL_MARKS] * 2
    assert sorted(p.name for p in scratch.iterdir()) == sorted([running.name, link.name])
    assert (precious / "grades.csv").read_text() == "alice,5.0\n"


def test_a_grader_killed_while_it_probes_bubblewrap_leaves_a_folder_the_next_one_clears(
        tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed_while_probing = (
        "import os, signal, subprocess\n"
        "from lenet_course import sandbox\n"
        "subprocess.run = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)\n"
        "sandbox.bwrap_problem()\n")
    ended = subprocess.run([sys.executable, "-c", killed_while_probing], cwd=ROOT,
                           env={**os.environ, "TMPDIR": str(scratch)}, timeout=120)
    assert ended.returncode == -signal.SIGKILL
    assert len(left := list(scratch.iterdir())) == 1, "the probe's folder, left behind"
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    mine = grading.class_scratch_folder()
    assert list(scratch.iterdir()) == [mine], f"{left[0].name} is still there"


def test_resume_grades_again_what_changed(tmp_path):
    paths = write_honest_class(tmp_path / "class", 2)
    options = GradingOptions(cell_timeout=10, timeout=60, sandbox="bwrap")
    first = grade_many(paths, tmp_path / "out", options=options, assignment=ASSIGNMENT, progress=False)
    nbformat.write(make_fixtures.notebook([make_fixtures.IMPORT, make_fixtures.C1]), paths[1])
    again = grade_many(paths, tmp_path / "out", options=options, assignment=ASSIGNMENT, progress=False, resume=True)
    assert again[0] == first[0]  # the same file, the same grader: the report on disk
    assert again[1].score == 1 and first[1].score == FULL_MARKS  # the file changed: graded again
    stricter = GradingOptions(cell_timeout=5, timeout=60, sandbox="bwrap")
    third = grade_many(paths[:1], tmp_path / "out", options=stricter, assignment=ASSIGNMENT, progress=False,
                       resume=True)
    assert third[0].grader["cell_timeout"] == 5  # other options: graded again


def test_resume_with_nothing_left_to_grade_makes_no_scratch_folder(tmp_path, monkeypatch):
    paths = write_honest_class(tmp_path / "class", 2)
    first = grade_many(paths, tmp_path / "out", options=FAST, assignment=ASSIGNMENT, progress=False)
    (tmp_path / "out" / "grades.csv").unlink()

    def no_scratch_needed():
        raise AssertionError("a scratch folder made with nothing to grade")

    monkeypatch.setattr(grading, "class_scratch_folder", no_scratch_needed)
    again = grade_many(paths, tmp_path / "out", options=FAST, assignment=ASSIGNMENT, progress=False, resume=True)
    assert again == first
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 3  # the header and two grades
