import dataclasses
import gzip
import hashlib
import importlib.util
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from lenet_course import data as data_module
from lenet_course.data import DIGITS_SHA256, IDX_FILES
from lenet_course.models import accuracy
from lenet_course.reproduce import build_parser, main, parse_args, parse_command, recorded_recipe, train_once, train_recipe


def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    return struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture
def mnist_home(tmp_path, monkeypatch, sample):
    """A data home of small gzipped IDX files (real digits from the sample), checksums to match."""
    monkeypatch.setattr(data_module, "VALIDATION_SIZE", 100)
    monkeypatch.setattr(data_module.socket, "create_connection",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("offline (test)")))
    arrays = {"train_images": sample.x_train[:400], "train_labels": sample.y_train[:400],
              "test_images": sample.x_test[:100], "test_labels": sample.y_test[:100]}
    home = tmp_path / "home"
    home.mkdir()
    for key, array in arrays.items():
        blob = idx_bytes(array)
        monkeypatch.setitem(DIGITS_SHA256, key, hashlib.sha256(blob).hexdigest())
        (home / f"{IDX_FILES[key]}.gz").write_bytes(gzip.compress(blob))
    return home


PASS_LINE = re.compile(r"^pass  [12]/2  training error \d+\.\d\d%  validation error \d+\.\d\d%  \d+\.\d s$")


def run(home, *extra):
    lines = []
    main(["--data-home", str(home), "--passes", "2", "--curvature-digits", "20", *extra], out=lines.append)
    return lines


def test_reproduce_prints_each_pass_and_ends_with_the_test_error(mnist_home, tmp_path):
    history_file = tmp_path / "history.json"
    lines = run(mnist_home, "--history-out", str(history_file))
    assert "validation split" in lines[0] and "official test set found" in lines[1]
    assert "first 300 training digits (the paper used all 400: --all-training-digits)" in lines[1]
    assert sum(bool(PASS_LINE.match(line)) for line in lines) == 2
    assert re.fullmatch(r"test error: \d+\.\d\d% \(paper: 0\.95%\)", lines[-1])
    assert sum(line.startswith("test error") for line in lines) == 1
    history = json.loads(history_file.read_text())
    run0 = history["runs"][0]
    assert history["recipe"]["optimizer"] == "sdlm" and history["machine"]["cpu_count"] >= 1
    recomputed = vars(parse_command(history["command"]))  # the command it saves trains it again
    assert {key: recomputed[key] for key in history["recipe"]} == history["recipe"]
    assert run0["seed"] == 0 and [row["pass"] for row in run0["passes"]] == [1, 2]
    assert 0 <= run0["test_error"] <= 1 and run0["passes"][-1]["validation_error"] == run0["validation_error"]
    assert f"{100 * run0['test_error']:.2f}%" in lines[-1]  # one seed: the line is its error


def test_an_interrupted_run_keeps_the_seeds_it_finished(mnist_home, tmp_path, monkeypatch):
    from lenet_course import reproduce

    def interrupted_after_seed_0(data, args, seed, out, **kwargs):
        if seed == 1:
            raise KeyboardInterrupt
        return train_once(data, args, seed, out, **kwargs)

    monkeypatch.setattr(reproduce, "train_once", interrupted_after_seed_0)
    history_file, lines = tmp_path / "history.json", []
    with pytest.raises(SystemExit) as stopped:
        main(["--data-home", str(mnist_home), "--passes", "1", "--curvature-digits", "20", "--seeds", "0", "1", "2",
              "--history-out", str(history_file)], out=lines.append)
    assert stopped.value.code == 130
    assert lines[-1] == f"interrupted during seed 1: {history_file} holds the 1 seed(s) finished"
    history = json.loads(history_file.read_text())
    assert [run["seed"] for run in history["runs"]] == [0] and history["recipe"]["seeds"] == [0, 1, 2]
    with pytest.raises(SystemExit, match=r"only seeds \[0\] of \[0, 1, 2\] finished"):
        load_collect_tool().main([str(tmp_path / "shipped.json"), "--run", "partial", str(history_file)])


def test_kill_ends_a_run_as_ctrl_c_does_and_leaves_kill_as_it_was(mnist_home, monkeypatch):
    import os
    import signal
    import time

    from lenet_course import reproduce

    def killed_during_training(data, args, seed, out, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the signal arrives here
        raise AssertionError("kill did not stop the run")

    def not_handled(signum, frame):
        raise AssertionError("kill reached the handler from before the run")

    monkeypatch.setattr(reproduce, "train_once", killed_during_training)
    previous = signal.signal(signal.SIGTERM, not_handled)
    try:
        lines = []
        with pytest.raises(SystemExit) as stopped:
            main(["--data-home", str(mnist_home), "--passes", "1"], out=lines.append)
        assert stopped.value.code == 130
        assert lines[-1] == "interrupted during seed 0: no seed finished"
        assert signal.getsignal(signal.SIGTERM) is not_handled
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_reproduce_with_distortions_compares_with_0_80(mnist_home):
    lines = run(mnist_home, "--distortions", "--distorted-copies", "2", "--batch-size", "16")
    assert "distortions on, 2 copies" in lines[2]
    assert re.fullmatch(r"test error: \d+\.\d\d% \(paper: 0\.80%\)", lines[-1])


@pytest.mark.parametrize("extra", [[], ["--distortions", "--distorted-copies", "1"]])
def test_the_training_error_is_the_networks_error_on_its_undistorted_training_digits(sample, extra):
    digits = dataclasses.replace(sample, x_train=sample.x_train[:200], y_train=sample.y_train[:200],
                                 x_test=sample.x_test[:50], y_test=sample.y_test[:50])
    args = parse_args(["--passes", "1", "--curvature-digits", "20", *extra])
    model, rows, _ = train_once(digits, args, 0, out=lambda line: None)
    misread = 1 - accuracy(model, digits.x_train, digits.y_train)
    assert rows[0]["training_error"] == pytest.approx(misread, abs=1e-6)
    assert rows[0]["validation_error"] == pytest.approx(1 - accuracy(model, digits.x_test, digits.y_test),
                                                        abs=1e-6)


@pytest.mark.parametrize("optimizer, first_rate", [("sdlm", 0.0005), ("sgd", 0.01)])
def test_the_rate_factor_scales_either_optimizers_learning_rate(sample, optimizer, first_rate):
    digits = dataclasses.replace(sample, x_train=sample.x_train[:40], y_train=sample.y_train[:40],
                                 x_test=sample.x_test[:20], y_test=sample.y_test[:20])
    args = parse_args(["--passes", "1", "--curvature-digits", "20", "--batch-size", "8",
                       "--optimizer", optimizer, "--rate-factor", "0.25"])
    model, _, _ = train_once(digits, args, 0, out=lambda line: None)
    assert float(model.optimizer.learning_rate) == pytest.approx(first_rate * 0.25)


def test_the_recipe_line_names_the_curvature_only_where_it_is_used(mnist_home):
    sdlm, sgd = (run(mnist_home, "--optimizer", name)[2] for name in ("sdlm", "sgd"))
    assert sdlm.startswith("recipe: optimizer sdlm") and "curvature backpropagated" in sdlm
    assert sgd.startswith("recipe: optimizer sgd") and "curvature" not in sgd


def test_chapter_13s_run_is_the_commands_batched_recipe_and_names_its_held_out_digits(sample):
    digits = dataclasses.replace(sample, x_train=sample.x_train[:200], y_train=sample.y_train[:200],
                                 x_test=sample.x_test[:50], y_test=sample.y_test[:50])
    lines = []
    model, rows, _ = train_recipe(digits, passes=2, held_out="held-out sample", out=lines.append)
    line = r"pass  [12]/2  training error \d+\.\d\d%  held-out sample error \d+\.\d\d%  \d+\.\d s"
    assert len(lines) == 2 and all(re.fullmatch(line, text) for text in lines)
    assert rows[-1]["validation_error"] == pytest.approx(1 - accuracy(model, digits.x_test, digits.y_test),
                                                         abs=1e-6)
    batched = parse_args(["--passes", "2", "--batch-size", "8", "--initializer", "glorot"])
    _, command_rows, _ = train_once(digits, batched, 0, out=lambda text: None)

    def errors(rows):
        return [(row["training_error"], row["validation_error"]) for row in rows]

    assert errors(rows) == errors(command_rows)


def test_reproduce_trains_on_the_first_n_training_digits_when_asked(mnist_home, monkeypatch, tmp_path):
    from lenet_course import reproduce

    trained_on, real_train_once = [], reproduce.train_once

    def spy(data, *args, **kwargs):
        trained_on.append(data)
        return real_train_once(data, *args, **kwargs)

    monkeypatch.setattr(reproduce, "train_once", spy)
    history_file = tmp_path / "history.json"
    lines = run(mnist_home, "--training-digits", "150", "--history-out", str(history_file))
    assert "training on the first 150 of 300 training digits only" in lines[1]
    split = data_module.load_mnist("full", data_home=mnist_home, validation=True)
    (data,) = trained_on
    assert np.array_equal(data.x_train, split.x_train[:150]) and np.array_equal(data.y_train, split.y_train[:150])
    assert np.array_equal(data.x_test, split.x_test)  # the same validation digits
    history = json.loads(history_file.read_text())
    assert history["recipe"]["training_digits"] == 150 and "--training-digits 150" in history["command"]
    with pytest.raises(SystemExit, match="between 1 and 300, the training digits there are. Received: 301"):
        run(mnist_home, "--training-digits", "301")
    with pytest.raises(SystemExit):
        parse_args(["--training-digits", "0"])


def test_reproduce_without_the_test_set_reports_validation_only(mnist_home):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (mnist_home / name).unlink()
    lines = run(mnist_home, "--seeds", "0", "1", "--optimizer", "sgd", "--loss", "rbf")
    assert "validation error only" in lines[1]
    assert not any("test error" in line for line in lines)
    assert [line.split(":")[0] for line in lines if line.startswith("seed ") and ":" in line] == ["seed 0", "seed 1"]


def test_reproduce_on_all_training_digits_reports_the_test_error_only(mnist_home, tmp_path):
    history_file = tmp_path / "history.json"
    lines = run(mnist_home, "--all-training-digits", "--j", "5", "--history-out", str(history_file))
    assert "training on all 400 training digits" in lines[1] and "(j 5)" in lines[2]
    assert not any("validation error" in line for line in lines)
    assert sum(bool(re.match(r"^pass  [12]/2  training error \d+\.\d\d%  \d+\.\d s$", line))
               for line in lines) == 2
    assert re.fullmatch(r"test error: \d+\.\d\d% \(paper: 0\.95%\)", lines[-1])
    run0 = json.loads(history_file.read_text())["runs"][0]
    assert "validation_error" not in run0 and 0 <= run0["test_error"] <= 1
    assert len(run0["passes"]) == 2 and "validation_error" not in run0["passes"][0]
    assert all(0 <= row["training_error"] <= 1 for row in run0["passes"])


def test_all_training_digits_without_the_test_set_is_refused_with_a_reason(mnist_home):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (mnist_home / name).unlink()
    with pytest.raises(SystemExit, match="needs the official test set"):
        run(mnist_home, "--all-training-digits")


def test_reproduce_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--passes", "0"])
    assert "--passes must be >= 1" in capsys.readouterr().err
    for bad in (["--threads", "0"], ["--j", "0"], ["--distorted-copies", "-1"], ["--scaling", "1.5"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_every_option_of_the_command_says_what_it_does():
    options = [action for action in build_parser()._actions if action.option_strings]
    assert len(options) > 20
    assert [action.dest for action in options if not action.help] == []


@pytest.mark.parametrize("with_test_set", [True, False])
def test_the_command_reads_each_mnist_file_once(mnist_home, monkeypatch, sample, with_test_set):
    from lenet_course.reproduce import load_data

    if not with_test_set:
        for key in ("test_images", "test_labels"):
            (mnist_home / f"{IDX_FILES[key]}.gz").unlink()
    reads = []
    read_idx = data_module.read_idx
    monkeypatch.setattr(data_module, "read_idx", lambda path: reads.append(path.name) or read_idx(path))
    split, test, _ = load_data(mnist_home)
    assert sorted(reads) == sorted(path.name for path in mnist_home.iterdir())
    assert np.array_equal(split.x_test, sample.x_train[300:400])  # the last 100 of the 400
    assert (test is not None) == with_test_set


def test_reproduce_refuses_a_corrupted_test_set_instead_of_skipping_it(mnist_home):
    (mnist_home / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(100))))
    with pytest.raises(OSError, match=r"t10k-labels-idx1-ubyte\.gz is corrupted"):
        run(mnist_home)


def test_the_recipe_updates_after_every_digit_but_batches_ten_times_the_digits_with_distortions():
    plain, distorted = parse_args([]), parse_args(["--distortions"])
    assert (plain.batch_size, plain.initializer) == (1, "paper-sqrt")  # the paper's, as we read it
    assert (distorted.batch_size, distorted.initializer) == (8, "glorot")
    chosen = parse_args(["--distortions", "--batch-size", "2", "--initializer", "paper"])
    assert (chosen.batch_size, chosen.initializer) == (2, "paper")


def test_a_written_out_command_parses_only_as_the_reproduce_command():
    assert parse_command("python -m lenet_course.reproduce --data-home 'a folder' --j 5").j == 5
    assert parse_command("python -m lenet_course.reproduce --data-home 'a folder'").data_home == "a folder"
    with pytest.raises(ValueError, match="Expected a command starting with"):
        parse_command("python -m lenet_course.train --j 5")


def load_collect_tool():
    """tools/collect_reproduction.py, a script rather than a module of the package."""
    spec = importlib.util.spec_from_file_location(
        "collect_reproduction", Path(__file__).parents[1] / "tools" / "collect_reproduction.py")
    collect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collect)
    return collect


def test_collect_spells_out_the_options_whose_default_changed():
    collect = load_collect_tool()
    recipe = recorded_recipe(parse_args([]))
    history = {"command": "python -m lenet_course.reproduce --data-home DIR --seeds 0",
               "recipe": {**recipe, "data_home": "DIR", "batch_size": 3, "rate_factor": 0.5}}
    added = collect.explicit_options(history)
    assert added == " --batch-size 3 --rate-factor 0.5"
    parsed = vars(parse_command(history["command"] + added))
    assert {key: parsed[key] for key in history["recipe"]} == history["recipe"]
    history["command"] += " --distortions"  # recorded without: a switch cannot be turned off
    with pytest.raises(SystemExit, match="no longer trains its recipe"):
        collect.explicit_options(history)


def test_collect_spells_out_the_defaults_that_an_added_option_moves():
    collect = load_collect_tool()
    recipe = recorded_recipe(parse_args([]))
    # Recorded with distortions when they were the default: spelling out --distortions moves
    # the default initializer, which must then be spelled out too.
    history = {"command": "python -m lenet_course.reproduce --seeds 0 1",
               "recipe": {**recipe, "distortions": True, "batch_size": 8, "seeds": [0, 1]}}
    added = collect.explicit_options(history)
    assert added == f" --distortions --initializer {recipe['initializer']}"
    parsed = vars(parse_command(history["command"] + added))
    assert {key: parsed[key] for key in history["recipe"]} == history["recipe"]


def test_collect_adds_entries_into_a_shipped_file_and_keeps_the_others(tmp_path):
    collect = load_collect_tool()
    recipe = recorded_recipe(parse_args([]))
    history = {"command": "python -m lenet_course.reproduce --data-home /mnist --training-digits 150 "
                          "--history-out /tmp/h.json",
               "recipe": {**recipe, "data_home": "/mnist", "training_digits": 150},
               "runs": [{"seed": 0, "passes": [], "validation_error": 0.01}]}
    (tmp_path / "h.json").write_text(json.dumps(history))
    old = {"about": "old", "runs": {"paper recipe": {"kept": True}}, "ablation": {}, "long_ablation": {},
           "choices": {}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    collect.main([str(tmp_path / "new.json"), "--into", str(tmp_path / "old.json"),
                  "--fewer-training-digits", "first 150", str(tmp_path / "h.json")])
    new = json.loads((tmp_path / "new.json").read_text())
    assert new["runs"] == old["runs"] and "Recompute" in new["about"]
    added = new["fewer_training_digits"]["first 150"]
    assert added["command"] == "python -m lenet_course.reproduce --data-home DIR --training-digits 150"


