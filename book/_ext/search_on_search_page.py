"""Sphinx extension: the search index loads on the search page only.

pydata-sphinx-theme puts Sphinx's search tools and the whole search index (``searchindex.js``,
77 KB and growing with the book) on every page, for its search-as-you-type box. That box is off
(the theme's default, and this book's): the search field sends the reader to ``search.html``,
which loads the index itself. After the build, this drops the three tags from every other page:
about 100 KB less for each page a reader opens.
"""

import re
from pathlib import Path

SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>')


def drop_search_scripts(html):
    """``html`` without the tags that load the search tools and index.

    Example:
        >>> drop_search_scripts('<head><script src="../searchindex.js"></script><script src="a.js"></script></head>')
        '<head><script src="a.js"></script></head>'
    """
    return SEARCH_SCRIPTS.sub("", html)


def _drop_from_every_page_but_search(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    if app.config.html_theme_options.get("search_as_you_type"):
        return  # the box needs the index on every page
    for page in Path(app.outdir).rglob("*.html"):
        if page.name == "search.html":
            continue
        text = page.read_text(encoding="utf-8")
        lighter = drop_search_scripts(text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _drop_from_every_page_but_search)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
