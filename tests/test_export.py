"""Exported weights reproduce the Keras model; the committed export is intact and documented."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from lenet_course.export import export_weights, load_weights, model_from_export, weight_arrays
from lenet_course.models import accuracy, build_lenet5, preprocess

COMMITTED = Path(__file__).resolve().parents[1] / "book" / "_static" / "lenet5_weights.bin"


def test_export_and_reload_reproduce_the_keras_model(tmp_path, sample):
    model = build_lenet5("paper", seed=3)
    metadata = export_weights(model, tmp_path / "w.bin", provenance={"note": "test"})
    assert metadata["bytes"] == (tmp_path / "w.bin").stat().st_size == 4 * 60_840  # 60,000 + 840 codes
    assert json.loads((tmp_path / "w.json").read_text()) == metadata
    again = model_from_export(tmp_path / "w.bin")
    for name, values in weight_arrays(model).items():
        np.testing.assert_array_equal(weight_arrays(again)[name], values, err_msg=name)
    inputs = preprocess(sample.x_test[:50], "paper")
    np.testing.assert_array_equal(again.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


def test_a_changed_weights_file_is_refused(tmp_path):
    export_weights(build_lenet5("paper", seed=0), tmp_path / "w.bin")
    blob = bytearray((tmp_path / "w.bin").read_bytes())
    blob[100] ^= 1
    (tmp_path / "w.bin").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="does not match its metadata"):
        load_weights(tmp_path / "w.bin")


def test_only_the_paper_model_is_exported(tmp_path):
    with pytest.raises(ValueError, match="build_lenet5\\('paper'\\)"):
        export_weights(build_lenet5("keras"), tmp_path / "w.bin")


def test_the_committed_weights_are_intact_documented_and_read_digits(sample):
    metadata = json.loads(COMMITTED.with_suffix(".json").read_text())
    assert COMMITTED.stat().st_size <= 300_000
    for key in ("sha256", "training", "validation_accuracy", "recompute", "licence", "versions"):
        assert key in metadata, key
    assert metadata["training"]["training_digits"] == 50_000 and metadata["validation_digits"] == 10_000
    assert "--distortions" in metadata["training"]["command"]  # chapter 13's best network
    assert metadata["recompute"].startswith("python -m lenet_course.export --data-home DIR  (")
    model = model_from_export(COMMITTED)  # checks the sha256
    # The sample's digits are MNIST training digits, some of them among the 50,000 it learned
    # from: this checks the file holds a working network, not its accuracy.
    assert accuracy(model, sample.x_test, sample.y_test) > 0.97


def test_the_command_trains_measures_and_exports(tmp_path, monkeypatch, capsys, sample):
    from lenet_course import export

    few = dataclasses.replace(sample, x_train=sample.x_train[:400], y_train=sample.y_train[:400])
    monkeypatch.setattr(export, "mnist_with_validation", lambda data_home: few)  # CI has no full MNIST
    assert export.main(["--data-home", "unused", "--out", str(tmp_path / "w.bin"), "--passes", "1"]) == 0
    printed = capsys.readouterr().out
    metadata = json.loads((tmp_path / "w.json").read_text())
    assert "seed 0; data: shipped MNIST sample" in printed
    assert "pass  1/1  training error" in printed
    assert f"validation accuracy: {metadata['validation_accuracy']:.4f}" in printed
    assert metadata["validation_accuracy"] == pytest.approx(
        accuracy(model_from_export(tmp_path / "w.bin"), sample.x_test, sample.y_test), abs=1e-6)
    training = metadata["training"]
    assert training["command"] == "python -m lenet_course.reproduce --distortions --passes 1 --seeds 0"
    assert training["passes"] == 1 and training["seed"] == 0
    assert training["training_digits"] == 400
    assert training["validation_error_per_pass"] == [pytest.approx(1 - metadata["validation_accuracy"])]
    assert metadata["recompute"].startswith("python -m lenet_course.export --data-home DIR --passes 1  (")
    assert str(tmp_path) not in metadata["recompute"]  # where a run wrote is not how to recompute
    samples = json.loads((tmp_path / export.SAMPLES_FILE).read_text())["digits"]
    assert [s["label"] for s in samples] == list(range(10))
    assert all(np.array(s["pixels"]).shape == (28, 28) for s in samples)


def test_the_committed_weights_are_chapter_13s_run_with_distortions():
    """The page's network is seed 0 of the shipped run ``python -m lenet_course.reproduce
    --distortions``: the same recipe, trained again by the export, pass by pass the same."""
    from lenet_course.shipped_runs import shipped_history

    metadata = json.loads(COMMITTED.with_suffix(".json").read_text())
    run = shipped_history()["runs"]["batched recipe with distortions"]["runs"][0]
    assert run["seed"] == metadata["training"]["seed"] == 0
    shipped = [row["validation_error"] for row in run["passes"]]
    assert metadata["training"]["validation_error_per_pass"] == pytest.approx(shipped, abs=1e-6)
    assert 1 - metadata["validation_accuracy"] == pytest.approx(run["validation_error"], abs=1e-6)
