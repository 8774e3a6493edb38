"""Scenario F: second order. The Hessian-vector product of scenario B's loss with respect to all
the parameters, at B's sizes (784-1024-1024-10, float32, batch 256).

agrad: ``ag.hvp(loss, (params,), (v,))`` (reverse over reverse). The peers: ``torch.func``'s
recipe, forward over reverse (``jvp`` of ``grad``), and ``torch.autograd.functional.hvp``
(double backward); HIPS autograd, the gradient of ``<grad(loss), v>``. The issue's target is a
ratio to torch, the faster of its two ways. The 1.0x is a hand-written NumPy Hessian-vector
product, Pearlmutter's R-operator pushed through the forward and the backprop of mlp.py by hand
(19 matmuls, against the forward's 3 and a training step's 8); every contender is checked
against it.
"""

from __future__ import annotations

import mlp
from _harness import Contender, fmt_ratio, measure, print_table, summarize, time_columns, verify

TITLE = "F. Hessian-vector product of B's loss w.r.t. all parameters (float32, batch 256)"


def make_tangents(P0, seed=1):
    """A direction ``v`` with the parameters' shapes (N(0, 1), float32)."""
    import numpy as np

    r = np.random.default_rng(seed)
    return [r.standard_normal(p.shape).astype(p.dtype) for p in P0]


def hand_hvp(xp, P, V, x, y):
    """``(loss, H v)`` of mlp.hand_loss_and_grads's loss, by hand: R{·} is the directional
    derivative along ``V`` (R{W} = V); it goes forward with the activations and backward with
    the cotangents. ReLU's mask has derivative 0 almost everywhere."""
    n_layers, batch = len(P) // 2, x.shape[0]
    hs, Rhs, h, Rh = [x], [None], x, None
    for k in range(n_layers):
        W, b = P[2 * k], P[2 * k + 1]
        z = h @ W.T + b
        Rz = h @ V[2 * k].T + V[2 * k + 1]
        if Rh is not None:
            Rz += Rh @ W.T
        if k < n_layers - 1:
            mask = z > 0
            h, Rh = z * mask, Rz * mask
            hs.append(h)
            Rhs.append(Rh)
    rows = xp.arange(batch)
    zmax = z.max(axis=1, keepdims=True)
    e = xp.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    loss = xp.mean(xp.log(s[:, 0]) + zmax[:, 0] - z[rows, y])
    p = e / s
    d = p.copy()  # d loss / d logits = (softmax - onehot) / batch
    d[rows, y] -= 1
    d /= batch
    Rd = p * (Rz - (p * Rz).sum(axis=1, keepdims=True)) / batch  # R{softmax} / batch
    hv = [None] * len(P)
    for k in range(n_layers - 1, -1, -1):
        h, Rh = hs[k], Rhs[k]
        hv[2 * k] = Rd.T @ h if Rh is None else Rd.T @ h + d.T @ Rh  # R{dᵀ h}
        hv[2 * k + 1] = Rd.sum(axis=0)
        if k > 0:
            W = P[2 * k]
            mask = h > 0
            Rd = (Rd @ W + d @ V[2 * k]) * mask  # R{(d W) ⊙ mask}
            d = (d @ W) * mask
    return loss, hv


def hand_setup(xp, P0, V0, x, y):
    P, V = [xp.asarray(p) for p in P0], [xp.asarray(v) for v in V0]
    x, y = xp.asarray(x), xp.asarray(y)

    def run():
        loss, hv = hand_hvp(xp, P, V, x, y)
        return [loss, *hv]

    return run


def agrad_setup(P0, V0, x, y, backend, device):
    import agrad as ag

    P = tuple(ag.asarray(p, backend=backend, device=device) for p in P0)
    V = tuple(ag.asarray(v, backend=backend, device=device) for v in V0)
    xa, ya = mlp.agrad_data(x, y, backend, device)

    def loss(params):
        return mlp.agrad_mlp_loss(params, xa, ya)

    def run():
        out, (hv,) = ag.hvp(loss, (P,), (V,))
        return [out, *hv]

    return run


def _torch_loss(torch, P, x, y):
    F = torch.nn.functional
    h, n_layers = x, len(P) // 2
    for k in range(n_layers):
        h = F.linear(h, P[2 * k], P[2 * k + 1])
        if k < n_layers - 1:
            h = F.relu(h)
    return F.cross_entropy(h, y)


def _torch_data(torch, P0, V0, x, y, device):
    P = tuple(torch.as_tensor(p, device=device) for p in P0)
    V = tuple(torch.as_tensor(v, device=device) for v in V0)
    return P, V, torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)


def torch_func_setup(torch, P0, V0, x, y, device):
    """``torch.func.jvp(torch.func.grad(loss), (P,), (V,))``: forward over reverse."""
    from torch.func import grad, jvp

    P, V, xt, yt = _torch_data(torch, P0, V0, x, y, device)

    def loss_and_value(params):
        loss = _torch_loss(torch, params, xt, yt)
        return loss, loss.detach()

    g = grad(loss_and_value, has_aux=True)

    def run():
        _, hv, out = jvp(g, (P,), (V,), has_aux=True)
        return [out, *hv]

    return run


def torch_functional_setup(torch, P0, V0, x, y, device):
    """``torch.autograd.functional.hvp``: reverse over reverse (double backward)."""
    P, V, xt, yt = _torch_data(torch, P0, V0, x, y, device)

    def loss(*params):
        return _torch_loss(torch, params, xt, yt)

    def run():
        out, hv = torch.autograd.functional.hvp(loss, P, V)
        return [out, *hv]

    return run


def autograd_setup(P0, V0, x, y):
    """HIPS autograd: the gradient of ``<grad(loss)(P), V>`` with respect to ``P``."""
    import autograd
    import autograd.numpy as anp

    g = autograd.grad(mlp.autograd_mlp_loss)

    def inner(P, V):
        return sum(anp.sum(gi * vi) for gi, vi in zip(g(P, x, y), V))

    hvp = autograd.grad(inner)
    P, V = list(P0), list(V0)

    def run():
        hv = hvp(P, V)
        return [mlp.autograd_mlp_loss(P, x, y), *hv]  # the loss: checked, not part of the hvp

    return run


def contenders(ctx, P0, V0, x, y):
    cands = [
        Contender(ctx.hand_name, hand_setup(ctx.hand_xp, P0, V0, x, y), role="baseline"),
        Contender(
            ctx.agrad_name,
            agrad_setup(P0, V0, x, y, ctx.agrad_backend, ctx.agrad_device),
            role="agrad",
        ),
    ]
    torch = ctx.peer("torch")
    if torch is not None:
        dev = ctx.torch_device
        cands.append(
            Contender(
                f"{ctx.torch_name} func.jvp(grad)", torch_func_setup(torch, P0, V0, x, y, dev)
            )
        )
        cands.append(
            Contender(
                f"{ctx.torch_name} autograd.functional.hvp",
                torch_functional_setup(torch, P0, V0, x, y, dev),
            )
        )
    if ctx.peer("autograd", cpu_only=True) is not None:
        cands.append(Contender("autograd", autograd_setup(P0, V0, x, y)))
    for label, backend, device in ctx.extra_backends():
        cands.append(Contender(label, agrad_setup(P0, V0, x, y, backend, device), role="extra"))
    return cands


def run(ctx):
    sz, batch = mlp.sizes(ctx)
    print(
        f"\n== {TITLE}"
        + (f" [smoke: {'-'.join(map(str, sz))}, batch {batch}]" if ctx.smoke else "")
    )
    P0, x, y = mlp.make_problem(sz, batch)
    V0 = make_tangents(P0)
    cands = contenders(ctx, P0, V0, x, y)
    worst = verify(
        "F",
        cands,
        reference=cands[0].name,
        rtol=1e-2,
        atol=1e-4,
        what="loss and Hessian-vector product",
    )
    torch_names = [c.name for c in cands if c.name.startswith(ctx.torch_name)]
    repeats, number = ctx.repeats(9), 1
    times = measure(cands, repeats=repeats, number=number, warmup=1, sync=ctx.sync)
    torch_ref = min(torch_names, key=lambda n: sorted(times[n])[len(times[n]) // 2], default=None)
    rows = summarize(cands, times, baseline=cands[0].name, torch_ref=torch_ref)
    print_table(
        f"{'-'.join(map(str, sz))}, batch {batch}, {repeats} rounds x {number} products",
        rows,
        time_columns("per product", with_torch=torch_ref is not None),
    )
    print(
        f"  (vs torch: against {torch_ref}, the faster torch way here; every product agrees with "
        f"{cands[0].name} within {worst:.1e} relative)"
        if torch_ref
        else f"  (every product agrees with {cands[0].name} within {worst:.1e} relative)"
    )
    agrad = next(r for r in rows if r["role"] == "agrad")
    target = {"target": "agrad <= 1.2x torch", "measured": "torch not run", "met": None}
    if torch_ref is not None:
        target.update(
            measured=f"{fmt_ratio(agrad['vs_torch'])} ({torch_ref})", met=agrad["vs_torch"] <= 1.2
        )
    return {
        "title": TITLE,
        "sizes": sz,
        "batch": batch,
        "repeats": repeats,
        "unit": "seconds per Hessian-vector product",
        "torch_reference": torch_ref,
        "rows": rows,
        "raw_seconds_per_run": times,
        "max_rel_diff": worst,
        "targets": [target],
    }
