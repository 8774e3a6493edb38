"""Shared plumbing of the examples: flags, a progress bar, the summary line and the plot.

tqdm and matplotlib come with ``pip install -e ".[examples]"``; without tqdm the loop prints a
line per epoch instead, and ``--plot`` says how to install matplotlib.
"""

from __future__ import annotations

import argparse
import sys
import time

import agrad as ag
import agrad.nn.functional as F


def parser(description: str, epochs: int, lr: float) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--backend",
        default=None,
        help="numpy (default; cupy for a CUDA device), torch, array_api_strict, jax",
    )
    p.add_argument("--device", default=None, help="e.g. cuda (default: the backend's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling")
    p.add_argument("--epochs", type=int, default=epochs, help="passes over the training data")
    p.add_argument("--lr", type=float, default=lr, help="learning rate")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--plot",
        metavar="PNG",
        nargs="?",
        const="curves.png",
        default=None,
        help="write the loss and accuracy curves to a PNG (needs matplotlib)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="CI mode: one short epoch on a slice of the data, no accuracy target",
    )
    return p


def progress(iterable, total, desc):
    """A tqdm progress bar when tqdm is installed and stdout is a terminal, else the iterable."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    # disable=None: no bar when stdout is not a terminal (CI logs get the per-epoch lines only)
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stdout, disable=None)


def set_postfix(bar, **values):
    if hasattr(bar, "set_postfix"):
        bar.set_postfix({k: f"{v:.4f}" for k, v in values.items()}, refresh=False)


def accuracy(logits, y) -> float:
    """Fraction of rows whose largest logit is the label (computed on the backend)."""
    with ag.no_grad():
        hits = ag.astype(ag.argmax(logits, axis=1) == y, logits.dtype)
        return float(ag.mean(hits))


def plot(path, history):
    """Loss and accuracy per epoch, side by side, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install -e '.[examples]'")
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    a.plot(epochs, history["loss"], marker="o")
    a.set(xlabel="epoch", ylabel="training loss", title="loss")
    b.plot(epochs, history["test_acc"], marker="o", color="tab:green")
    b.set(xlabel="epoch", ylabel="test accuracy", title="accuracy", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def run_digits(description, build, images, epochs, lr, argv=None) -> int:
    """Train ``build(rng, dtype, seed)`` on the digits; print the summary.

    Adam with a cosine learning-rate schedule minimises the cross-entropy; ``images`` reshapes
    the (N, 64) pixel rows into what the model takes. ``seed`` is for the model's dropout.
    """
    args = parser(description, epochs=epochs, lr=lr).parse_args(argv)
    dtype = ag.float32
    X, y = ag.datasets.load_digits(backend=args.backend, device=args.device, dtype=dtype)
    X = images(X / 16.0)  # pixels 0..16 -> 0..1
    X_train, X_test, y_train, y_test = ag.datasets.train_test_split(
        X, y, test_size=0.25, seed=args.seed
    )
    if args.smoke:
        X_train, y_train, args.epochs = X_train[:256], y_train[:256], 1
    print(
        f"{description.split(' on ')[0]}: backend {X.backend}, device {X.device}, "
        f"{X_train.shape[0]} train / {X_test.shape[0]} test images"
    )

    rng = ag.random.default_rng(args.seed, backend=X.backend, device=X.device)
    # layers drawn from rng live on its backend and device; to_device moves the rest
    # (BatchNorm's statistics, say) beside them, like model.to(device) in PyTorch
    net = build(rng, dtype, args.seed).to_device(X.device, backend=X.backend)
    opt = ag.optim.Adam(net.parameters(), lr=args.lr)
    schedule = ag.optim.CosineAnnealingLR(opt, T_max=args.epochs)
    history = {"loss": [], "test_acc": []}
    start = time.perf_counter()
    n_batches = -(-X_train.shape[0] // args.batch_size)
    for epoch in range(1, args.epochs + 1):
        net.train()
        total, count = 0.0, 0
        batches = ag.data.batches(
            X_train, y_train, batch_size=args.batch_size, shuffle=True, seed=args.seed + epoch
        )
        bar = progress(batches, n_batches, f"epoch {epoch}/{args.epochs}")
        for xb, yb in bar:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * xb.shape[0]
            count += xb.shape[0]
            set_postfix(bar, loss=total / count)
        schedule.step()
        net.eval()
        history["loss"].append(total / count)
        history["test_acc"].append(accuracy(net(X_test), y_test))
        print(
            f"epoch {epoch:3d}  loss {history['loss'][-1]:.4f}  "
            f"test accuracy {history['test_acc'][-1]:.3f}"
        )
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {100 * history['test_acc'][-1]:.1f}%")
    if args.plot:
        plot(args.plot, history)
    return 0
