"""Per-op overhead of agrad's tape against hand-written NumPy backprop and PyTorch.

A chain of ``--ops`` small elementwise ops (cycling add, mul, sin, exp, tanh) on a float64
vector of ``--size`` elements, forward then backward, timed for every contender side by side in
one run. The figure is microseconds per op (forward + backward) and its ratio to hand-written
NumPy, the honest lower bound: on 16 elements every contender's time is overhead, not
arithmetic. See benchmarks/README.md.

    python benchmarks/overhead.py                    # 1000 ops, 7 repeats
    python benchmarks/overhead.py --smoke            # a few ops, one repeat (CI)
    python benchmarks/overhead.py --json out.json    # also write the results
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

OPS = ("add", "mul", "sin", "exp", "tanh")

# The chain x -> tanh(exp(sin((x + c) * m))) repeated. With c near -0.76 and m near 2 it has a
# stable fixed point where one cycle's derivative is about 0.84: the values stay in [-4, 2] and
# the gradient shrinks only to ~1e-16 over 1000 ops (no overflow, no slow subnormal numbers).
C_CENTRE, M_CENTRE = -0.76, 2.0


def make_data(size, seed=0):
    """The input and the two constant operands (NumPy float64), the same for everyone."""
    r = np.random.default_rng(seed)
    x0 = r.uniform(-1.0, 1.0, size)
    c = C_CENTRE + r.uniform(-0.02, 0.02, size)
    m = M_CENTRE + r.uniform(-0.05, 0.05, size)
    return x0, c, m


# ---- (b) hand-written NumPy: store what each op needs, then walk back by hand ---------------
def numpy_by_hand(x0, c, m, n_ops):
    """Forward and backward of the chain with plain NumPy; returns d sum(out) / d x0."""
    saved = []
    x = x0
    for k in range(n_ops):
        op = k % 5
        if op == 0:
            x = x + c
            saved.append(None)  # d(x + c)/dx = 1
        elif op == 1:
            x = x * m
            saved.append(None)  # d(x m)/dx = m (a constant)
        elif op == 2:
            saved.append(x)  # d sin x = cos x: keep the input
            x = np.sin(x)
        elif op == 3:
            x = np.exp(x)
            saved.append(x)  # d exp x = exp x: keep the output
        else:
            x = np.tanh(x)
            saved.append(x)  # d tanh x = 1 - tanh² x: keep the output
    np.sum(x)
    g = np.ones_like(x)
    for k in range(n_ops - 1, -1, -1):
        op = k % 5
        s = saved[k]
        if op == 1:
            g = g * m
        elif op == 2:
            g = g * np.cos(s)
        elif op == 3:
            g = g * s
        elif op == 4:
            g = g * (1.0 - s * s)
    return g


# ---- (a, d) agrad on any backend -------------------------------------------------------------
def agrad_setup(backend, x0, c, m):
    import agrad as ag

    x = ag.asarray(x0, backend=backend, requires_grad=True)
    ct = ag.asarray(c, backend=backend)
    mt = ag.asarray(m, backend=backend)
    fns = (None, None, ag.sin, ag.exp, ag.tanh)

    def run(n_ops):
        x.grad = None
        y = x
        for k in range(n_ops):
            op = k % 5
            if op == 0:
                y = y + ct
            elif op == 1:
                y = y * mt
            else:
                y = fns[op](y)
        ag.sum(y).backward()
        return x.grad

    return run, lambda g: g.numpy()


# ---- (c) PyTorch eager on the CPU --------------------------------------------------------------
def torch_setup(x0, c, m):
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    ct = torch.tensor(c, dtype=torch.float64)
    mt = torch.tensor(m, dtype=torch.float64)
    fns = (None, None, torch.sin, torch.exp, torch.tanh)

    def run(n_ops):
        x.grad = None
        y = x
        for k in range(n_ops):
            op = k % 5
            if op == 0:
                y = y + ct
            elif op == 1:
                y = y * mt
            else:
                y = fns[op](y)
        y.sum().backward()
        return x.grad

    return run, lambda g: g.numpy()


def contenders(x0, c, m, with_extra):
    """(name, run(n_ops) -> gradient, to_numpy) for every contender available here."""
    out = [
        ("numpy by hand", lambda n: numpy_by_hand(x0, c, m, n), lambda g: g),
        ("agrad / numpy", *agrad_setup("numpy", x0, c, m)),
    ]
    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        out.append(("torch (eager, CPU)", *torch_setup(x0, c, m)))
    if with_extra:
        if importlib.util.find_spec("array_api_strict") is not None:
            out.append(("agrad / array_api_strict", *agrad_setup("array_api_strict", x0, c, m)))
        if has_torch:
            out.append(("agrad / torch (CPU)", *agrad_setup("torch", x0, c, m)))
    return out


def check_gradients(cands, n_ops):
    """Every contender must compute the same (finite, non-vanishing) gradient."""
    ref = cands[0][1](n_ops)
    if not (np.all(np.isfinite(ref)) and np.min(np.abs(ref)) > 1e-250):
        raise SystemExit(f"overhead.py: the reference gradient degenerated: {ref}")
    for name, run, to_np in cands[1:]:
        g = to_np(run(n_ops))
        if not np.allclose(g, ref, rtol=1e-9, atol=0.0):
            err = np.max(np.abs(g - ref) / np.abs(ref))
            raise SystemExit(f"overhead.py: {name} disagrees with hand-written NumPy (rel {err})")
    return float(np.max(np.abs(ref)))


def time_runs(run, n_ops, number):
    """Seconds per run (forward + backward), averaged over ``number`` back-to-back runs."""
    gc.collect()
    gc_was_on = gc.isenabled()
    gc.disable()  # as timeit does: a collection inside one contender's window is noise
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            run(n_ops)
        return (time.perf_counter() - t0) / number
    finally:
        if gc_was_on:
            gc.enable()


def environment():
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if importlib.util.find_spec("array_api_strict") is not None:
        import array_api_strict

        info["array_api_strict"] = array_api_strict.__version__
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=1000, help="ops in the chain (default 1000)")
    p.add_argument("--size", type=int, default=16, help="elements of the vector (default 16)")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is shown")
    p.add_argument("--number", type=int, default=3, help="runs averaged within one round")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per contender first")
    p.add_argument("--no-extra", action="store_true", help="skip agrad on strict/torch")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (for CI)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    if args.smoke:
        args.ops, args.repeats, args.number, args.warmup = min(args.ops, 20), 1, 1, 1
    if args.ops < 1:
        p.error("--ops must be at least 1")

    x0, c, m = make_data(args.size)
    cands = contenders(x0, c, m, with_extra=not args.no_extra)
    env = environment()
    print(
        f"agrad overhead: chain of {args.ops} elementwise ops ({', '.join(OPS)}) on "
        f"float64[{args.size}], forward + backward"
    )
    print(
        f"Python {env['python']}, NumPy {env['numpy']}"
        + (f", torch {env['torch']} ({env['torch_threads']} threads)" if "torch" in env else "")
        + f"; {env['machine']}, {env['cpus']} CPUs"
    )
    print(f"{args.repeats} rounds x {args.number} runs, contenders interleaved; median round shown")

    for _, run, _ in cands:  # warm-up: imports, caches, allocator
        for _ in range(args.warmup):
            run(args.ops)
    gmax = check_gradients(cands, args.ops)

    times = {name: [] for name, _, _ in cands}
    for r in range(args.repeats):
        order = cands[r % len(cands) :] + cands[: r % len(cands)]  # rotate who goes first
        for name, run, _ in order:
            times[name].append(time_runs(run, args.ops, args.number))

    base = statistics.median(times[cands[0][0]])
    rows = []
    for name, _, _ in cands:
        med = statistics.median(times[name])
        rows.append(
            {
                "contender": name,
                "us_per_op": med / args.ops * 1e6,
                "us_per_op_min": min(times[name]) / args.ops * 1e6,
                "ms_per_run": med * 1e3,
                "ratio": med / base,
            }
        )

    width = max(len(r["contender"]) for r in rows)
    print()
    print(f"{'contender':<{width}}  {'µs/op':>8}  {'(min)':>8}  {'ms/run':>8}  {'vs by hand':>10}")
    for r in rows:
        print(
            f"{r['contender']:<{width}}  {r['us_per_op']:8.2f}  {r['us_per_op_min']:8.2f}  "
            f"{r['ms_per_run']:8.2f}  {r['ratio']:9.1f}x"
        )
    print(f"\n(all gradients agree with hand-written NumPy; max |dx| = {gmax:.3g})")

    if args.json:
        result = {
            "benchmark": "overhead",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "args": vars(args),
            "environment": env,
            "results": rows,
            "raw_seconds_per_run": times,
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
