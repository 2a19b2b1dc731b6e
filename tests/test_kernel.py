"""The job a sandbox runs: cells in a kernel, answers written as data, nothing judged."""

import json
import subprocess
import sys
import tempfile

from lenet_course.kernel import run_job, write_job

LIMITS = {"cell_timeout": 10, "timeout": 60, "memory_mb": 4096, "max_restarts": 2, "output_limit": 10**6,
          "kernel_name": "python3"}


def test_a_job_runs_every_cell_and_writes_answers_as_data(tmp_path):
    job = write_job(tmp_path, ["x = 6 * 7", "import os\nos._exit(1)", "y = [1.5, 2]", "def f(a):\n    return a + 1"],
                    [{"name": "x", "kind": "value"}, {"name": "y", "kind": "value"}, {"name": "z", "kind": "value"},
                     {"name": "f", "kind": "function", "probes": [[1], [2]]}], LIMITS)
    result = run_job(job)
    assert result["restarts"] == 1 and [p[1] for p in result["problems"]] == ["dead-kernel"]
    assert json.loads((job / "result.json").read_text()) == result
    answers = [json.loads((job / "answers" / f"{i}.json").read_text()) for i in range(4)]
    assert answers[0] == {"status": "ok", "value": 42} and answers[1] == {"status": "ok", "value": [1.5, 2]}
    assert answers[2] == {"status": "missing"}
    assert answers[3] == {"status": "ok", "outputs": [{"value": 2}, {"value": 3}]}
    assert [a["status"] for a in result["answers"]] == ["ok"] * 4


def test_a_cell_or_function_that_raises_is_named_with_its_message_or_without_an_empty_one(tmp_path):
    cells = ["raise NotImplementedError", "1 / 0", "def f(a):\n    raise ValueError('bad' * a)"]
    job = write_job(tmp_path, cells, [{"name": "f", "kind": "function", "probes": [[0], [1]]}], LIMITS)
    assert run_job(job)["problems"] == [[0, "exception", "raised NotImplementedError"],
                                        [1, "exception", "raised ZeroDivisionError: division by zero"]]
    outputs = json.loads((job / "answers" / "0.json").read_text())["outputs"]
    assert outputs == [{"error": "ValueError"}, {"error": "ValueError: bad"}]


def test_a_jobs_kernels_talk_over_unix_sockets_and_leave_none_behind(tmp_path, monkeypatch):
    # Without the sandbox (--sandbox none, or two classes graded at once) kernels share the
    # machine's ports: two starting at once over TCP could draw the same one. Unix sockets in a
    # folder of each kernel's own cannot collide; each kernel's folder goes when it stops.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    transport = "import json, ipykernel\ntransport = json.load(open(ipykernel.get_connection_file()))['transport']"
    job = write_job(tmp_path / "job", [transport, "import os\nos._exit(1)"],
                    [{"name": "transport", "kind": "value"}], LIMITS)
    result = run_job(job)
    assert result["restarts"] == 1  # the second kernel replayed the first cell
    assert json.loads((job / "answers" / "0.json").read_text()) == {"status": "ok", "value": "ipc"}
    assert list(scratch.iterdir()) == []


# Plain answers whose right value the package computes with Keras (the learning-rate schedule is
# a Keras callback): these checks load TensorFlow, and no others may.
REFERENCE_NEEDS_KERAS = {"rate-in-pass-12"}


def test_checking_an_answer_does_not_import_tensorflow():
    """A kernel loads what its notebook needs: the checks of plain answers need no TensorFlow."""
    code = ("import sys\nfrom lenet_course.checks import QUESTIONS, evaluate\n"
            "for q in QUESTIONS.values():\n"
            f"    if q.name not in {sorted(REFERENCE_NEEDS_KERAS)!r} and\\\n"
            "            all(read.kind in ('value', 'function') for read in q.reads):\n"
            "        evaluate(q.name, *[0] * len(q.reads))\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
