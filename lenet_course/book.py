"""What the book build needs from a chapter, harmless wherever else it runs.

The published book (Jupyter Book with myst-nb) puts numbers that a chapter computes
into its prose with ``glue``. A learner who runs the same notebook in Colab or in
Jupyter has no myst-nb and needs no published values, so there ``glue`` does nothing:
no error, no warning, nothing on the screen.

Example:
    >>> from lenet_course.book import glue
    >>> glue("c1_params", "156", display=False)  # on the page in a book build, else nothing
"""

try:  # present only where the book is built (requirements.txt), never needed by a learner
    from myst_nb import glue as _myst_nb_glue
except ImportError:
    _myst_nb_glue = None


def glue(name, value, display=True):
    """Publish ``value`` under ``name`` for the book's ``{glue:text}`name``` roles.

    The same call as ``myst_nb.glue``. Without myst-nb it only shows ``value`` when
    ``display`` is true, and otherwise does nothing.

    Args:
        name: the key the page's ``{glue:text}`` role uses.
        value: any object; the page shows its text form.
        display: also show the value in the notebook's output.

    Example:
        >>> glue("answer", 42, display=False)
    """
    if _myst_nb_glue is not None:
        _myst_nb_glue(name, value, display=display)
    elif display:
        from IPython.display import display as show

        show(value)
