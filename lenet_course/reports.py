"""Grade reports and the files they are written to: never half-written, never lost.

A ``Report`` is the grade of one submission. ``write_report`` writes ``DIR/<name>.json``
and ``write_grades_csv`` writes ``DIR/grades.csv`` atomically: into a temporary file in
the same folder, then renamed over the old one, so a grader killed at any moment
(Ctrl-C, ``kill -9``, a power cut) leaves either the previous file or the new one,
complete. ``reusable_report`` tells ``--resume`` whether a report on disk was made by
the same grader, with the same options, from the same submission file.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> report = Report(name="alice", submission="alice.ipynb", assignment="02_c1_convolution",
    ...                 status="graded", score=2.0, max_score=3.0, grader={"version": "0.1.0"},
    ...                 submission_sha256="abc")
    >>> path = write_report(report, folder)
    >>> path.name, sorted(p.name for p in folder.iterdir())
    ('alice.json', ['alice.json'])
    >>> reusable_report(path, grader={"version": "0.1.0"}, submission_sha256="abc").score
    2.0
    >>> reusable_report(path, grader={"version": "0.2.0"}, submission_sha256="abc") is None
    True
"""

import csv
import io
import json
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .data import _sha256


@dataclass
class QuestionResult:
    name: str
    title: str
    score: float
    max_score: float
    status: str
    feedback: str


@dataclass
class Problem:
    """Something that went wrong while running a submission (``cell`` counts from 1, all cells)."""

    cell: int | None
    kind: str
    message: str


@dataclass
class Report:
    """The grade of one submission, as written to ``DIR/<name>.json``.

    ``sandbox`` says how the submission ran: ``"bwrap"``, or ``"none: <why>"`` when it
    ran with the grader's own rights. ``grader`` holds the grader's version and options,
    ``submission_sha256`` the hash of the file graded (both for ``--resume``).
    """

    name: str
    submission: str
    assignment: str | None
    status: str  # "graded", "invalid" (not a readable notebook) or "grader-error"
    score: float
    max_score: float
    questions: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reason: str = ""
    time_seconds: float = 0.0
    kernel_restarts: int = 0
    sandbox: str = ""
    grader: dict = field(default_factory=dict)
    submission_sha256: str = ""

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def file_sha256(path):
    """The SHA-256 of a file's bytes, or ``""`` when it cannot be read."""
    try:
        return _sha256(path)
    except OSError:
        return ""


def report_names(paths):
    """A distinct, file-safe report name for every submission (``alice``, ``alice-2``, ...)."""
    names, seen = [], {}
    for path in paths:
        base = re.sub(r"[^\w.-]+", "_", Path(path).stem).strip("._") or "submission"
        count = seen.get(base, 0) + 1
        seen[base] = count
        names.append(base if count == 1 else f"{base}-{count}")
    return names


def write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename: all of it or nothing."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_report(report, out_dir):
    """Write ``out_dir/<name>.json`` atomically; returns its path."""
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return write_atomically(Path(out_dir) / f"{report.name}.json", text)


def reusable_report(path, *, grader, submission_sha256):
    """The ``Report`` in ``path`` if the same grader and options graded the same file; else None."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        report = Report.from_dict(data)
    except (OSError, ValueError, TypeError):
        return None
    if report.grader != grader or not submission_sha256 or report.submission_sha256 != submission_sha256:
        return None
    if report.status == "grader-error":  # the grader's own failure: try again
        return None
    return report


def write_grades_csv(reports, path):
    """One row per report, one column per question; written atomically."""
    questions = list(dict.fromkeys(q["name"] for r in reports for q in r.questions))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "submission", "assignment", "score", "max_score", "status", "reason",
                     "time_seconds", "sandbox", *questions])
    for r in reports:
        scores = {q["name"]: q["score"] for q in r.questions}
        writer.writerow([r.name, r.submission, r.assignment or "", r.score, r.max_score, r.status,
                         r.reason, r.time_seconds, r.sandbox, *[scores.get(q, "") for q in questions]])
    return write_atomically(path, buffer.getvalue())


def gradescope_results(reports):
    """Gradescope's ``results.json`` for one student's submission(s)."""
    tests = []
    for report in reports:
        prefix = f"{report.assignment or report.name}: "
        for q in report.questions:
            tests.append({"name": prefix + q["name"] + " - " + q["title"], "score": q["score"],
                          "max_score": q["max_score"], "status": "passed" if q["status"] == "passed" else "failed",
                          "output": q["feedback"], "visibility": "visible"})
    lines = [f"{r.name}: {r.score:g} / {r.max_score:g}" + (f" ({r.reason})" if r.reason else "") for r in reports]
    return {"score": round(sum(r.score for r in reports), 4),
            "execution_time": int(round(sum(r.time_seconds for r in reports))),
            "output": "\n".join(lines), "visibility": "visible", "tests": tests}


class ProgressBar:
    """``[#####.....] 5/10 alice`` on stderr (one line per step when stderr is not a terminal)."""

    def __init__(self, total, enabled=True, width=30):
        self.total, self.enabled, self.width = total, enabled and total > 1, width
        self.tty = sys.stderr.isatty()

    def update(self, done, label):
        if not self.enabled:
            return
        filled = int(self.width * done / max(self.total, 1))
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {label}"
        if self.tty:
            sys.stderr.write("\r" + line[:100].ljust(100))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self):
        if self.enabled and self.tty:
            sys.stderr.write("\n")
