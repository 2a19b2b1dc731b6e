"""Report files: written whole or not at all, reused by --resume only when nothing changed."""

import csv
import json
import os

import pytest

from lenet_course.reports import (Report, file_sha256, gradescope_results, report_names, reusable_report,
                                  write_atomically, write_grades_csv, write_report)


def report(name="alice", score=2.0, **changes):
    fields = dict(name=name, submission=f"{name}.ipynb", assignment="02_c1_convolution", status="graded",
                  score=score, max_score=3.0, questions=[{"name": "c1-counts", "title": "t", "score": score,
                                                           "max_score": 3.0, "status": "passed", "feedback": "ok"}],
                  sandbox="bwrap", grader={"version": "1", "cell_timeout": 10}, submission_sha256="abc")
    return Report(**{**fields, **changes})


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = write_report(report(score=2.0), tmp_path)
    before = path.read_text()

    def crash(*args):
        raise KeyboardInterrupt  # as if Ctrl-C came in the middle of the write

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_report(report(score=3.0), tmp_path)
    assert path.read_text() == before and json.loads(before)["score"] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json"]  # no temporary file left behind


def test_write_atomically_replaces_the_whole_file(tmp_path):
    path = tmp_path / "grades.csv"
    write_atomically(path, "a much longer first version\n")
    write_atomically(path, "short\n")
    assert path.read_text() == "short\n"


def test_reusable_only_for_the_same_grader_options_and_file(tmp_path):
    path = write_report(report(), tmp_path)
    grader = {"version": "1", "cell_timeout": 10}
    assert reusable_report(path, grader=grader, submission_sha256="abc") == report()
    assert reusable_report(path, grader={**grader, "cell_timeout": 5}, submission_sha256="abc") is None
    assert reusable_report(path, grader=grader, submission_sha256="other") is None
    assert reusable_report(tmp_path / "missing.json", grader=grader, submission_sha256="abc") is None
    (tmp_path / "half.json").write_text(path.read_text()[:40])  # what a non-atomic write could leave
    assert reusable_report(tmp_path / "half.json", grader=grader, submission_sha256="abc") is None
    failed = write_report(report(name="bob", status="grader-error"), tmp_path)
    assert reusable_report(failed, grader=grader, submission_sha256="abc") is None


def test_grades_csv_has_the_sandbox_and_a_column_per_question(tmp_path):
    write_grades_csv([report(), report("bob", 3.0, sandbox="none: --sandbox none")], tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["name"], r["c1-counts"], r["sandbox"]) for r in rows] == [
        ("alice", "2.0", "bwrap"), ("bob", "3.0", "none: --sandbox none")]


def test_names_and_hashes(tmp_path):
    assert report_names(["a/alice.ipynb", "b/alice.ipynb", "my work!.ipynb", "..ipynb"]) == [
        "alice", "alice-2", "my_work", "submission"]
    (tmp_path / "x").write_bytes(b"abc")
    assert file_sha256(tmp_path / "x") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_sha256(tmp_path / "missing") == ""
    assert gradescope_results([report()])["score"] == 2.0
