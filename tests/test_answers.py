"""Answers read as data: JSON decoded, models loaded safely, anything odd refused."""

import json
import subprocess
import sys

import numpy as np

from lenet_course.answers import Unavailable, decode, encode_probe, read_answer
from lenet_course.checks import Answer, Opaque, Probed, ProbeError


def test_arrays_go_through_json_and_back():
    probe = (np.arange(6, dtype="float32").reshape(2, 3), 5)
    back = decode(json.loads(json.dumps(encode_probe(probe))))
    assert back[1] == 5 and back[0].dtype == np.float32 and np.array_equal(back[0], probe[0])
    assert decode({"__ndarray__": [1], "dtype": "<U1"}) == Opaque("array of <U1")
    assert decode({"__dict__": {"loss": [0.5]}}) == {"loss": [0.5]}


def write(folder, index, result):
    (folder / f"{index}.json").write_text(json.dumps(result))


def test_read_answer_turns_each_status_into_what_the_judge_takes(tmp_path):
    value, function = Answer("x"), Answer("f", "function")
    ok = {"status": "ok", "ename": ""}
    write(tmp_path, 0, {"status": "ok", "value": 42})
    write(tmp_path, 1, {"status": "missing"})
    write(tmp_path, 2, {"status": "blank"})
    write(tmp_path, 3, {"status": "ok", "outputs": [{"value": 2}, {"error": "ValueError: no"}]})
    assert read_answer(value, ok, tmp_path, 0, None, 10) == 42
    assert read_answer(value, ok, tmp_path, 1, None, 10).status == "missing"
    assert read_answer(value, ok, tmp_path, 2, None, 10) is Ellipsis
    probed = read_answer(function, ok, tmp_path, 3, [(1,), (2,), (3,)], 10)
    assert isinstance(probed, Probed) and probed.outputs[0] == 2
    assert [type(o) for o in probed.outputs[1:]] == [ProbeError, ProbeError]  # the third was never called
    timeout = read_answer(function, {"status": "timeout", "ename": ""}, tmp_path, 3, [(1,)], 10)
    assert isinstance(timeout, Unavailable) and "did not return" in timeout.message


def test_a_symlink_planted_for_an_answer_is_not_followed(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"status": "ok", "value": "the grader's secret"}))
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "0.json").symlink_to(secret)
    answer = read_answer(Answer("x"), {"status": "ok", "ename": ""}, tmp_path / "answers", 0, None, 10)
    assert isinstance(answer, Unavailable) and "secret" not in answer.message


def test_a_saved_course_model_loads_in_a_fresh_grader(tmp_path):
    """The grader loads the course's own layers with safe_mode, without having imported them first."""
    save = ("from lenet_course.models import build_lenet5\n"
            f"build_lenet5('paper', seed=0).save({str(tmp_path / '0.keras')!r})")
    load = ("import sys\nfrom lenet_course.answers import load_model\n"
            f"model = load_model(__import__('pathlib').Path({str(tmp_path / '0.keras')!r}), {str(tmp_path)!r}, 'm')\n"
            "print(type(model).__name__, getattr(model, 'message', ''))")
    subprocess.run([sys.executable, "-c", save], check=True, capture_output=True, timeout=300)
    result = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, timeout=300)
    assert result.stdout.split()[0] == "LeNet5", result.stdout + result.stderr[-1000:]
