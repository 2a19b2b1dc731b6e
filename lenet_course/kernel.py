"""Running a submission's cells in a Jupyter kernel, and the job the sandbox runs.

``python -m lenet_course.kernel JOB`` is what runs inside a submission's sandbox
(``lenet_course.sandbox``): it reads ``JOB/job.json`` (the code cells, the limits and
the variables to read), runs the cells one by one in a new kernel whose working folder
is ``JOB/work``, has the kernel write each answer as data into ``JOB/answers/``
(``lenet_course.answers``), and writes ``JOB/result.json``: what went wrong in which
cell, and how each answer was read. It judges nothing: the grader reads those files
outside the sandbox.

A cell that raises is recorded and the next one runs. A cell that outlives its timeout
is interrupted; if the kernel then no longer answers, or a cell kills the kernel
(``os._exit``, a signal, a crash, the CPU-time cap), that cell is skipped: a new kernel
starts and the cells before it run again, so the rest of the notebook still counts.

Every kernel talks over Unix sockets in a folder of its own (``unix_socket_settings``), not
over TCP ports: two kernels starting at once (a class graded two at a time without the
sandbox, the book's chapters, the learners' notebooks) could draw the same free port, and
one of them would die ("Address already in use").

Example:
    >>> import json, tempfile
    >>> job = Path(tempfile.mkdtemp())
    >>> job = write_job(job, ["x = 6 * 7", "1 / 0"], [{"name": "x", "kind": "value"}],
    ...           {"cell_timeout": 30, "timeout": 60, "memory_mb": 4096, "max_restarts": 1,
    ...            "output_limit": 10**6, "kernel_name": "python3"})
    >>> result = run_job(job)
    >>> result["problems"]
    [[1, 'exception', 'raised ZeroDivisionError: division by zero']]
    >>> json.loads((job / "answers" / "0.json").read_text())
    {'status': 'ok', 'value': 42}
"""

import asyncio
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from .answers import extraction_source
from .sandbox import explain_blocked

MAX_MESSAGE_BYTES = 64 * 2**20  # a larger message from the kernel is dropped


def cpu_seconds(options):
    """The CPU-time cap of one kernel: twice the time limit (TensorFlow runs on two threads), plus start-up."""
    return 2 * options.timeout + 60


@dataclass
class Outcome:
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


def _caps(megabytes, cpu_seconds):
    """A ``preexec_fn`` that caps the kernel's address space and CPU time (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows: no cap
        return None

    def cap():
        for which, limit in ((resource.RLIMIT_AS, int(megabytes) * 2**20), (resource.RLIMIT_CPU, int(cpu_seconds))):
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(which, (limit, hard))

    return cap


def unix_socket_settings(folder):
    """Kernel settings that put a kernel's channels on Unix sockets in ``folder``, not TCP ports.

    For any jupyter_client ``KernelManager``, e.g. ``NotebookClient(..., config=...)``.
    ``folder`` should be the kernel's own (its sockets are ``folder/kernel-N``) and short:
    a socket's path has at most about 100 characters.

    Example:
        >>> unix_socket_settings("/tmp/k").KernelManager.transport
        'ipc'
    """
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "kernel")}})


class Kernel:
    """One kernel process, driven cell by cell through nbclient."""

    def __init__(self, workdir, options):
        self.workdir, self.options = workdir, options
        self.client = None
        self.process = None  # the kernel's Popen
        self.sockets = None  # the folder of its Unix sockets

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
        self.sockets = tempfile.mkdtemp(prefix="lenet-kernel-")
        self.client = _Client(
            nbformat.v4.new_notebook(), config=unix_socket_settings(self.sockets),
            kernel_name=options.kernel_name, allow_errors=True,
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
            cwd=str(self.workdir), env=env, preexec_fn=_caps(options.memory_mb, cpu_seconds(options)),
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
            return Outcome("dead", output_bytes=self.output_bytes)
        except Exception as error:  # the kernel stopped talking: treat it as dead
            return Outcome("dead", type(error).__name__, str(error), self.output_bytes)
        content = (self.reply or {}).get("content", {})
        if content.get("status") != "error":
            return Outcome("ok", output_bytes=self.output_bytes)
        if content.get("ename") == _TIMEOUT_ENAME:
            return Outcome("timeout", output_bytes=self.output_bytes, seconds=self.client.timeout)
        return Outcome("error", str(content.get("ename", "")), str(content.get("evalue", "")), self.output_bytes)

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
        shutil.rmtree(self.sockets, ignore_errors=True)


class CellRunner:
    """Runs a submission's code cells, restarting the kernel when a cell kills or wedges it."""

    def __init__(self, sources, workdir, options, deadline, *, sandboxed=False):
        self.sources, self.workdir, self.options, self.deadline = sources, workdir, options, deadline
        self.sandboxed = sandboxed
        self.kernel = None
        self.done = []  # positions of the cells run in the current kernel, to replay after a restart
        self.restarts = 0
        self.problems = []  # (position or None, kind, message)

    def remaining(self):
        return self.deadline - time.monotonic()

    async def run_all(self):
        self.kernel = await Kernel(self.workdir, self.options).start()
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
            detail = _clip(outcome.evalue)  # `raise NotImplementedError` has none
            message = f"raised {outcome.ename}: {detail}" if detail else f"raised {outcome.ename}"
            if kind == "exit":
                message = "called sys.exit(); the grader went on with the next cell"
            elif kind == "memory":
                message = f"ran out of memory (MemoryError; the cap is {self.options.memory_mb:g} MB)"
            elif self.sandboxed and explain_blocked(outcome.ename, outcome.evalue):
                kind, message = "sandbox-blocked", f"{message} ({explain_blocked(outcome.ename, outcome.evalue)})"
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
        self.kernel = await Kernel(self.workdir, self.options).start()
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
# The job: what runs inside the sandbox


def write_job(job_dir, cells, reads, options, *, sandboxed=False):
    """Prepare ``job_dir`` (``job.json``, ``work/``, ``answers/``) for ``run_job``."""
    job_dir = Path(job_dir)
    (job_dir / "work").mkdir(parents=True, exist_ok=True)
    (job_dir / "answers").mkdir(exist_ok=True)
    job = {"cells": list(cells), "reads": list(reads), "options": dict(options), "sandboxed": sandboxed}
    (job_dir / "job.json").write_text(json.dumps(job))
    return job_dir


def run_job(job_dir):
    """Run the cells of ``job_dir/job.json``, extract the answers, write ``result.json``; returns it."""
    job_dir = Path(job_dir)
    job = json.loads((job_dir / "job.json").read_text())
    options = SimpleNamespace(**job["options"])
    result = _run_coroutine(_run_job(job, job_dir, options))
    temporary = job_dir / ".result.json.tmp"
    temporary.write_text(json.dumps(result))
    os.replace(temporary, job_dir / "result.json")
    return result


async def _run_job(job, job_dir, options):
    deadline = time.monotonic() + options.timeout
    runner = CellRunner(job["cells"], job_dir / "work", options, deadline, sandboxed=job["sandboxed"])
    outcomes = []
    try:
        await runner.run_all()
        if job["sandboxed"] and runner.kernel is not None:
            # Whatever the cells left running (a detached process...) stops before the answers are read.
            _kill_all_but(runner.kernel.process)
        for index, read in enumerate(job["reads"]):
            request = {**read, "path": str(job_dir / "answers" / f"{index}.json"),
                       "model_path": str(job_dir / "answers" / f"{index}.keras")}
            outcome = await runner.run_extra(extraction_source(request), options.cell_timeout)
            outcomes.append(None if outcome is None else {"status": outcome.status, "ename": outcome.ename})
    finally:
        await runner.stop()
    return {"problems": [list(p) for p in runner.problems], "restarts": runner.restarts, "answers": outcomes}


def _kill_all_but(kernel_process):
    """In the sandbox's own PID namespace: end every process but this one, its init and the kernel."""
    keep = {1, os.getpid(), getattr(kernel_process, "pid", None)}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in keep:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def _run_coroutine(coroutine):
    """``asyncio.run``, also from inside a running event loop (e.g. a Jupyter notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


if __name__ == "__main__":
    run_job(sys.argv[1])
