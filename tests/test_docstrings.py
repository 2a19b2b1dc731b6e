"""Every docstring example in the package runs and shows what it says."""

import doctest
import importlib
import pkgutil
import tempfile

import pytest

import lenet_course

# Every module of the package, found rather than listed, so a new module cannot be forgotten.
MODULES = sorted(info.name.removeprefix("lenet_course.") for info in
                 pkgutil.walk_packages(lenet_course.__path__, prefix="lenet_course.")
                 if info.name != "lenet_course._data")
# Modules whose examples need a trained network or the whole book: they show calls, not results.
WITHOUT_RUNNABLE_EXAMPLES = {"train"}


def test_modules_are_found():
    assert {"data", "layers", "reference", "models", "book"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what the examples write goes here
    module = importlib.import_module(f"lenet_course.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name not in WITHOUT_RUNNABLE_EXAMPLES:
        assert result.attempted > 0, f"lenet_course.{name} has no runnable example"
