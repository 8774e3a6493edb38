"""Scenario C: a chain of 100,000 scalar ops (0-d float64 tensors), forward + backward: time,
and peak memory measured in a fresh process per contender; and a 1,000,000-op run that must
complete.

The chain cycles six ops: ``x + c, exp, log, - c, tanh, atanh``. Each pair undoes the other, so
values stay at O(1) and the gradient stays near 1 however long the chain (a contracting chain
like scenario A's would underflow into subnormal numbers and then zero over 10^5-10^6 ops, and
time the CPU's subnormal arithmetic instead of the tape); every op still saves what its
derivative needs and is differentiated for real (e^x, 1/x, 1 - tanh², 1/(1 - x²)). ``c`` is a
0-d float64 constant (no gradient).

Peak memory: each contender runs the chain once in its own Python process
(benchmarks/_probe.py), after a short warm-up chain. The figure is the growth of the resident
set size's peak (Linux VmHWM, reset to the current RSS by writing 5 to /proc/self/clear_refs just
before the run) above the RSS at the start of the run: the same method for NumPy and torch,
whose CPU allocator tracemalloc does not see. For the contenders that allocate through Python
(NumPy, autograd, agrad on NumPy or array-api-strict) the traced peak (tracemalloc, a second
fresh process) is reported too. The chain timed in the RSS process runs with the garbage
collector on, as in a user's program ("GC on", the median of 3 chains); the interleaved rounds
switch it off, as overhead.py and timeit do, and a graph of 10^5-10^6 Python objects makes
that difference large.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import statistics
import time
import tracemalloc

import numpy as np
from _harness import (
    Contender,
    MiB,
    fmt_ratio,
    fmt_time,
    measure,
    peak_rss_of,
    print_table,
    reset_peak_rss,
    rss_bytes,
    summarize,
    time_columns,
    to_numpy,
    verify,
)

TITLE = "C. A chain of 100,000 scalar ops (0-d float64), forward + backward; peak memory"
OPS, SMOKE_OPS = 100_000, 600
BIG_OPS, SMOKE_BIG_OPS = 1_000_000, 3_000
X0, C = 0.3, 0.7  # x + c = 1.0 inside the exp/log pair; tanh/atanh act on 0.3


def make_data(xp=np):
    return xp.asarray(X0, dtype=xp.float64), xp.asarray(C, dtype=xp.float64)


# ---- hand-written NumPy ------------------------------------------------------------------------
def numpy_by_hand(x0, c, n_ops):
    """The chain and its backprop in plain NumPy: save what each derivative needs, walk back.
    Returns (output, d output / d x0)."""
    saved = []
    x = x0
    for k in range(n_ops):
        op = k % 6
        if op == 0:
            x = x + c
            saved.append(None)
        elif op == 1:
            x = np.exp(x)
            saved.append(x)  # d exp x = exp x: keep the output
        elif op == 2:
            saved.append(x)  # d log x = 1 / x: keep the input
            x = np.log(x)
        elif op == 3:
            x = x - c
            saved.append(None)
        elif op == 4:
            x = np.tanh(x)
            saved.append(x)  # d tanh x = 1 - tanh² x: keep the output
        else:
            saved.append(x)  # d atanh x = 1 / (1 - x²): keep the input
            x = np.arctanh(x)
    g = np.ones_like(x)
    for k in range(n_ops - 1, -1, -1):
        op, s = k % 6, saved[k]
        if op == 1:
            g = g * s
        elif op == 2:
            g = g / s
        elif op == 4:
            g = g * (1.0 - s * s)
        elif op == 5:
            g = g / (1.0 - s * s)
    return x, g


# ---- autodiff libraries ------------------------------------------------------------------------
def agrad_setup(backend, x0, c, device=None):
    import agrad as ag

    x = ag.asarray(x0, backend=backend, device=device, requires_grad=True)
    ct = ag.asarray(c, backend=backend, device=device)
    return _tape_chain(x, ct, {1: ag.exp, 2: ag.log, 4: ag.tanh, 5: ag.atanh})


def _tape_chain(x, ct, unary):
    """The chain for libraries with PyTorch's interface (agrad and torch alike): ``x`` requires
    grad, ``.backward()`` fills ``x.grad``."""

    def run(n_ops):
        x.grad = None
        y = x
        for k in range(n_ops):
            op = k % 6
            if op == 0:
                y = y + ct
            elif op == 3:
                y = y - ct
            else:
                y = unary[op](y)
        y.backward()
        return [y.detach(), x.grad]

    return run


def torch_setup(x0, c, device="cpu"):
    import torch

    x = torch.tensor(float(x0), dtype=torch.float64, device=device, requires_grad=True)
    ct = torch.tensor(float(c), dtype=torch.float64, device=device)
    return _tape_chain(x, ct, {1: torch.exp, 2: torch.log, 4: torch.tanh, 5: torch.atanh})


def autograd_setup(x0, c):
    import autograd
    import autograd.numpy as anp

    unary = {1: anp.exp, 2: anp.log, 4: anp.tanh, 5: anp.arctanh}

    def chain(x, n_ops):
        y = x
        for k in range(n_ops):
            op = k % 6
            if op == 0:
                y = y + c
            elif op == 3:
                y = y - c
            else:
                y = unary[op](y)
        return y

    vg = autograd.value_and_grad(chain)
    return lambda n_ops: list(vg(x0, n_ops))


def setup(name, device=None):
    """``run(n_ops) -> [output, gradient]`` of the contender called ``name``: "numpy" or
    "cupy" (by hand), "torch", "autograd", or "agrad:<backend>"."""
    if name in ("numpy", "cupy"):
        x0, c = make_data(importlib.import_module(name))
        return lambda n: list(numpy_by_hand(x0, c, n))
    x0, c = make_data()
    if name == "torch":
        return torch_setup(x0, c, device or "cpu")
    if name == "autograd":
        return autograd_setup(x0, c)
    if name.startswith("agrad:"):
        backend = name.split(":", 1)[1]
        if backend == "cupy":  # pragma: no cover - needs a CUDA device
            x0, c = make_data(importlib.import_module("cupy"))
        return agrad_setup(backend, x0, c, device)
    raise ValueError(f"unknown contender {name!r}")


def probe(name, ops, mode, device=None, runs=1):
    """Chains of ``ops`` ops after a short warm-up chain, run in a fresh process by
    _harness.peak_rss_of. The first chain's peak memory above its start, by ``mode``: "rss" (the
    peak resident set size, reset just before) or "tracemalloc"; the median time of ``runs``
    chains, the garbage collector on."""
    if mode == "tracemalloc":
        tracemalloc.start()  # before the setup: frees of the setup's blocks are seen too
    run = setup(name, device)
    run(min(ops, 600))  # imports, first-call caches
    gc.collect()
    out = {"name": name, "ops": ops, "mode": mode}
    if mode == "rss":
        out["reset"] = reset_peak_rss()
        start = rss_bytes()[0]
    else:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
    times = []
    for k in range(runs):
        t0 = time.perf_counter()
        res = run(ops)
        times.append(time.perf_counter() - t0)
        if k == 0 and mode == "rss":
            out["peak"] = rss_bytes()[1] - (start or 0)
        elif k == 0:
            out["peak"] = tracemalloc.get_traced_memory()[1] - start
            tracemalloc.stop()
    out["seconds"] = statistics.median(times)
    out["grad"] = float(to_numpy(res[1]))
    return out


# ---- the scenario ------------------------------------------------------------------------------
@dataclasses.dataclass
class Spec:
    label: str
    role: str
    name: str  # setup()'s and probe()'s name for it
    device: str | None = None
    traced: bool = False  # allocates where tracemalloc sees it


def specs(ctx):
    cpu = not ctx.cuda
    out = [
        Spec(ctx.hand_name, "baseline", "cupy" if ctx.cuda else "numpy", None, cpu),
        Spec(ctx.agrad_name, "agrad", f"agrad:{ctx.agrad_backend}", ctx.agrad_device, cpu),
    ]
    if ctx.peer("torch") is not None:
        out.append(Spec(ctx.torch_name, "peer", "torch", ctx.torch_device))
    if ctx.peer("autograd", cpu_only=True) is not None:
        out.append(Spec("autograd", "peer", "autograd", None, True))
    for label, backend, device in ctx.extra_backends():
        traced = backend == "array_api_strict"
        out.append(Spec(label, "extra", f"agrad:{backend}", device, traced))
    return out


def mib(v):
    return "n/a" if v is None else f"{v / MiB:.1f} MiB"


def memory(spec, ops, runs):
    """Peak memory of one chain, each method in a fresh process, and the median time of
    ``runs`` chains there, the garbage collector on."""
    kw = {"name": spec.name, "ops": ops, "device": spec.device}
    res = peak_rss_of("scalar_chain", "probe", mode="rss", runs=runs, **kw)
    traced = peak_rss_of("scalar_chain", "probe", mode="tracemalloc", **kw) if spec.traced else None
    return {
        "seconds_gc_on": res["seconds"],
        "peak_rss": res["peak"],
        "peak_rss_reset": res["reset"],
        "peak_traced": traced and traced["peak"],
    }


def must_complete(ctx, all_specs, big):
    """The ``big``-op chain in a fresh process per contender: agrad and the hand-written one, the
    peers too with --big-peers. A crash there is a result, not an error."""
    rows = []
    for spec in all_specs:
        if spec.role not in ("baseline", "agrad") and not (
            ctx.args.big_peers and spec.role == "peer"
        ):
            continue
        try:
            res = peak_rss_of(
                "scalar_chain", "probe", name=spec.name, ops=big, mode="rss", device=spec.device
            )
            rows.append({"contender": spec.label, "completed": True, **res})
        except SystemExit as e:
            rows.append({"contender": spec.label, "completed": False, "error": str(e.code)[-500:]})
    print_table(
        f"{big:,} ops, one chain each in a fresh process (must complete)",
        rows,
        [
            ("contender", lambda r: r["contender"]),
            ("completed", lambda r: "yes" if r["completed"] else "NO"),
            ("time", lambda r: fmt_time(r.get("seconds"))),
            ("peak RSS growth", lambda r: mib(r.get("peak"))),
            ("gradient", lambda r: f"{r['grad']:.12g}" if r["completed"] else "n/a"),
        ],
    )
    if not ctx.args.big_peers:
        print("  (the peers at this size: --big-peers)")
    return rows


def run(ctx):
    ops = ctx.args.ops or (SMOKE_OPS if ctx.smoke else OPS)
    big = ctx.args.big_ops
    if big is None:
        big = SMOKE_BIG_OPS if ctx.smoke else BIG_OPS
    print(f"\n== {TITLE}" + (f" [{ops:,} ops]" if ops != OPS else ""))
    all_specs = specs(ctx)
    cands = []
    for spec in all_specs:
        chain = setup(spec.name, spec.device)
        cands.append(Contender(spec.label, lambda chain=chain: chain(ops), role=spec.role))
    worst = verify(
        "C", cands, reference=cands[0].name, rtol=1e-9, atol=1e-12, what="output and gradient"
    )
    repeats = ctx.repeats(5)
    times = measure(cands, repeats=repeats, number=1, warmup=1, sync=ctx.sync)
    rows = summarize(cands, times, baseline=cands[0].name, torch_ref=ctx.torch_name)
    for row, spec in zip(rows, all_specs):
        row.update(memory(spec, ops, runs=1 if ctx.smoke else 3))
    torch_row = next((r for r in rows if r["contender"] == ctx.torch_name), None)
    torch_peak = torch_row["peak_rss"] if torch_row else 0
    for r in rows:  # torch's growth can be 0 (below a page) on a smoke-sized chain
        r["rss_vs_torch"] = r["peak_rss"] / torch_peak if torch_peak > 0 else None

    cols = time_columns("per chain", with_torch=torch_row is not None) + [
        ("GC on", lambda r: fmt_time(r["seconds_gc_on"])),
        ("peak RSS growth", lambda r: mib(r["peak_rss"])),
        ("RSS vs torch", lambda r: fmt_ratio(r["rss_vs_torch"])),
        ("traced peak", lambda r: mib(r["peak_traced"])),
        ("RSS per op", lambda r: f"{r['peak_rss'] / ops:.0f} B"),
    ]
    print_table(
        f"{ops:,} ops, {repeats} rounds x 1 chain; memory: a fresh process each", rows, cols
    )
    reset = all(r["peak_rss_reset"] for r in rows)
    print(
        f"  (outputs and gradients agree with {cands[0].name} within {worst:.1e} relative; "
        "peak RSS growth: VmHWM after the chain minus VmRSS before it, "
        + ("the peak reset by /proc/self/clear_refs" if reset else "ru_maxrss: no peak reset")
        + "; traced peak: tracemalloc, in a second process; GC on: the median time of chains in "
        "the RSS process with the garbage collector on, as a user runs them; the timed rounds "
        "switch it off)"
    )
    big_rows = must_complete(ctx, all_specs, big) if big else []

    target = "agrad faster than torch and less peak memory"
    agrad = next(r for r in rows if r["role"] == "agrad")
    if torch_row is None or agrad["rss_vs_torch"] is None:
        first = {"target": target, "measured": "torch not measured", "met": None}
    else:
        gc_on = agrad["seconds_gc_on"] / torch_row["seconds_gc_on"]
        first = {
            "target": target,
            "measured": f"time {fmt_ratio(agrad['vs_torch'])} torch's ({fmt_ratio(gc_on)} with "
            f"GC on), peak RSS {fmt_ratio(agrad['rss_vs_torch'])} torch's",
            "met": max(agrad["vs_torch"], gc_on, agrad["rss_vs_torch"]) < 1.0,
        }
    agrad_big = next((r for r in big_rows if r["contender"] == ctx.agrad_name), None)
    second = {"target": f"{big:,} scalar ops complete (agrad)", "measured": "not run", "met": None}
    if agrad_big is not None:
        second["met"] = agrad_big["completed"]
        second["measured"] = (
            f"in {fmt_time(agrad_big['seconds'])}, peak RSS +{mib(agrad_big['peak'])}"
            if agrad_big["completed"]
            else "failed"
        )
    return {
        "title": TITLE,
        "ops": ops,
        "big_ops": big,
        "repeats": repeats,
        "unit": "seconds per chain",
        "rows": rows,
        "big_rows": big_rows,
        "raw_seconds_per_run": times,
        "max_rel_diff": worst,
        "targets": [first, second],
    }
