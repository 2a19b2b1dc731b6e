"""Open every page of the built book in headless Chromium, as a reader would.

Serves ``_build/html`` on localhost, loads each page at a desktop width (1280 px)
and fails (exit 1) on:

- a JavaScript error, an image that does not load, or an internal link to a page
  or anchor that does not exist;
- an image in the article with no text for a reader who cannot see it: no alt text, or a
  file's path as alt text (docutils' default; ``book/_ext/figure_alt_text.py`` gives a
  figure's image its caption);
- a code block that overflows the text column (a ``pre`` whose ``scrollWidth``
  exceeds its ``clientWidth``: the reader would have to scroll sideways);
- an icon whose glyph is not in the web font it is drawn from (the book keeps only the
  glyphs it uses: ``book/_ext/webfont_icons.py``), an ``fa-`` element's or one the theme
  draws by itself, such as the bell in an admonition's title;
- a page heavier than its budget: "Draw a digit" (``PAGE_BUDGETS``) must load in at most
  1 MB, everything it fetches included, since readers open it on phones;
- with ``--mathjax DIR``: math that MathJax did not typeset, or typeset as a TeX error or
  with a command it does not know, and an equation wider than the text column, at either
  width (a reader would have to scroll it sideways).
  The pages load MathJax from jsdelivr; the check answers those requests with the same
  files from ``DIR`` (``make check-book`` fetches npm's package), as a reader's browser
  would get them, so the screenshots show the math as a reader sees it;
- a figure shown too small to read. The rule: the package's figures use text of at
  least ``lenet_course.plots.MIN_FONT_PT`` (8 pt), drawn at matplotlib's 100 dpi,
  so 11.1 px at the image's natural size (``tests/test_plots.py`` checks the font
  sizes). A page that shows an image at a scale ``rendered width / natural width``
  puts that text at 11.1 px x scale; below ``MIN_TEXT_PX`` (8 px) it fails, i.e.
  any figure in the article shown at less than 72% of its natural width.

- at a phone's width (390 px): a page that scrolls sideways, or a figure still too small
  to read after a tap. On a narrow screen ``book/_static/readable_figures.js`` lets the
  reader tap a figure the column shrinks below reading size, to see it at reading size in
  a box that scrolls sideways; the check taps every such figure and applies the rule
  above to what the tap shows.

Each failure names the page, the block or image, and the numbers. Saves a
full-page screenshot of every page under ``_build/screenshots/`` (and one at a
phone's width, 390 px, as ``<page>-390.png``) to look at.

Usage (``make check-book`` runs it after ``make book``)::

    python tools/check_book_in_browser.py [_build/html] [--chromium /usr/bin/chromium]
                                          [--mathjax .venv/mathjax-3.2.2/es5]
"""

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urlparse

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

IMAGES_LOADED = """() => Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.getAttribute('src'))"""
# Images in the article and their alt text (null when there is none): [src, alt].
IMAGE_DESCRIPTIONS = """() => Array.from(document.querySelectorAll('article img'))
    .map(img => [img.getAttribute('src'), img.getAttribute('alt')])"""
# Code blocks in the article that scroll sideways: (index, scrollWidth, clientWidth, first line).
OVERFLOWING_CODE = """() => Array.from(document.querySelectorAll('article pre'))
    .map((pre, i) => [i, pre.scrollWidth, pre.clientWidth, pre.innerText.split('\\n')[0]])
    .filter(([i, scroll, client]) => client > 0 && scroll > client + 1)"""
# Images in the article: [src, natural width, rendered width].
ARTICLE_IMAGES = """() => Array.from(document.querySelectorAll('article img'))
    .filter(img => img.naturalWidth > 0 && img.clientWidth > 0)
    .map(img => [img.getAttribute('src'), img.naturalWidth, img.clientWidth])"""
# At a phone's width: every article image as a tap on it shows it (figures the column
# shrinks below reading size are tapped, measured and tapped back): [src, natural width,
# rendered width, the page's width then].
TAPPED_IMAGES = """() => Array.from(document.querySelectorAll('article img'))
    .filter(img => img.naturalWidth > 0 && img.clientWidth > 0)
    .map(img => { const tap = img.closest('.readable-figure.shrunk') !== null;
                  if (tap) img.click();
                  const seen = [img.getAttribute('src'), img.naturalWidth, img.clientWidth,
                                document.documentElement.scrollWidth];
                  if (tap) img.click();
                  return seen; })"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth"
MATHJAX_URL = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"
# Once MathJax has typeset the page: the math it left as TeX, the TeX errors and unknown
# commands it drew, and the equations wider than the text column: [what is wrong, the TeX].
MATH_PROBLEMS = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    const untypeset = Array.from(document.querySelectorAll('article .math'))
        .filter(e => !e.querySelector('mjx-container'))
        .map(e => ['left as TeX', e.textContent.trim()]);
    const errors = Array.from(document.querySelectorAll('article mjx-merror'))
        .map(e => ['with a TeX error', e.getAttribute('data-mjx-error') || e.textContent]);
    const unknown = Array.from(document.querySelectorAll('article mjx-assistive-mml mtext[mathcolor="red"]'))
        .map(e => ['with an undefined command', e.textContent]);  // drawn in red, not as an error
    const tex = e => { const items = MathJax.startup.document.getMathItemsWithin(e);
                       return items.length ? items[0].math.trim() : e.textContent.trim(); };
    const wide = Array.from(document.querySelectorAll('article div.math'))
        .filter(e => e.querySelector('mjx-math'))
        .map(e => [e, e.querySelector('mjx-math').getBoundingClientRect().width])
        .filter(([e, width]) => width > e.clientWidth + 1)
        .map(([e, width]) => [`wider than the text column (${Math.round(width)} px in ${e.clientWidth} px)`,
                              tex(e)]);
    return [...untypeset, ...errors, ...unknown, ...wide]; }"""
PHONE_WIDTH = 390
# Every icon a page draws from Font Awesome, an `fa-...` element's ::before or one the theme draws
# by itself (an admonition title's bell, in its ::after): [classes and ::before or ::after, the
# content, font family, font weight].
ICONS = """() => Array.from(document.querySelectorAll('*')).flatMap(e => ['::before', '::after']
    .map(where => { const s = getComputedStyle(e, where);
                    const name = (e.getAttribute('class') || e.tagName.toLowerCase()) + where;
                    return [name, s.content, s.fontFamily, s.fontWeight]; }))
    .filter(([, content, family]) => content.length === 3 && /Font Awesome/.test(family))"""
# Bytes a page fetched: the page and every file it loaded, as served.
PAGE_BYTES = """() => [...performance.getEntriesByType('navigation'),
    ...performance.getEntriesByType('resource')].reduce((sum, r) => sum + r.encodedBodySize, 0)"""
PAGE_BUDGETS = {"book/draw_a_digit.html": 1_000_000}
FONT_FILES = {("Font Awesome 6 Brands", "400"): "fa-brands-400.woff2",
              ("Font Awesome 6 Free", "400"): "fa-regular-400.woff2",
              ("Font Awesome 6 Free", "900"): "fa-solid-900.woff2"}
MIN_TEXT_PX = 8.0
FIGURE_DPI = 100


def _smallest_figure_text_px():
    """Pixel height of the smallest text the package draws, at an image's natural size."""
    try:
        from lenet_course.plots import MIN_FONT_PT
    except ImportError:  # the check does not need the package to run
        MIN_FONT_PT = 8
    return MIN_FONT_PT * FIGURE_DPI / 72


def layout_problems(name, overflowing, images, smallest_text_px=None):
    """The overflowing code blocks and too-small figures of one page, as messages."""
    smallest_text_px = smallest_text_px or _smallest_figure_text_px()
    problems = [f"{name}: code block {i} overflows the text column ({scroll} px wide in "
                f"{client} px): {line[:60]!r}" for i, scroll, client, line in overflowing]
    for src, natural, rendered in images:
        text_px = smallest_text_px * rendered / natural
        if text_px < MIN_TEXT_PX:
            problems.append(f"{name}: figure {src} shown at {rendered} of its {natural} px "
                            f"({rendered / natural:.0%}): its smallest text is {text_px:.1f} px, "
                            f"below {MIN_TEXT_PX:g} px")
    return problems


def description_problems(name, images):
    """The images of one page that a screen reader cannot describe, as messages: no alt
    text, or a file's path (what a reader would hear instead of a description).

    Example:
        >>> description_problems("a.html", [["../_images/3f2a.png", "../_images/3f2a.png"],
        ...                                 ["b.png", None], ["c.png", "Ten digits."]])
        ['a.html: image ../_images/3f2a.png is described by its path', 'a.html: image b.png has no alt text']
    """
    problems = []
    for src, alt in images:
        if not (alt or "").strip():
            problems.append(f"{name}: image {src} has no alt text")
        elif re.search(r"(^|/)[^/ ]+\.(png|jpe?g|gif|svg|webp)$", alt.strip(), re.I):
            problems.append(f"{name}: image {src} is described by its path")
    return problems


def phone_problems(name, page_width, tapped_images, smallest_text_px=None):
    """The problems of one page at a phone's width, as messages: the page scrolls
    sideways, or a figure, as a tap shows it, is too small to read or widens the page.

    Example:
        >>> phone_problems("a.html", 414, [["f.png", 890, 668, 390]], smallest_text_px=11.1)
        ['a.html at 390 px: the page scrolls sideways (414 px wide)']
    """
    where = f"{name} at {PHONE_WIDTH} px"
    problems = []
    if page_width > PHONE_WIDTH:
        problems.append(f"{where}: the page scrolls sideways ({page_width} px wide)")
    images = [image[:3] for image in tapped_images]
    problems += layout_problems(f"{where}, figures as a tap shows them", [], images, smallest_text_px)
    problems += [f"{where}: a tap on figure {src} widens the page to {width} px"
                 for src, _, _, width in tapped_images if width > max(page_width, PHONE_WIDTH)]
    return problems


def icon_problems(name, icons, glyphs):
    """The icons of one page that their font cannot draw, as messages. ``glyphs`` maps a
    font file's name to the set of characters it has.

    Example:
        >>> icon_problems("a.html", [["fa-solid fa-moon", '"\\uf186"', '"Font Awesome 6 Free"', "900"]],
        ...               {"fa-solid-900.woff2": {"\\uf185"}})
        ['a.html: icon "fa-solid fa-moon" (U+F186) is not in fa-solid-900.woff2']
    """
    problems = []
    for classes, content, family, weight in icons:
        font = FONT_FILES.get((family.split(",")[0].strip('"\' '), weight))
        char = content[1]
        if font is None or char not in glyphs.get(font, ()):
            problems.append(f"{name}: icon \"{classes}\" (U+{ord(char):04X}) is not in {font or family}")
    return sorted(set(problems))


def math_problems(name, found):
    """The math of one page that MathJax left as TeX or could not read, as messages.

    Example:
        >>> math_problems("a.html", [["left as TeX", "x^2"], ["with a TeX error", "Missing close brace"]])
        ['a.html: math left as TeX: x^2', 'a.html: math with a TeX error: Missing close brace']
    """
    return [f"{name}: math {kind}: {' '.join(text.split())[:80]}" for kind, text in found]


def serve_mathjax(page, folder):
    """Answer ``page``'s requests for MathJax (``MATHJAX_URL``) with the files in ``folder``."""
    folder = Path(folder).resolve()

    def fulfil(route):
        path = (folder / urlparse(route.request.url).path.split("/es5/", 1)[1]).resolve()
        if folder in path.parents and path.is_file():
            route.fulfill(path=path)
        else:
            route.fulfill(status=404)

    page.route(MATHJAX_URL + "**", fulfil)


def page_weight(browser, url):
    """Bytes the page at ``url`` loads on a first visit (empty cache), until the network is idle."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    weight = page.evaluate(PAGE_BYTES)
    context.close()
    return weight


def font_glyphs(html_dir):
    """The characters each of the book's icon fonts has, by file name."""
    from fontTools.ttLib import TTFont

    fonts = Path(html_dir, "_static", "vendor", "fontawesome").rglob("*.woff2")
    return {font.name: {chr(c) for c in TTFont(font).getBestCmap()} for font in fonts}


LINKS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
ANCHORS = "() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"


def serve(folder):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def check(html_dir, chromium, screenshots, mathjax=None):
    html_dir = Path(html_dir).resolve()
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                   if "_static" not in p.parts and p.name not in ("genindex.html", "search.html"))
    pages = [p for p in pages if p != "index.html"]  # a redirect to the intro
    screenshots.mkdir(parents=True, exist_ok=True)
    server = serve(html_dir)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, anchors_seen, links_to_check = [], {}, []
    glyphs = font_glyphs(html_dir)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        phone = browser.new_page(viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2)
        if mathjax:
            serve_mathjax(page, mathjax)
            serve_mathjax(phone, mathjax)
        errors = []
        page.on("pageerror", lambda error: errors.append(error))
        for name in pages:
            errors.clear()
            page.goto(base + name, wait_until="load")
            page.wait_for_timeout(300)
            if mathjax:
                problems += math_problems(name, page.evaluate(MATH_PROBLEMS))
            problems += [f"{name}: JavaScript error: {error}" for error in errors]
            problems += [f"{name}: image does not load: {src}" for src in page.evaluate(IMAGES_LOADED)]
            problems += description_problems(name, page.evaluate(IMAGE_DESCRIPTIONS))
            anchors_seen[name] = set(page.evaluate(ANCHORS))
            links_to_check += [(name, href) for href in page.evaluate(LINKS) if href.startswith(base)]
            problems += layout_problems(name, page.evaluate(OVERFLOWING_CODE), page.evaluate(ARTICLE_IMAGES))
            problems += icon_problems(name, page.evaluate(ICONS), glyphs)
            if name in PAGE_BUDGETS and (weight := page_weight(browser, base + name)) > PAGE_BUDGETS[name]:
                problems.append(f"{name}: loads {weight / 1e6:.2f} MB, over its budget of "
                                f"{PAGE_BUDGETS[name] / 1e6:g} MB")
            shot = screenshots / name.replace("/", "__").removesuffix(".html")
            page.screenshot(path=f"{shot}.png", full_page=True)
            phone.goto(base + name, wait_until="load")
            phone.wait_for_timeout(300)
            if mathjax:  # (after MathJax has typeset: then the screenshot)
                wide = [found for found in phone.evaluate(MATH_PROBLEMS) if found[0].startswith("wider")]
                problems += math_problems(f"{name} at {PHONE_WIDTH} px", wide)
            phone.screenshot(path=f"{shot}-{PHONE_WIDTH}.png", full_page=True)
            problems += phone_problems(name, phone.evaluate(PAGE_WIDTH), phone.evaluate(TAPPED_IMAGES))
            print(f"ok  {name}")
        browser.close()
    server.shutdown()
    for name, href in links_to_check:
        target, fragment = urldefrag(href)
        path = urlparse(target).path.lstrip("/") or "index.html"
        if path.endswith("/"):
            path += "index.html"
        if not (html_dir / path).is_file():
            problems.append(f"{name}: broken link to {href}")
        elif fragment and path in anchors_seen and fragment not in anchors_seen[path]:
            problems.append(f"{name}: link to a missing anchor {href}")
    return pages, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", default="_build/screenshots")
    parser.add_argument("--mathjax", help="a folder of MathJax 3's es5 files: typeset the math "
                                          "and check it (without it the math stays TeX here)")
    args = parser.parse_args(argv)
    if not Path(args.html_dir, "index.html").exists():
        sys.exit(f"{args.html_dir}/index.html not found: build the book first (make book)")
    if args.mathjax and not Path(args.mathjax, "tex-mml-chtml.js").is_file():
        sys.exit(f"{args.mathjax}/tex-mml-chtml.js not found: MathJax's es5 folder (make check-book fetches it)")
    pages, problems = check(args.html_dir, args.chromium, Path(args.screenshots), args.mathjax)
    for problem in problems:
        print("FAIL", problem)
    print(f"{len(pages)} pages checked in Chromium, {len(problems)} problems; screenshots in {args.screenshots}/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
