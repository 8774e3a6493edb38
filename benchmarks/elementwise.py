"""Scenario A: 1,000 small elementwise ops on float64[16], forward + backward.

The chain, its data and its hand-written NumPy backprop, agrad and torch versions are
overhead.py's (imported, one copy of the code); this module adds HIPS autograd and MyGrad, the
GPU variants, and runs them all through the suite's harness. The figure is microseconds per op:
on 16 elements every contender's time is overhead, not arithmetic.
"""

from __future__ import annotations

import overhead
from _harness import Contender, fmt_ratio, measure, print_table, summarize, time_columns, verify

TITLE = "A. 1,000 small elementwise ops (float64[16]), forward + backward"


def autograd_setup(x0, c, m):
    """HIPS autograd: the chain as a function of x, differentiated by ``autograd.grad``."""
    import autograd
    import autograd.numpy as anp

    fns = (None, None, anp.sin, anp.exp, anp.tanh)

    def total(x, n_ops):
        y = x
        for k in range(n_ops):
            op = k % 5
            if op == 0:
                y = y + c
            elif op == 1:
                y = y * m
            else:
                y = fns[op](y)
        return anp.sum(y)

    g = autograd.grad(total)
    return lambda n_ops: g(x0, n_ops)


def mygrad_setup(x0, c, m):
    """MyGrad: a ``mygrad.Tensor`` input, the same chain, ``.backward()``."""
    import mygrad as mg

    x = mg.tensor(x0)
    fns = (None, None, mg.sin, mg.exp, mg.tanh)

    def run(n_ops):
        y = x
        for k in range(n_ops):
            op = k % 5
            if op == 0:
                y = y + c
            elif op == 1:
                y = y * m
            else:
                y = fns[op](y)
        mg.sum(y).backward()
        return x.grad

    return run


def contenders(ctx, n_ops, size):
    data = overhead.make_data(size)  # x0, c, m: NumPy float64
    # the hand-written chain and agrad on the main backend: NumPy arrays, or CuPy on a GPU
    # (NumPy's functions dispatch to CuPy for CuPy arrays, so numpy_by_hand runs unchanged)
    main = tuple(ctx.hand_xp.asarray(a) for a in data) if ctx.cuda else data

    def bind(run):
        return lambda: run(n_ops)

    cands = [
        Contender(ctx.hand_name, bind(lambda n: overhead.numpy_by_hand(*main, n)), role="baseline"),
        Contender(
            ctx.agrad_name, bind(overhead.agrad_setup(ctx.agrad_backend, *main)[0]), role="agrad"
        ),
    ]
    torch = ctx.peer("torch")
    if torch is not None:
        with torch.device(ctx.torch_device):  # overhead.torch_setup's tensors on this device
            run = overhead.torch_setup(*data)[0]
        cands.append(Contender(ctx.torch_name, bind(run)))
    if ctx.peer("autograd", cpu_only=True) is not None:
        cands.append(Contender("autograd", bind(autograd_setup(*data))))
    if ctx.peer("mygrad", cpu_only=True) is not None:
        cands.append(Contender("mygrad", bind(mygrad_setup(*data))))
    for label, backend, device in ctx.extra_backends():
        raw = data
        if device == "cuda":  # pragma: no cover - needs a CUDA device
            raw = tuple(ctx.module("torch").as_tensor(a, device="cuda") for a in data)
        cands.append(Contender(label, bind(overhead.agrad_setup(backend, *raw)[0]), role="extra"))
    return cands


def run(ctx):
    n_ops, size = (20, 16) if ctx.smoke else (1000, 16)
    print(f"\n== {TITLE}" + (f" [smoke: {n_ops} ops]" if ctx.smoke else ""))
    cands = contenders(ctx, n_ops, size)
    worst = verify("A", cands, reference=cands[0].name, rtol=1e-9, atol=0.0)
    repeats, number = ctx.repeats(9), 1 if ctx.smoke else 3
    times = measure(
        cands, repeats=repeats, number=number, warmup=1 if ctx.smoke else 2, sync=ctx.sync
    )
    rows = summarize(cands, times, baseline=cands[0].name, torch_ref=ctx.torch_name, per=n_ops)
    print_table(
        f"{n_ops} ops x float64[{size}], {repeats} rounds x {number} runs "
        f"(times per op, forward + backward)",
        rows,
        time_columns("per op", with_torch=ctx.torch_name in times),
    )
    print(f"  (gradients agree with {cands[0].name} within {worst:.1e} relative)")
    agrad = next(r for r in rows if r["role"] == "agrad")
    return {
        "title": TITLE,
        "ops": n_ops,
        "size": size,
        "repeats": repeats,
        "number": number,
        "unit": "seconds per op",
        "rows": rows,
        "raw_seconds_per_run": times,
        "max_rel_diff": worst,
        "targets": [
            {
                "target": "agrad <= 3x hand-written NumPy",
                "measured": fmt_ratio(agrad["ratio"]),
                "met": agrad["ratio"] <= 3.0,
            }
        ],
    }
