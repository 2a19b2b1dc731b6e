"""The sandbox: what a student tried on a classmate's grade fails, and the classmate keeps full marks.

The four attacks of issue 13, each in the first cell of an otherwise right submission,
graded in one class with the classmate by ``lenet-course grade`` (two jobs, sandbox on):
(a) read the classmate's notebook, its path found in the grader's command line under
/proc; (b) write a file outside the working folder; (c) open a TCP connection to a
server on the grader's 127.0.0.1; (d) leave a process that keeps rewriting the
classmate's report after grading. The same attacks run without the sandbox show that
they are real. These tests need bubblewrap (``make test`` installs it): without it they
fail, they do not skip.
"""

import importlib.util
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from lenet_course.checks import questions_for
from lenet_course.sandbox import bwrap_problem, explain_blocked, resolve, sandboxed_command

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "tests" / "fixtures" / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)
ASSIGNMENT = "02_c1_convolution"
HONEST = list(make_fixtures.FULL_MARKS)
FULL_MARKS = float(sum(question.points for question in questions_for(ASSIGNMENT)))

READ_CLASSMATE = '''
import glob, os
secret = "The secret " + "of zoe: "
found = []
for cmdline in glob.glob("/proc/*/cmdline"):
    try:
        arguments = open(cmdline, "rb").read().decode(errors="ignore").split("\\0")
    except OSError:
        continue
    for argument in arguments:
        candidates = glob.glob(os.path.join(argument, "*.ipynb")) if os.path.isdir(argument) else [argument]
        for path in candidates:
            try:
                text = open(path, errors="ignore").read()
            except OSError:
                continue
            if secret in text:
                found.append(text[text.index(secret):][:60])
if not found:
    raise LookupError("found no classmate's notebook")
stolen = found[0]
raise RuntimeError("STOLEN " + stolen)
'''

WRITE_OUTSIDE = '''
for target in [{outside!r}, {host_tmp!r}, "/etc/lenet-course-attack"]:
    open(target, "w").write("written by a submission")
'''

CONNECT = '''
import socket
connection = socket.create_connection(("127.0.0.1", {port}), timeout=5)
connection.sendall(b"hello from a submission")
'''

REWRITE_REPORT = '''
import subprocess, sys
code = """
import json, time
end = time.time() + 30
while time.time() < end:
    try:
        open({report!r}, "w").write(json.dumps({{"name": "zoe", "score": 999, "max_score": 1}}))
    except OSError:
        pass
    time.sleep(0.2)
"""
subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
'''


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def write_notebook(path, cells, secret=None):
    notebook = make_fixtures.notebook(cells)
    if secret is not None:
        notebook.cells.append(nbformat.v4.new_markdown_cell(f"The secret of zoe: {secret}"))
    nbformat.write(notebook, path)


def grade_class(class_dir, out, sandbox):
    command = [sys.executable, "-m", "lenet_course.cli", "grade", str(class_dir), "--out", str(out),
               "--assignment", ASSIGNMENT, "--jobs", "2", "--sandbox", sandbox, "--no-progress",
               "--cell-timeout", "30", "--timeout", "120"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def processes_mentioning(text):
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="ignore"):
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """A class of four attackers and the honest classmate zoe, graded with the sandbox on."""
    assert bwrap_problem() is None, f"these tests need bubblewrap: {bwrap_problem()}"
    base = tmp_path_factory.mktemp("attacks")
    class_dir, out = base / "class", base / "reports"
    class_dir.mkdir()
    secret = secrets.token_hex(8)
    outside, host_tmp = class_dir / "planted.txt", Path("/tmp") / f"lenet-course-attack-{secret}"
    listener = Listener()
    write_notebook(class_dir / "zoe.ipynb", HONEST, secret=secret)
    attacks = {"a-read": READ_CLASSMATE,
               "b-write": WRITE_OUTSIDE.format(outside=str(outside), host_tmp=str(host_tmp)),
               "c-connect": CONNECT.format(port=listener.port),
               "d-rewrite": REWRITE_REPORT.format(report=str(out / "zoe.json"))}
    for name, attack in attacks.items():
        write_notebook(class_dir / f"{name}.ipynb", [attack, *HONEST])
    try:
        result = grade_class(class_dir, out, "bwrap")
        time.sleep(3)  # what a detached process would do, it would have done by now
    finally:
        listener.close()
    reports = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}
    return {"out": out, "reports": reports, "secret": secret, "outside": outside, "host_tmp": host_tmp,
            "listener": listener, "stdout": result.stdout}


def test_the_classmate_keeps_full_marks(attacked):
    zoe = attacked["reports"]["zoe"]
    assert zoe["score"] == zoe["max_score"] == FULL_MARKS and zoe["errors"] == [], zoe
    assert zoe["sandbox"] == "bwrap"
    assert json.loads((attacked["out"] / "zoe.json").read_text()) == zoe


def test_every_attacker_still_gets_the_marks_of_its_honest_cells(attacked):
    for name in ("a-read", "b-write", "c-connect", "d-rewrite"):
        report = attacked["reports"][name]
        assert report["score"] == FULL_MARKS and report["sandbox"] == "bwrap", report


def test_a_cannot_read_the_classmates_submission(attacked):
    report = attacked["reports"]["a-read"]
    for text in [json.dumps(r) for r in attacked["reports"].values()] + [attacked["stdout"]]:
        assert attacked["secret"] not in text
    assert "found no classmate's notebook" in report["reason"], report["errors"]


def test_b_cannot_write_outside_its_working_folder(attacked):
    assert not attacked["outside"].exists() and not attacked["host_tmp"].exists()
    assert not Path("/etc/lenet-course-attack").exists()
    report = attacked["reports"]["b-write"]
    assert [e["kind"] for e in report["errors"]] == ["sandbox-blocked"], report["errors"]
    assert "(the sandbox hides it" in report["reason"]


def test_c_cannot_reach_a_server_on_the_graders_loopback(attacked):
    report = attacked["reports"]["c-connect"]
    assert attacked["listener"].accepted == 0, report
    assert [e["kind"] for e in report["errors"]] == ["sandbox-blocked"], report["errors"]
    assert "no network" in report["reason"]


def test_d_leaves_nothing_running_and_no_report_rewritten(attacked):
    assert processes_mentioning(str(attacked["out"] / "zoe.json")) == []
    assert attacked["reports"]["zoe"]["score"] == FULL_MARKS


def test_the_attacks_are_real_without_the_sandbox(tmp_path):
    """The control: unsandboxed, (a), (b) and (c) get through, so the tests above can fail."""
    class_dir, out = tmp_path / "class", tmp_path / "reports"
    class_dir.mkdir()
    secret, outside, listener = secrets.token_hex(8), tmp_path / "outside.txt", Listener()
    write_notebook(class_dir / "zoe.ipynb", HONEST, secret=secret)
    attacks = [READ_CLASSMATE, f"open({str(outside)!r}, 'w').write('x')", CONNECT.format(port=listener.port)]
    write_notebook(class_dir / "attacker.ipynb", [*attacks, *HONEST])
    try:
        result = grade_class(class_dir, out, "none")
    finally:
        listener.close()
    report = json.loads((out / "attacker.json").read_text())
    assert f"STOLEN The secret of zoe: {secret}" in report["reason"]
    assert outside.exists() and listener.accepted == 1
    assert report["sandbox"].startswith("none") and "NOT SANDBOXED" not in result.stderr  # asked for: no warning


def test_auto_says_when_it_cannot_sandbox(monkeypatch):
    import lenet_course.sandbox as sandbox

    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "bubblewrap is not installed")
    chosen = resolve("auto")
    assert chosen.kind == "none" and "NOT SANDBOXED" in chosen.note and "not installed" in chosen.note
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        resolve("bwrap")
    with pytest.raises(ValueError, match="sandbox"):
        resolve("docker")


def test_the_sandbox_shows_no_home_no_grader_files_and_no_host_processes(tmp_path):
    (tmp_path / "work").mkdir()
    probe = ("import os, json; print(json.dumps({'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),"
             " 'home': os.path.exists(os.path.expanduser('~/.bashrc')) or os.path.exists('/root/.bashrc'),"
             f" 'tests': os.path.exists({str(ROOT / 'tests')!r}), 'cwd': os.getcwd()}}))")
    result = subprocess.run(sandboxed_command([sys.executable, "-c", probe], tmp_path), capture_output=True,
                            text=True, timeout=120)
    seen = json.loads(result.stdout)
    assert seen["pids"] == [1, 2] and seen["cwd"] == "/grade/work"
    assert Path("/root/.bashrc").exists() and not seen["home"]
    assert (ROOT / "tests").exists() and not seen["tests"]


def test_blocked_errors_are_explained():
    assert "no network" in explain_blocked("ConnectionRefusedError", "[Errno 111] Connection refused")
    assert "writable" in explain_blocked("OSError", "[Errno 30] Read-only file system: '/x'")
    assert explain_blocked("ValueError", "oops") == ""
    assert "hides it" in explain_blocked("FileNotFoundError", "[Errno 2] No such file or directory: '/home/x/a.txt'")
    assert explain_blocked("FileNotFoundError", "[Errno 2] No such file or directory: '/grade/work/a.txt'") == ""


def test_an_environment_under_tmp_stays_visible(monkeypatch, tmp_path):
    """The private /tmp is mounted before the Python environment, so a venv in /tmp still runs."""
    import lenet_course.sandbox as sandbox

    venv = "/tmp/clone/.venv"
    monkeypatch.setattr(sandbox, "_readable_roots", lambda: (["/usr", "/etc", venv], "/tmp/clone"))
    command = sandboxed_command(["python"], tmp_path)
    assert command.index("--tmpfs") < command.index(venv), command
