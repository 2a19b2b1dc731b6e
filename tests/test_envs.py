"""The learner's environments (envs/*.txt) and the tool that runs the course in them."""

import re
import sys
from pathlib import Path

import learner_env
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def declared_dependencies():
    """pyproject.toml's dependencies as {name: floor}, and its Python floor (no tomllib on 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.M | re.S)[1]
    floors = dict(re.findall(r'"([A-Za-z0-9_.-]+)>=([^"]+)"', block))
    python = re.search(r'^requires-python = ">=([\d.]+)"', text, re.M)[1]
    return {learner_env.normalise(name): version for name, version in floors.items()}, python


def test_the_declared_floors_are_the_tested_minimum_versions():
    floors, python = declared_dependencies()
    version, pins = learner_env.read_environment_file(ROOT / "envs" / "minimum.txt")
    assert version == python
    assert floors, "no dependency with a floor in pyproject.toml"
    for name, floor in floors.items():
        assert pins.get(name) == floor, f"pyproject.toml says {name}>={floor}; envs/minimum.txt pins {pins.get(name)}"


def test_colab_pins_every_dependency_so_pip_adds_nothing_of_its_own_choice():
    floors, _ = declared_dependencies()
    version, pins = learner_env.read_environment_file(ROOT / "envs" / "colab.txt")
    assert version == "3.12" and pins["tensorflow"] == "2.19.0" and pins["keras"] == "3.10.0"
    assert set(floors) <= set(pins), f"not pinned in envs/colab.txt: {set(floors) - set(pins)}"
    for name in ("myst-nb", "jupyter-book", "nbval", "jupytext"):
        assert name not in pins  # none of the build tools a learner doesn't have


def test_an_environment_file_needs_its_python_and_plain_pins(tmp_path):
    bad = tmp_path / "env.txt"
    bad.write_text("numpy==2.0.2\n")
    with pytest.raises(SystemExit, match="# python: X.Y"):
        learner_env.read_environment_file(bad)
    bad.write_text("# python: 3.12\nnumpy>=2\n")
    with pytest.raises(SystemExit, match="name==version"):
        learner_env.read_environment_file(bad)
    bad.write_text("# python: 3.12\nNumPy==2.0.2  # a comment\nmatplotlib_inline==0.1.6\n")
    assert learner_env.read_environment_file(bad) == ("3.12", {"numpy": "2.0.2", "matplotlib-inline": "0.1.6"})


def test_an_install_that_touches_a_pinned_package_fails():
    pins = {"tensorflow": "2.19.0", "numpy": "2.0.2"}
    assert "left every pinned package" in learner_env.judge_install({"lenet-course": "0.1.0"}, pins)
    assert "added: rich 13" in learner_env.judge_install({"lenet-course": "0.1.0", "rich": "13"}, pins)
    with pytest.raises(SystemExit, match="numpy: pinned 2.0.2, pip installed 2.1.0"):
        learner_env.judge_install({"lenet-course": "0.1.0", "numpy": "2.1.0"}, pins)
    with pytest.raises(SystemExit, match="tensorflow: pinned 2.19.0, pip installed 2.19.0"):  # a reinstall
        learner_env.judge_install({"tensorflow": "2.19.0"}, pins)


def write_notebook(path, *cells):
    notebook = nbformat.v4.new_notebook()
    for source, tags in cells:
        notebook.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    nbformat.write(notebook, path)
    return str(path)


def test_notebooks_run_in_an_empty_folder_and_only_tagged_cells_may_raise(tmp_path, capsys):
    """The notebook runner fails a notebook for what would fail a learner (run in this venv)."""
    environment = Path(sys.prefix)
    good = write_notebook(tmp_path / "good.ipynb", ("x = 1", []), ("raise ValueError('by design')", ["raises-exception"]))
    missing_module = write_notebook(tmp_path / "missing.ipynb", ("import a_module_no_learner_has", []))
    repository_file = write_notebook(tmp_path / "file.ipynb", ("open('pyproject.toml').read()", []))
    untagged_raise = write_notebook(tmp_path / "raise.ipynb", ("raise ValueError('oops')", []))
    failed = learner_env.execute_notebooks(environment, [good, missing_module, repository_file, untagged_raise])
    assert failed == [missing_module, repository_file, untagged_raise]
    out = capsys.readouterr().out
    assert "ModuleNotFoundError" in out and "FileNotFoundError" in out and "oops" in out


def test_a_kernel_that_dies_is_reported(tmp_path, capsys):
    """A kernel that fails (not a cell) fails the notebook, saying so."""
    dies = write_notebook(tmp_path / "dies.ipynb", ("import os; os._exit(1)", []))
    assert learner_env.execute_notebooks(Path(sys.prefix), [dies]) == [dies]
    out = capsys.readouterr().out
    assert "the kernel failed: DeadKernelError" in out


def test_kernels_talk_over_unix_sockets_not_tcp_ports(tmp_path, capsys):
    """Two kernels starting at once over TCP can draw the same free port; sockets cannot."""
    transport = ("import json, ipykernel\n"
                 "assert json.load(open(ipykernel.get_connection_file()))['transport'] == 'ipc'")
    notebooks = [write_notebook(tmp_path / f"{i}.ipynb", (transport, [])) for i in range(2)]
    assert learner_env.execute_notebooks(Path(sys.prefix), notebooks) == [], capsys.readouterr().out
