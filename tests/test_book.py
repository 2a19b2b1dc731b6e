"""The book as a product: paired notebooks, the Colab cell, and Colab links in the built HTML."""

import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
NOTEBOOK_FOLDERS = ("book", "exercises", "solutions")


def notebook_sources():
    """Every MyST-Markdown notebook (a .md with code cells) in the book and the exercises."""
    return sorted(md for folder in NOTEBOOK_FOLDERS for md in (ROOT / folder).glob("*.md")
                  if "{code-cell}" in md.read_text())


def toc_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def cells(notebook):
    return [(cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))) for cell in notebook.cells]


def test_there_are_notebooks():
    assert len(notebook_sources()) >= 1


@pytest.mark.parametrize("md", notebook_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_and_ipynb_pair_are_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    assert cells(jupytext.read(md)) == cells(nbformat.read(ipynb, as_version=4)), (
        f"{md.name} and {ipynb.name} differ: run `make sync`")


@pytest.mark.parametrize("md", notebook_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_first_code_cell_installs_the_package_in_colab_only(md):
    first = next(cell for cell in jupytext.read(md).cells if cell.cell_type == "code")
    assert 'if "google.colab" in sys.modules:' in first.source
    assert f"git+{REPO_URL}" in first.source and "%pip install" in first.source
    assert "remove-cell" in first.metadata.get("tags", [])


@pytest.mark.parametrize("md", notebook_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_import_no_book_build_tool(md):
    """Colab has no myst-nb or jupyter-book: a notebook may import only what the package brings."""
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(from|import) (myst_nb|jupyter_book|sphinx)", cell.source, re.M), (
                f"{md.name} imports a book-build tool; use lenet_course.book.glue")


def test_glue_without_myst_nb_does_nothing_or_shows_the_value(monkeypatch, capsys):
    from lenet_course import book

    monkeypatch.setattr(book, "_myst_nb_glue", None)
    book.glue("name", 1234, display=False)
    assert capsys.readouterr().out == ""
    book.glue("name", 1234)
    assert capsys.readouterr().out.strip() == "1234"


def test_glue_with_myst_nb_publishes_the_value(monkeypatch):
    from lenet_course import book

    published = []
    monkeypatch.setattr(book, "_myst_nb_glue", lambda *args, **kwargs: published.append((args, kwargs)))
    book.glue("c1_params", "156", display=False)
    assert published == [(("c1_params", "156"), {"display": False})]


def test_every_toc_entry_exists():
    for entry in toc_chapters():
        assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.ipynb").exists(), entry


def test_install_url_is_the_configured_repository():
    assert REPO_URL in (ROOT / "README.md").read_text()
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.fixture(scope="module")
def html_without_execution(tmp_path_factory):
    """The book built as `make book` builds it, but without executing the notebooks."""
    out = tmp_path_factory.mktemp("book")
    config = dict(CONFIG, execute={**CONFIG["execute"], "execute_notebooks": "off"})
    config["sphinx"] = dict(CONFIG["sphinx"], local_extensions={
        name: str(ROOT / path) for name, path in CONFIG["sphinx"]["local_extensions"].items()})
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "--config", str(config_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"


COLAB_LINK = re.compile(r'https://colab\.research\.google\.com/github/([^/"]+)/([^/"]+)/blob/([^/"]+)/([^"]+)"')


def test_every_colab_link_opens_a_committed_notebook(html_without_execution):
    org, repo = REPO_URL.rstrip("/").split("/")[-2:]
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split())
    links = {}
    for page in html_without_execution.rglob("*.html"):
        for match in COLAB_LINK.finditer(page.read_text()):
            links.setdefault(page.relative_to(html_without_execution).as_posix(), []).append(match.groups())
    assert links, "no Colab link in the built book"
    for page, found in links.items():
        for link_org, link_repo, branch, path in found:
            assert (link_org, link_repo, branch) == (org, repo, CONFIG["repository"]["branch"]), page
            assert path.endswith(".ipynb"), f"{page}: Colab link to {path}, which Colab cannot open"
            assert (ROOT / path).exists(), f"{page}: Colab link to missing {path}"
            assert path in tracked or not tracked, f"{page}: {path} is not committed"
    # every chapter with code has its Colab button
    for md in notebook_sources():
        if md.parent.name != "book":
            continue
        page = md.relative_to(ROOT).with_suffix(".html").as_posix()
        assert page in links, f"{page} has no Colab link"


def _browser_check():
    import importlib.util

    pytest.importorskip("playwright")
    spec = importlib.util.spec_from_file_location("check_book_in_browser",
                                                  ROOT / "tools" / "check_book_in_browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_browser_check_reports_overflowing_code_and_too_small_figures():
    check = _browser_check()
    text_px = 8 * 100 / 72                      # 8-pt text at 100 dpi: 11.1 px
    problems = check.layout_problems(
        "ch.html",
        overflowing=[[3, 760, 684, "x = a_very_long_line_of_code()"]],
        images=[["big.png", 1000, 684], ["fits.png", 900, 684], ["small.png", 400, 400]],
        smallest_text_px=text_px,
    )
    assert len(problems) == 2
    assert problems[0].startswith("ch.html: code block 3 overflows") and "760 px wide in 684" in problems[0]
    assert "big.png shown at 684 of its 1000 px (68%)" in problems[1] and "7.6 px" in problems[1]
    assert check.MIN_TEXT_PX == 8 and abs(684 / 950 - 0.72) < 0.001  # the 9.5-inch rule of test_plots
