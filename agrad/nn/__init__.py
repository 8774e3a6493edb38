"""Neural-network building blocks in PyTorch's names and layouts (see issue #4).

``Module``, ``Parameter``, ``Sequential``, ``Linear``, ``Conv2d``, pooling, ``Embedding``,
``LayerNorm``, ``BatchNorm1d``/``2d``, ``Dropout`` and activation modules; ``ag.nn.functional``
for activations and losses; ``ag.nn.init`` for seeded initialisers.
"""

from . import functional, init, utils  # noqa: F401
from .layers import *  # noqa: F403
from .modules import Linear, Module, Parameter, Sequential  # noqa: F401
