"""An MLP on scikit-learn's 8x8 digits (shipped with agrad: no download), trained with Adam.

python examples/digits_mlp.py                          # NumPy on the CPU
python examples/digits_mlp.py --backend torch
python examples/digits_mlp.py --device cuda            # CuPy on a GPU
python examples/digits_mlp.py --plot curves.png        # loss and accuracy curves
"""

from __future__ import annotations

import sys

from _common import run_digits

import agrad as ag


def build(rng, dtype, seed):
    """64 pixels -> 256 -> 256 -> 10 class scores, with dropout after each hidden layer."""
    return ag.nn.Sequential(
        ag.nn.Linear(64, 256, rng=rng, dtype=dtype),
        ag.nn.ReLU(),
        ag.nn.Dropout(0.3, seed=seed),
        ag.nn.Linear(256, 256, rng=rng, dtype=dtype),
        ag.nn.ReLU(),
        ag.nn.Dropout(0.3, seed=seed + 1),
        ag.nn.Linear(256, 10, rng=rng, dtype=dtype),
    )


if __name__ == "__main__":
    sys.exit(run_digits(__doc__.splitlines()[0], build, lambda X: X, epochs=40, lr=2e-3))
