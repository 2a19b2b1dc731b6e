"""Extracting answers: the grader's own cell, run in the submission's kernel, and reading what it wrote.

Inside the sandbox, ``extraction_source(request)`` is the cell that makes the kernel
write one variable as data: plain values and arrays as JSON, a function as its outputs
on the inputs the grader drew (``probes``), a Keras model as a ``.keras`` file, a
training history as its numbers. Nothing is pickled.

Outside, after the sandbox has ended, ``read_answer`` turns those files into what the
judges of ``lenet_course.checks`` take; a model is loaded with ``safe_mode=True``. An
answer that cannot be had becomes ``Unavailable`` (``"missing"``, ``"blank"`` or
``"error"``, and why).

Example:
    >>> encode_probe((np.array([1, 2], dtype="int64"), 3))
    [{'__ndarray__': [1, 2], 'dtype': '<i8'}, 3]
    >>> decode({"__ndarray__": [[1.5]], "dtype": "<f4"})
    array([[1.5]], dtype=float32)
    >>> decode({"__opaque__": "Sequential"})
    Opaque(type_name='Sequential')
"""

import json
import re
from pathlib import Path

import numpy as np

from .checks import Opaque, Probed, ProbeError, RecordedHistory

MAX_ANSWER_BYTES = 50 * 2**20  # an extracted answer larger than this is refused
MAX_MODEL_BYTES = 200 * 2**20

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
                    text = str(error)  # as checks.exception_text: no ": " before nothing
                    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
                    outputs.append({"error": text[:500]})
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




def extraction_source(request):
    """The cell that writes the variable ``request["name"]`` as data to ``request["path"]``."""
    return _EXTRACT.replace("json_request", f"__import__('json').loads({json.dumps(request)!r})")

def encode_probe(value):
    """A probe input as JSON (arrays as ``{"__ndarray__": ..., "dtype": ...}``)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        return [encode_probe(v) for v in value]
    return value


def decode(value):
    """JSON from the kernel -> Python data; anything unexpected becomes ``Opaque``."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = np.dtype(str(value.get("dtype")))
            if dtype.kind not in "biuf":
                return Opaque(f"array of {dtype}")
            return np.array(value["__ndarray__"], dtype=dtype)
        if "__dict__" in value and isinstance(value["__dict__"], dict):
            return {str(k): decode(v) for k, v in value["__dict__"].items()}
        return Opaque(str(value.get("__opaque__", "object"))[:80])
    return value


class Unavailable:
    """An answer the grader could not get: ``status`` ("missing", "blank", "error") and why."""

    def __init__(self, status, message):
        self.status, self.message = status, message


def read_answer(read, outcome, answers_dir, index, probes, cell_timeout):
    """What the kernel wrote for ``read`` (an ``Answer`` of ``checks``), as the judge takes it.

    ``outcome`` is how its extraction cell ran (``{"status", "ename"}``, None when no
    kernel was left); ``probes`` the inputs a function was called on.
    """
    if outcome is None:
        return Unavailable("error", f"`{read.name}` could not be read: the kernel had stopped")
    result_path = Path(answers_dir) / f"{index}.json"
    if outcome.get("status") == "timeout":
        return Unavailable("error", f"reading `{read.name}` took longer than {cell_timeout:g} s"
                           + (" (your function did not return)" if read.kind == "function" else ""))
    if outcome.get("status") == "dead":
        return Unavailable("error", f"reading `{read.name}` stopped the kernel")
    if result_path.is_symlink() or not result_path.is_file():
        return Unavailable("error", f"`{read.name}` could not be read ({outcome.get('ename') or 'no answer'})")
    if result_path.stat().st_size > MAX_ANSWER_BYTES:
        return Unavailable("error", f"`{read.name}` is too large to grade")
    try:
        result = json.loads(result_path.read_text())
    except ValueError:
        return Unavailable("error", f"`{read.name}` could not be read")
    if not isinstance(result, dict):
        return Unavailable("error", f"`{read.name}` could not be read")
    status = result.get("status")
    if status == "missing":
        return Unavailable("missing", f"`{read.name}` is not defined")
    if status == "blank":
        return Ellipsis
    if status != "ok":
        return Unavailable("error", f"`{read.name}` could not be read: {clip(result.get('message', ''))}")
    if "outputs" in result and probes is not None and isinstance(result["outputs"], list):
        outputs = [ProbeError(str(o.get("error"))) if isinstance(o, dict) and "error" in o
                   else decode(o.get("value") if isinstance(o, dict) else None) for o in result["outputs"]]
        outputs = outputs[: len(probes)]
        outputs += [ProbeError("not called: an earlier call did not finish")] * (len(probes) - len(outputs))
        return Probed(probes, outputs)
    if "model" in result:
        return load_model(Path(answers_dir) / f"{index}.keras", answers_dir, read.name)
    if "history" in result and isinstance(result["history"], dict):
        history = result["history"]
        recorded = decode(history.get("history"))
        epoch = decode(history.get("epoch"))
        if isinstance(recorded, dict) and isinstance(epoch, list):
            return RecordedHistory(epoch, recorded)
        return Opaque("History")
    return decode(result.get("value"))


def load_model(path, exchange, name):
    """A ``.keras`` file the kernel saved, loaded with ``safe_mode=True`` (no code of the submission runs)."""
    import keras

    from . import models  # noqa: F401 (registers the course's layers and models with Keras)

    try:
        path = path.resolve()
        if Path(exchange).resolve() not in path.parents or not path.is_file():
            return Unavailable("error", f"`{name}` could not be saved")
        if path.stat().st_size > MAX_MODEL_BYTES:
            return Unavailable("error", f"`{name}` is too large to grade")
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        return Unavailable("error", f"the grader could not load `{name}` ({type(error).__name__}: "
                            f"{clip(error, 200)}); build it from Keras and lenet_course layers only")


def clip(text, limit=300):
    """``text`` without terminal colours, cut to ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
