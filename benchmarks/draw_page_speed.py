"""How long one forward pass of book/_static/lenet5.js takes in headless Chromium.

Loads the page's own JavaScript and weights from book/_static (served on localhost),
runs ``lenet5.predict`` on the shipped sample's held-out digits and prints the
median, min and max time of one pass (goal: a median of 5 ms or less). Also prints
the size of what the "Draw a digit" page loads.

    .venv/bin/python benchmarks/draw_page_speed.py [--runs 300]
"""

import argparse
import os
import platform
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from check_book_in_browser import CHROMIUM_ARGS, serve  # noqa: E402

from lenet_course.data import load_mnist  # noqa: E402

TIMES = """([digits, runs]) => {
  for (const d of digits) lenet5.predict(d);                  // warm-up: let the JIT compile
  const times = [];
  for (let n = 0; n < runs; n++) {
    const digit = digits[n % digits.length], start = performance.now();
    lenet5.predict(digit);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    digits = load_mnist("sample", verbose=False).x_test[:50].tolist()
    server = serve(ROOT / "book" / "_static")
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "draw_digit.css")  # any file of the site, to run the script from there
        page.add_script_tag(url=base + "lenet5.js")
        page.evaluate("lenet5.ready")
        times = page.evaluate(TIMES, [digits, args.runs])
        version = browser.version
        browser.close()
    server.shutdown()
    median = times[len(times) // 2]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; Chromium {version} headless")
    print(f"one forward pass of lenet5.js ({args.runs} runs on {len(digits)} sample digits): "
          f"median {median:.2f} ms, min {times[0]:.2f} ms, max {times[-1]:.2f} ms (goal: median <= 5 ms)")
    static = ROOT / "book" / "_static"
    own = ["draw_digit.html", "draw_digit.css", "draw_digit.js", "lenet5.js", "lenet5_weights.json",
           "lenet5_weights.bin", "draw_digit_samples.json"]
    print(f"the page's own files: {sum((static / f).stat().st_size for f in own):,} bytes "
          f"({', '.join(own)})")
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
