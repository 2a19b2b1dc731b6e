"""Sphinx extension: a figure's image is described, for a reader who cannot see it, by its caption.

myst-nb writes the figure a code cell draws as an ``<img>`` with no alt text, so docutils
gives it the image's path: a screen reader reads out ``../_images/3f2a9c...png``. Every
figure of the book has a caption (``mystnb: figure: caption:`` in the cell); this makes the
caption the alt text of a figure's image that has none. A cell can still give an image a
description of its own (``mystnb: image: alt:``). The browser check
(``tools/check_book_in_browser.py``) fails a page with an image whose alt text is missing or a
file's path.
"""

from docutils import nodes


def describe_figures(doctree):
    """Give each image in a captioned figure that has no alt text its caption's text.

    Example:
        >>> figure = nodes.figure("", nodes.image(uri="a.png"), nodes.caption("", "Ten digits."))
        >>> describe_figures(figure)
        >>> figure[0]["alt"]
        'Ten digits.'
    """
    for figure in doctree.findall(nodes.figure):
        caption = next(figure.findall(nodes.caption), None)
        if caption is None:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = " ".join(caption.astext().split())


def setup(app):
    app.connect("doctree-read", lambda app, doctree: describe_figures(doctree))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
