"""Sphinx extension: the theme's icons from Font Awesome's web fonts, without its 1.5 MB script.

pydata-sphinx-theme ships Font Awesome twice: as CSS with web fonts (inside its own stylesheet,
loading a ~150 KB font only when an icon is on the page) and as `fontawesome.js`, a 1.5 MB script
that replaces every icon with an inline SVG. The script makes every page of the book weigh
about 2.9 MB instead of 1.4 MB (the "Draw a digit" page must stay small on a phone); the
stylesheet alone draws the same icons. After the build, this drops the script's tag from every
page.
"""

import re
from pathlib import Path

SCRIPT_TAG = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')


def drop_script(html):
    """``html`` without the tag that loads fontawesome.js.

    Example:
        >>> drop_script('<head><script defer src="_static/scripts/fontawesome.js?d=1"></script></head>')
        '<head></head>'
    """
    return SCRIPT_TAG.sub("", html)


def _drop_from_every_page(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = drop_script(text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _drop_from_every_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
