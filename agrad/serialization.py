"""Saving and loading state dicts: ``ag.save(obj, path)`` and ``ag.load(path, backend=, device=)``.

The file is a NumPy ``.npz`` archive and nothing is ever pickled: each tensor is one array
(copied to the host with ``t.numpy()``), and everything else (the nesting of dicts and lists,
Python numbers and strings, dtype names, ``requires_grad`` flags) lives in one JSON document
stored as a uint8 array under the key ``__agrad__``. Loading reads it with
``allow_pickle=False`` and puts the tensors on the backend and device asked for (NumPy on the
CPU by default), so a file saved from torch or CuPy loads on NumPy and the other way round.

Examples
--------
>>> import os, tempfile
>>> import agrad as ag
>>> from agrad.serialization import load, save
>>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
>>> save({"w": ag.ones((2,), dtype=ag.float32), "step": 3}, path)
>>> state = load(path)
>>> state["w"], state["step"]
(Tensor([1., 1.], backend='numpy', device='cpu', dtype=float32), 3)
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from ._dtypes import DTYPES
from ._tensor import Tensor
from .ops.creation import asarray

__all__ = ["save", "load"]

_META = "__agrad__"
_FORMAT = "agrad-state"
_VERSION = 1


def save(obj, path) -> None:
    """Write a state dict to ``path`` (an ``.npz`` archive, no pickling).

    Parameters
    ----------
    obj : dict
        A dict (possibly nested) of ``str`` or ``int`` keys to Tensors, Python numbers
        (``bool``, ``int``, ``float``, ``complex``), strings, ``None``, and lists/tuples of
        those.
    path : str or os.PathLike
        The file written, exactly as named (no ``.npz`` is appended). The file is written to a
        temporary name first and then renamed, so a failed save never leaves half a file.

    Examples
    --------
    >>> import os, tempfile
    >>> import agrad as ag
    >>> from agrad.serialization import save
    >>> save({"bias": ag.zeros((3,))}, os.path.join(tempfile.mkdtemp(), "b.npz"))
    """
    if not isinstance(obj, dict):
        raise TypeError(f"agrad.save: expected a dict (a state dict), got {type(obj).__name__}")
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": tree}, allow_nan=True)
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".agrad-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _encode(obj, where, arrays):
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        host = obj.numpy()
        if host.dtype == object or host.dtype.name not in DTYPES:  # pragma: no cover - defensive
            raise TypeError(f"agrad.save: {where or 'the value'} has unsupported dtype {obj.dtype}")
        arrays[key] = host
        return {
            "type": "tensor",
            "key": key,
            "dtype": obj.dtype.name,
            "shape": list(obj.shape),
            "requires_grad": bool(obj.requires_grad),
        }
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"type": "value", "value": obj}
    if isinstance(obj, complex):
        return {"type": "complex", "real": obj.real, "imag": obj.imag}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            # int keys: an optimizer's state_dict() numbers its parameters, as in PyTorch
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(
                    f"agrad.save: dict keys must be str or int, got {k!r} ({type(k).__name__}) "
                    f"at {where or 'the top level'}"
                )
            items.append([k, _encode(v, f"{where}[{k!r}]", arrays)])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {
            "type": kind,
            "items": [_encode(v, f"{where}[{i}]", arrays) for i, v in enumerate(obj)],
        }
    raise TypeError(
        f"agrad.save: cannot save {type(obj).__name__} at {where or 'the top level'}: state "
        "dicts hold Tensors, numbers, strings, None, and dicts/lists/tuples of those (convert "
        "raw arrays with ag.asarray)"
    )


def load(path, *, device=None, backend=None) -> dict:
    """Read a state dict written by :func:`save`, with tensors on ``backend``/``device``.

    Parameters
    ----------
    path : str or os.PathLike
    device, backend : optional
        Where the tensors go, as for :func:`agrad.asarray` (default: NumPy on the CPU), whatever
        backend they were saved from.

    Raises
    ------
    OSError
        The file cannot be read (missing, a directory, no permission).
    ValueError
        The file is not an agrad state file, is corrupt or truncated, or is missing entries.

    Examples
    --------
    >>> import os, tempfile
    >>> import agrad as ag
    >>> from agrad.serialization import load, save
    >>> path = os.path.join(tempfile.mkdtemp(), "s.npz")
    >>> save({"x": ag.asarray([1, 2])}, path)
    >>> load(path, backend="array_api_strict")["x"].backend
    'array_api_strict'
    """
    path = os.fspath(path)
    # we own the file handle (np.load leaks it when the zip directory is unreadable)
    with open(path, "rb") as f:
        try:
            npz = np.load(f, allow_pickle=False)
        except (ValueError, EOFError, OSError, zipfile.BadZipFile) as e:
            raise ValueError(
                f"agrad.load: {path!r} is not an agrad state file (expected an .npz archive "
                f"written by agrad.save): {e}"
            ) from e
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(
                f"agrad.load: {path!r} is a single .npy array, not an agrad state file (an .npz "
                "archive written by agrad.save)"
            )
        with npz:
            try:
                return _load_npz(npz, path, backend, device)
            except (zipfile.BadZipFile, EOFError, KeyError, OSError) as e:
                raise ValueError(f"agrad.load: {path!r} is corrupt or truncated: {e}") from e


def _load_npz(npz, path, backend, device):
    if _META not in npz.files:
        raise ValueError(
            f"agrad.load: {path!r} is an .npz archive but not an agrad state file (no "
            f"'{_META}' entry; was it written by agrad.save?)"
        )
    raw = npz[_META]
    try:
        if not isinstance(raw, np.ndarray):
            raise ValueError("the entry is not a .npy array")
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"expected 1-D uint8, got {raw.dtype} of shape {raw.shape}")
        meta = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("the metadata is not a JSON object")
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"agrad.load: {path!r} has unreadable metadata: {e}") from e
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"agrad.load: {path!r} has format {meta.get('format')!r}, expected {_FORMAT!r}"
        )
    if meta.get("version") != _VERSION:
        raise ValueError(
            f"agrad.load: {path!r} has format version {meta.get('version')!r}; this agrad reads "
            f"version {_VERSION} (was it written by a newer agrad?)"
        )
    return _decode(meta.get("tree"), npz, path, backend, device, "")


def _bad(path, where, what):
    return ValueError(f"agrad.load: {path!r} is corrupt: {what} at {where or 'the top level'}")


def _decode(node, npz, path, backend, device, where):
    if not isinstance(node, dict) or "type" not in node:
        raise _bad(path, where, f"malformed entry {node!r:.80}")
    kind = node["type"]
    try:
        if kind == "tensor":
            return _decode_tensor(node, npz, path, backend, device, where)
        if kind == "value":
            return node["value"]
        if kind == "complex":
            return complex(node["real"], node["imag"])
        if kind == "dict":
            out = {}
            for k, v in node["items"]:
                out[k] = _decode(v, npz, path, backend, device, f"{where}[{k!r}]")
            return out
        if kind in ("list", "tuple"):
            items = [
                _decode(v, npz, path, backend, device, f"{where}[{i}]")
                for i, v in enumerate(node["items"])
            ]
            return items if kind == "list" else tuple(items)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ValueError) and str(e).startswith("agrad.load:"):
            raise
        raise _bad(path, where, f"malformed {kind} entry ({type(e).__name__}: {e})") from e
    raise _bad(path, where, f"unknown entry type {kind!r}")


def _decode_tensor(node, npz, path, backend, device, where):
    key, dtype, shape = node["key"], node["dtype"], tuple(node["shape"])
    if key not in npz.files:
        raise _bad(path, where, f"the array {key!r} it refers to is missing")
    host = npz[key]
    if not isinstance(host, np.ndarray):
        raise _bad(path, where, f"the entry {key!r} is not a .npy array")
    if host.dtype.name != dtype or host.shape != shape:
        raise _bad(
            path,
            where,
            f"array {key!r} is {host.dtype.name} of shape {host.shape}, the metadata says "
            f"{dtype} of shape {shape}",
        )
    return asarray(host, backend=backend, device=device, requires_grad=bool(node["requires_grad"]))
