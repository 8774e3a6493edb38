"""A small CNN on scikit-learn's 8x8 digits (shipped with agrad: no download), trained with Adam.

Conv2d, ReLU and MaxPool2d are built from Array API ops, so the same script runs on every
backend.

    python examples/digits_cnn.py                          # NumPy on the CPU
    python examples/digits_cnn.py --backend torch
    python examples/digits_cnn.py --device cuda            # CuPy on a GPU
    python examples/digits_cnn.py --plot curves.png        # loss and accuracy curves
"""

from __future__ import annotations

import sys

from _common import run_digits

import agrad as ag


def build(rng, dtype, seed):
    """Two 3x3 convolutions with batch norm, a 2x2 max-pool, then a classifier with dropout."""
    nn = ag.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=dtype),
        nn.BatchNorm2d(16, dtype=dtype),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=dtype),
        nn.BatchNorm2d(32, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Flatten(),
        nn.Dropout(0.4, seed=seed),
        nn.Linear(32 * 4 * 4, 128, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(0.4, seed=seed + 1),
        nn.Linear(128, 10, rng=rng, dtype=dtype),
    )


def images(X):
    """(N, 64) pixel rows as (N, 1, 8, 8) NCHW images."""
    return ag.reshape(X, (-1, 1, 8, 8))


if __name__ == "__main__":
    sys.exit(run_digits(__doc__.splitlines()[0], build, images, epochs=30, lr=2e-3))
