"""XOR with the classic 2-2-1 sigmoid network, trained by plain gradient descent with agrad.

The network as it is drawn on the blackboard (m = 4 examples, one per row)::

    L1 = [X, 1]                     4x3   inputs plus a bias unit of 1
    L2 = [sigmoid(L1 @ θ1), 1]      4x3   two hidden units plus a bias unit  (θ1 is 3x2)
    L3 = sigmoid(L2 @ θ2)           4x1   the output, read as P(y = 1)       (θ2 is 3x1)
    C  = mean(-y log L3 - (1 - y) log(1 - L3))      cross-entropy cost

agrad computes ∂C/∂θ1 and ∂C/∂θ2 for us (``C.backward()``), and we step downhill.

    python examples/xor.py                              # NumPy on the CPU
    python examples/xor.py --backend torch              # torch on the CPU
    python examples/xor.py --device cuda                # CuPy on a GPU
    python examples/xor.py --backend torch --device cuda
"""

import argparse
import sys

import agrad as ag


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z) (agrad differentiates it for us)."""
    return 1 / (1 + ag.exp(-z))


def with_bias(A):
    """``A`` with a column of ones appended: the bias unit of the next layer."""
    ones = ag.ones((A.shape[0], 1), dtype=A.dtype, device=A.device)
    return ag.concat([A, ones], axis=1)


def forward(X, theta1, theta2):
    """The forward pass: returns the hidden layer L2 (with its bias column) and the output L3."""
    L1 = with_bias(X)
    L2 = with_bias(sigmoid(L1 @ theta1))
    L3 = sigmoid(L2 @ theta2)
    return L2, L3


def cost(L3, y):
    """Cross-entropy averaged over the m examples: (1/m) Σ -y log L3 - (1 - y) log(1 - L3)."""
    return ag.mean(-y * ag.log(L3) - (1 - y) * ag.log(1 - L3))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend",
        default=None,
        help="numpy (default; cupy for a CUDA device), torch, array_api_strict, jax, cupy",
    )
    p.add_argument("--device", default=None, help="e.g. cuda (default: the backend's default)")
    p.add_argument(
        "--steps",
        "--epochs",
        type=int,
        default=5000,
        help="most gradient steps to take (full batch: one step is one epoch)",
    )
    p.add_argument("--lr", type=float, default=5.0, help="learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.add_argument("--print-every", type=int, default=25, help="print the cost every N steps")
    p.add_argument("--smoke", action="store_true", help="CI mode: at most 200 steps, always exit 0")
    args = p.parse_args(argv)
    steps = min(args.steps, 200) if args.smoke else args.steps

    # The four XOR cases and their labels, float64 on the chosen backend and device.
    X = ag.asarray(
        [[0, 0], [0, 1], [1, 0], [1, 1]], dtype=ag.float64, backend=args.backend, device=args.device
    )
    y = ag.asarray([[0], [1], [1], [0]], dtype=ag.float64, backend=args.backend, device=args.device)
    print(f"XOR, 2-2-1 sigmoid network: backend {X.backend}, device {X.device}, lr {args.lr}")

    # Random initial weights ~ N(0, 1), drawn on the same backend and device.
    rng = ag.random.default_rng(args.seed, backend=args.backend, device=args.device)
    theta1 = rng.normal(0.0, 1.0, (3, 2), dtype=ag.float64, requires_grad=True)
    theta2 = rng.normal(0.0, 1.0, (3, 1), dtype=ag.float64, requires_grad=True)

    for step in range(steps + 1):
        L2, L3 = forward(X, theta1, theta2)
        C = cost(L3, y)
        solved = bool(ag.all((L3 > 0.5) == (y > 0.5)))  # every prediction rounds correctly
        if step % args.print_every == 0 or solved:
            print(f"step {step:5d}  cost {float(C):.6f}")
        if solved or step == steps:
            break
        C.backward()  # fills theta1.grad = ∂C/∂θ1 and theta2.grad = ∂C/∂θ2
        with ag.no_grad():  # the update is not part of the model: do not record it
            theta1 -= args.lr * theta1.grad
            theta2 -= args.lr * theta2.grad
        theta1.grad = None  # .grad accumulates across backward() calls: reset it
        theta2.grad = None

    predictions = ag.astype(L3 > 0.5, ag.int64)[:, 0].numpy()  # to the host, only to print
    print("outputs L3:", " ".join(f"{v:.3f}" for v in L3[:, 0].numpy()))
    if solved:
        print(f"solved XOR in {step} steps: predictions {predictions}")
        return 0
    print(f"not solved after {step} steps: predictions {predictions}")
    return 0 if args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
