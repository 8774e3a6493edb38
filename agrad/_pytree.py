"""Pytrees: nested tuples, lists and dicts of tensors, flattened to a list and rebuilt.

The function transforms (``agrad.autodiff``) take and return pytrees as JAX and torch.func do:
an argument may be a dict of weights, an output a tuple of a loss and a list of tensors.

Containers are ``tuple``, ``list``, ``dict`` and namedtuples (exactly those types: a subclass
such as ``OrderedDict`` is a leaf); ``None`` is a container with no children, as in JAX.
Everything else is a leaf. A dict's leaves come in sorted key order (insertion order when the
keys cannot be sorted), so two dicts with the same keys have the same structure whatever order
they were built in; a rebuilt dict keeps the first one's key order.

Examples
--------
>>> from agrad._pytree import tree_flatten
>>> leaves, tree = tree_flatten({"b": [1, 2], "a": (3, None)})
>>> leaves
[3, 1, 2]
>>> tree
PyTreeDef({'a': (*, None), 'b': [*, *]})
>>> tree.unflatten(["x", "y", "z"])
{'b': ['y', 'z'], 'a': ('x', None)}
"""

from __future__ import annotations

__all__ = ["TreeDef", "LEAF", "tree_flatten", "tree_unflatten"]


class TreeDef:
    """The shape of a pytree without its leaves: compare two with ``==``, rebuild one with
    :meth:`unflatten`."""

    __slots__ = ("kind", "keys", "order", "children", "num_leaves")

    def __init__(self, kind, keys, children, order=None):
        self.kind = kind  # None for a leaf, else the container's type
        self.keys = keys  # a dict's keys in leaf order; a namedtuple's fields; else None
        self.order = order  # a dict's keys in the order to rebuild it
        self.children = children
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return (
            isinstance(other, TreeDef)
            and self.kind is other.kind
            and self.keys == other.keys
            and self.children == other.children
        )

    def __hash__(self):
        return hash((self.kind, self.keys, self.children))

    def __repr__(self) -> str:
        return f"PyTreeDef({self._show()})"

    def _show(self) -> str:
        kind = self.kind
        if kind is None:
            return "*"
        if kind is type(None):
            return "None"
        parts = [c._show() for c in self.children]
        if kind is dict:
            return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(self.keys, parts)) + "}"
        if kind is list:
            return "[" + ", ".join(parts) + "]"
        if kind is tuple:
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return f"{kind.__name__}(" + ", ".join(f"{k}={p}" for k, p in zip(self.keys, parts)) + ")"

    @property
    def is_leaf(self) -> bool:
        """True for the structure of a single leaf."""
        return self.kind is None

    def unflatten(self, leaves):
        """The pytree of this structure holding ``leaves`` (in flattening order)."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"agrad: a pytree of structure {self} has {self.num_leaves} leaves, got "
                f"{len(leaves)}"
            )
        return self._build(iter(leaves))

    def _build(self, it):
        kind = self.kind
        if kind is None:
            return next(it)
        if kind is type(None):
            return None
        values = [c._build(it) for c in self.children]
        if kind is dict:
            by_key = dict(zip(self.keys, values))
            return {k: by_key[k] for k in self.order}
        if kind is list:
            return values
        if kind is tuple:
            return tuple(values)
        return kind(*values)  # a namedtuple

    def paths(self) -> list[str]:
        """Each leaf's place in the tree, JAX's ``keystr`` style (``"['w'][0]"``; ``""`` for
        a tree that is one leaf)."""
        out = []
        stack = [(self, "")]
        while stack:
            node, prefix = stack.pop()
            if node.kind is None:
                out.append(prefix)
                continue
            if node.kind is dict:
                steps = [f"[{k!r}]" for k in node.keys]
            elif node.keys is not None:  # namedtuple
                steps = [f".{k}" for k in node.keys]
            else:
                steps = [f"[{i}]" for i in range(len(node.children))]
            stack.extend((c, prefix + s) for c, s in reversed(list(zip(node.children, steps))))
        return out


LEAF = TreeDef(None, None, ())
_NONE = TreeDef(type(None), None, ())


def tree_flatten(tree) -> tuple[list, TreeDef]:
    """``(leaves, treedef)``: the leaves of ``tree`` in a fixed order, and its structure.

    Examples
    --------
    >>> from agrad._pytree import tree_flatten
    >>> tree_flatten((1.0, [2.0, {"k": 3.0}]))[0]
    [1.0, 2.0, 3.0]
    """
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    kind = type(tree)
    if kind is tuple or kind is list:
        return TreeDef(kind, None, tuple(_flatten(c, leaves) for c in tree))
    if kind is dict:
        order = tuple(tree)
        try:
            keys = tuple(sorted(order))
        except TypeError:  # keys of several types: insertion order
            keys = order
        return TreeDef(dict, keys, tuple(_flatten(tree[k], leaves) for k in keys), order)
    if tree is None:
        return _NONE
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):  # a namedtuple
        return TreeDef(kind, tuple(kind._fields), tuple(_flatten(c, leaves) for c in tree))
    leaves.append(tree)
    return LEAF


def tree_unflatten(treedef: TreeDef, leaves):
    """The inverse of :func:`tree_flatten`.

    Examples
    --------
    >>> from agrad._pytree import tree_flatten, tree_unflatten
    >>> leaves, tree = tree_flatten({"w": 1.0, "b": 2.0})
    >>> tree_unflatten(tree, [x * 10 for x in leaves])
    {'w': 10.0, 'b': 20.0}
    """
    return treedef.unflatten(leaves)
