"""Every docstring example in the package runs and shows what it says."""

import doctest
import importlib

import pytest

MODULES = ["book", "data", "layers", "reference", "models", "plots", "train", "checks", "grading", "kernel", "sandbox",
           "answers", "reports", "exercises", "cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"lenet_course.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name != "train":
        assert result.attempted > 0, f"lenet_course.{name} has no runnable example"
