"""Scenario E: peak memory of one training step of scenario B's MLP, and the memory held after
``--steps`` (default 1,000) steps: no growth across steps.

The contenders are scenario B's (imported from mlp.py): the hand-written NumPy step, agrad as a
user writes it (modules, ``cross_entropy``, ``optim.SGD``) and with bare tensors, and the
NumPy-based peers. Everything a contender allocates is counted from before it is created: its
copy of the parameters, what it keeps between steps (agrad and torch keep ``.grad``; the
hand-written step frees its gradients), activations, saved values and temporaries. After one
untimed warm-up step, "step peak" is the most allocated at any moment of the next step, "held"
what is allocated after it and after ``--steps - 1`` more; their difference is the growth.

The counter is tracemalloc on the CPU: it sees NumPy's buffers and nothing outside Python's
allocator, so torch on the CPU is not measured here (scenario C compares torch by RSS). On CUDA:
CuPy's pool (a memory hook) and torch's CUDA allocator.
"""

from __future__ import annotations

import gc
import time

import mlp
from _harness import MemoryMeter, MiB, fmt_ratio, memory_kind, print_table

TITLE = "E. Memory of B's training step: step peak, and growth over 1,000 steps"
STEPS, SMOKE_STEPS = 1000, 5
GROWTH_TOLERANCE = 64 * 1024  # bytes over all steps: caches and interned objects, not a leak


def contenders(ctx, P0, x, y):
    """(name, role, make_step, counter kind): ``make_step()`` builds the contender's step."""
    bk, dev = ctx.agrad_backend, ctx.agrad_device
    kind = memory_kind(bk, dev)
    out = [
        (ctx.hand_name, "baseline", lambda: mlp.hand_setup(ctx.hand_xp, P0, x, y), kind),
        (f"{ctx.agrad_name} (nn)", "agrad", lambda: mlp.agrad_nn_setup(P0, x, y, bk, dev), kind),
    ]
    if ctx.extra:
        out.append(
            (
                f"{ctx.agrad_name} (tensors)",
                "extra",
                lambda: mlp.agrad_tensors_setup(P0, x, y, bk, dev),
                kind,
            )
        )
    if ctx.cuda:  # pragma: no cover - needs a CUDA device
        torch = ctx.peer("torch")
        if torch is not None:
            make = lambda: mlp.torch_setup(torch, P0, x, y, "cuda")  # noqa: E731
            out.append((ctx.torch_name, "peer", make, "torch-cuda"))
    else:
        ctx.note("E: torch on the CPU allocates outside tracemalloc's view: not measured here")
        if ctx.peer("mygrad", cpu_only=True) is not None:
            out.append(("mygrad", "peer", lambda: mlp.mygrad_setup(P0, x, y), "tracemalloc"))
        if ctx.peer("autograd", cpu_only=True) is not None:
            out.append(("autograd", "peer", lambda: mlp.autograd_setup(P0, x, y), "tracemalloc"))
    for label, backend, device in ctx.extra_backends():
        kind = memory_kind(backend, device)
        if kind is not None:
            make = lambda b=backend, d=device: mlp.agrad_nn_setup(P0, x, y, b, d)  # noqa: E731
            out.append((f"{label} (nn)", "extra", make, kind))
    return out


def measure_one(make_step, kind, steps, sync):
    """Everything counted from before the contender exists: its parameters, what it keeps
    between steps (``.grad``), activations and temporaries. A first instance built and stepped
    outside the meter keeps imports and process-wide caches out of the figures."""
    make_step()()
    with MemoryMeter(kind, sync) as m:
        step = make_step()
        step()  # warm-up: first-call caches, lazily created state
        gc.disable()  # one step with the collector off: what it leaves in reference cycles
        try:
            step()
        finally:
            cyclic = gc.collect()
            gc.enable()
        setup = m.now()
        m.reset_peak()
        step()
        peak1, held1 = m.peak(), m.now()
        m.reset_peak()
        t0 = time.perf_counter()
        for _ in range(steps - 1):
            step()
        seconds = time.perf_counter() - t0
        heldN, peakN = m.now(), m.peak()
    return {
        "after_setup": setup,
        "cyclic_objects_per_step": cyclic,
        "step_peak": peak1,
        "held_after_1": held1,
        "held_after_n": heldN,
        "growth": heldN - held1,
        "peak_later_steps": peakN if steps > 1 else None,
        "seconds_later_steps": seconds,
    }


def run(ctx):
    steps = ctx.args.steps or (SMOKE_STEPS if ctx.smoke else STEPS)
    sz, batch = mlp.sizes(ctx)
    print(f"\n== {TITLE}" + (f" [{steps} steps]" if steps != STEPS else ""))
    P0, x, y = mlp.make_problem(sz, batch)
    rows = []
    for name, role, make_step, kind in contenders(ctx, P0, x, y):
        res = measure_one(make_step, kind, steps, ctx.sync)
        rows.append({"contender": name, "role": role, "counter": kind, **res})
    base = rows[0]
    for r in rows:
        r["peak_ratio"] = r["step_peak"] / base["step_peak"]
        r["grows"] = r["growth"] > GROWTH_TOLERANCE

    def mib(v):
        return "n/a" if v is None else f"{v / MiB:.2f} MiB"

    print_table(
        f"{'-'.join(map(str, sz))}, batch {batch}, float32; {steps} steps each; everything "
        "the contender allocated, its parameters included",
        rows,
        [
            ("contender", lambda r: r["contender"]),
            ("step peak", lambda r: mib(r["step_peak"])),
            ("vs by hand", lambda r: fmt_ratio(r["peak_ratio"])),
            ("held after 1", lambda r: mib(r["held_after_1"])),
            (f"held after {steps}", lambda r: mib(r["held_after_n"])),
            ("growth", lambda r: f"{r['growth'] / 1024:+.1f} KiB"),
            ("in cycles", lambda r: str(r["cyclic_objects_per_step"])),
            ("counter", lambda r: r["counter"]),
        ],
    )
    params_mib = sum(p.nbytes for p in P0) / MiB
    print(
        f"  (the parameters are {params_mib:.2f} MiB; held: after a full garbage collection; "
        f"growth: held after {steps} steps minus after 1, 'no growth' allows "
        f"{GROWTH_TOLERANCE // 1024} KiB in all; in cycles: objects one step leaves in reference "
        "cycles, found by the collector)"
    )
    agrad = next(r for r in rows if r["role"] == "agrad")
    return {
        "title": TITLE,
        "steps": steps,
        "sizes": sz,
        "batch": batch,
        "unit": "bytes",
        "memory_rows": rows,
        "targets": [
            {
                "target": "agrad step peak <= 1.1x hand-written NumPy",
                "measured": f"{fmt_ratio(agrad['peak_ratio'])} ({mib(agrad['step_peak'])} vs "
                f"{mib(base['step_peak'])})",
                "met": agrad["peak_ratio"] <= 1.1,
            },
            {
                "target": f"agrad: no memory growth over {steps} steps",
                "measured": f"{agrad['growth'] / 1024:+.1f} KiB",
                "met": not agrad["grows"],
            },
        ],
    }
