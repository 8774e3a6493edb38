"""Logistic regression on the digits (0 against the rest): Newton-CG against gradient descent.

The loss is the mean binary cross-entropy of a linear model on standardised pixels, plus a
small L2 term (λ/2)|θ|², which makes it strictly convex: one optimum, which both methods must
find.

* Newton's method steps by d solving H d = -g. Here H is never formed: conjugate gradients
  solve the system using only Hessian-vector products, ``ag.hvp`` (reverse-over-reverse, a few
  evaluations of the loss each), stopping early while far from the optimum (truncated
  Newton), with a backtracking line search as a safeguard.
* Gradient descent steps by -g / L, where L bounds the curvature everywhere: at θ = 0 every
  sigmoid has its largest slope 1/4, so L = λ_max(H(0)), found by power iteration on ``ag.hvp``.

Newton needs a handful of iterations, gradient descent thousands (about L/λ per decade of
accuracy). Both stop when |∇loss| < --gtol (the loss is then within |∇loss|²/(2λ) of its
minimum) or after --epochs iterations.

    python examples/newton.py                        # NumPy, float64
    python examples/newton.py --backend torch
    python examples/newton.py --backend array_api_strict --smoke
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import agrad as ag
import agrad.nn.functional as F


def load(args):
    """Standardised digits with a bias column; labels 1.0 for the digit, 0.0 for the rest."""
    X, y = ag.datasets.load_digits(backend=args.backend, device=args.device, dtype=ag.float64)
    y = ag.astype(y == args.digit, ag.float64)
    X_train, X_test, y_train, y_test = ag.datasets.train_test_split(
        X, y, test_size=0.25, seed=args.seed
    )
    if args.smoke:
        X_train, y_train = X_train[:300], y_train[:300]
    mean = ag.mean(X_train, axis=0)
    std = ag.std(X_train, axis=0)
    std = ag.where(std > 0, std, ag.ones_like(std))  # pixels that are always blank

    def prepare(A):
        ones = ag.ones((A.shape[0], 1), dtype=A.dtype, device=A.device)
        return ag.concat([(A - mean) / std, ones], axis=1)

    return prepare(X_train), prepare(X_test), y_train, y_test


def make_loss(X, y, l2):
    def loss(theta):
        return F.binary_cross_entropy_with_logits(X @ theta, y) + 0.5 * l2 * ag.sum(theta * theta)

    return loss


def accuracy(theta, X, y) -> float:
    with ag.no_grad():
        return float(ag.mean(ag.astype((X @ theta > 0) == (y > 0.5), ag.float64)))


def dot(a, b) -> float:
    return float(ag.sum(a * b))


def hessian_vector(loss, theta, v):
    return ag.hvp(loss, (theta,), (v,))[1][0]


def conjugate_gradient(loss, theta, g, tol, max_iter):
    """Solve H d = -g with H v from ``ag.hvp``; stop at |H d + g| <= tol. Returns (d, #hvp)."""
    d = ag.zeros_like(g)
    r = -g  # the residual -g - H d
    p = r
    rr = dot(r, r)
    for k in range(1, max_iter + 1):
        Hp = hessian_vector(loss, theta, p)
        alpha = rr / dot(p, Hp)
        d = d + alpha * p
        r = r - alpha * Hp
        rr_new = dot(r, r)
        if math.sqrt(rr_new) <= tol:
            return d, k
        p = r + (rr_new / rr) * p
        rr = rr_new
    return d, max_iter


def newton_cg(loss, theta, max_iter, gtol):
    """Truncated Newton: CG to relative accuracy min(0.5, sqrt|g|), Armijo backtracking."""
    value_and_grad = ag.value_and_grad(loss)
    n_hvp = 0
    for it in range(max_iter + 1):
        f, g = value_and_grad(theta)
        gnorm = math.sqrt(dot(g, g))
        if gnorm < gtol or it == max_iter:
            return theta, it, float(f), gnorm, n_hvp
        d, k = conjugate_gradient(loss, theta, g, min(0.5, math.sqrt(gnorm)) * gnorm, 2 * g.size)
        n_hvp += k
        slope, t = dot(g, d), 1.0
        while float(loss(theta + t * d)) > float(f) + 1e-4 * t * slope and t > 1e-10:
            t *= 0.5
        theta = theta + t * d


def largest_curvature(loss, theta, iters=50):
    """λ_max of the Hessian at ``theta`` by power iteration on Hessian-vector products."""
    v = ag.ones_like(theta) / math.sqrt(theta.size)
    lam = 0.0
    for _ in range(iters):
        w = hessian_vector(loss, theta, v)
        lam = math.sqrt(dot(w, w))
        v = w / lam
    return lam


def gradient_descent(loss, theta, max_iter, gtol, lr):
    value_and_grad = ag.value_and_grad(loss)
    for it in range(max_iter + 1):
        f, g = value_and_grad(theta)
        gnorm = math.sqrt(dot(g, g))
        if gnorm < gtol or it == max_iter:
            return theta, it, float(f), gnorm
        theta = theta - lr * g


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=None, help="numpy (default), torch, array_api_strict ...")
    p.add_argument("--device", default=None, help="e.g. cuda (default: the backend's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    p.add_argument(
        "--epochs", type=int, default=20000, help="most iterations of each method (full batch)"
    )
    p.add_argument("--digit", type=int, default=0, help="the class told apart from the rest")
    p.add_argument("--l2", type=float, default=1e-2, help="L2 strength λ")
    p.add_argument("--gtol", type=float, default=1e-6, help="stop at |gradient| below this")
    p.add_argument(
        "--smoke", action="store_true", help="CI mode: 300 images, few iterations, always exit 0"
    )
    args = p.parse_args(argv)
    newton_iters = min(args.epochs, 3) if args.smoke else args.epochs
    gd_iters = min(args.epochs, 50) if args.smoke else args.epochs

    X_train, X_test, y_train, y_test = load(args)
    loss = make_loss(X_train, y_train, args.l2)
    theta0 = ag.zeros((X_train.shape[1],), dtype=ag.float64, device=X_train.device)
    print(
        f"logistic regression, digit {args.digit} against the rest: backend {X_train.backend}, "
        f"device {X_train.device}, {X_train.shape[0]} train / {X_test.shape[0]} test images, "
        f"{theta0.size} parameters, L2 {args.l2:g}"
    )

    start = time.perf_counter()
    theta_n, it_n, f_n, g_n, n_hvp = newton_cg(loss, theta0, newton_iters, args.gtol)
    t_n = time.perf_counter() - start
    print(
        f"Newton-CG:        {it_n:6d} iterations ({n_hvp} Hessian-vector products)  "
        f"loss {f_n:.12f}  |grad| {g_n:.1e}  test accuracy "
        f"{100 * accuracy(theta_n, X_test, y_test):.1f}%  ({t_n:.2f} s)"
    )

    start = time.perf_counter()
    L = largest_curvature(loss, theta0)
    theta_g, it_g, f_g, g_g = gradient_descent(loss, theta0, gd_iters, args.gtol, 1.0 / L)
    t_g = time.perf_counter() - start
    print(
        f"gradient descent: {it_g:6d} iterations (step 1/L, L = {L:.4g})  "
        f"loss {f_g:.12f}  |grad| {g_g:.1e}  test accuracy "
        f"{100 * accuracy(theta_g, X_test, y_test):.1f}%  ({t_g:.2f} s)"
    )

    gap = abs(f_n - f_g)
    same = g_n < args.gtol and g_g < args.gtol and gap <= 1e-6
    if same:
        print(
            f"same optimum: |loss difference| {gap:.1e}; Newton took {it_n} iterations, gradient "
            f"descent {it_g} ({it_g / max(it_n, 1):.0f}x as many)"
        )
    else:
        print(
            f"not converged to one optimum: |loss difference| {gap:.1e} (raise --epochs or --gtol)"
        )
    return 0 if same or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
