"""The "Draw a digit" page in Chromium: its JavaScript LeNet-5 is the Keras one, offline.

The page's files are served from ``book/_static`` as the built book serves them
(``book/draw_a_digit.html`` beside ``_static/``), so this runs before the book is
built; ``tools/check_book_in_browser.py`` checks the page inside the built book.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from check_book_in_browser import serve

from lenet_course.export import model_from_export
from lenet_course.models import apply_layers, predict_digits, preprocess

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"

LAYERS = ["C1", "S2", "C3", "S4", "C5", "F6"]
KERAS_PATH = {name: ["C1", "S2", "C3", "S4", "C5", "flatten", "F6"][: i + 1 + (name == "F6")]
              for i, name in enumerate(LAYERS)}
TOLERANCE = 1e-4
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Draw a digit (test)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head><body>{widget}</body></html>"""


@pytest.fixture(scope="module")
def model():
    return model_from_export(STATIC / "lenet5_weights.bin")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The widget in a page of its own, laid out as in the built book; its URL."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copytree(STATIC, folder / "_static")
    (folder / "book").mkdir()
    (folder / "book" / "draw_a_digit.html").write_text(
        PAGE.format(widget=(STATIC / "draw_digit.html").read_text()), encoding="utf-8")
    server = serve(folder)
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def page(browser, site):
    """The page, loaded, with what it logged and requested."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.problems, page.requests = [], []
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"error: {error}"))
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status}: {r.url}"))
    page.goto(site + "book/draw_a_digit.html", wait_until="load")
    page.wait_for_selector("#draw-digit.dd-ready", timeout=20_000)
    yield page
    page.close()


def test_page_loads_offline_small_and_without_console_errors(page, site, model):
    assert page.problems == []
    outside = [url for url in page.requests if not url.startswith(site)]
    assert outside == [], f"requests outside the page's own files: {outside}"
    sizes = page.evaluate("performance.getEntriesByType('resource').map(r => r.encodedBodySize)")
    assert sum(sizes) < 1_000_000
    metadata = page.evaluate("lenet5.metadata")
    assert page.inner_text("#dd-accuracy") == f"{100 * metadata['validation_accuracy']:.2f}%"
    training = metadata["training"]
    assert (f"{training['recipe']}, {training['passes']} passes, seed {training['seed']}"
            in page.inner_text("#dd-provenance"))
    assert page.locator("#dd-samples button").count() == 10
    assert page.inner_text("#dd-answer").isdigit()  # it opens with a sample digit, read


def test_a_screen_reader_hears_each_reading_and_what_the_pad_is_for(page):
    """The reading is a status (a polite live region): screen readers announce each new one."""
    assert page.get_by_label("Draw a digit here with the mouse or a finger").count() == 1
    status = page.get_by_role("status")
    assert status.count() == 1
    assert status.inner_text() == f"LeNet-5 reads {page.inner_text('#dd-answer')}"
    heard = []
    for label in ("3", "8"):  # two samples the network reads differently: the status follows
        page.locator("#dd-samples button", has_text=label).click()
        heard.append(status.inner_text())
        assert heard[-1] == f"LeNet-5 reads {page.evaluate('drawDigit.state.result.digit')}"
    assert heard[0] != heard[1]


def test_javascript_forward_pass_equals_keras_on_200_digits(page, model, sample):
    """Every layer within 1e-4. The distances are sums of 84 squares, up to a few hundred,
    which float32 Keras computes as |x|^2 - 2 x.w + |w|^2: there 1e-4 is below its own
    rounding, so they must agree within 1e-4 plus 1e-6 of their size."""
    digits = sample.x_test[:200]
    inputs = preprocess(digits, "paper")
    keras_layers = {name: apply_layers(model, inputs, path) for name, path in KERAS_PATH.items()}
    keras_distances = model.predict(inputs, verbose=0)
    outputs = json.loads(page.evaluate(
        "digits => JSON.stringify(digits.map(d => { const r = lenet5.predict(d);"
        " return {...r.layers, digit: r.digit, distances: r.distances}; }))", digits.tolist()))
    worst = {}
    for name in LAYERS:
        js = np.array([output[name] for output in outputs])
        assert js.shape == keras_layers[name].shape, name
        worst[name] = np.abs(js - keras_layers[name]).max()
    js_distances = np.array([output["distances"] for output in outputs])
    worst["distances"] = np.abs(js_distances - keras_distances).max()
    relative = (np.abs(js_distances - keras_distances) / keras_distances).max()
    print(f"\nlargest difference JavaScript - Keras on {len(digits)} digits:",
          {k: f"{v:.1e}" for k, v in worst.items()}, f"(distances relative: {relative:.1e})")
    assert max(worst[name] for name in LAYERS) <= TOLERANCE, worst
    np.testing.assert_allclose(js_distances, keras_distances, atol=TOLERANCE, rtol=1e-6)
    # ... and within 1e-4 of the distances computed exactly (float64) from Keras's F6
    exact = ((keras_layers["F6"][:, None, :].astype(float) - model.get_layer("output").codes) ** 2).sum(-1)
    np.testing.assert_allclose(js_distances, exact, atol=TOLERANCE, rtol=0)
    assert [output["digit"] for output in outputs] == np.argmin(keras_distances, axis=1).tolist()


def test_predict_explains_a_wrong_input(page):
    message = page.evaluate("() => { try { lenet5.predict([[1, 2]]); } catch (e) { return e.message; } }")
    assert "28 rows of 28 numbers 0-255" in message


# A 7 and a 1, drawn on the 280x280 canvas as a learner would: strokes of (x, y) points.
STROKES = {
    7: [[(80, 70), (200, 70), (190, 110), (150, 180), (125, 240)], [(120, 150), (190, 150)]],
    1: [[(150, 50), (145, 140), (140, 235)]],
}


@pytest.mark.parametrize("digit", STROKES)
def test_a_digit_drawn_with_the_mouse_is_read_as_keras_reads_it(page, model, digit):
    page.click("#dd-clear")  # the page opens with a sample digit
    assert page.evaluate("drawDigit.state.result") is None and page.inner_text("#dd-answer") == "–"
    box = page.locator("#dd-canvas").bounding_box()
    scale = box["width"] / 280
    for stroke in STROKES[digit]:
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=8)
        page.mouse.up()
    page.wait_for_timeout(200)
    canvas = np.array(page.evaluate("drawDigit.canvasPixels(document.getElementById('dd-canvas'))"))
    state = page.evaluate("drawDigit.state")
    seen = np.array(state["pixels"], dtype=np.uint8)
    np.testing.assert_array_equal(seen, prepare_like_mnist(canvas))  # the Python mirror below
    keras_digit = int(predict_digits(model, seen)[0])
    assert state["result"]["digit"] == keras_digit == digit
    assert page.inner_text("#dd-answer") == str(digit)
    np.testing.assert_allclose(state["result"]["distances"], model.predict(preprocess(seen, "paper"), verbose=0)[0],
                               atol=TOLERANCE)


def test_a_digit_drawn_with_a_finger_on_a_phone_is_read_as_keras_reads_it(browser, site, model):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(site + "book/draw_a_digit.html", wait_until="load")
    page.wait_for_selector("#draw-digit.dd-ready", timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.tap("#dd-clear")
    box = page.locator("#dd-canvas").bounding_box()
    scale = box["width"] / 280
    touch = context.new_cdp_session(page)
    for stroke in STROKES[7]:
        for n, (x, y) in enumerate(stroke):
            finger = [{"x": box["x"] + x * scale, "y": box["y"] + y * scale}]
            touch.send("Input.dispatchTouchEvent", {"type": "touchStart" if n == 0 else "touchMove", "touchPoints": finger})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(200)
    seen = np.array(page.evaluate("drawDigit.state.pixels"), dtype=np.uint8)
    assert page.inner_text("#dd-answer") == str(predict_digits(model, seen)[0]) == "7"
    context.close()


def test_the_prepared_digit_is_shaped_like_mnist(page):
    """Longer side of the ink about 20 pixels, centre of mass at the centre of 28x28."""
    page.click("#dd-clear")
    page.evaluate("""() => { const c = document.getElementById('dd-canvas').getContext('2d');
        c.beginPath(); c.moveTo(20, 20); c.lineTo(60, 100); c.stroke(); drawDigit.update(); }""")
    seen = np.array(page.evaluate("drawDigit.state.pixels"), dtype=float)
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    assert 18 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 20
    ys, xs = np.indices(seen.shape) + 0.5
    centre = (ys * seen).sum() / seen.sum(), (xs * seen).sum() / seen.sum()
    assert np.abs(np.subtract(centre, 14)).max() <= 0.5


def test_pointing_at_a_c3_map_highlights_its_table_i_inputs(page):
    from lenet_course.layers import C3_TABLE

    for j in (0, 6, 15):
        page.hover(f"#dd-C3 canvas[data-map='{j}']")
        lit = page.evaluate("Array.from(document.querySelectorAll('#dd-S2 canvas.dd-feeds')).map(c => +c.dataset.map)")
        assert lit == np.flatnonzero(C3_TABLE[:, j]).tolist()


def test_a_sample_digit_loads_and_is_read_as_keras_reads_it(page, model):
    page.click("#dd-samples button:text-is('3')")
    seen = np.array(page.evaluate("drawDigit.state.pixels"), dtype=np.uint8)
    assert page.inner_text("#dd-answer") == str(predict_digits(model, seen)[0])


def prepare_like_mnist(canvas, box_side=20, field=28):
    """A Python mirror of draw_digit.js's prepareDrawing, to check it."""
    rows, cols = np.flatnonzero(canvas.any(axis=1)), np.flatnonzero(canvas.any(axis=0))
    top, left = rows[0], cols[0]
    height, width = rows[-1] - top + 1, cols[-1] - left + 1
    step = max(height, width) / box_side

    def coverage(start, n):  # (n outputs, canvas side) matrix: how much of each source pixel each covers
        weights = np.zeros((n, canvas.shape[0] + 2 * box_side))
        for o in range(n):
            a, b = start + o * step, start + (o + 1) * step
            for s in range(int(np.floor(a)), int(np.ceil(b))):
                weights[o, s] = min(b, s + 1) - max(a, s)
        return weights[:, : canvas.shape[0]]

    wy = coverage(top, max(1, int(np.floor(height / step + 0.5))))
    wx = coverage(left, max(1, int(np.floor(width / step + 0.5))))
    small = wy @ canvas @ wx.T / step**2
    ys, xs = np.indices(small.shape) + 0.5
    dy = int(np.floor(field / 2 - (ys * small).sum() / small.sum() + 0.5))  # Math.round
    dx = int(np.floor(field / 2 - (xs * small).sum() / small.sum() + 0.5))
    out = np.zeros((field, field))
    out[dy : dy + small.shape[0], dx : dx + small.shape[1]] = small
    return np.minimum(255, np.floor(out + 0.5)).astype(np.uint8)  # JavaScript's Math.round


def test_the_page_follows_the_five_minute_page_and_every_layer_chapter_links_to_it():
    import jupytext
    import yaml

    start = yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"][0]["chapters"]
    assert [c["file"] for c in start][:2] == ["book/five_minutes", "book/draw_a_digit"]
    for md in sorted((ROOT / "book").glob("0[2-8]_*.md")):
        title, opening, after = jupytext.read(md).cells[0].source.split("\n\n")[:3]
        assert "(draw_a_digit.md)" in after, f"{md.name}: no link to the page after the opening paragraph"
