"""Scenario B: one training step of an MLP 784-1024-1024-10 (float32, batch 256, ReLU,
softmax cross-entropy): forward + backward + SGD update.

agrad is used as a user would use it (``ag.nn.Sequential`` of ``ag.nn.Linear``,
``ag.nn.functional.cross_entropy``, ``ag.optim.SGD``), and also with bare tensors and a manual
update. The 1.0x is a hand-written NumPy forward, backprop and in-place SGD update, written as a
careful user would write it (textbook expressions, ``W -= lr * dW``), not tuned for memory.
The step's FLOPs against a 1024³ float32 matmul timed in the same rounds give the fraction of
the BLAS peak each contender reaches. The problem and the hand-written step are shared with
scenarios E (memory) and F (Hessian-vector product).
"""

from __future__ import annotations

import math

import numpy as np
from _harness import (
    Contender,
    fmt_ratio,
    measure,
    print_table,
    summarize,
    time_columns,
    verify,
)

TITLE = "B. MLP 784-1024-1024-10 training step (float32, batch 256), forward + backward + SGD"
SIZES, BATCH = (784, 1024, 1024, 10), 256
SMOKE_SIZES, SMOKE_BATCH = (64, 128, 128, 10), 32
LR = 0.01
PEAK_N = 1024  # the matmul that stands for the BLAS peak: (N, N) @ (N, N), float32


def sizes(ctx):
    return (SMOKE_SIZES, SMOKE_BATCH) if ctx.smoke else (SIZES, BATCH)


def make_problem(sizes, batch, seed=0, dtype=np.float32):
    """Parameters [W1, b1, W2, b2, ...] (PyTorch's layout (out, in) and default init
    U(-1/sqrt(in), 1/sqrt(in))), a batch ``x`` ~ N(0, 1) and integer labels ``y``: NumPy."""
    r = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(n_in)
        params.append(r.uniform(-bound, bound, (n_out, n_in)).astype(dtype))
        params.append(r.uniform(-bound, bound, (n_out,)).astype(dtype))
    x = r.standard_normal((batch, sizes[0])).astype(dtype)
    y = r.integers(0, sizes[-1], batch)
    return params, x, y


def step_flops(sizes, batch):
    """FLOPs of one step: the forward's matmuls (2·B·Σ in·out) and a backward of about twice
    that (two matmuls per layer; the input gradient of the first layer is not needed, so this
    slightly over-counts); the elementwise work and the update are not counted."""
    return 3 * 2 * batch * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


# ---- hand-written backprop (NumPy, or CuPy on a GPU: the same code) ---------------------------
def hand_loss_and_grads(xp, P, x, y):
    """Mean softmax cross-entropy of the MLP and its gradients, by hand."""
    n_layers, batch = len(P) // 2, x.shape[0]
    acts, h = [x], x
    for k in range(n_layers):
        z = h @ P[2 * k].T + P[2 * k + 1]
        if k < n_layers - 1:
            h = xp.maximum(z, 0)
            acts.append(h)
    rows = xp.arange(batch)
    zmax = z.max(axis=1, keepdims=True)
    e = xp.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    loss = xp.mean(xp.log(s[:, 0]) + zmax[:, 0] - z[rows, y])
    d = e / s  # d loss / d logits = (softmax - onehot) / batch
    d[rows, y] -= 1
    d /= batch
    grads = [None] * len(P)
    for k in range(n_layers - 1, -1, -1):
        h = acts[k]
        grads[2 * k] = d.T @ h
        grads[2 * k + 1] = d.sum(axis=0)
        if k > 0:
            d = d @ P[2 * k]
            d *= h > 0  # relu'(z) = [z > 0] = [h > 0]
    return loss, grads


def hand_setup(xp, P0, x, y, lr=LR):
    P = [xp.asarray(p).copy() for p in P0]
    x, y = xp.asarray(x), xp.asarray(y)

    def step():
        loss, grads = hand_loss_and_grads(xp, P, x, y)
        for p, g in zip(P, grads):
            p -= lr * g
        return [loss, *grads]

    return step


# ---- agrad -----------------------------------------------------------------------------------
def agrad_model(P0, backend, device):
    """``ag.nn.Sequential(Linear, ReLU, ..., Linear)`` holding the parameters ``P0``."""
    import agrad as ag
    from agrad import nn

    rng = ag.random.default_rng(0, backend=backend, device=device)
    n_layers, layers = len(P0) // 2, []
    for k in range(n_layers):
        n_out, n_in = P0[2 * k].shape
        layers.append(nn.Linear(n_in, n_out, dtype=ag.float32, rng=rng))
        if k < n_layers - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    state = {}
    for k in range(n_layers):
        state[f"{2 * k}.weight"], state[f"{2 * k}.bias"] = P0[2 * k], P0[2 * k + 1]
    model.load_state_dict(state)
    return model


def agrad_data(x, y, backend, device):
    import agrad as ag

    return ag.asarray(x, backend=backend, device=device), ag.asarray(
        y, backend=backend, device=device
    )


def agrad_nn_setup(P0, x, y, backend, device, lr=LR):
    """agrad as a user writes it: modules, ``cross_entropy``, ``optim.SGD``."""
    import agrad as ag
    import agrad.nn.functional as F

    model = agrad_model(P0, backend, device)
    params = list(model.parameters())
    opt = ag.optim.SGD(params, lr=lr)
    xa, ya = agrad_data(x, y, backend, device)

    def step():
        loss = F.cross_entropy(model(xa), ya)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return [loss, *(p.grad for p in params)]

    return step


def agrad_mlp_loss(P, xa, ya):
    """The loss with bare agrad tensors (no module): also the function scenario F differentiates
    twice."""
    import agrad.nn.functional as F

    h, n_layers = xa, len(P) // 2
    for k in range(n_layers):
        h = h @ P[2 * k].mT + P[2 * k + 1]
        if k < n_layers - 1:
            h = F.relu(h)
    return F.cross_entropy(h, ya)


def agrad_tensors_setup(P0, x, y, backend, device, lr=LR):
    """agrad with bare tensors and a manual update under ``no_grad``."""
    import agrad as ag

    P = [ag.asarray(p, backend=backend, device=device, requires_grad=True) for p in P0]
    xa, ya = agrad_data(x, y, backend, device)

    def step():
        loss = agrad_mlp_loss(P, xa, ya)
        loss.backward()
        grads = [p.grad for p in P]
        with ag.no_grad():
            for p in P:
                p -= lr * p.grad
        for p in P:
            p.grad = None
        return [loss, *grads]

    return step


# ---- peers -----------------------------------------------------------------------------------
def torch_model(torch, P0, device):
    n_layers, layers = len(P0) // 2, []
    for k in range(n_layers):
        n_out, n_in = P0[2 * k].shape
        layers.append(torch.nn.Linear(n_in, n_out))
        if k < n_layers - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    with torch.no_grad():
        for p, v in zip(model.parameters(), P0):
            p.copy_(torch.as_tensor(v))
    return model


def torch_setup(torch, P0, x, y, device, lr=LR):
    """PyTorch eager: ``nn.Sequential``, ``F.cross_entropy``, ``optim.SGD``."""
    model = torch_model(torch, P0, device)
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)

    def step():
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return [loss, *(p.grad for p in params)]

    return step


def mygrad_setup(P0, x, y, lr=LR):
    """MyGrad: tensors, ``matmul``, its ``relu`` and ``softmax_crossentropy``; a manual update."""
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    P = [mg.tensor(p.copy()) for p in P0]

    def step():
        h, n_layers = x, len(P) // 2
        for k in range(n_layers):
            h = mg.matmul(h, P[2 * k].T) + P[2 * k + 1]
            if k < n_layers - 1:
                h = relu(h)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        grads = [p.grad for p in P]
        for p in P:
            p.data -= lr * p.grad
        return [loss, *grads]

    return step


def autograd_mlp_loss(P, x, y):
    import autograd.numpy as anp

    h, n_layers = x, len(P) // 2
    for k in range(n_layers):
        h = anp.dot(h, P[2 * k].T) + P[2 * k + 1]
        if k < n_layers - 1:
            h = anp.maximum(h, 0.0)
    zmax = anp.max(h, axis=1, keepdims=True)
    lse = anp.log(anp.sum(anp.exp(h - zmax), axis=1)) + zmax[:, 0]
    return anp.mean(lse - h[np.arange(x.shape[0]), y])


def autograd_setup(P0, x, y, lr=LR):
    """HIPS autograd: ``value_and_grad`` of the loss as a function of the parameter list."""
    import autograd

    P = [p.copy() for p in P0]
    vg = autograd.value_and_grad(autograd_mlp_loss)

    def step():
        loss, grads = vg(P, x, y)
        P[:] = [p - lr * g for p, g in zip(P, grads)]
        return [loss, *grads]

    return step


def contenders(ctx, P0, x, y):
    xp = ctx.hand_xp
    bk, dev = ctx.agrad_backend, ctx.agrad_device
    cands = [
        Contender(ctx.hand_name, hand_setup(xp, P0, x, y), role="baseline"),
        Contender(f"{ctx.agrad_name} (nn)", agrad_nn_setup(P0, x, y, bk, dev), role="agrad"),
        Contender(
            f"{ctx.agrad_name} (tensors)", agrad_tensors_setup(P0, x, y, bk, dev), role="extra"
        ),
    ]
    torch = ctx.peer("torch")
    if torch is not None:
        cands.append(Contender(ctx.torch_name, torch_setup(torch, P0, x, y, ctx.torch_device)))
    if ctx.peer("mygrad", cpu_only=True) is not None:
        cands.append(Contender("mygrad", mygrad_setup(P0, x, y)))
    if ctx.peer("autograd", cpu_only=True) is not None:
        cands.append(Contender("autograd", autograd_setup(P0, x, y)))
    for label, backend, device in ctx.extra_backends():
        cands.append(
            Contender(f"{label} (nn)", agrad_nn_setup(P0, x, y, backend, device), role="extra")
        )
    return cands


def matmul_peak(ctx, n=PEAK_N):
    """A contender that times one (n, n) @ (n, n) float32 matmul on the hand-written backend."""
    xp = ctx.hand_xp
    r = np.random.default_rng(1)
    a, b = (xp.asarray(r.standard_normal((n, n)).astype(np.float32)) for _ in range(2))
    out = xp.empty((n, n), dtype=xp.float32)
    return Contender(f"{n}³ matmul ({xp.__name__})", lambda: xp.matmul(a, b, out=out), role="peak")


def torch_matmul_peak(torch, device, n=PEAK_N):
    r = np.random.default_rng(1)
    a, b = (
        torch.as_tensor(r.standard_normal((n, n)).astype(np.float32), device=device)
        for _ in range(2)
    )
    out = torch.empty((n, n), device=device)
    return Contender(f"{n}³ matmul (torch)", lambda: torch.matmul(a, b, out=out), role="peak")


def run(ctx):
    sz, batch = sizes(ctx)
    print(
        f"\n== {TITLE}"
        + (f" [smoke: {'-'.join(map(str, sz))}, batch {batch}]" if ctx.smoke else "")
    )
    P0, x, y = make_problem(sz, batch)
    cands = contenders(ctx, P0, x, y)
    worst = verify("B", cands, reference=cands[0].name, rtol=2e-3, atol=2e-5)
    peak_n = 256 if ctx.smoke else PEAK_N
    peaks = [matmul_peak(ctx, peak_n)]
    torch = ctx.module("torch") if ctx.torch_name in (c.name for c in cands) else None
    if torch is not None:
        peaks.append(torch_matmul_peak(torch, ctx.torch_device, peak_n))
    repeats, number = ctx.repeats(11), 1 if ctx.smoke else 2
    times = measure(
        cands + peaks, repeats=repeats, number=number, warmup=1 if ctx.smoke else 2, sync=ctx.sync
    )
    rows = summarize(cands, times, baseline=cands[0].name, torch_ref=ctx.torch_name)
    flops = step_flops(sz, batch)
    peak_rows = summarize(peaks, times, baseline=peaks[0].name)
    for p in peak_rows:
        p["gflops"] = 2 * peak_n**3 / p["median"] / 1e9
    peak = peak_rows[0]["gflops"]
    for r in rows:
        r["gflops"] = flops / r["median"] / 1e9
        r["blas_fraction"] = r["gflops"] / peak
    cols = time_columns("per step", with_torch=ctx.torch_name in times) + [
        ("GFLOP/s", lambda r: f"{r['gflops']:.1f}"),
        ("of BLAS peak", lambda r: f"{r['blas_fraction']:.0%}"),
    ]
    print_table(
        f"{'-'.join(map(str, sz))}, batch {batch}, {repeats} rounds x {number} steps; "
        f"{flops / 1e9:.2f} GFLOP per step",
        rows,
        cols,
    )
    for p in peak_rows:
        print(f"  {p['contender']}: median {p['median'] * 1e3:.2f} ms, {p['gflops']:.1f} GFLOP/s")
    print(
        f"  (BLAS peak: the {peak_n}³ float32 matmul on {ctx.hand_xp.__name__}, timed in the same "
        f"rounds; losses and gradients agree with {cands[0].name} within {worst:.1e} relative)"
    )
    agrad = next(r for r in rows if r["role"] == "agrad")
    return {
        "title": TITLE,
        "sizes": sz,
        "batch": batch,
        "repeats": repeats,
        "number": number,
        "unit": "seconds per step",
        "step_gflop": flops / 1e9,
        "rows": rows,
        "blas_peak_n": peak_n,
        "blas_peak": peak_rows,
        "raw_seconds_per_run": times,
        "max_rel_diff": worst,
        "targets": [
            {
                "target": "agrad (nn) <= 1.03x hand-written NumPy",
                "measured": f"{fmt_ratio(agrad['ratio'])} "
                f"({agrad['blas_fraction']:.0%} of the BLAS peak)",
                "met": agrad["ratio"] <= 1.03,
            }
        ],
    }
