"""Grade exercise notebooks: each submission runs sandboxed, its answers are judged here.

For every submission, ``grade_submission``:

1. **reads** it. A file that is empty, not JSON or not a notebook still gets a
   report (score 0, and the reason).
2. **runs** its code cells in a sandbox of its own (``lenet_course.sandbox``:
   bubblewrap, no network, a read-only system, nothing of the machine's files but a
   private working folder, its own PID namespace), in a new kernel
   (``lenet_course.kernel``) under a memory cap, a CPU-time cap, and a per-cell and a
   total timeout. A cell that raises, hangs or kills the kernel is recorded; the rest
   of the notebook still counts.
3. **extracts** the variables the questions read, as data only (``lenet_course.answers``):
   JSON, a Keras model as a ``.keras`` file loaded back here with ``safe_mode=True``,
   a function as its outputs on inputs the grader drew at random. Nothing is pickled.
4. **judges** them with ``lenet_course.checks`` in the grader's process, once the
   sandbox has ended, so a submission that redefines ``check`` or patches its own copy
   of the package cannot change its grade.

``grade_many`` grades a class, ``jobs`` submissions at a time, and writes
``DIR/<name>.json`` per submission, ``DIR/grades.csv`` and optionally Gradescope's
``DIR/results.json`` (``lenet_course.reports``: each written atomically, so an
interrupted batch keeps every report it finished, complete; ``resume=True`` skips them).
An interrupt (Ctrl-C; ``kill`` through ``lenet-course grade``) stops the submissions
being graded at once. What they run in lives in one temporary folder per class, removed
when the grading ends; a grader killed outright (``kill -9``) cannot remove its own,
and the next one removes it.

Where no sandbox can be had (not Linux, no bubblewrap, user namespaces off),
``sandbox="auto"`` grades unconfined and says so on the terminal and in every report.

Example:
    >>> report = grade_submission("missing.ipynb", assignment="02_c1_convolution")
    >>> report.status, report.score, report.max_score
    ('invalid', 0.0, 5.0)
    >>> report.reason
    'cannot read the file: it does not exist'
"""

import concurrent.futures
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .answers import Unavailable, clip, encode_probe, read_answer
from .checks import judge, notebooks, questions_for
from .kernel import write_job
from .reports import (  # noqa: F401 (part of lenet_course.grading's API)
    Problem, QuestionResult, Report, file_sha256, gradescope_results, report_names, reusable_report,
    write_atomically, write_grades_csv, write_report, ProgressBar,
)
from .sandbox import (  # noqa: F401
    INSIDE, SCRATCH_PREFIX, SandboxUnavailable, new_scratch_folder, resolve, sandboxed_command,
)

MAX_NOTEBOOK_BYTES = 100 * 2**20
MAX_RESULT_BYTES = 10 * 2**20


@dataclass(frozen=True)
class GradingOptions:
    """Limits for running one submission, and how.

    Attributes:
        cell_timeout: seconds one cell may run before it is interrupted.
        timeout: seconds all of a submission's cells may take together.
        memory_mb: address-space cap of the kernel process (``RLIMIT_AS``), in MiB.
        max_restarts: kernels started again after a crash or hang, at most.
        output_limit: bytes of output one cell may print before it counts as a flood
            (the grader keeps none of it either way).
        kernel_name: the Jupyter kernel to run submissions in.
        sandbox: ``"auto"`` (bubblewrap where it works, else unconfined and said so),
            ``"bwrap"`` (refuse to grade without it) or ``"none"``.
        seed: draw the inputs functions are probed with from this seed (and the
            submission's bytes), for reports that repeat exactly; default: at random.
    """

    cell_timeout: float = 120
    timeout: float = 900
    memory_mb: int = 4096
    max_restarts: int = 3
    output_limit: int = 1_000_000
    kernel_name: str = "python3"
    sandbox: str = "auto"
    seed: int | None = None

    def __post_init__(self):
        for name in ("cell_timeout", "timeout", "memory_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Expected {name} > 0. Received: {name}={getattr(self, name)!r}")
        if self.sandbox not in ("auto", "bwrap", "none"):
            raise ValueError(f"Expected sandbox to be 'auto', 'bwrap' or 'none'. Received: sandbox={self.sandbox!r}")

    def limits(self):
        """What the kernel runner needs (``lenet_course.kernel``), as plain data."""
        return {"cell_timeout": self.cell_timeout, "timeout": self.timeout, "memory_mb": self.memory_mb,
                "max_restarts": self.max_restarts, "output_limit": self.output_limit,
                "kernel_name": self.kernel_name}


def grader_fingerprint(options, sandbox, assignment=None):
    """What a report records of the grader; ``--resume`` reuses a report only when it is the same."""
    return {"version": __version__, "cell_timeout": options.cell_timeout, "timeout": options.timeout,
            "memory_mb": options.memory_mb, "max_restarts": options.max_restarts, "sandbox": sandbox.kind,
            "seed": options.seed, "assignment": assignment}


# ---------------------------------------------------------------------------------------
# Reading a submission


class InvalidSubmission(Exception):
    """The file is not a notebook the grader can run; the message says why."""


def read_submission(path):
    """Parse a notebook file, or raise ``InvalidSubmission`` with a readable reason."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise InvalidSubmission("cannot read the file: it does not exist" if not path.exists()
                                else "cannot read the file: it is a folder")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"the file is too large ({path.stat().st_size / 2**20:.0f} MB) for a notebook")
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidSubmission("the file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidSubmission(f"the file is not a notebook: it is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or "nbformat" not in data:
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (no 'cells' and 'nbformat')")
    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as error:
        raise InvalidSubmission(f"the file is not a valid notebook: {type(error).__name__}: {error}") from None
    for cell in notebook.cells:
        if not isinstance(cell.get("source", ""), str):
            raise InvalidSubmission("the file is not a valid notebook: a cell's source is not text")
    return notebook


def infer_assignment(path, notebook=None):
    """Which exercise notebook a submission answers: from its file name, else its ``check`` calls."""
    stem = Path(path).name.lower()
    for name in notebooks():
        if name in stem:
            return name
    # by the number before the first "_", longest first: "09b-..." is 09b, "09-..." is 09
    for name in sorted(notebooks(), key=lambda name: -len(name.split("_")[0])):
        if re.match(rf"{re.escape(name.split('_')[0])}\D", stem):
            return name
    if notebook is not None:
        asked = set(re.findall(r"""check\(\s*["']([\w-]+)["']""",
                               "\n".join(c.source for c in notebook.cells if c.cell_type == "code")))
        found = [name for name in notebooks() if asked & {q.name for q in questions_for(name)}]
        if len(found) == 1:
            return found[0]
    return None


# ---------------------------------------------------------------------------------------
# Grading one submission


def grade_submission(path, *, assignment=None, options=None, name=None, sandbox=None, scratch=None):
    """Run and grade one notebook file; never raises for a bad submission.

    Args:
        path: the submitted ``.ipynb``.
        assignment: the exercise notebook it answers (e.g. ``"04_c3_connection_table"``);
            default: from the file name, else from its ``check`` calls.
        options: a ``GradingOptions``.
        name: the report's name (default: the file name without ``.ipynb``).
        sandbox: a ``lenet_course.sandbox.Sandbox`` (default: ``options.sandbox`` resolved;
            raises ``SandboxUnavailable`` when ``"bwrap"`` cannot be had).
        scratch: the folder in which the submission's run gets a folder of its own, removed
            when it is graded (default: the system's temporary folder).

    Returns:
        A ``Report``.
    """
    options = options or GradingOptions()
    sandbox = sandbox or resolve(options.sandbox)
    start = time.monotonic()
    path = Path(path)
    name = name or path.stem
    report = Report(name=name, submission=str(path), assignment=assignment, status="graded", score=0.0,
                    max_score=0.0, sandbox=sandbox.note, grader=grader_fingerprint(options, sandbox, assignment),
                    submission_sha256=file_sha256(path))
    try:
        _grade_into(report, path, options, sandbox, scratch)
    except Exception as error:  # a bug of the grader must not lose the submission's report
        report.status = "grader-error"
        report.reason = f"the grader failed: {type(error).__name__}: {clip(error)}"
    report.time_seconds = round(time.monotonic() - start, 2)
    return report


def _grade_into(report, path, options, sandbox, scratch):
    notebook, invalid = None, None
    try:
        notebook = read_submission(path)
    except InvalidSubmission as error:
        invalid = str(error)
    except OSError as error:
        invalid = f"cannot read the file: {error.strerror or error}"
    if report.assignment is None:
        report.assignment = infer_assignment(path, notebook)
    if report.assignment is not None and report.assignment not in notebooks():
        raise ValueError(f"unknown assignment {report.assignment!r}; expected one of {notebooks()}")
    questions = questions_for(report.assignment) if report.assignment else []
    report.max_score = float(sum(q.points for q in questions))
    if invalid is not None:
        report.status, report.reason = "invalid", invalid
        report.questions = [asdict(QuestionResult(q.name, q.title, 0.0, q.points, "missing",
                                                  f"not graded: {invalid}")) for q in questions]
        return
    if not questions:
        report.status = "invalid"
        report.reason = ("could not tell which exercise notebook this is: name the file after it "
                         f"({', '.join(notebooks())}) or pass --assignment")
        return

    cells = notebook.cells
    code = [(index, cell.source) for index, cell in enumerate(cells) if cell.cell_type == "code"]
    rng = np.random.default_rng(secrets.randbits(64) if options.seed is None else
                                [options.seed, int(report.submission_sha256[:15] or "0", 16)])
    # One read per variable (a function once per question: each draws its own inputs).
    reads, which = [], {}
    for question in questions:
        for read in question.reads:
            key = (read.name, read.kind) if read.kind != "function" else (question.name, read.name)
            if key not in which:
                probes = question.probes(rng) if read.kind == "function" else None
                which[key] = len(reads)
                reads.append((read, probes))

    job = Path(tempfile.mkdtemp(prefix="lenet-course-job-", dir=scratch))
    try:
        job_reads = [{"name": read.name, "kind": read.kind} | (
            {"probes": [[encode_probe(a) for a in args] for args in probes]} if probes is not None else {})
            for read, probes in reads]
        write_job(job, [source for _, source in code], job_reads, options.limits(), sandboxed=sandbox.on)
        result, failure = _run_job(job, options, sandbox, len(reads))
        if failure is not None and result is None and failure.startswith("the grader"):
            raise RuntimeError(failure)
        result = result or {"problems": [], "restarts": 0, "answers": [None] * len(reads)}
        # result.json comes from inside the sandbox: take only what has the expected shape.
        problems = [tuple(p) for p in result.get("problems") or [] if isinstance(p, list) and len(p) == 3]
        if failure is not None:
            problems.append((None, "stopped", failure))
        outcomes = [o if isinstance(o, dict) else None for o in result.get("answers") or []] + [None] * len(reads)
        answers = {key: read_answer(reads[i][0], outcomes[i], job / "answers", i, reads[i][1], options.cell_timeout)
                   for key, i in which.items()}
    finally:
        shutil.rmtree(job, ignore_errors=True)
    report.kernel_restarts = result.get("restarts") if isinstance(result.get("restarts"), int) else 0
    report.errors = [asdict(Problem(_cell_number(pos, code), str(kind), str(message)))
                     for pos, kind, message in problems]

    results = []
    for question in questions:
        values = [answers[(read.name, read.kind) if read.kind != "function" else (question.name, read.name)]
                  for read in question.reads]
        unavailable = next((v for v in values if isinstance(v, Unavailable)), None)
        if unavailable is not None:
            read = question.reads[values.index(unavailable)]
            message = unavailable.message + _where_it_went_wrong(read.name, cells, report.errors)
            results.append(QuestionResult(question.name, question.title, 0.0, question.points,
                                          unavailable.status, message))
            continue
        verdict = judge(question, values)
        results.append(QuestionResult(question.name, question.title, verdict.score, verdict.max_score,
                                      verdict.status, verdict.message))
    report.questions = [asdict(r) for r in results]
    report.score = round(sum(r.score for r in results), 4)
    report.reason = _summarise(report)
    if "keras" in sys.modules:  # free the models this submission loaded before the next one
        sys.modules["keras"].backend.clear_session()


def _cell_number(position, code):
    if isinstance(position, int) and 0 <= position < len(code):
        return code[position][0] + 1
    return None


def _run_job(job, options, sandbox, reads):
    """Run ``python -m lenet_course.kernel`` on ``job``, sandboxed; returns (result or None, failure or None)."""
    import lenet_course

    package_parent = str(Path(lenet_course.__file__).resolve().parent.parent)
    argv = [sys.executable, "-m", "lenet_course.kernel"]
    if sandbox.on:
        command, env = sandboxed_command([*argv, INSIDE], job), None
    else:
        command = [*argv, str(job)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)}
    # A backstop: the runner keeps its own limits; this catches a runner that cannot.
    wall = options.timeout + (reads + 2) * (options.cell_timeout + 10) + 120 * (options.max_restarts + 1)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=job / "work", env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            process.wait(timeout=wall)
            stopped = None
        except subprocess.TimeoutExpired:
            stopped = f"the submission was stopped after {wall:g} s, its time limits plus margin"
        finally:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                process.wait()
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - 4000))
        tail = log.read().decode("utf-8", "replace")
    result = _read_result(job / "result.json")
    if result is not None:
        return result, stopped
    if stopped:
        return None, stopped
    last = [line for line in tail.strip().splitlines() if line.strip()][-1:] or [f"exit status {process.returncode}"]
    if "could not start a kernel" in tail:
        return None, f"the grader {clip(last[0][last[0].find('could not'):])}"
    return None, f"the submission's run ended without a result ({clip(last[0], 200)})"


def _read_result(path):
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RESULT_BYTES:
            return None
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _where_it_went_wrong(variable, cells, errors):
    """' (cell 7, which sets it, raised ...)' or ' (no cell sets it: ...)' for a missing answer."""
    pattern = re.compile(rf"^\s*(def\s+{re.escape(variable)}\b|{re.escape(variable)}\s*(:[^=]*)?=[^=])", re.M)
    setters = [i + 1 for i, cell in enumerate(cells) if cell.cell_type == "code" and pattern.search(cell.source)]
    if not setters:
        return ": no cell sets it (was its cell deleted or renamed?)"
    for error in errors:
        if error["cell"] in setters:
            return f": cell {error['cell']}, which sets it, {error['message']}"
    return f" (it is set in cell {setters[-1]})"


def _summarise(report):
    parts = [f"cell {e['cell']} {e['message']}" if e["cell"] else e["message"] for e in report.errors[:3]]
    if len(report.errors) > 3:
        parts.append(f"and {len(report.errors) - 3} more problem(s)")
    unanswered = [q["name"] for q in report.questions if q["status"] in ("missing", "blank")]
    if unanswered:
        parts.append(f"unanswered: {', '.join(unanswered)}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------
# A class


def grade_many(paths, out_dir, *, assignment=None, options=None, gradescope=False, progress=True, jobs=None,
               resume=False):
    """Grade every notebook in ``paths``, ``jobs`` at a time, and write the report files into ``out_dir``.

    Writes ``<name>.json`` per submission as soon as it is graded, and ``grades.csv``
    for the batch after each (both atomically), and with ``gradescope=True``
    ``results.json`` in Gradescope's format for the batch (one student's notebooks).
    With ``resume=True``, a submission whose report is already there, from the same
    grader with the same options and the same file, is not graded again.

    Args:
        jobs: submissions graded at the same time (default: the number of cores).

    Returns:
        The list of ``Report``, in the order of ``paths``.
    """
    options = options or GradingOptions()
    sandbox = resolve(options.sandbox)
    if not sandbox.on and options.sandbox == "auto":
        print(f"lenet-course grade: WARNING: {sandbox.note}", file=sys.stderr)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # a write a killed grader did not finish
        stale.unlink(missing_ok=True)
    paths = [Path(p) for p in paths]
    names = report_names(paths)
    jobs = max(1, int(jobs or _cores()))
    reports = [None] * len(paths)
    todo = []
    for index, (path, name) in enumerate(zip(paths, names)):
        reused = reusable_report(out_dir / f"{name}.json", grader=grader_fingerprint(options, sandbox, assignment),
                                 submission_sha256=file_sha256(path)) if resume else None
        if reused is not None and reused.submission == str(path):
            reports[index] = reused
        else:
            todo.append(index)
    bar = ProgressBar(len(paths), enabled=progress)
    done = len(paths) - len(todo)

    def finish(index, report):
        nonlocal done
        reports[index] = report
        write_report(report, out_dir)
        write_grades_csv([r for r in reports if r is not None], out_dir / "grades.csv")
        done += 1
        bar.update(done, report.name)

    bar.update(done, "resumed" if done else "starting")
    if todo:
        scratch = class_scratch_folder()
        try:
            if jobs == 1 or len(todo) == 1:
                for index in todo:
                    finish(index, grade_submission(paths[index], assignment=assignment, options=options,
                                                   name=names[index], sandbox=sandbox, scratch=scratch))
            else:
                _grade_in_parallel(todo, paths, names, assignment, options, sandbox, jobs, finish, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    else:  # everything resumed: the grades file of the reports on disk
        write_grades_csv(reports, out_dir / "grades.csv")
    bar.close()
    if gradescope:
        write_atomically(out_dir / "results.json", json.dumps(gradescope_results(reports), indent=2,
                                                              ensure_ascii=False) + "\n")
    return reports


def _grade_in_parallel(todo, paths, names, assignment, options, sandbox, jobs, finish, scratch):
    # Worker processes (not threads): each judges with its own Keras, and one that crashes
    # costs one report a "grader-error", not the class.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                                initializer=_start_worker) as pool:
        futures = {pool.submit(_grade_in_worker, paths[index], assignment=assignment, options=options,
                               name=names[index], sandbox=sandbox, scratch=scratch): index for index in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                index = futures[future]
                try:
                    report = future.result()
                except Exception as error:
                    report = Report(name=names[index], submission=str(paths[index]), assignment=assignment,
                                    status="grader-error", score=0.0, max_score=0.0, sandbox=sandbox.note,
                                    reason=f"the grader failed: {type(error).__name__}: {clip(error)}",
                                    grader=grader_fingerprint(options, sandbox, assignment),
                                    submission_sha256=file_sha256(paths[index]))
                finish(index, report)
        except BaseException:  # Ctrl-C, or kill (SIGTERM) through lenet-course grade
            workers = multiprocessing.active_children()  # the pool's: the grader starts no others
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers:  # Ctrl-C in a terminal reaches them too, kill does not
                try:
                    os.kill(worker.pid, signal.SIGINT)
                except OSError:
                    pass
            raise


def class_scratch_folder():
    """A new temporary folder for one class's runs, named after this grader's process id.

    The folders of graders that are no longer running (killed before they could remove
    theirs) are removed first: only folders, not links, and only this user's.

    Example:
        >>> folder = class_scratch_folder()
        >>> folder.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-")
        True
        >>> folder.rmdir()
    """
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"{SCRATCH_PREFIX}*"):
        pid = old.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        try:
            mine = old.lstat().st_uid == os.getuid() and old.is_dir() and not old.is_symlink()
        except OSError:
            continue
        if mine and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return new_scratch_folder()


def _running(pid):
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process is there
    except ProcessLookupError:
        return False
    except PermissionError:  # there, and another user's
        return True
    return True


_grading = False  # in a worker: whether it is grading a submission now


def _start_worker():
    """In a worker: be killed when the grader dies (``kill -9``), taking its sandbox with it
    (Linux); and let an interrupt stop only the submission being graded (``_interrupted``)."""
    signal.signal(signal.SIGINT, _interrupted)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _interrupted(signum, frame):
    """In a worker, on SIGINT: stop the submission being graded (once: its clean-up is not
    interrupted again); ignored between submissions, where the worker waits to be shut down."""
    global _grading
    if _grading:
        _grading = False
        raise KeyboardInterrupt


def _grade_in_worker(*args, **kwargs):
    global _grading
    _grading = True
    try:
        return grade_submission(*args, **kwargs)
    finally:
        _grading = False


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


