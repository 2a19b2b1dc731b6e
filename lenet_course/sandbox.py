"""The sandbox a submission runs in: Linux namespaces through bubblewrap (``bwrap``).

``sandboxed_command(argv, job_dir)`` wraps the command that runs one submission
(``python -m lenet_course.kernel /grade``) so that, inside:

* there is **no network**: a network namespace of its own, with only its own loopback
  (the kernel's channel lives there too; the host's ``127.0.0.1`` is out of reach);
* the system, the Python environment and the package are **read-only**, and nothing
  else of the machine is there: no ``$HOME``, no class folder, no output folder, no
  grader's files. The job folder (the submission's cells, the grader's request and
  the answers) is mounted at ``/grade``, its working folder at ``/grade/work``, and
  ``/tmp`` is private;
* it has its **own PID namespace** (``/proc`` shows only its processes, not the
  grader's command line) and dies with the grader (``--die-with-parent``): nothing it
  starts outlives it;
* no capabilities, a new session (no terminal to type into), and the memory and
  CPU-time caps the kernel sets with ``setrlimit``.

``resolve(mode)`` turns ``--sandbox auto|bwrap|none`` into a ``Sandbox``: ``auto`` takes
bubblewrap where it works and otherwise says, in ``Sandbox.note``, that submissions run
unconfined (the grader prints it and writes it in every report).

Example:
    >>> resolve("none")
    Sandbox(kind='none', note='none: --sandbox none (submissions run with the rights of the grader)')
    >>> explain_blocked("PermissionError", "[Errno 30] Read-only file system: '/etc/x'")
    'the sandbox blocked it: only its working folder and /tmp are writable'
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MODES = ("auto", "bwrap", "none")
INSIDE = "/grade"  # where the job folder appears inside the sandbox
SCRATCH_PREFIX = "lenet-course-grade-"  # the grader's temporary folders: new_scratch_folder


@dataclass(frozen=True)
class Sandbox:
    """``kind`` is ``"bwrap"`` or ``"none"``; ``note`` is what reports say about it."""

    kind: str
    note: str

    @property
    def on(self):
        return self.kind == "bwrap"


class SandboxUnavailable(RuntimeError):
    """``--sandbox bwrap`` was asked for, and bubblewrap does not work here; the message says why."""


def resolve(mode="auto"):
    """The ``Sandbox`` for ``--sandbox mode``; raises ``SandboxUnavailable`` for ``bwrap`` without it."""
    if mode not in MODES:
        raise ValueError(f"Expected sandbox to be one of {MODES}. Received: sandbox={mode!r}")
    if mode == "none":
        return Sandbox("none", "none: --sandbox none (submissions run with the rights of the grader)")
    problem = bwrap_problem()
    if problem is None:
        return Sandbox("bwrap", "bwrap")
    if mode == "bwrap":
        raise SandboxUnavailable(f"cannot sandbox submissions: {problem}")
    return Sandbox("none", f"none: NOT SANDBOXED, {problem}; submissions run with the grader's rights, "
                           "its files and network")


def new_scratch_folder(purpose=""):
    """A new private temporary folder named ``SCRATCH_PREFIX``, this process id, "-", ``purpose``.

    A grader removes the folders so named of processes no longer running
    (``grading.class_scratch_folder``): what a killed grader leaves goes with the next.

    Example:
        >>> folder = new_scratch_folder("probe-")
        >>> folder.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-probe-")
        True
        >>> folder.rmdir()
    """
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{purpose}"))


@functools.cache
def bwrap_problem():
    """None when bubblewrap can make the sandbox here, else why not (checked once per process)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = new_scratch_folder("bwrap-probe-")  # the next grader removes it if this one is killed now
    (probe / "work").mkdir()
    try:
        result = subprocess.run(sandboxed_command(["/bin/true"], probe), capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap does not start ({error})"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if result.returncode != 0:
        return f"bubblewrap cannot create namespaces here ({result.stderr.strip()[:200] or result.returncode})"
    return None


def _readable_roots():
    """What the sandbox shows read-only: the system, the Python install, this package."""
    import lenet_course

    package = Path(lenet_course.__file__).resolve().parent
    roots = ["/usr", "/etc"]
    for prefix in {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}:
        if not any(prefix == r or prefix.startswith(r + "/") for r in roots):
            roots.append(prefix)
    roots.append(str(package))
    return roots, str(package.parent)


def sandboxed_command(argv, job_dir):
    """``argv`` run inside a new bubblewrap sandbox, with ``job_dir`` at ``/grade`` (writable)."""
    roots, package_parent = _readable_roots()
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               # the private /tmp first: what is bound next stays visible even where it lives under
               # /tmp (a clone or a virtual environment in /tmp, as CI may have)
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for root in roots:
        command += ["--ro-bind", root, root]
    for link in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        target = Path("/") / link
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir() and not any(str(target) == r for r in roots):
            command += ["--ro-bind", str(target), str(target)]
    command += ["--bind", str(job_dir), INSIDE,
                "--remount-ro", "/", "--chdir", f"{INSIDE}/work", "--clearenv"]
    for name, value in sandbox_environment(package_parent).items():
        command += ["--setenv", name, value]
    return command + ["--", *argv]


def sandbox_environment(package_parent):
    """The environment inside: a private home in /tmp, this package first on the path, quiet logs."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "PYTHONPATH": package_parent, "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
           "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("TF_CPP_MIN_LOG_LEVEL", "LENET_COURSE_QUIET", "LENET_COURSE_DATA", "KERAS_BACKEND",
                 "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


_BLOCKED = (
    (("Read-only file system", "Errno 30"), "the sandbox blocked it: only its working folder and /tmp are writable"),
    (("Network is unreachable", "Connection refused", "Temporary failure in name resolution",
      "Name or service not known", "No address associated"), "the sandbox blocked it: there is no network"),
    (("Operation not permitted",), "the sandbox blocked it: the operation is not permitted"),
)


def explain_blocked(ename, evalue):
    """What the sandbox blocked, when an error says so (a write, the network); else ``""``."""
    text = f"{ename}: {evalue}"
    missing = re.search(r"No such file or directory: '(/[^']*)'", text)
    if missing and not missing.group(1).startswith(INSIDE + "/"):
        return "the sandbox hides it: only its working folder, /tmp and the Python environment are there"
    for markers, note in _BLOCKED:
        if any(marker in text for marker in markers):
            return note
    return ""
