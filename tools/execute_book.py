"""Execute the book's chapters two at a time, into the cache `jupyter-book build` reads.

    python tools/execute_book.py book/*.md        # what `make book` runs before the build

Sphinx executes one notebook after the other, and a chapter's small TensorFlow operations keep
one core busy (`make book` gives them one thread each), so on two cores half the machine waits.
Here the chapters run side by side, each in a fresh kernel in its own folder, exactly as
myst-nb's `execute_notebooks: cache` would run it (same reader, same execution function; the
kernel talks over Unix sockets, not TCP ports two kernels could both draw), and each executed
notebook goes into `_build/.jupyter_cache`. `jupyter-book build` then finds every
chapter there and only renders it; a chapter missing from the cache it still executes itself.

A chapter's code is in the cache's key, but not what the code imports or reads. So the cache and
Sphinx's saved state (`_build/.doctrees`) are emptied whenever the package's files or the data
`load_mnist()` gives here change (its description: full or sample, how many digits; "auto"
resolved as the chapters will resolve it): a chapter is executed again when its own code, the
package or the data changed, never shown from another build's data.

A chapter that fails stops the build with its file and error; nothing of it is cached.
"""

import argparse
import hashlib
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

from lenet_course.data import load_mnist
from lenet_course.kernel import unix_socket_settings

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"  # where myst-nb looks: beside the HTML output folder


def what_the_chapters_depend_on():
    """A fingerprint of the package's files and of the data, beyond the chapters' own code."""
    fingerprint = hashlib.sha256()
    for path in sorted((ROOT / "lenet_course").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            fingerprint.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    fingerprint.update(load_mnist(verbose=False).description.encode())  # what the chapters will load
    return fingerprint.hexdigest()


def read_chapter(path):
    """The chapter as myst-nb reads it, so that its cache key is the build's."""
    return read_myst_markdown_notebook(Path(path).read_text("utf8"), add_source_map=True, path=path)


def execute_chapter(path, timeout):
    """Executes one chapter in its own folder, in a fresh kernel; returns the notebook, seconds
    and any error (a cell's, or the kernel's)."""
    notebook = read_chapter(path)
    with tempfile.TemporaryDirectory() as sockets:
        try:
            result = single_nb_execution(notebook, cwd=str(Path(path).parent.resolve()),
                                         timeout=timeout, allow_errors=False,
                                         config=unix_socket_settings(sockets))
        except Exception as error:  # not a cell's error (those are in exc_string): the kernel's
            return notebook, 0.0, f"the kernel failed: {type(error).__name__}: {error}"
    return notebook, result.time, result.exc_string


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help="the book's MyST notebooks, started in this order "
                        "(other files are skipped)")
    parser.add_argument("--jobs", type=int, default=2, help="chapters run side by side (default 2)")
    args = parser.parse_args()
    missing = [path for path in args.chapters if not Path(path).is_file()]
    if missing:  # e.g. a renamed chapter still named in the Makefile's BOOK_FIRST
        parser.error(f"no such chapter: {', '.join(missing)}")
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    chapters = [Path(path) for path in args.chapters
                if is_myst_markdown_notebook(Path(path).read_text("utf8"))]

    stamp, dependencies = CACHE / "lenet_course.fingerprint", what_the_chapters_depend_on()
    if not stamp.exists() or stamp.read_text() != dependencies:
        shutil.rmtree(CACHE, ignore_errors=True)
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)  # so Sphinx reads every chapter again
        CACHE.mkdir(parents=True)
        stamp.write_text(dependencies)
    cache = get_cache(CACHE)
    to_execute = []
    for path in chapters:
        try:
            cache.match_cache_notebook(read_chapter(path))
        except KeyError:
            to_execute.append(path)
    print(f"executing {len(to_execute)} of {len(chapters)} chapters, {args.jobs} at a time "
          f"({len(chapters) - len(to_execute)} unchanged since the last build):", flush=True)

    start, failed = time.time(), []
    spawn = multiprocessing.get_context("spawn")  # fresh workers: no state copied from this process
    with ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
        running = {pool.submit(execute_chapter, path, timeout): path for path in to_execute}
        for finished in as_completed(running):
            path = running[finished]
            notebook, seconds, error = finished.result()
            if error:
                print(f"  {path}  FAILED after {seconds:.0f} s\n{error.strip()[-3000:]}", flush=True)
                failed.append(path)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, str(path.resolve()), data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            print(f"  {str(path):<40} {seconds:6.1f} s", flush=True)
    if to_execute:
        print(f"{len(to_execute)} chapters executed in {(time.time() - start) / 60:.1f} min")
    if failed:
        sys.exit(f"FAIL: {len(failed)} chapter(s) failed: {', '.join(map(str, failed))}")


if __name__ == "__main__":
    main()
