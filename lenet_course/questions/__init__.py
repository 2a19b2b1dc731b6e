"""The graded questions of the per-chapter exercise notebooks, one module per chapter.

``lenet_course.checks`` registers them in ``checks.QUESTIONS``; import them through it
(``from lenet_course.checks import check``). Each module names its exercise notebook
(``NOTEBOOK``, e.g. ``"05_s4"``, after the chapter ``book/05_s4.md``) and lists its
``QUESTIONS`` in the order the notebook asks them. The questions of the first exercise
notebooks (convolution, subsampling, LeNet-5 to spec, training, the confusion matrix)
still live in ``checks`` itself and are filed under these notebooks there.

Example:
    >>> from lenet_course.questions import chapter_modules
    >>> chapter_modules()[0].NOTEBOOK
    '00_five_minutes'
"""

import importlib

CHAPTERS = ("ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09", "ch09b",
            "ch10", "ch11", "ch12", "ch13")


def chapter_modules():
    """The chapter modules, in the book's order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in CHAPTERS]


def kinds():
    """{question name: "compute", "implement" or "experiment"} for every question of the modules."""
    return {name: kind for module in chapter_modules() for name, kind in module.KINDS.items()}


def all_questions():
    """Every question these modules define, in the book's order."""
    return [question for module in chapter_modules() for question in module.QUESTIONS]


# Importing a chapter module first must still build checks' registry before the module
# needs it: checks is imported here, after the functions it calls are defined.
from .. import checks  # noqa: E402,F401
