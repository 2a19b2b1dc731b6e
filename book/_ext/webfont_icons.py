"""Sphinx extension: the theme's icons from small web fonts holding only the icons the book shows.

pydata-sphinx-theme ships all of Font Awesome (about 1,900 icons) twice: as `fontawesome.js`, a
1.5 MB script that replaces every icon with an inline SVG, and as CSS rules (one per icon, 86 KB
of the theme's stylesheet) drawing from two web fonts (solid 156 KB, brands 118 KB). The book
shows about twenty icons. After the build, this

1. drops the script's tag from every page (the stylesheet draws the same icons);
2. keeps in the stylesheet only the rules of icons that a page or a script names;
3. cuts each web font down to those icons' glyphs, and the glyphs of the theme's own icons
   (fontTools' subsetter). The theme's icons are CSS variables (``--pst-icon-bell``)
   that its stylesheet draws without naming them, such as the bell in an admonition's title.

Every page gets about 1.9 MB lighter; the "Draw a digit" page must stay small on a phone. The
browser check (`tools/check_book_in_browser.py`) fails a page whose icon has no glyph.
"""

import re
from pathlib import Path

SCRIPT_TAG = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')
ICON_NAME = re.compile(r"\bfa-[a-z0-9]+(?:-[a-z0-9]+)*")
# One icon rule of Font Awesome's CSS: `.fa-a:before,.fa-b:before{content:"\f015"}`.
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:"\\([0-9a-f]+)"\}')
# One of the theme's own icons: `--pst-icon-bell:"X"`, X the character itself or a CSS escape (`\f0f3`).
THEME_ICON = re.compile(r'--pst-icon-[a-z0-9-]+:\s*"(\\[0-9a-f]{4}|[\ue000-\uf8ff])"')
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/\s*$")
STYLESHEET = "_static/styles/pydata-sphinx-theme.css"


def drop_script(html):
    """``html`` without the tag that loads fontawesome.js.

    Example:
        >>> drop_script('<head><script defer src="_static/scripts/fontawesome.js?d=1"></script></head>')
        '<head></head>'
    """
    return SCRIPT_TAG.sub("", html)


def icons_named(texts):
    """Every ``fa-...`` name that appears in ``texts`` (pages and scripts).

    Example:
        >>> sorted(icons_named(['<i class="fa-solid fa-moon"></i>', 'icon = "fa-sun"']))
        ['fa-moon', 'fa-solid', 'fa-sun']
    """
    return {name for text in texts for name in ICON_NAME.findall(text)}


def keep_icon_rules(css, names):
    """``css`` with only the icon rules one of whose selectors is in ``names``; and the kept
    icons' code points.

    Example:
        >>> css = '.fa{x}.fa-moon:before{content:"\\\\f186"}.fa-sun:before{content:"\\\\f185"}'
        >>> keep_icon_rules(css, {"fa-sun"})
        ('.fa{x}.fa-sun:before{content:"\\\\f185"}', {61829})
    """
    kept = set()

    def keep_or_drop(rule):
        selectors = {selector.split(":")[0][1:] for selector in rule.group(1).split(",") if selector}
        if selectors & names:
            kept.add(int(rule.group(2), 16))
            return rule.group(0)
        return ""

    return ICON_RULE.sub(keep_or_drop, css), kept


def theme_icons(css):
    """The code points of the theme's own icons, the ``--pst-icon-...`` variables in ``css``.

    Example:
        >>> sorted(theme_icons(':root{--pst-icon-bell:"\uf0f3";--pst-icon-share:"\\\\f064"}'))
        [61540, 61683]
    """
    return {int(icon[1:], 16) if icon.startswith("\\") else ord(icon) for icon in THEME_ICON.findall(css)}


def subset_font(path, code_points):
    """Rewrite the web font at ``path`` with only the glyphs of ``code_points``."""
    from fontTools import subset

    options = subset.Options(flavor="woff2", layout_features=["*"], notdef_outline=True)
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(code_points))
    subsetter.subset(font)
    subset.save_font(font, str(path), options)


def lighten(outdir):
    """Drop the script, the unused icon rules and glyphs from the built book in ``outdir``."""
    outdir = Path(outdir)
    pages = sorted(outdir.rglob("*.html"))
    texts = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        lighter = drop_script(text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
        texts.append(lighter)
    scripts = [path for path in (outdir / "_static").rglob("*.js") if "fontawesome" not in path.parts
               and path.name != "fontawesome.js"]
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in scripts]
    stylesheet = outdir / STYLESHEET
    css, code_points = keep_icon_rules(stylesheet.read_text(encoding="utf-8"), icons_named(texts))
    code_points |= theme_icons(css)
    stylesheet.write_text(SOURCE_MAP.sub("", css), encoding="utf-8")  # the map no longer matches
    for font in (outdir / "_static" / "vendor" / "fontawesome").rglob("*.woff2"):
        subset_font(font, code_points)


def _lighten_the_book(app, exception):
    if exception is None and app.builder.format == "html":
        lighten(app.outdir)


def setup(app):
    app.connect("build-finished", _lighten_the_book)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
