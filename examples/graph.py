"""Backprop seen as the chain rule on a graph: the XOR network of xor.py, drawn and spelled out.

The network and its cost come from examples/xor.py (m = 4 examples)::

    L2 = [sigmoid([X, 1] @ θ1), 1]     L3 = sigmoid(L2 @ θ2)
    C  = mean(-y log L3 - (1 - y) log(1 - L3))

This script trains it for a few steps, then

1. draws the cost's computational graph (``agrad.viz.graph``): θ1 and θ2 are leaves, L2, L3 and C
   label the ops that produce them, C is on top, every edge carries its shape, dtype and local
   derivative, every named tensor its gradient, and the paths back to θ1 are highlighted;
2. prints the chain rule for ∂C/∂θ2 path by path (``agrad.viz.chain``) and checks that it is the
   textbook ``L2ᵀ (L3 − y) / m``.

    python examples/graph.py                        # writes xor_graph.svg
    python examples/graph.py --out xor_graph.png    # PNG instead
    python examples/graph.py --epochs 0             # the graph at the random initial weights
    python examples/graph.py --backend torch

Drawing needs the graphviz package and the Graphviz programs (pip install "agrad[viz]" and
apt-get install graphviz / brew install graphviz); without them the DOT text is written instead.
"""

import argparse
import pathlib
import sys

from xor import cost, forward  # the network of examples/xor.py, not a copy of it

import agrad as ag
from agrad import viz


def max_diff(a, b) -> float:
    return float(ag.max(ag.abs(a - b)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend",
        default=None,
        help="numpy (default; cupy for a CUDA device), torch, array_api_strict, jax, cupy",
    )
    p.add_argument("--device", default=None, help="e.g. cuda (default: the backend's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.add_argument(
        "--epochs", "--steps", type=int, default=100, help="gradient steps before drawing"
    )
    p.add_argument("--lr", type=float, default=5.0, help="learning rate")
    p.add_argument(
        "--out",
        default=None,
        help="the drawing to write: .svg or .png (.dot for the DOT text); default xor_graph.svg, "
        "none with --smoke",
    )
    p.add_argument("--smoke", action="store_true", help="CI mode: 3 steps, no file unless --out")
    args = p.parse_args(argv)
    epochs = min(args.epochs, 3) if args.smoke else args.epochs
    out = args.out if args.out is not None or args.smoke else "xor_graph.svg"

    kw = {"dtype": ag.float64, "backend": args.backend, "device": args.device}
    X = ag.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], **kw)
    y = ag.asarray([[0], [1], [1], [0]], **kw)
    rng = ag.random.default_rng(args.seed, backend=args.backend, device=args.device)
    theta1 = rng.normal(0.0, 1.0, (3, 2), dtype=ag.float64, requires_grad=True)
    theta2 = rng.normal(0.0, 1.0, (3, 1), dtype=ag.float64, requires_grad=True)
    print(f"XOR, 2-2-1 sigmoid network: backend {X.backend}, device {X.device}")

    for _ in range(epochs):  # plain gradient descent, as in xor.py
        C = cost(forward(X, theta1, theta2)[1], y)
        C.backward()
        with ag.no_grad():
            theta1 -= args.lr * theta1.grad
            theta2 -= args.lr * theta2.grad
        theta1.grad = theta2.grad = None

    L2, L3 = forward(X, theta1, theta2)
    C = cost(L3, y)
    print(f"after {epochs} gradient steps: cost C = {float(C):.6f}")
    C.backward(retain_graph=True)  # θ1.grad, θ2.grad for the drawing; the graph stays for chain
    names = {"θ1": theta1, "θ2": theta2, "L2": L2, "L3": L3, "C": C}

    # 1. The graph: C on top, θ1 and θ2 at the bottom, the paths back to θ1 in red.
    g = viz.graph(C, names, connections=True, grads=True, highlight="θ1")
    print(f"\nthe graph of C: {g!r}; {sum(e.highlighted for e in g.edges)} edges lead back to θ1")
    if out is None:
        print(f"(--smoke: {len(g.to_dot().splitlines())} lines of DOT, no file; --out FILE writes)")
    else:
        try:
            print(f"wrote {g.render(out)}")
        except viz.GraphvizNotFoundError as e:
            dot = g.render(pathlib.Path(out).with_suffix(".dot"))
            print(f"{e}\nwrote the DOT text to {dot} instead (dot -Tsvg {dot} draws it)")

    # 2. The chain rule for ∂C/∂θ2, one path per term of the cost.
    ch = viz.chain(C, "θ2", names)
    print()
    print(ch)

    # 3. The textbook form. The sigmoid's factors (1/(1+e^-z) ← add ← exp ← negative) multiply
    # to L3 (1 − L3), so with the 1/m of the mean and Aᵀ @ g = L2ᵀ g of the matmul:
    #   path 1 (−y log L3):           (−y) (1/L3) L3 (1 − L3)              = −y (1 − L3)
    #   path 2 (−(1 − y) log(1 − L3)): (−(1 − y)) (1/(1 − L3)) (−1) L3 (1 − L3) = (1 − y) L3
    # and their sum is −y + y L3 + L3 − y L3 = L3 − y: ∂C/∂θ2 = L2ᵀ (L3 − y) / m.
    m = X.shape[0]
    with ag.no_grad():
        checks = [
            ("path 1", ch.paths[0].value, "L2ᵀ (−y (1 − L3)) / m", L2.mT @ (-y * (1 - L3)) / m),
            ("path 2", ch.paths[1].value, "L2ᵀ ((1 − y) L3) / m", L2.mT @ ((1 - y) * L3) / m),
            ("sum of the paths", ch.total, "L2ᵀ (L3 − y) / m", L2.mT @ (L3 - y) / m),
            ("sum of the paths", ch.total, "θ2.grad from C.backward()", theta2.grad),
        ]
    print("\nthe textbook form, computed by hand (δ3 = L3 − y):")
    ok = len(ch.paths) == 2
    for what, value, form, by_hand in checks:
        d = max_diff(value, by_hand)
        ok = ok and d <= 1e-12
        print(f"  {what:16s} = {form:26s} max |difference| {d:.1e}")
    print("∂C/∂θ2 = L2ᵀ (L3 − y) / m: the chain rule reduces to (L3 − y) L2" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
