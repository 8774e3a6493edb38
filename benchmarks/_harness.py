"""Shared machinery of the benchmark suite (``benchmarks/suite.py``): contenders, interleaved
timing, gradient checks, memory meters, optional peers, devices, tables and JSON.

The timing method is overhead.py's, imported from it rather than copied: every contender runs
its warm-up first, then ``repeats`` rounds in which every contender runs ``number`` times back
to back (``overhead.time_runs``: garbage collector off, mean of the ``number`` runs), the
contenders interleaved within a round and the order rotated between rounds, so a slow spell of
a shared machine hits everyone. Tables show the median round, the fastest round, and the ratio
of the medians.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:  # the scenario modules import overhead.py and each other
    sys.path.insert(0, str(HERE))

import overhead  # noqa: E402  (after the path fix above)

MiB = 2.0**20
PEERS = ("torch", "autograd", "mygrad", "minimal_tape", "checked_tape")  # the tapes: D's yardsticks
INSTALL_HINT = "pip install -r benchmarks/requirements.txt"


class BenchmarkError(SystemExit):
    """A check failed (a gradient disagrees, a device is missing): the suite stops with the
    message and exit status 1; nothing is timed after a failed check."""

    def __init__(self, message: str):
        super().__init__(f"suite.py: {message}")


# ---- contenders and timing -------------------------------------------------------------------
@dataclasses.dataclass
class Contender:
    """One way of doing a scenario's work.

    ``run()`` does the timed work once; ``check()`` (default: ``run``) returns the arrays that
    must agree with the reference (gradients, a Hessian-vector product, final parameters), in a
    fixed order; it is called once, before any warm-up or timing. ``role`` is ``"baseline"``
    (hand-written, the 1.0x), ``"agrad"`` (agrad on the main backend), ``"peer"`` (another
    autodiff library), ``"extra"`` (agrad on another backend, or another way of using agrad).
    """

    name: str
    run: Callable[[], Any]
    check: Callable[[], Any] | None = None
    role: str = "peer"

    def result(self):
        return (self.check or self.run)()


def measure(cands, *, repeats, number, warmup, sync=None):
    """Seconds per run of every contender: ``{name: [one figure per round]}``.

    Warm-up runs first (imports, caches, allocators), then ``repeats`` interleaved rounds with
    the order rotated each round; ``sync`` (a device synchronisation) ends every run, so a
    GPU's queued work is inside the window of the contender that queued it.
    """
    sync = sync or (lambda: None)
    for c in cands:
        for _ in range(warmup):
            c.run()
        sync()
    times = {c.name: [] for c in cands}
    for r in range(repeats):
        k = r % len(cands)
        for c in cands[k:] + cands[:k]:

            def once(_n, run=c.run):
                run()
                sync()

            times[c.name].append(overhead.time_runs(once, None, number))
    return times


def summarize(cands, times, *, baseline, torch_ref=None, per=1.0):
    """One row per contender: median and fastest round (seconds / ``per``), the ratio of the
    medians to ``baseline``'s (and of the minima), and to ``torch_ref``'s when it ran."""
    base = statistics.median(times[baseline]) if baseline in times else None
    base_min = min(times[baseline]) if baseline in times else None
    tref = statistics.median(times[torch_ref]) if torch_ref in times else None
    rows = []
    for c in cands:
        ts = times[c.name]
        med = statistics.median(ts)
        rows.append(
            {
                "contender": c.name,
                "role": c.role,
                "median": med / per,
                "min": min(ts) / per,
                "ratio": med / base if base else None,
                "ratio_min": min(ts) / base_min if base_min else None,
                "vs_torch": med / tref if tref else None,
                "rounds": len(ts),
            }
        )
    return rows


def fmt_time(seconds):
    """A duration in s, ms or µs, three significant digits."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-6:.3g} µs"


def fmt_ratio(r):
    return "n/a" if r is None else (f"{r:.2f}x" if r < 10 else f"{r:.1f}x")


def print_table(title, rows, columns):
    """``columns``: (header, function of a row -> str[, "<" to left-align]); the first column
    is left-aligned, the others right-aligned unless marked."""
    cells = [[c[0] for c in columns]] + [[c[1](r) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    left = [i == 0 or c[2:] == ("<",) for i, c in enumerate(columns)]
    print(f"\n{title}")
    for j, line in enumerate(cells):
        out = [c.ljust(w) if lt else c.rjust(w) for c, w, lt in zip(line, widths, left)]
        print("  " + "  ".join(out).rstrip())
        if j == 0:
            print("  " + "  ".join("-" * w for w in widths))


def time_columns(unit="per run", with_torch=False):
    cols = [
        ("contender", lambda r: r["contender"]),
        (f"median {unit}", lambda r: fmt_time(r["median"])),
        ("min", lambda r: fmt_time(r["min"])),
        ("vs by hand", lambda r: fmt_ratio(r["ratio"])),
    ]
    if with_torch:
        cols.append(("vs torch", lambda r: fmt_ratio(r["vs_torch"])))
    return cols


# ---- checks ----------------------------------------------------------------------------------
def to_numpy(x):
    """A host NumPy copy of an agrad/torch/CuPy/MyGrad/NumPy array (or a list of them)."""
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    mod = type(x).__module__.split(".")[0]
    if mod == "agrad":
        return x.numpy()
    if mod == "torch":
        return x.detach().cpu().numpy()
    if mod == "cupy":
        return x.get()
    if mod == "mygrad":
        return np.asarray(x.data)
    return np.asarray(x)


def verify(scenario, cands, *, reference, rtol, atol, what="gradients"):
    """Run every contender's check once and compare it with ``reference``'s, entry by entry.

    Raises :class:`BenchmarkError` naming the contender and the entry that disagrees; returns
    the largest relative difference seen (for the report).
    """
    by_name = {c.name: c for c in cands}
    ref = [np.asarray(a, dtype=np.float64) for a in to_numpy(by_name[reference].result())]
    for a in ref:
        if not np.all(np.isfinite(a)):
            raise BenchmarkError(f"{scenario}: the reference {what} ({reference}) are not finite")
    worst = 0.0
    for c in cands:
        if c.name == reference:
            continue
        got = to_numpy(c.result())
        if len(got) != len(ref):
            raise BenchmarkError(
                f"{scenario}: {c.name} returned {len(got)} {what}, {reference} {len(ref)}"
            )
        for k, (g, want) in enumerate(zip(got, ref)):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != want.shape or not np.allclose(g, want, rtol=rtol, atol=atol):
                err = np.max(np.abs(g - want)) if g.shape == want.shape else "shape"
                raise BenchmarkError(
                    f"{scenario}: {c.name} disagrees with {reference} in entry {k} of its "
                    f"{what} (shape {g.shape} vs {want.shape}, max |diff| {err}; rtol {rtol}, "
                    f"atol {atol})"
                )
            scale = np.maximum(np.abs(want), atol / rtol if atol > 0 else np.finfo(float).tiny)
            worst = max(worst, float(np.max(np.abs(g - want) / scale, initial=0.0)))
    return worst


# ---- peers, backends and devices ---------------------------------------------------------------
class Context:
    """What a scenario needs from the command line: sizes, repeats, the device, which peers and
    extra backends to run, and where to print notes about what was skipped."""

    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.device = args.device
        self.extra = not args.no_extra
        self.peers = set(PEERS) if args.peers is None else set(args.peers)
        self.notes = []
        self._mods = {}
        self.cuda = self.device == "cuda"
        if self.cuda:
            self.cupy = require_cuda()
            self.hand_xp = self.cupy
            self.hand_name = "cupy by hand"
            self.agrad_backend, self.agrad_device = "cupy", "cuda"
        else:
            self.cupy = None
            self.hand_xp = np
            self.hand_name = "numpy by hand"
            self.agrad_backend, self.agrad_device = "numpy", None
        self.agrad_name = f"agrad / {self.agrad_backend}"
        self.torch_device = "cuda" if self.cuda else "cpu"
        self.torch_name = f"torch ({self.torch_device})"

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)
            print(f"  note: {text}")

    def module(self, name):
        """The module, or None (once per name: with a note) when absent, broken or deselected."""
        if name in self._mods:
            return self._mods[name]
        mod = None
        if name in PEERS and name not in self.peers:
            self.note(f"{name} skipped (not in --peers)")
        else:
            try:
                mod = importlib.import_module(name)
            except Exception as e:  # absent, or installed but failing to import
                self.note(f"{name} not available ({e}); its rows are skipped ({INSTALL_HINT})")
        if mod is not None and name == "torch" and self.cuda and not mod.cuda.is_available():
            self.note("torch has no CUDA device here; its rows are skipped")
            mod = None
        self._mods[name] = mod
        return mod

    def peer(self, name, *, cpu_only=False):
        """A peer library for this scenario, or None with a printed note."""
        if cpu_only and self.cuda:
            self.note(f"{name} runs on the CPU only: skipped with --device cuda")
            return None
        return self.module(name)

    def extra_backends(self):
        """(label, backend, device) of agrad on the other backends, with --no-extra: none.

        On the CPU: array_api_strict and torch; on CUDA: torch's CUDA device."""
        if not self.extra:
            return []
        out = []
        if not self.cuda and self.module("array_api_strict") is not None:
            out.append(("agrad / array_api_strict", "array_api_strict", None))
        if self.module("torch") is not None:
            dev = "cuda" if self.cuda else "cpu"
            out.append((f"agrad / torch ({dev})", "torch", dev))
        return out

    def sync(self):
        """Wait for every device queue in use (nothing to wait for on the CPU)."""
        if self.cuda:
            self.cupy.cuda.get_current_stream().synchronize()
            torch = self._mods.get("torch")
            if torch is not None:
                torch.cuda.synchronize()

    def repeats(self, default):
        if self.smoke:
            return 1
        return self.args.repeats if self.args.repeats is not None else default


def require_cuda():
    """CuPy with at least one CUDA device, or a clear error saying what is missing."""
    try:
        import cupy
    except Exception as e:  # not installed, or its CUDA libraries missing
        raise BenchmarkError(
            "--device cuda needs CuPy (the hand-written baselines and agrad's CUDA backend run "
            f"on it): pip install -e '.[cuda12]' (or '.[cuda13]'); importing it failed: {e}"
        ) from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError: no driver, no device
        raise BenchmarkError(f"--device cuda: CuPy finds no CUDA device ({e})") from None
    if n < 1:
        raise BenchmarkError("--device cuda: CuPy finds no CUDA device")
    return cupy


# ---- memory ------------------------------------------------------------------------------------
class MemoryMeter:
    """Bytes allocated since the region began: ``now()`` and ``peak()`` (the most at any moment
    since the start or the last ``reset_peak()``), both above what was allocated at the start.

    ``kind`` picks the counter: ``"tracemalloc"`` (NumPy, array-api-strict, and every library
    allocating through Python's allocator hooks: NumPy's data buffers are traced), ``"cupy"``
    (a CuPy memory hook counting the bytes its pool hands out), ``"torch-cuda"`` (the CUDA
    caching allocator's own counters). Nothing counts torch's CPU allocator in-process: for
    that, see :func:`peak_rss_of` (a fresh process per contender, its resident set size).

    Enter the meter before creating what it measures: tracemalloc only subtracts the frees of
    blocks it saw allocated, so a buffer allocated before tracing began and freed inside the
    region (a parameter array replaced by an update) would otherwise stay counted.
    """

    def __init__(self, kind, sync=None):
        if kind not in ("tracemalloc", "cupy", "torch-cuda"):
            raise ValueError(f"unknown memory counter {kind!r}")
        self.kind = kind
        self.sync = sync or (lambda: None)

    def _raw(self):
        """(allocated now, peak) in this counter's own terms."""
        self.sync()
        if self.kind == "tracemalloc":
            return tracemalloc.get_traced_memory()
        if self.kind == "cupy":  # pragma: no cover - needs a CUDA device
            return self._hook.used, self._hook.peak
        import torch  # pragma: no cover - needs a CUDA device

        return torch.cuda.memory_allocated(), torch.cuda.max_memory_allocated()

    def __enter__(self):
        gc.collect()
        if self.kind == "tracemalloc":
            self._started = not tracemalloc.is_tracing()
            if self._started:
                tracemalloc.start()
        elif self.kind == "cupy":  # pragma: no cover - needs a CUDA device
            self._hook = _cupy_hook()
            self._hook.__enter__()
        self.reset_peak()
        self.base = 0
        self.base = self.now()
        return self

    def now(self):
        """Allocated now, after a full garbage collection: it also empties CPython's free lists,
        whose blocks tracemalloc would otherwise count where they were first allocated."""
        gc.collect()
        return self._raw()[0] - self.base

    def peak(self):
        return self._raw()[1] - self.base

    def reset_peak(self):
        """Start the peak afresh from what is allocated now."""
        self.sync()
        if self.kind == "tracemalloc":
            tracemalloc.reset_peak()
        elif self.kind == "cupy":  # pragma: no cover - needs a CUDA device
            self._hook.peak = self._hook.used
        else:  # pragma: no cover - needs a CUDA device
            import torch

            torch.cuda.reset_peak_memory_stats()

    def __exit__(self, *exc):
        if self.kind == "tracemalloc" and self._started:
            tracemalloc.stop()
        elif self.kind == "cupy":  # pragma: no cover - needs a CUDA device
            self._hook.__exit__(*exc)
        return False


def _cupy_hook():  # pragma: no cover - needs a CUDA device
    """A CuPy memory hook that counts the pool's bytes in use and their peak."""
    import cupy

    class PeakHook(cupy.cuda.MemoryHook):
        name = "agrad-benchmarks-peak"

        def __init__(self):
            self.used = self.peak = 0

        def malloc_postprocess(self, **kw):
            self.used += kw["mem_size"]
            self.peak = max(self.peak, self.used)

        def free_postprocess(self, **kw):
            self.used -= kw["mem_size"]

    return PeakHook()


def memory_kind(backend, device):
    """The counter that sees ``backend`` on ``device``, or None."""
    if backend in ("numpy", "array_api_strict", "autograd", "mygrad"):
        return "tracemalloc"
    if backend == "cupy":
        return "cupy"
    if backend == "torch" and device is not None and "cuda" in str(device):
        return "torch-cuda"
    return None


def rss_bytes():
    """(resident set size now, its peak since the last reset) of this process, in bytes, from
    /proc/self/status (Linux); (None, ru_maxrss) elsewhere."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        kib = [int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")]
        return kib[0] * 1024, kib[1] * 1024
    except (OSError, KeyError, ValueError):
        import resource

        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return None, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def reset_peak_rss():
    """Reset this process's peak RSS (VmHWM) to its current RSS: writing 5 to
    /proc/self/clear_refs (Linux >= 4.0). False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_of(module, function, timeout=1800, **kwargs):
    """Run ``module.function(**kwargs)`` in a fresh Python process (benchmarks/_probe.py) and
    return the dict it returns. A fresh process per contender keeps one contender's heap, caches
    and allocator pools out of another's peak-RSS figure."""
    cmd = [sys.executable, str(HERE / "_probe.py"), module, function, json.dumps(kwargs)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise BenchmarkError(
            f"{module}.{function}({kwargs}) failed in its own process (exit {res.returncode}):\n"
            + (res.stdout + res.stderr)[-3000:]
        )
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---- environment -----------------------------------------------------------------------------
def environment(ctx=None):
    """overhead.py's environment record, plus the peers' versions, the CPU, the commit."""
    try:
        info = overhead.environment()
    except Exception:  # a peer installed but failing to import: record what imports
        info = {"python": sys.version.split()[0], "numpy": np.__version__, "cpus": os.cpu_count()}
    info["threads"] = {
        v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    for name in ("autograd", "mygrad", "cupy"):
        try:
            if importlib.util.find_spec(name) is not None:
                info[name] = metadata.version(name if name != "cupy" else _cupy_dist())
        except Exception:  # a broken or partial install: no version to report
            pass
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = names[0] if names else None
    except OSError:
        info["cpu"] = None
    try:
        git = ["git", "-C", str(ROOT)]
        run = dict(capture_output=True, text=True, timeout=10)
        info["commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], **run
        ).stdout.strip()
        if subprocess.run([*git, "status", "--porcelain", "--", "agrad"], **run).stdout.strip():
            info["commit"] += "+local changes to agrad/"
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    import agrad

    info["agrad_core"] = (
        "compiled core (AGRAD_COMPILE=1)" if agrad.COMPILED else "interpreted (the default install)"
    )
    if ctx is not None and ctx.cuda:  # pragma: no cover - needs a CUDA device
        info["gpu"] = ctx.cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return info


def _cupy_dist():
    for d in metadata.distributions():
        if (d.metadata["Name"] or "").lower().startswith("cupy"):
            return d.metadata["Name"]
    raise LookupError("cupy")


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=_json_default)
    print(f"wrote {path}")


def _json_default(obj):
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return str(obj)
