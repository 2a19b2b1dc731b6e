import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("LENET_COURSE_QUIET", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample():
    from lenet_course.data import load_mnist

    return load_mnist(source="sample")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, as the browser check uses), for a module's tests."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.fail(f"{chromium} not found: `make chromium` installs Debian's chromium")
    from check_book_in_browser import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
