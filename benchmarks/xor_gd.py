"""Scenario D: the XOR 2-2-1 sigmoid network of examples/xor.py, 2,000 full-batch
gradient-descent steps (float64, 4 examples, learning rate 5).

agrad runs examples/xor.py's own ``forward`` and ``cost`` (imported) and its update loop
(``C.backward()``; ``theta -= lr * theta.grad`` under ``no_grad``; ``theta.grad = None``). The
1.0x computes the same forward and cost in NumPy and the textbook backprop for this network
(δ3 = (L3 - y) / m, ∇θ2 = L2ᵀ δ3, δ2 = (δ3 θ2ᵀ) L2 (1 - L2) without the bias column,
∇θ1 = L1ᵀ δ2). Every contender starts from the same weights and takes every step (no early
stop); the final weights are checked to agree. On 4x3 arrays every contender's time is
overhead: this is scenario A's question asked of a small real model. A reference row runs the
same network on ``minimal_tape.py``, a Wengert-list tape with no checks at all: about the floor
of recording and replaying a graph in Python on this machine; another on ``checked_tape.py``,
agrad's architecture (nodes apart from values, a graph per root walked by creation number, the
checks) without its features.

A second pair of rows runs the same network as a PyTorch user would write it, with the library's
own ``sigmoid`` and ``binary_cross_entropy`` (one op each, where the example spells the sigmoid
out in four and the cost in seven so that a student sees every step): agrad with
``ag.nn.functional`` and torch with ``torch.sigmoid`` and ``torch.nn.functional``. The target's
row is the example's; these rows say what the same training costs with fused ops.
"""

from __future__ import annotations

import sys

import numpy as np
from _harness import (
    ROOT,
    Contender,
    fmt_ratio,
    measure,
    print_table,
    summarize,
    time_columns,
    verify,
)

if str(ROOT / "examples") not in sys.path:
    sys.path.insert(0, str(ROOT / "examples"))
import xor  # noqa: E402  (examples/xor.py)

TITLE = "D. XOR 2-2-1 network (examples/xor.py), 2,000 full-batch gradient-descent steps"
STEPS, SMOKE_STEPS, LR = 2000, 20, 5.0
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def init(seed=0):
    r = np.random.default_rng(seed)
    return r.normal(0.0, 1.0, (3, 2)), r.normal(0.0, 1.0, (3, 1))


def hand_setup(xp, theta0, steps, lr=LR):
    """NumPy (or CuPy) forward, cost and textbook backprop; returns [cost, θ1, θ2] at the end."""
    Xd, y = xp.asarray(X), xp.asarray(Y)
    m = Xd.shape[0]

    def with_bias(A):
        return xp.concatenate([A, xp.ones((A.shape[0], 1))], axis=1)

    def sigmoid(z):
        return 1 / (1 + xp.exp(-z))

    def run():
        t1, t2 = (xp.asarray(t).copy() for t in theta0)
        for _ in range(steps):
            L1 = with_bias(Xd)
            L2 = with_bias(sigmoid(L1 @ t1))
            L3 = sigmoid(L2 @ t2)
            C = xp.mean(-y * xp.log(L3) - (1 - y) * xp.log(1 - L3))
            d3 = (L3 - y) / m
            g2 = L2.T @ d3
            d2 = ((d3 @ t2.T) * L2 * (1 - L2))[:, :-1]
            g1 = L1.T @ d2
            t1 -= lr * g1
            t2 -= lr * g2
        return [C, t1, t2]

    return run


def descend(cost, t1, t2, no_grad, steps, lr):
    """examples/xor.py's update loop, for any library written like PyTorch (agrad, torch):
    ``backward()``, ``t -= lr * t.grad`` under ``no_grad``, ``t.grad = None``."""
    for _ in range(steps):
        C = cost(t1, t2)
        C.backward()
        with no_grad():
            t1 -= lr * t1.grad
            t2 -= lr * t2.grad
        t1.grad = None
        t2.grad = None
    return [C, t1, t2]


def agrad_setup(backend, device, theta0, steps, lr=LR, fused=False):
    """examples/xor.py's forward, cost and update loop; ``fused``: the same network with
    ``F.sigmoid`` and ``F.binary_cross_entropy``."""
    import agrad as ag
    import agrad.nn.functional as F

    Xa = ag.asarray(X, dtype=ag.float64, backend=backend, device=device)
    ya = ag.asarray(Y, dtype=ag.float64, backend=backend, device=device)

    def cost(t1, t2):
        if fused:
            L2 = xor.with_bias(F.sigmoid(xor.with_bias(Xa) @ t1))
            return F.binary_cross_entropy(F.sigmoid(L2 @ t2), ya)
        _, L3 = xor.forward(Xa, t1, t2)
        return xor.cost(L3, ya)

    def run():
        t1, t2 = (
            ag.asarray(t, dtype=ag.float64, backend=backend, device=device, requires_grad=True)
            for t in theta0
        )
        return descend(cost, t1, t2, ag.no_grad, steps, lr)

    return run


def torch_setup(torch, device, theta0, steps, lr=LR, fused=False):
    """The same network and loop in PyTorch eager; ``fused``: with ``torch.sigmoid`` and
    ``torch.nn.functional.binary_cross_entropy``."""
    TF = torch.nn.functional
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(Y, device=device)

    def with_bias(A):  # (a new column of ones each time, as every other contender makes)
        return torch.cat([A, torch.ones((A.shape[0], 1), dtype=A.dtype, device=A.device)], dim=1)

    def sigmoid(z):
        return 1 / (1 + torch.exp(-z))

    def cost(t1, t2):
        if fused:
            L2 = with_bias(torch.sigmoid(with_bias(Xt) @ t1))
            return TF.binary_cross_entropy(torch.sigmoid(L2 @ t2), yt)
        L2 = with_bias(sigmoid(with_bias(Xt) @ t1))
        L3 = sigmoid(L2 @ t2)
        return torch.mean(-yt * torch.log(L3) - (1 - yt) * torch.log(1 - L3))

    def run():
        t1, t2 = (torch.tensor(t, device=device, requires_grad=True) for t in theta0)
        return descend(cost, t1, t2, torch.no_grad, steps, lr)

    return run


def tape_setup(tape, theta0, steps, lr=LR):
    """The example's forward, cost and update on one of the yardstick tapes (``minimal_tape``,
    ``checked_tape``): each has ``V``, the network's ops, ``backward`` and ``take_grad``."""
    Xv, y = tape.V(X), tape.V(Y)

    def run():
        t1, t2 = (tape.V(np.array(t, dtype=np.float64), rg=True) for t in theta0)
        for _ in range(steps):
            L3 = tape.sigmoid(tape.with_bias(tape.sigmoid(tape.with_bias(Xv) @ t1)) @ t2)
            C = tape.mean(-y * tape.log(L3) - (1 - y) * tape.log(1 - L3))
            tape.backward(C)
            t1.v -= lr * tape.take_grad(t1)
            t2.v -= lr * tape.take_grad(t2)
        return [C.v, t1.v, t2.v]

    return run


def autograd_setup(theta0, steps, lr=LR):
    """HIPS autograd: ``value_and_grad`` of the cost as a function of [θ1, θ2]."""
    import autograd
    import autograd.numpy as anp

    def with_bias(A):
        return anp.concatenate([A, anp.ones((A.shape[0], 1))], axis=1)

    def sigmoid(z):
        return 1 / (1 + anp.exp(-z))

    def cost(thetas):
        t1, t2 = thetas
        L3 = sigmoid(with_bias(sigmoid(with_bias(X) @ t1)) @ t2)
        return anp.mean(-Y * anp.log(L3) - (1 - Y) * anp.log(1 - L3))

    vg = autograd.value_and_grad(cost)

    def run():
        thetas = [t.copy() for t in theta0]
        for _ in range(steps):
            C, grads = vg(thetas)
            thetas = [t - lr * g for t, g in zip(thetas, grads)]
        return [C, *thetas]

    return run


def contenders(ctx, steps):
    theta0 = init()
    cands = [
        Contender(ctx.hand_name, hand_setup(ctx.hand_xp, theta0, steps), role="baseline"),
        Contender(
            ctx.agrad_name,
            agrad_setup(ctx.agrad_backend, ctx.agrad_device, theta0, steps),
            role="agrad",
        ),
    ]
    torch = ctx.peer("torch")
    if torch is not None:
        cands.append(Contender(ctx.torch_name, torch_setup(torch, ctx.torch_device, theta0, steps)))
    if ctx.peer("autograd", cpu_only=True) is not None:
        cands.append(Contender("autograd", autograd_setup(theta0, steps)))
    # the yardsticks (see the docstring): the floor of a Python tape, and agrad's architecture
    for peer, label in (
        ("minimal_tape", "minimal tape (no checks)"),
        ("checked_tape", "checked tape (agrad's architecture)"),
    ):
        tape = ctx.peer(peer, cpu_only=True)
        if tape is not None:
            cands.append(Contender(label, tape_setup(tape, theta0, steps), role="reference"))
    for label, backend, device in ctx.extra_backends():
        cands.append(Contender(label, agrad_setup(backend, device, theta0, steps), role="extra"))
    # the network with each library's own sigmoid and binary cross-entropy (see the docstring)
    fused = agrad_setup(ctx.agrad_backend, ctx.agrad_device, theta0, steps, fused=True)
    cands.append(Contender(f"{ctx.agrad_name}, fused ops", fused, role="extra"))
    if torch is not None:
        fused = torch_setup(torch, ctx.torch_device, theta0, steps, fused=True)
        cands.append(Contender(f"{ctx.torch_name}, fused ops", fused))
    return cands


def run(ctx):
    steps = SMOKE_STEPS if ctx.smoke else STEPS
    print(f"\n== {TITLE}" + (f" [smoke: {steps} steps]" if ctx.smoke else ""))
    cands = contenders(ctx, steps)
    worst = verify(
        "D", cands, reference=cands[0].name, rtol=1e-8, atol=1e-10, what="final cost and weights"
    )
    repeats = ctx.repeats(7)
    times = measure(cands, repeats=repeats, number=1, warmup=1, sync=ctx.sync)
    rows = summarize(cands, times, baseline=cands[0].name, torch_ref=ctx.torch_name, per=steps)
    print_table(
        f"{steps} steps per run, {repeats} rounds x 1 run (times per step)",
        rows,
        time_columns("per step", with_torch=ctx.torch_name in times),
    )
    print(f"  (final cost and weights agree with {cands[0].name} within {worst:.1e} relative)")
    agrad = next(r for r in rows if r["role"] == "agrad")
    return {
        "title": TITLE,
        "steps": steps,
        "repeats": repeats,
        "unit": "seconds per step",
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
