"""Grade exercise notebooks: run each submission in its own kernel, judge its answers here.

For every submission, ``grade_submission``:

1. **reads** it. A file that is empty, not JSON or not a notebook still gets a
   report (score 0, and the reason).
2. **runs** its code cells one by one in a new kernel process, in a fresh
   temporary working directory, under a memory cap (``resource.setrlimit`` in the
   kernel process) and with a per-cell and a total timeout. A cell that raises is
   recorded and the next one runs. A cell that outlives its timeout is
   interrupted; if the kernel then no longer answers, or a cell kills the kernel
   (``os._exit``, a signal, a crash), that cell is skipped: a new kernel starts and the
   cells before it run again, so the rest of the notebook still counts.
3. **extracts** the variables the questions read, with cells of the grader's
   own: data as JSON, a Keras model as a ``.keras`` file loaded back here with
   ``safe_mode=True``, a function as its outputs on inputs the grader drew at
   random for this run. Nothing is pickled.
4. **judges** them with ``lenet_course.checks`` in the grader's process, so a
   submission that redefines ``check`` or patches its own copy of the package
   cannot change its grade.

``grade_many`` does it for a batch and writes ``DIR/<name>.json`` per submission,
``DIR/grades.csv``, and optionally Gradescope's ``DIR/results.json``.

The limits protect the grade and the grader's machine from mistakes, not from an
attacker: a submission runs as the grader's user, with its files and network. Grade
untrusted notebooks inside a container (as Gradescope does).

Example:
    >>> report = grade_submission("missing.ipynb", assignment="02_c1_convolution")
    >>> report.status, report.score, report.max_score
    ('invalid', 0.0, 5.0)
    >>> report.reason
    'cannot read the file: it does not exist'
"""

import asyncio
import csv
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .checks import Opaque, Probed, ProbeError, RecordedHistory, judge, notebooks, questions_for

MAX_ANSWER_BYTES = 50 * 2**20  # an extracted answer larger than this is refused
MAX_NOTEBOOK_BYTES = 100 * 2**20
MAX_MESSAGE_BYTES = 64 * 2**20  # a larger message from the kernel is dropped


@dataclass(frozen=True)
class GradingOptions:
    """Limits for running one submission.

    Attributes:
        cell_timeout: seconds one cell may run before it is interrupted.
        timeout: seconds all of a submission's cells may take together.
        memory_mb: address-space cap of the kernel process (``RLIMIT_AS``), in MiB.
        max_restarts: kernels started again after a crash or hang, at most.
        output_limit: bytes of output one cell may print before it counts as a flood
            (the grader keeps none of it either way).
        kernel_name: the Jupyter kernel to run submissions in.
    """

    cell_timeout: float = 120
    timeout: float = 900
    memory_mb: int = 4096
    max_restarts: int = 3
    output_limit: int = 1_000_000
    kernel_name: str = "python3"

    def __post_init__(self):
        for name in ("cell_timeout", "timeout", "memory_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Expected {name} > 0. Received: {name}={getattr(self, name)!r}")


@dataclass
class QuestionResult:
    name: str
    title: str
    score: float
    max_score: float
    status: str
    feedback: str


@dataclass
class Problem:
    """Something that went wrong while running a submission (``cell`` counts from 1, all cells)."""

    cell: int | None
    kind: str
    message: str


@dataclass
class Report:
    """The grade of one submission, as written to ``DIR/<name>.json``."""

    name: str
    submission: str
    assignment: str | None
    status: str  # "graded", "invalid" (not a readable notebook) or "grader-error"
    score: float
    max_score: float
    questions: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reason: str = ""
    time_seconds: float = 0.0
    kernel_restarts: int = 0
    grader: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


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
# Running cells in a kernel


@dataclass
class _Outcome:
    status: str  # "ok", "error", "timeout", "dead"
    ename: str = ""
    evalue: str = ""
    output_bytes: int = 0
    seconds: float = 0.0


_TIMEOUT_ENAME = "LenetCourseCellTimeout"


def _quiet_logger():
    logger = logging.getLogger("lenet_course.grading.kernel")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    return logger


def _memory_cap(megabytes):
    """A ``preexec_fn`` that caps the kernel's address space (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows: no cap
        return None

    def cap():
        limit = int(megabytes) * 2**20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    return cap


class _Kernel:
    """One kernel process, driven cell by cell through nbclient."""

    def __init__(self, workdir, options):
        self.workdir, self.options = workdir, options
        self.client = None
        self.process = None  # the kernel's Popen

    async def start(self):
        import nbformat
        from nbclient import NotebookClient

        options = self.options
        kernel = self

        class _Client(NotebookClient):
            def output(self, outs, msg, display_id, cell_index):
                # Keep nothing, count everything: a flood costs time, never memory.
                kernel.output_bytes += sum(len(str(v)) for v in msg["content"].values())
                return None

        self.output_bytes = 0
        self.reply = None
        self.context = None
        self.client = _Client(
            nbformat.v4.new_notebook(), kernel_name=options.kernel_name, allow_errors=True,
            interrupt_on_timeout=True, timeout=int(options.cell_timeout), startup_timeout=120,
            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
            iopub_timeout=2, shutdown_kernel="immediate", log=_quiet_logger(),
            on_cell_executed=self._on_executed,
        )
        self.client.km = self.client.create_kernel_manager()
        try:
            await self._launch()
        except Exception as error:
            await self.stop()
            raise RuntimeError(f"could not start a kernel ({type(error).__name__}: {error}); "
                               f"is the memory cap ({options.memory_mb:g} MB) too small?") from None
        return self

    async def _launch(self):
        import zmq.asyncio
        from jupyter_core.utils import ensure_async

        options = self.options
        # Quiet logs (Keras progress bars are output too), and a cache of trained models of the
        # submission's own, so that no submission can plant a model another one will load.
        env = {"TF_CPP_MIN_LOG_LEVEL": "3", "LENET_COURSE_QUIET": "1", **os.environ, "MPLBACKEND": "agg",
               "LENET_COURSE_CACHE": str(self.workdir / ".cache")}
        await self.client.async_start_new_kernel(
            cwd=str(self.workdir), env=env, preexec_fn=_memory_cap(options.memory_mb),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The kernel client, as nbclient makes it, but refusing any single message over the limit:
        # one huge print must not cost the grader gigabytes.
        self.context = zmq.asyncio.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.client.kc = self.client.km.client(context=self.context)
        await ensure_async(self.client.kc.start_channels())
        await ensure_async(self.client.kc.wait_for_ready(timeout=self.client.startup_timeout))
        self.client.kc.allow_stdin = False
        self.process = getattr(getattr(self.client.km, "provisioner", None), "process", None)

    def _on_executed(self, cell, cell_index, execute_reply):
        self.reply = execute_reply

    async def run(self, source, timeout):
        """Run ``source`` for at most ``timeout`` seconds (then interrupt) and say how it went."""
        import nbformat
        from nbclient.exceptions import DeadKernelError

        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells = [cell]
        self.client.timeout = max(1, int(math.ceil(timeout)))
        self.output_bytes, self.reply = 0, None
        try:
            await self.client.async_execute_cell(cell, 0, store_history=False)
        except DeadKernelError:
            return _Outcome("dead", output_bytes=self.output_bytes)
        except Exception as error:  # the kernel stopped talking: treat it as dead
            return _Outcome("dead", type(error).__name__, str(error), self.output_bytes)
        content = (self.reply or {}).get("content", {})
        if content.get("status") != "error":
            return _Outcome("ok", output_bytes=self.output_bytes)
        if content.get("ename") == _TIMEOUT_ENAME:
            return _Outcome("timeout", output_bytes=self.output_bytes, seconds=self.client.timeout)
        return _Outcome("error", str(content.get("ename", "")), str(content.get("evalue", "")), self.output_bytes)

    async def responsive(self):
        return (await self.run("pass", min(5, self.options.cell_timeout))).status == "ok"

    async def stop(self):
        if self.client is None:
            return
        # The kernel leads its own process group: end it and anything it started. Only while
        # it has not been reaped, so that its id cannot belong to another process yet.
        if hasattr(os, "killpg") and self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            await self.client._async_cleanup_kernel()
        except Exception:
            pass
        if self.context is not None:
            self.context.destroy(linger=0)
        self.client = None


class _Runner:
    """Runs a submission's code cells, restarting the kernel when a cell kills or wedges it."""

    def __init__(self, sources, workdir, options, deadline):
        self.sources, self.workdir, self.options, self.deadline = sources, workdir, options, deadline
        self.kernel = None
        self.done = []  # positions of the cells run in the current kernel, to replay after a restart
        self.restarts = 0
        self.problems = []  # (position or None, kind, message)

    def remaining(self):
        return self.deadline - time.monotonic()

    async def run_all(self):
        self.kernel = await _Kernel(self.workdir, self.options).start()
        for position, source in enumerate(self.sources):
            if not source.strip():
                continue
            if self.remaining() <= 0:
                self.problems.append((position, "not-run",
                                      f"not run: the total time limit ({self.options.timeout:g} s) ran out"))
                continue
            if self.kernel is None:
                self.problems.append((position, "not-run", "not run: the kernel could not be restarted"))
                continue
            outcome = await self.kernel.run(source, min(self.options.cell_timeout, self.remaining()))
            self._record(position, outcome)
            if await self._wedged(outcome):
                if outcome.status == "timeout":
                    kind, message = self.problems[-1][1:]
                    self.problems[-1] = (position, kind, message.replace(
                        "and was interrupted", "and ignored the interrupt; the grader restarted the kernel "
                        "without this cell"))
                await self.recover(skip=position)
            else:
                self.done.append(position)

    async def _wedged(self, outcome):
        if outcome.status == "dead":
            return True
        return outcome.status == "timeout" and not await self.kernel.responsive()

    def _record(self, position, outcome):
        if outcome.output_bytes > self.options.output_limit:
            self.problems.append((position, "output-flood",
                                  f"printed {outcome.output_bytes / 1e6:.1f} MB of output; the limit is "
                                  f"{self.options.output_limit / 1e6:g} MB and the grader keeps none of it"))
        if outcome.status == "error":
            kind = {"SyntaxError": "syntax-error", "IndentationError": "syntax-error",
                    "SystemExit": "exit", "MemoryError": "memory"}.get(outcome.ename, "exception")
            message = f"raised {outcome.ename}: {_clip(outcome.evalue)}"
            if kind == "exit":
                message = "called sys.exit(); the grader went on with the next cell"
            elif kind == "memory":
                message = f"ran out of memory (MemoryError; the cap is {self.options.memory_mb:g} MB)"
            self.problems.append((position, kind, message))
        elif outcome.status == "timeout":
            self.problems.append((position, "timeout", f"timed out after {outcome.seconds:g} s and was interrupted"))
        elif outcome.status == "dead":
            self.problems.append((position, "dead-kernel",
                                  "stopped the kernel (os._exit, a signal or a crash); the grader restarted it "
                                  "without this cell"))

    async def recover(self, skip=None):
        """Start a new kernel and replay the cells that ran before, without ``skip``."""
        await self.kernel.stop()
        self.kernel = None
        if self.restarts >= self.options.max_restarts:
            self.problems.append((None, "dead-kernel", f"the kernel was restarted {self.restarts} times; "
                                  "the grader gave up on the remaining cells"))
            return False
        self.restarts += 1
        self.kernel = await _Kernel(self.workdir, self.options).start()
        replayed = []
        for position in self.done:
            if position == skip:
                continue
            if self.remaining() <= 0:
                break
            outcome = await self.kernel.run(self.sources[position], min(self.options.cell_timeout, self.remaining()))
            if outcome.status in ("dead", "timeout"):
                self.problems.append((position, "dead-kernel", "stopped the kernel when run again after a restart"))
                await self.kernel.stop()
                self.kernel = None
                return False
            replayed.append(position)
        self.done = replayed
        return True

    async def run_extra(self, source, timeout):
        """Run one of the grader's own cells; after a hang, restart and replay. None if no kernel."""
        if self.kernel is None:
            return None
        outcome = await self.kernel.run(source, timeout)
        if await self._wedged(outcome):
            await self.recover()
        return outcome

    async def stop(self):
        if self.kernel is not None:
            await self.kernel.stop()
            self.kernel = None


def _clip(text, limit=300):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------
# Extracting answers: the grader's own cells, run in the submission's kernel

_EXTRACT = r'''
def __lenet_course_extract(request):
    import json, sys
    np = sys.modules.get("numpy")

    def encode(value, depth=0):
        if depth > 8:
            raise ValueError("nested too deeply")
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return value[:10000]
        if isinstance(value, (list, tuple)):
            if len(value) > 100000:
                raise ValueError("too long")
            return [encode(item, depth + 1) for item in value]
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            return {"__dict__": {key: encode(item, depth + 1) for key, item in value.items()}}
        if np is not None:
            if isinstance(value, np.generic):
                return encode(value.item(), depth)
            if not isinstance(value, np.ndarray) and hasattr(value, "__array__"):
                value = np.asarray(value)
            if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size <= 10**6:
                return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
        return {"__opaque__": type(value).__name__}

    def decode(value):
        if isinstance(value, list):
            return [decode(item) for item in value]
        if isinstance(value, dict) and "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=value["dtype"])
        return value

    def save(result):
        with open(request["path"], "w") as file:
            json.dump(result, file)

    name, kind = request["name"], request["kind"]
    namespace = globals()
    if name not in namespace:
        return save({"status": "missing"})
    value = namespace[name]
    if value is Ellipsis:
        return save({"status": "blank"})
    try:
        keras = sys.modules.get("keras")
        if kind == "function" and callable(value):
            outputs = []
            for args in request["probes"]:
                try:
                    outputs.append({"value": encode(value(*[decode(a) for a in args]))})
                except KeyboardInterrupt:
                    outputs.append({"error": "KeyboardInterrupt: it did not finish in time"})
                    break
                except BaseException as error:
                    outputs.append({"error": f"{type(error).__name__}: {error}"[:500]})
            return save({"status": "ok", "outputs": outputs})
        if kind == "model" and keras is not None and isinstance(value, keras.Model):
            value.save(request["model_path"])
            return save({"status": "ok", "model": request["model_path"]})
        if kind == "history" and hasattr(value, "epoch") and isinstance(getattr(value, "history", None), dict):
            return save({"status": "ok", "history": {"epoch": encode(list(value.epoch)),
                                                     "history": encode(value.history)}})
        return save({"status": "ok", "value": encode(value)})
    except BaseException as error:
        return save({"status": "error", "message": f"{type(error).__name__}: {error}"[:500]})

__lenet_course_extract(json_request)
del __lenet_course_extract
'''


def _encode_probe(value):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        return [_encode_probe(v) for v in value]
    return value


def _decode(value):
    """JSON from the kernel -> Python data; anything unexpected becomes ``Opaque``."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = np.dtype(str(value.get("dtype")))
            if dtype.kind not in "biuf":
                return Opaque(f"array of {dtype}")
            return np.array(value["__ndarray__"], dtype=dtype)
        if "__dict__" in value and isinstance(value["__dict__"], dict):
            return {str(k): _decode(v) for k, v in value["__dict__"].items()}
        return Opaque(str(value.get("__opaque__", "object"))[:80])
    return value


class _Unavailable:
    """An answer the grader could not get: ``status`` ("missing", "blank", "error") and why."""

    def __init__(self, status, message):
        self.status, self.message = status, message


async def _extract(runner, questions, exchange, options, rng):
    """Ask the kernel for every variable the questions read; returns {(question, variable): answer}."""
    answers, cache = {}, {}
    for question in questions:
        for read in question.reads:
            key = (read.name, read.kind) if read.kind != "function" else (question.name, read.name)
            if key not in cache:
                cache[key] = await _extract_one(runner, question, read, exchange, options, rng)
            answers[(question.name, read.name)] = cache[key]
    return answers


async def _extract_one(runner, question, read, exchange, options, rng):
    token = secrets.token_hex(8)
    request = {"name": read.name, "kind": read.kind, "path": str(exchange / f"{token}.json"),
               "model_path": str(exchange / f"{token}.keras")}
    probes = None
    if read.kind == "function":
        probes = question.probes(rng)
        request["probes"] = [[_encode_probe(a) for a in args] for args in probes]
    source = _EXTRACT.replace("json_request", f"__import__('json').loads({json.dumps(request)!r})")
    outcome = await runner.run_extra(source, options.cell_timeout)
    if outcome is None:
        return _Unavailable("error", f"`{read.name}` could not be read: the kernel had stopped")
    result_path = Path(request["path"])
    if outcome.status == "timeout":
        return _Unavailable("error", f"reading `{read.name}` took longer than {options.cell_timeout:g} s"
                            + (" (your function did not return)" if read.kind == "function" else ""))
    if outcome.status == "dead":
        return _Unavailable("error", f"reading `{read.name}` stopped the kernel")
    if not result_path.is_file():
        return _Unavailable("error", f"`{read.name}` could not be read ({outcome.ename or 'no answer'})")
    if result_path.stat().st_size > MAX_ANSWER_BYTES:
        return _Unavailable("error", f"`{read.name}` is too large to grade")
    try:
        result = json.loads(result_path.read_text())
    except ValueError:
        return _Unavailable("error", f"`{read.name}` could not be read")
    status = result.get("status")
    if status == "missing":
        return _Unavailable("missing", f"`{read.name}` is not defined")
    if status == "blank":
        return Ellipsis
    if status != "ok":
        return _Unavailable("error", f"`{read.name}` could not be read: {_clip(result.get('message', ''))}")
    if "outputs" in result:
        outputs = [ProbeError(str(o.get("error"))) if "error" in o else _decode(o.get("value"))
                   for o in result["outputs"]]
        outputs += [ProbeError("not called: an earlier call did not finish")] * (len(probes) - len(outputs))
        return Probed(probes, outputs)
    if "model" in result:
        return _load_model(Path(result["model"]), exchange, read.name)
    if "history" in result:
        history = result["history"]
        recorded = _decode(history.get("history"))
        epoch = _decode(history.get("epoch"))
        if isinstance(recorded, dict) and isinstance(epoch, list):
            return RecordedHistory(epoch, recorded)
        return Opaque("History")
    return _decode(result.get("value"))


def _load_model(path, exchange, name):
    import keras

    from . import models  # noqa: F401  (registers the course's Keras classes, LeNet5 among them)

    try:
        path = path.resolve()
        if exchange.resolve() not in path.parents or not path.is_file():
            return _Unavailable("error", f"`{name}` could not be saved")
        if path.stat().st_size > 200 * 2**20:
            return _Unavailable("error", f"`{name}` is too large to grade")
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        return _Unavailable("error", f"the grader could not load `{name}` ({type(error).__name__}: "
                            f"{_clip(error, 200)}); build it from Keras and lenet_course layers only")


# ---------------------------------------------------------------------------------------
# Grading one submission


def grade_submission(path, *, assignment=None, options=None, name=None):
    """Run and grade one notebook file; never raises for a bad submission.

    Args:
        path: the submitted ``.ipynb``.
        assignment: the exercise notebook it answers (e.g. ``"04_c3_connection_table"``);
            default: from the file name, else from its ``check`` calls.
        options: a ``GradingOptions``.
        name: the report's name (default: the file name without ``.ipynb``).

    Returns:
        A ``Report``.
    """
    options = options or GradingOptions()
    start = time.monotonic()
    path = Path(path)
    name = name or path.stem
    report = Report(name=name, submission=str(path), assignment=assignment, status="graded", score=0.0,
                    max_score=0.0, grader={"version": __version__, "cell_timeout": options.cell_timeout,
                                           "timeout": options.timeout, "memory_mb": options.memory_mb})
    try:
        _grade_into(report, path, options)
    except Exception as error:  # a bug of the grader must not lose the submission's report
        report.status = "grader-error"
        report.reason = f"the grader failed: {type(error).__name__}: {_clip(error)}"
    report.time_seconds = round(time.monotonic() - start, 2)
    return report


def _grade_into(report, path, options):
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
    # The submission runs in one fresh folder; its answers come back through another, which it
    # cannot know in advance (or delete) while its own cells run.
    workdir = Path(tempfile.mkdtemp(prefix="lenet-course-grade-"))
    exchange = Path(tempfile.mkdtemp(prefix="lenet-course-answers-"))
    try:
        problems, answers, restarts = _run_coroutine(_run_and_extract(code, questions, workdir, exchange, options))
    finally:
        for folder in (workdir, exchange):
            shutil.rmtree(folder, ignore_errors=True)
    report.kernel_restarts = restarts
    report.errors = [asdict(Problem(None if pos is None else code[pos][0] + 1, kind, message))
                     for pos, kind, message in problems]

    results = []
    for question in questions:
        values = [answers[(question.name, read.name)] for read in question.reads]
        unavailable = next((v for v in values if isinstance(v, _Unavailable)), None)
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


def _run_coroutine(coroutine):
    """``asyncio.run``, also from inside a running event loop (e.g. a Jupyter notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _run_and_extract(code, questions, workdir, exchange, options):
    deadline = time.monotonic() + options.timeout
    runner = _Runner([source for _, source in code], workdir, options, deadline)
    try:
        await runner.run_all()
        rng = np.random.default_rng(secrets.randbits(64))
        answers = await _extract(runner, questions, exchange, options, rng)
    finally:
        await runner.stop()
    return runner.problems, answers, runner.restarts


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
# Batches and report files


def report_names(paths):
    """A distinct, file-safe report name for every submission (``alice``, ``alice-2``, ...)."""
    names, seen = [], {}
    for path in paths:
        base = re.sub(r"[^\w.-]+", "_", Path(path).stem).strip("._") or "submission"
        count = seen.get(base, 0) + 1
        seen[base] = count
        names.append(base if count == 1 else f"{base}-{count}")
    return names


def grade_many(paths, out_dir, *, assignment=None, options=None, gradescope=False, progress=True):
    """Grade every notebook in ``paths`` and write the report files into ``out_dir``.

    Writes ``<name>.json`` per submission and ``grades.csv`` for the batch (each
    after every submission, so an interrupted batch keeps what it graded), and with
    ``gradescope=True`` ``results.json`` in Gradescope's format for the batch (one
    student's notebooks).

    Returns:
        The list of ``Report``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in paths]
    reports = []
    bar = _ProgressBar(len(paths), enabled=progress)
    for path, name in zip(paths, report_names(paths)):
        bar.update(len(reports), name)
        report = grade_submission(path, assignment=assignment, options=options, name=name)
        reports.append(report)
        (out_dir / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        write_grades_csv(reports, out_dir / "grades.csv")
    bar.update(len(reports), "done")
    bar.close()
    if gradescope:
        (out_dir / "results.json").write_text(json.dumps(gradescope_results(reports), indent=2,
                                                         ensure_ascii=False) + "\n")
    return reports


def write_grades_csv(reports, path):
    questions = list(dict.fromkeys(q["name"] for r in reports for q in r.questions))
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "submission", "assignment", "score", "max_score", "status", "reason",
                         "time_seconds", *questions])
        for r in reports:
            scores = {q["name"]: q["score"] for q in r.questions}
            writer.writerow([r.name, r.submission, r.assignment or "", r.score, r.max_score, r.status,
                             r.reason, r.time_seconds, *[scores.get(q, "") for q in questions]])


def gradescope_results(reports):
    """Gradescope's ``results.json`` for one student's submission(s)."""
    tests = []
    for report in reports:
        prefix = f"{report.assignment or report.name}: "
        for q in report.questions:
            tests.append({"name": prefix + q["name"] + " - " + q["title"], "score": q["score"],
                          "max_score": q["max_score"], "status": "passed" if q["status"] == "passed" else "failed",
                          "output": q["feedback"], "visibility": "visible"})
    lines = [f"{r.name}: {r.score:g} / {r.max_score:g}" + (f" ({r.reason})" if r.reason else "") for r in reports]
    return {"score": round(sum(r.score for r in reports), 4),
            "execution_time": int(round(sum(r.time_seconds for r in reports))),
            "output": "\n".join(lines), "visibility": "visible", "tests": tests}


class _ProgressBar:
    """``[#####.....] 5/10 alice`` on stderr (one line per step when stderr is not a terminal)."""

    def __init__(self, total, enabled=True, width=30):
        self.total, self.enabled, self.width = total, enabled and total > 1, width
        self.tty = sys.stderr.isatty()

    def update(self, done, label):
        if not self.enabled:
            return
        filled = int(self.width * done / max(self.total, 1))
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {label}"
        if self.tty:
            sys.stderr.write("\r" + line[:100].ljust(100))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self):
        if self.enabled and self.tty:
            sys.stderr.write("\n")
