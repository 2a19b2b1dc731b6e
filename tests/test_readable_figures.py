"""Figures on a phone: a tap shows a shrunk figure at reading size (``readable_figures.js``).

A page laid out as the built book lays out a chapter's outputs (``article``, a
``div.cell_output`` with a figure), with the book's own CSS and script, in Chromium
at a phone's width and at a desktop's.
"""

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from check_book_in_browser import FIGURE_DPI, MIN_TEXT_PX, serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"

from lenet_course.plots import MIN_FONT_PT  # noqa: E402

TEXT_PX_AT_NATURAL_SIZE = MIN_FONT_PT * FIGURE_DPI / 72  # the package's smallest text
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>figures</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>img { max-width: 100%; height: auto; }</style><!-- as the book's theme does -->
<link rel="stylesheet" href="_static/course.css"><script src="_static/readable_figures.js"></script>
</head><body><article>
<div class="cell_output"><figure><img id="wide" src="wide.png"><figcaption>A wide figure.</figcaption></figure></div>
<div class="cell_output"><img id="small" src="small.png"></div>
</article></body></html>"""


def _figure(path, width_inches, height_inches):
    fig = plt.figure(figsize=(width_inches, height_inches))
    fig.text(0.5, 0.5, "8-point text", fontsize=8, ha="center")
    fig.savefig(path, dpi=100)
    plt.close(fig)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    (folder / "_static").mkdir()
    for name in ("course.css", "readable_figures.js"):
        shutil.copy(STATIC / name, folder / "_static" / name)
    _figure(folder / "wide.png", 9, 3)    # 900 px: a two-panel figure of the book
    _figure(folder / "small.png", 3, 2)   # 300 px: fits a phone
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    server = serve(folder)
    yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    server.shutdown()


def _open(browser, url, width):
    context = browser.new_context(viewport={"width": width, "height": 844}, has_touch=True,
                                  is_mobile=width < 600)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(error))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(100)
    return page


def _seen(page, selector):
    """How the image shows: its text's height in px, whether its box or the page scrolls
    sideways, and the hint under it ('' when there is none or it is hidden)."""
    return page.evaluate("""(selector) => {
        const img = document.querySelector(selector), box = img.parentElement;
        const hint = box.nextElementSibling;
        const shown = hint && hint.classList.contains('readable-figure-hint')
                      && getComputedStyle(hint).display !== 'none';
        return {scale: img.clientWidth / img.naturalWidth,
                box_scrolls: box.scrollWidth > box.clientWidth,
                page_scrolls: document.documentElement.scrollWidth > window.innerWidth,
                hint: shown ? hint.textContent : ''}; }""", selector)


def test_a_tap_shows_a_shrunk_figure_at_reading_size_and_a_second_tap_fits_it_again(browser, site):
    page = _open(browser, site, 390)
    fitted = _seen(page, "#wide")
    assert TEXT_PX_AT_NATURAL_SIZE * fitted["scale"] < MIN_TEXT_PX  # too small to read
    assert fitted["hint"].startswith("Tap the figure") and not fitted["page_scrolls"]

    page.tap("#wide")
    readable = _seen(page, "#wide")
    assert TEXT_PX_AT_NATURAL_SIZE * readable["scale"] >= MIN_TEXT_PX
    assert readable["box_scrolls"] and not readable["page_scrolls"]
    assert readable["hint"].startswith("Swipe sideways")

    page.tap("#wide")
    assert _seen(page, "#wide") == fitted
    assert page.errors == []


def test_the_keyboard_opens_a_shrunk_figure_too(browser, site):
    page = _open(browser, site, 390)
    page.focus("#wide")
    page.keyboard.press("Enter")
    assert TEXT_PX_AT_NATURAL_SIZE * _seen(page, "#wide")["scale"] >= MIN_TEXT_PX
    assert page.get_attribute("#wide", "aria-expanded") == "true"


def test_figures_that_fit_are_left_alone(browser, site):
    phone = _open(browser, site, 390)
    assert _seen(phone, "#small") == {"scale": 1, "box_scrolls": False, "page_scrolls": False,
                                      "hint": ""}
    assert phone.get_attribute("#small", "role") is None
    desktop = _open(browser, site, 1280)
    assert _seen(desktop, "#wide")["scale"] == 1 and _seen(desktop, "#wide")["hint"] == ""
    assert desktop.get_attribute("#wide", "role") is None


def test_a_phone_turned_sideways_fits_an_opened_figure_again_and_drops_the_hint(browser, site):
    page = _open(browser, site, 390)
    page.tap("#wide")
    page.set_viewport_size({"width": 1280, "height": 844})
    page.wait_for_timeout(100)
    fitted = {"scale": 1, "box_scrolls": False, "page_scrolls": False, "hint": ""}
    assert _seen(page, "#wide") == fitted
    page.click("#wide")  # there it is readable as it is: a click changes nothing
    assert _seen(page, "#wide") == fitted
