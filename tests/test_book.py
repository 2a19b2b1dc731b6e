"""The book as a product: paired notebooks, the Colab cell, and Colab links in the built HTML."""

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from jupyter_cache import get_cache
from myst_nb.core.read import myst_nb_reader_plugin  # how jupyter-cache reads a MyST notebook

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
NOTEBOOK_FOLDERS = ("book", "exercises", "solutions")


def notebook_sources():
    """Every MyST-Markdown notebook (a .md with code cells) in the book and the exercises."""
    return sorted(md for folder in NOTEBOOK_FOLDERS for md in (ROOT / folder).glob("*.md")
                  if "{code-cell}" in md.read_text())


def toc_chapters():
    """Every file of the table of contents, sections included, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files += [chapter["file"]] + [section["file"] for section in chapter.get("sections", [])]
    return files


def test_every_book_page_is_in_the_table_of_contents():
    pages = {f"book/{md.stem}" for md in (ROOT / "book").glob("*.md")}
    assert pages <= set(toc_chapters()), f"not in _toc.yml: {pages - set(toc_chapters())}"


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


# The chapters whose file name has no number: their exercises are numbered where they stand.
EXERCISE_NAMES = {"five_minutes": "00_five_minutes", "backpropagation": "09b_backpropagation"}


def exercise_for(chapter):
    """The exercise notebook of a chapter: book/05_s4 -> exercises/05_s4, five_minutes -> 00_five_minutes."""
    return EXERCISE_NAMES.get(chapter, chapter)


def chapter_for(exercise):
    """The chapter an exercise notebook belongs to: the way back from ``exercise_for``."""
    return {name: chapter for chapter, name in EXERCISE_NAMES.items()}.get(exercise, exercise)


def chapter_files():
    """The chapters: the book's notebooks (the introduction and the Draw-a-digit page are not)."""
    return sorted(md for md in (ROOT / "book").glob("*.md")
                  if md.stem != "intro" and "{code-cell}" in md.read_text())


def test_the_exercises_are_a_part_of_the_book_and_the_solutions_are_not():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = {part["caption"]: [chapter["file"] for chapter in part["chapters"]] for part in toc["parts"]}
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("*.md"))
    assert parts["Exercises"] == [f"exercises/{name}" for name in exercises]
    assert len(exercises) >= 14
    assert not any(entry.startswith("solutions/") for entry in toc_chapters())
    assert "solutions" in CONFIG["exclude_patterns"] and "exercises" not in CONFIG["exclude_patterns"]
    # shown as a learner gets them: not executed, so no output gives an answer away
    assert "exercises/*" in CONFIG["execute"]["exclude_patterns"]


@pytest.mark.parametrize("md", chapter_files(), ids=lambda p: p.stem)
def test_every_chapter_ends_with_folded_answers_and_its_exercise_page(md):
    text = md.read_text()
    ending = text[text.rindex("**Check yourself.**"):]
    assert re.search(r"```\{admonition\} Answers\n:class: dropdown\n", ending), "answers must be folded"
    exercise = exercise_for(md.stem)
    assert f"](../exercises/{exercise}.md)" in ending
    assert (ROOT / "exercises" / f"{exercise}.md").exists()


@pytest.mark.parametrize("md", sorted((ROOT / "exercises").glob("*.md")), ids=lambda p: p.stem)
def test_every_exercise_page_links_back_to_its_chapter(md):
    chapter = chapter_for(md.stem)
    assert f"](../book/{chapter}.md)" in jupytext.read(md).cells[0].source


@pytest.mark.parametrize("md", sorted((ROOT / "exercises").glob("*.md")), ids=lambda p: p.stem)
def test_cells_that_raise_by_design_say_so(md):
    """A cell tagged to raise before the answer is written is introduced by a line saying so."""
    cells = jupytext.read(md).cells
    for previous, cell in zip(cells, cells[1:]):
        if cell.cell_type != "code" or "raises-exception" not in cell.metadata.get("tags", []):
            continue
        if "check(" in cell.source:
            continue
        stubbed = re.search(r"= \.\.\.|raise NotImplementedError", cell.source)
        assert stubbed or "(Runs once you have answered.)" in previous.source, (md.name, cell.source[:80])


@pytest.mark.parametrize("md", sorted((ROOT / "exercises").glob("*.md")) + sorted(
    md for md in (ROOT / "book").glob("*.md") if "{code-cell}" in md.read_text()),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_code_lines_fit_in_88_characters(md):
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "code" and "%pip install" not in cell.source:
            for line in cell.source.split("\n"):
                assert len(line) <= 88, (md.name, line)


def test_package_source_a_chapter_shows_fits_in_88_characters():
    # Code(inspect.getsource(reference.conv2d)) shows the package's own lines in the column
    import inspect

    shown = {match for md in (ROOT / "book").glob("*.md")
             for match in re.findall(r"inspect\.getsource\((\w+)\.(\w+)\)", md.read_text())}
    assert shown, "no chapter shows package source: the test found nothing to check"
    for module, name in sorted(shown):
        function = getattr(importlib.import_module(f"lenet_course.{module}"), name)
        for line in inspect.getsource(function).split("\n"):
            assert len(line) <= 88, (f"{module}.{name}", line)


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


def test_pages_draw_their_icons_from_small_fonts_of_the_icons_they_use(html_without_execution):
    """No fontawesome.js (1.5 MB), and fonts and icon rules cut down to the book's icons."""
    pages = sorted(html_without_execution.rglob("*.html"))
    assert pages
    for page in pages:
        assert "fontawesome.js" not in page.read_text(), page.name
    stylesheet = (html_without_execution / "_static" / "styles" / "pydata-sphinx-theme.css").read_text()
    assert "fa-solid-900.woff2" in stylesheet and ".fa-github:before" in stylesheet  # the icons' fonts
    assert ".fa-address-book:before" not in stylesheet  # one of ~1,900 icons the book never shows
    check = _browser_check()
    glyphs = check.font_glyphs(html_without_execution)
    assert "\uf09b" in glyphs["fa-brands-400.woff2"]  # GitHub, the repository button
    # the theme's own icons, which no page names: the bell of the chapters' "Answers", the note's i
    assert {"\uf0f3", "\uf05a"} <= glyphs["fa-solid-900.woff2"]
    assert "\uf2b9" not in glyphs["fa-regular-400.woff2"] | glyphs["fa-solid-900.woff2"]
    fonts = (html_without_execution / "_static" / "vendor" / "fontawesome").rglob("*.woff2")
    assert all(font.stat().st_size < 20_000 for font in fonts)
    missing = ["a.html", [["fa-solid fa-address-book", '"\uf2b9"', '"Font Awesome 6 Free"', "900"]]]
    assert check.icon_problems(*missing, glyphs) == [
        'a.html: icon "fa-solid fa-address-book" (U+F2B9) is not in fa-solid-900.woff2']


@pytest.mark.parametrize("page", ["book/12_paper_seed_modern.html", "book/13_reproducing_the_paper.html"])
def test_a_table_of_words_fits_a_phones_column(html_without_execution, browser, page):
    """Chapter 12's variants and chapter 13's recipe, the first table of each, at 390 px: no
    column is pushed out of sight by a long name (such as DiagonalLevenbergMarquardt)."""
    server = _browser_check().serve(html_without_execution)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        phone.goto(f"http://127.0.0.1:{server.server_address[1]}/{page}", wait_until="load")
        table, box = phone.evaluate("""() => { const t = document.querySelector('article table');
                                        return [t.scrollWidth, t.parentElement.clientWidth]; }""")
    finally:
        phone.close()
        server.shutdown()
    assert table <= box, f"{page}: the table is {table} px wide in a {box}-px column"


def test_only_the_search_page_loads_the_search_index(html_without_execution):
    for page in sorted(html_without_execution.rglob("*.html")):
        loads_index = "searchindex.js" in page.read_text()
        assert loads_index == (page.name == "search.html"), page.name


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
    # every chapter with code has its Colab button, and so does every exercise page
    for md in notebook_sources():
        if md.parent.name == "solutions":
            continue
        page = md.relative_to(ROOT).with_suffix(".html").as_posix()
        assert page in links, f"{page} has no Colab link"
    built = {p.relative_to(html_without_execution).as_posix() for p in html_without_execution.rglob("*.html")}
    assert not any(page.startswith("solutions/") for page in built), "a solution was published"
    for md in sorted((ROOT / "exercises").glob("*.md")):
        html = (html_without_execution / "exercises" / f"{md.stem}.html").read_text()
        assert "BEGIN SOLUTION" not in html and ("Your answer here" in html or "Your code here" in html)
        chapter = chapter_for(md.stem)
        assert f'href="../book/{chapter}.html' in html, f"{md.stem} does not link back to its chapter"
        chapter_html = (html_without_execution / "book" / f"{chapter}.html").read_text()
        assert f'href="../exercises/{md.stem}.html' in chapter_html, f"{chapter} does not link to {md.stem}"


def _browser_check():
    return importlib.import_module("check_book_in_browser")


@pytest.mark.parametrize("path", [path for folder in ("book/_ext", "tools") for path in sorted(
    (ROOT / folder).glob("*.py")) if ">>>" in path.read_text()], ids=lambda path: path.name)
def test_docstring_examples_of_the_book_extensions_and_tools(path):
    """As tests/test_docstrings.py runs the package's: an example that no longer holds fails."""
    module = importlib.import_module(path.stem)  # pyproject.toml puts both folders on the path
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


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


def test_browser_check_reports_a_phone_page_that_scrolls_sideways_or_a_tap_too_small():
    check = _browser_check()
    text_px = 8 * 100 / 72
    fine = [["opened.png", 890, 668, 390], ["small.png", 300, 300, 390]]
    assert check.phone_problems("ch.html", 390, fine, smallest_text_px=text_px) == []
    problems = check.phone_problems("ch.html", 414, fine + [["stuck.png", 890, 342, 390],
                                                            ["wide.png", 890, 668, 700]],
                                    smallest_text_px=text_px)
    assert problems[0] == "ch.html at 390 px: the page scrolls sideways (414 px wide)"
    assert "stuck.png shown at 342 of its 890 px (38%)" in problems[1]
    assert problems[2] == "ch.html at 390 px: a tap on figure wide.png widens the page to 700 px"
    assert len(problems) == 3


def mathjax_folder():
    """MathJax 3's es5 files, as ``make test-package`` fetches them (``$MATHJAX``)."""
    version = re.search(r"^MATHJAX_VERSION = (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    folder = Path(os.environ.get("MATHJAX", ROOT / ".venv" / f"mathjax-{version}" / "es5"))
    if not (folder / "tex-mml-chtml.js").is_file():
        pytest.fail(f"{folder}/tex-mml-chtml.js not found: `make test-package` fetches MathJax")
    return folder


MATH_PAGE = """<!DOCTYPE html><html><head>
<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
</head><body><article style="width: 400px">
<p>Typeset: <span class="math">\\(x^2\\)</span>, and below.</p>
<div class="math">\\[\\frac{\\partial L}{\\partial w}\\]</div>
<div class="math">\\[\\frac{a}\\]</div>
<div class="math">\\[\\notacommand{x}\\]</div>
<div class="math">\\[a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + t + u + v\\]</div>
<p>Never typeset: <span class="math">x_1</span></p>
</article></body></html>"""


def test_browser_check_typesets_math_with_its_mathjax_and_reports_what_a_reader_cannot_read(
        browser, tmp_path):
    check = _browser_check()
    (tmp_path / "math.html").write_text(MATH_PAGE)
    server = check.serve(tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        check.serve_mathjax(page, mathjax_folder())
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/math.html", wait_until="load")
        problems = check.math_problems("math.html", page.evaluate(check.MATH_PROBLEMS))
        typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
    finally:
        page.close()
        server.shutdown()
    assert typeset == 5  # all but the span without TeX's delimiters
    assert problems[:3] == ["math.html: math left as TeX: x_1",
                            "math.html: math with a TeX error: Missing argument for \\frac",
                            "math.html: math with an undefined command: \\notacommand"]
    assert re.fullmatch(r"math\.html: math wider than the text column \(\d+ px in 400 px\): "
                        r"a \+ b \+ .*", problems[3])
    assert len(problems) == 4


CHAPTER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# A chapter

```{code-cell} ipython3
print(6 * 7)
```
"""


@pytest.fixture
def execute_book(tmp_path, monkeypatch):
    """tools/execute_book.py with its cache and build folders in tmp_path."""
    import execute_book

    monkeypatch.setattr(execute_book, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(execute_book, "CACHE", tmp_path / "_build" / ".jupyter_cache")

    def run(*chapters):
        monkeypatch.setattr(sys, "argv", ["execute_book.py", *map(str, chapters), "--jobs", "2"])
        execute_book.main()
        return get_cache(tmp_path / "_build" / ".jupyter_cache")
    return run


def test_execute_book_caches_chapters_where_the_build_looks_them_up(execute_book, tmp_path, capsys,
                                                                    monkeypatch):
    chapter, notes = tmp_path / "chapter.md", tmp_path / "notes.md"
    chapter.write_text(CHAPTER)
    notes.write_text("# Notes\n\nNo code here.\n")
    monkeypatch.setenv("LENET_COURSE_DATA", "sample")
    cache = execute_book(chapter, notes)
    assert "executing 1 of 1 chapters" in capsys.readouterr().out
    _, executed = cache.merge_match_into_notebook(myst_nb_reader_plugin(str(chapter)))
    assert executed.cells[1].outputs[0]["text"] == "42\n"

    execute_book(chapter)  # nothing changed: nothing to execute
    assert "executing 0 of 1 chapters" in capsys.readouterr().out
    full = type("Data", (), {"description": "full MNIST: 60,000 training + 10,000 test digits"})
    monkeypatch.setattr("execute_book.load_mnist", lambda verbose: full)  # other data: again
    execute_book(chapter)
    assert "executing 1 of 1 chapters" in capsys.readouterr().out


def test_execute_book_stops_at_a_failing_chapter_and_caches_nothing_of_it(execute_book, tmp_path, capsys):
    broken = tmp_path / "broken.md"
    broken.write_text(CHAPTER.replace("print(6 * 7)", "1 / 0"))
    with pytest.raises(SystemExit, match="1 chapter.*failed: .*broken.md"):
        execute_book(broken)
    assert "ZeroDivisionError" in capsys.readouterr().out
    with pytest.raises(KeyError):
        get_cache(tmp_path / "_build" / ".jupyter_cache").match_cache_notebook(
            myst_nb_reader_plugin(str(broken)))


def test_execute_book_kernels_talk_over_unix_sockets_not_tcp_ports(execute_book, tmp_path):
    # Two kernels starting at once over TCP can draw the same free port (seen: "Address already
    # in use"); Unix sockets in a folder of each kernel's own cannot collide.
    import execute_book as tool

    chapter = tmp_path / "chapter.md"
    chapter.write_text(CHAPTER.replace(
        "print(6 * 7)", "import json, ipykernel\n"
        "print(json.load(open(ipykernel.get_connection_file()))['transport'])"))
    notebook, _, error = tool.execute_chapter(chapter, timeout=60)
    assert error is None and notebook.cells[1].outputs[0]["text"] == "ipc\n"


def test_execute_book_reports_a_kernel_that_failed_as_the_chapters_error(execute_book, tmp_path,
                                                                         monkeypatch):
    import execute_book as tool

    def kernel_dies(notebook, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    chapter = tmp_path / "chapter.md"
    chapter.write_text(CHAPTER)
    monkeypatch.setattr(tool, "single_nb_execution", kernel_dies)
    _, _, error = tool.execute_chapter(chapter, timeout=60)
    assert error == "the kernel failed: RuntimeError: Kernel died before replying to kernel_info"


def test_execute_book_names_a_chapter_that_is_not_there(execute_book, tmp_path, capsys):
    with pytest.raises(SystemExit):
        execute_book(tmp_path / "renamed.md")
    assert "no such chapter: " + str(tmp_path / "renamed.md") in capsys.readouterr().err


def test_every_chapter_make_book_starts_first_is_there():
    makefile = (ROOT / "Makefile").read_text()
    first = re.search(r"^BOOK_FIRST := (.+)$", makefile, re.MULTILINE).group(1).split()
    assert first and all((ROOT / path).is_file() for path in first), first
