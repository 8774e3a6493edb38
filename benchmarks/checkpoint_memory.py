"""Peak memory of one training step of a deep MLP, with and without gradient checkpointing.

A stack of ``--layers`` blocks ``h -> relu(h @ W + b)`` (width ``--width``, batch ``--batch``,
float32), loss ``mean(h^2)``, one forward + backward + SGD step. Each row checkpoints
segments of ``k`` consecutive blocks with :func:`agrad.checkpoint` (``k = 0``: no
checkpointing), the parameters being closed over by each segment's function. The figure is the
peak memory allocated during forward + backward above what was allocated before it (the
parameters and the batch): on NumPy (and array-api-strict, which wraps NumPy) it is traced with
``tracemalloc``, which sees NumPy's allocations; on torch with ``--device cuda`` the CUDA
allocator's own counters. The parameters' gradients (``--layers`` x width^2 floats) are part of
every row's peak, so the table also shows the peak without them: the activations and
temporaries, which is what checkpointing reduces. Gradients are checked to agree between rows
before anything is reported. See benchmarks/README.md.

    python benchmarks/checkpoint_memory.py                   # 32 x 1024, batch 256
    python benchmarks/checkpoint_memory.py --every 0,1,2,4,8  # segment sizes to compare
    python benchmarks/checkpoint_memory.py --smoke           # tiny, about a second (CI)
    python benchmarks/checkpoint_memory.py --json out.json   # also write the results
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

MiB = 2.0**20


def build(args):
    """Parameters (float32, He-initialised so activations neither vanish nor explode) and the
    batch, on the chosen backend and device."""
    import agrad as ag

    r = np.random.default_rng(0)
    kw = {"backend": args.backend, "device": args.device, "dtype": ag.float32}
    params = []
    for _ in range(args.layers):
        w = r.normal(0.0, math.sqrt(2.0 / args.width), (args.width, args.width))
        params.append(ag.asarray(w, requires_grad=True, **kw))
        params.append(ag.asarray(np.zeros(args.width), requires_grad=True, **kw))
    x = ag.asarray(r.normal(size=(args.batch, args.width)), **kw)
    return params, x


def make_step(params, x, every):
    """One forward + backward; ``every`` blocks per checkpointed segment (0: none)."""
    import agrad as ag
    from agrad import checkpoint
    from agrad.nn.functional import relu

    n = len(params) // 2

    def segment(lo, hi):
        def run(h):  # closes over the parameters of blocks lo..hi-1
            for k in range(lo, hi):
                h = relu(h @ params[2 * k] + params[2 * k + 1])
            return h

        return run

    segments = [segment(lo, min(lo + (every or n), n)) for lo in range(0, n, every or n)]

    def step(meter=None):
        h = x
        for seg in segments:
            h = checkpoint(seg, h) if every else seg(h)
        loss = ag.mean(h * h)
        if meter is not None:
            meter.mark()  # what the graph holds between forward and backward
        loss.backward()
        return float(loss)

    return step


class Meter:
    """Peak bytes allocated during a region above its start, and the bytes allocated at a
    mark (the end of the forward)."""

    def __init__(self, backend, device):
        self.cuda = backend == "torch" and device is not None and "cuda" in str(device)
        self.traced = backend in ("numpy", "array_api_strict")

    @property
    def available(self):
        return self.cuda or self.traced

    def __enter__(self):
        gc.collect()
        if self.cuda:  # pragma: no cover - needs a CUDA device
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        elif self.traced:
            tracemalloc.start()
            self.base = tracemalloc.get_traced_memory()[0]
        return self

    def mark(self):
        if self.cuda:  # pragma: no cover - needs a CUDA device
            import torch

            torch.cuda.synchronize()
            self.held = torch.cuda.memory_allocated() - self.base
        elif self.traced:
            self.held = tracemalloc.get_traced_memory()[0] - self.base
        else:
            self.held = None

    def __exit__(self, *exc):
        if self.cuda:  # pragma: no cover - needs a CUDA device
            import torch

            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.base
        elif self.traced:
            self.peak = tracemalloc.get_traced_memory()[1] - self.base
            tracemalloc.stop()
        else:
            self.peak = None
        return False


def run_mode(args, every):
    params, x = build(args)
    step = make_step(params, x, every)
    step()  # warm-up (imports, caches); also the gradients compared between rows
    grads = [p.grad.numpy().copy() for p in params]
    times = []
    for _ in range(args.repeats):
        for p in params:
            p.grad = None
        gc.collect()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    for p in params:
        p.grad = None
    meter = Meter(args.backend, args.device)
    with meter:
        loss = step(meter)
    import agrad as ag

    opt = ag.optim.SGD(params, lr=0.01)  # the rest of the training step (not measured)
    opt.step()
    opt.zero_grad()
    row = {"every": every, "loss": loss, "held": meter.held, "peak": meter.peak}
    row["seconds"] = min(times)
    return row, grads


def environment(args):
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    if args.backend == "torch":
        import torch

        info["torch"] = torch.__version__
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=32, help="blocks in the MLP (default 32)")
    p.add_argument("--width", type=int, default=1024, help="features per layer (default 1024)")
    p.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    p.add_argument(
        "--every",
        default="0,1,4,8",
        help="comma-separated blocks per checkpointed segment; 0 = no checkpointing "
        "(default 0,1,4,8)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed steps per row (min shown)")
    p.add_argument(
        "--backend",
        default="numpy",
        choices=("numpy", "array_api_strict", "torch"),
        help="array library (default numpy); memory is measured on numpy, array_api_strict and "
        "torch with --device cuda",
    )
    p.add_argument("--device", default=None, help="e.g. cuda with --backend torch")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (for CI)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    if args.smoke:
        args.layers, args.width, args.batch, args.repeats = 4, 64, 64, 1
    try:
        everies = [int(e) for e in args.every.split(",") if e.strip()]
    except ValueError:
        p.error(f"--every must be comma-separated integers, got {args.every!r}")
    if not everies or any(e < 0 for e in everies):
        p.error("--every needs at least one segment size >= 0")
    if args.layers < 1 or args.width < 1 or args.batch < 1 or args.repeats < 1:
        p.error("--layers, --width, --batch and --repeats must be at least 1")
    if 0 not in everies:
        everies.insert(0, 0)  # the baseline every row is compared with

    grads_bytes = args.layers * (args.width * args.width + args.width) * 4
    print(
        f"agrad checkpoint memory: MLP of {args.layers} x relu(h @ W + b), width {args.width}, "
        f"batch {args.batch}, float32, on {args.backend}"
        + (f" ({args.device})" if args.device else "")
        + "; one forward + backward"
    )
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}; parameter gradients "
        f"{grads_bytes / MiB:.1f} MiB (part of every row's peak)"
    )
    rows, ref = [], None
    for every in everies:
        row, grads = run_mode(args, every)
        if ref is None:
            ref = grads
        else:
            for k, (g, want) in enumerate(zip(grads, ref)):
                if not np.allclose(g, want, rtol=1e-5, atol=1e-7):
                    err = float(np.max(np.abs(g - want)))
                    raise SystemExit(
                        f"checkpoint_memory.py: with segments of {every} the gradient of "
                        f"parameter {k} differs from the plain one (max |diff| {err:.3g})"
                    )
        rows.append(row)

    base = rows[0]
    print()
    print(
        f"{'checkpointing':<18} {'after fwd MiB':>13} {'ratio':>6} {'peak MiB':>9} {'ratio':>6} "
        f"{'step s':>7} {'ratio':>6}"
    )
    for r in rows:
        name = "none" if r["every"] == 0 else f"every {r['every']} block(s)"
        if r["peak"] is None:
            r.update(held_mib=None, held_ratio=None, peak_mib=None, peak_ratio=None)
            mem = f"{'n/a':>13} {'':>6} {'n/a':>9} {'':>6}"
        else:
            r["held_mib"] = r["held"] / MiB
            r["held_ratio"] = r["held"] / base["held"]
            r["peak_mib"] = r["peak"] / MiB
            r["peak_ratio"] = r["peak"] / base["peak"]
            mem = (
                f"{r['held_mib']:13.2f} {r['held_ratio']:5.2f}x {r['peak_mib']:9.2f} "
                f"{r['peak_ratio']:5.2f}x"
            )
        r["time_ratio"] = r["seconds"] / base["seconds"]
        print(f"{name:<18} {mem} {r['seconds']:7.3f} {r['time_ratio']:5.2f}x")
    if base["peak"] is None:
        print(
            "\n(memory: no counter for this backend/device; use numpy or torch with --device cuda)"
        )
    else:
        print(
            "\n(after fwd: allocated at the end of the forward, i.e. what the graph keeps for the "
            "backward; peak: the most allocated at any time during forward + backward, parameter "
            "gradients included; both above the step's start; ratio: to the row without "
            "checkpointing)"
        )
    print("(all gradients agree with the run without checkpointing)")

    if args.json:
        result = {
            "benchmark": "checkpoint_memory",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "args": vars(args),
            "environment": environment(args),
            "param_grad_bytes": grads_bytes,
            "results": rows,
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
