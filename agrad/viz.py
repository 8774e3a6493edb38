"""Seeing the graph: :func:`graph` draws a recorded computation, :func:`chain` spells out the
chain rule along it, path by path.

``graph(output)`` walks the tape back from ``output`` and returns a :class:`Graph`: operations
and leaves as nodes, the values flowing between them as edges labelled with shape and dtype,
optionally each edge's local ("connection") derivative, each named tensor's gradient and the
paths to one chosen tensor highlighted. ``Graph.to_dot()`` writes Graphviz DOT text with no
dependency; ``Graph.render("g.svg")`` draws it through the optional ``graphviz`` package and the
Graphviz ``dot`` program (``pip install "agrad[viz]"`` and ``apt-get install graphviz`` /
``brew install graphviz``).

``chain(output, wrt)`` lists every path from ``output`` back to ``wrt`` with the local derivative
of each op along it, and pushes the cotangent back along each path alone. By linearity the
contributions of the paths add up to the gradient. Each push runs the engine's own backward
(:func:`agrad._tape.run_backward`: the same VJPs, un-broadcasting and dtype checks) over shallow
copies of the path's nodes whose other inputs are cut, so nothing here re-implements the tape
and the user's graph is left untouched (no ``.grad`` is written, nothing is freed).

Examples
--------
>>> import agrad as ag
>>> from agrad import viz
>>> x = ag.asarray([1.0, 2.0], requires_grad=True)
>>> y = ag.sum(x * x)
>>> c = viz.chain(y, x, {"x": x, "y": y})
>>> [str(p) for p in c.paths]
['y = sum ← multiply[0] ← x', 'y = sum ← multiply[1] ← x']
>>> c.total
Tensor([2., 4.], backend='numpy', device='cpu', dtype=float64)
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import NamedTuple

from ._tape import Node, _postorder, no_grad, run_backward
from ._tensor import Tensor, _wrap
from .autodiff import _seed

__all__ = [
    "graph",
    "chain",
    "Graph",
    "GraphNode",
    "GraphEdge",
    "Chain",
    "Path",
    "Factor",
    "GraphvizNotFoundError",
    "connection",
]

# ---- the local ("connection") derivatives -----------------------------------------------------
# One short formula per primitive and input: ∂(op's output)/∂(input) for elementwise ops (inputs
# named x, or a and b), or what the VJP does to the incoming cotangent g ("g ↦ ...") for ops that
# only move, sum or contract values. Ops missing here read "VJP of <op>".
_UNARY = {
    "negative": "−1",
    "positive": "1",
    "reciprocal": "−1/x²",
    "square": "2x",
    "sqrt": "1/(2√x)",
    "exp": "exp(x)",
    "expm1": "exp(x)",
    "log": "1/x",
    "log1p": "1/(1 + x)",
    "log2": "1/(x ln 2)",
    "log10": "1/(x ln 10)",
    "sin": "cos(x)",
    "cos": "−sin(x)",
    "tan": "1 + tan²(x)",
    "asin": "1/√(1 − x²)",
    "acos": "−1/√(1 − x²)",
    "atan": "1/(1 + x²)",
    "sinh": "cosh(x)",
    "cosh": "sinh(x)",
    "tanh": "1 − tanh²(x)",
    "asinh": "1/√(x² + 1)",
    "acosh": "1/√(x² − 1)",
    "atanh": "1/(1 − x²)",
    "abs": "sign(x)",
    "prod": "prod(x)/x",
}
_BINARY = {
    "add": ("1", "1"),
    "subtract": ("1", "−1"),
    "multiply": ("b", "a"),
    "divide": ("1/b", "−a/b²"),
    "pow": ("b·a^(b−1)", "a^b·log a"),
    "logaddexp": ("exp(a − out)", "exp(b − out)"),
    "maximum": ("[a > b] (½ on ties)", "[b > a] (½ on ties)"),
    "minimum": ("[a < b] (½ on ties)", "[b < a] (½ on ties)"),
    "hypot": ("a/out", "b/out"),
    "atan2": ("b/(a² + b²)", "−a/(a² + b²)"),
    "vecdot": ("b", "a"),
}
_MOVES = {
    "matmul": ("g ↦ g @ Bᵀ", "g ↦ Aᵀ @ g"),
    "tensordot": ("g ↦ g contracted with b", "g ↦ a contracted with g"),
    "matrix_transpose": ("g ↦ gᵀ",),
    "sum": ("g ↦ g broadcast to x.shape",),
    "mean": ("g ↦ g/n broadcast to x.shape",),
    "max": ("g ↦ g at the maximum (shared on ties)",),
    "min": ("g ↦ g at the minimum (shared on ties)",),
    "cumulative_sum": ("g ↦ reversed cumulative sum of g",),
    "reshape": ("g ↦ reshape(g, x.shape)",),
    "expand_dims": ("g ↦ reshape(g, x.shape)",),
    "squeeze": ("g ↦ reshape(g, x.shape)",),
    "permute_dims": ("g ↦ g with the axes permuted back",),
    "broadcast_to": ("g ↦ g summed over the broadcast axes",),
    "unstack": ("g ↦ stack of the outputs' g",),
    "getitem": ("g ↦ g scattered (added) into zeros at the key",),
    "flip": ("g ↦ flip(g)",),
    "roll": ("g ↦ roll(g, −shift)",),
    "astype": ("g ↦ astype(g, x.dtype)",),
    "to_device": ("g ↦ g moved back to x's device",),
    "where": ("", "∂/∂a = [condition]", "∂/∂b = [not condition]"),
    "clip": ("∂/∂x = [lo ≤ x ≤ hi]", "∂/∂lo = [x < lo]", "∂/∂hi = [x > hi]"),
}


def connection(op: str, i: int, static: Mapping | None = None) -> str:
    """The local ("connection") derivative of op ``op`` with respect to its input ``i``.

    Elementwise ops give ``∂/∂x`` (or ``∂/∂a``, ``∂/∂b`` for two inputs); ops that move, sum or
    contract values say what their VJP does to the incoming cotangent ``g``. Ops without a
    formula here give ``"VJP of <op>"``.

    Parameters
    ----------
    op : str
        The primitive's name (``Node.prim.name``), e.g. ``"multiply"``.
    i : int
        The input's position among the op's arguments.
    static : mapping, optional
        The op's static arguments (``concat`` and ``stack`` name their ``axis``).

    Returns
    -------
    str

    Examples
    --------
    >>> from agrad.viz import connection
    >>> connection("multiply", 0), connection("matmul", 1), connection("log", 0)
    ('∂/∂a = b', 'g ↦ Aᵀ @ g', '∂/∂x = 1/x')
    >>> connection("cholesky", 0)
    'VJP of cholesky'
    """
    static = static or {}
    if op in _UNARY and i == 0:
        return f"∂/∂x = {_UNARY[op]}"
    if op in _BINARY and i < 2:
        return f"∂/∂{'ab'[i]} = {_BINARY[op][i]}"
    if op in _MOVES and i < len(_MOVES[op]) and _MOVES[op][i]:
        return _MOVES[op][i]
    if op == "concat":
        return f"g ↦ block {i} of g along axis {static.get('axis')}"
    if op == "stack":
        return f"g ↦ g[{i}] along axis {static.get('axis')}"
    return f"VJP of {op}"


# ---- errors ------------------------------------------------------------------------------------
_INSTALL = (
    'Install both: pip install "agrad[viz]" (the graphviz Python package), and the Graphviz '
    "programs: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS) or "
    "conda install graphviz. Without them, Graph.to_dot() still gives the DOT text, and "
    "render('graph.dot') writes it."
)


class GraphvizNotFoundError(RuntimeError):
    """Raised by :meth:`Graph.render` when the ``graphviz`` package or ``dot`` is missing."""


# ---- arguments ---------------------------------------------------------------------------------
def _tensor(x, where, what):
    if not isinstance(x, Tensor):
        raise TypeError(
            f"agrad.viz.{where}: {what} must be an agrad Tensor, got {type(x).__name__}"
        )
    return x


def _key(t: Tensor):
    """Where tensor ``t`` sits in the graph: ``(id(leaf), -1)`` or ``(id(node), output index)``.

    Keys are tuples of ints: a Tensor's ``==`` is elementwise, so tensors make poor dict keys
    beside other objects."""
    n = t._node
    return (id(t), -1) if n is None else (id(n), getattr(t, "_idx", 0))


def _entry_key(p):
    """The key of a parents entry: a Node, a ``(Node, output index)`` pair or a leaf Tensor."""
    tp = type(p)
    if tp is Node:
        return (id(p), 0)
    if tp is tuple:
        return (id(p[0]), p[1])
    return (id(p), -1)


def _items(params, where) -> list:
    """``[(name, tensor)]`` from a dict of tensors or a Module's ``named_parameters()``."""
    if params is None:
        return []
    from .nn.modules import Module

    if isinstance(params, Module):
        items = list(params.named_parameters())
    elif isinstance(params, Mapping):
        items = list(params.items())
    else:
        raise TypeError(
            f"agrad.viz.{where}: params must be a dict of name -> Tensor or an agrad.nn.Module, "
            f"got {type(params).__name__}"
        )
    for name, t in items:
        if not isinstance(name, str):
            raise TypeError(
                f"agrad.viz.{where}: params keys must be str names, got {type(name).__name__} "
                f"{name!r}"
            )
        if not isinstance(t, Tensor):
            raise TypeError(
                f"agrad.viz.{where}: params[{name!r}] must be an agrad Tensor, got "
                f"{type(t).__name__}"
            )
    return items


def _names(items) -> dict:
    """``{key: name}``; a tensor given several names gets them all, comma-separated."""
    names = {}
    for name, t in items:
        k = _key(t)
        names[k] = f"{names[k]}, {name}" if k in names else name
    return names


def _resolve(target, items, where, what):
    """``target`` as a Tensor: a Tensor as is, or a name looked up in ``params``."""
    if isinstance(target, str):
        for name, t in items:
            if name == target:
                return t
        known = ", ".join(repr(name) for name, _ in items) or "none: params is empty"
        raise ValueError(
            f"agrad.viz.{where}: {what}={target!r} is not a name in params (names: {known}); "
            "pass the tensor itself or add it to params"
        )
    return _tensor(target, where, what)


def _shape_str(shape) -> str:
    return str(tuple(int(s) for s in shape))


def _dtype_str(bk, raw_dtype) -> str:
    return str(bk.dtype(raw_dtype))


def _show(t: Tensor, limit: int = 6) -> str:
    """A tensor's values when it has at most ``limit`` elements, else its shape and norm."""
    if t.size <= limit:
        import numpy as np

        a = t.detach().numpy()
        if a.ndim == 0 and a.dtype.kind == "f":
            return f"{float(a):.5g}"
        return np.array2string(a, separator=", ", formatter={"float_kind": "{:.5g}".format})
    from .linalg import vector_norm

    with no_grad():
        norm = float(vector_norm(t.detach()))
    return f"shape {_shape_str(t.shape)}, ‖·‖ = {norm:.4g}"


def _copy(n: Node, parents) -> Node:
    """A shallow copy of ``n`` (same saved values) with new ``parents`` and no retained
    tensors, so a backward over it writes no ``.grad`` and frees nothing of ``n``."""
    return Node(n.prim, n.bk, n.dev, parents, n.meta, n.saved, n.out, n.static, n.nout)


def _repoint(p, copies):
    tp = type(p)
    if tp is Node:
        return copies[p]
    if tp is tuple:
        return (copies[p[0]], p[1])
    return p


def _check_saved(nodes, where, why):
    for n in nodes:
        if n.saved is None:
            raise RuntimeError(
                f"agrad.viz.{where}: {why}, but the values saved by op '{n.prim.name}' were freed "
                "by an earlier backward(). Call backward(retain_graph=True) the first time, or "
                "build the graph again."
            )


def _one_element(output, where, why):
    if output.size != 1:
        raise ValueError(
            f"agrad.viz.{where}: {why} needs a one-element output (a cost), got shape "
            f"{_shape_str(output.shape)}; reduce it first, e.g. ag.sum(output)"
        )


def _reaching(order, target_key) -> set:
    """The nodes of ``order`` (parents first) with a path back to ``target_key``."""
    reach = set()
    for n in order:
        if any(_on_path(p, reach, target_key) for p in n.parents):
            reach.add(n)
    return reach


def _on_path(p, reach, target_key) -> bool:
    """Whether the parents entry ``p`` is the target or leads back to it."""
    if p is None:
        return False
    if _entry_key(p) == target_key:
        return True
    tp = type(p)
    return (tp is Node and p in reach) or (tp is tuple and p[0] in reach)


def _gradients(output, wanted, order):
    """``{key: gradient}`` of a one-element ``output`` for the tensors ``wanted``.

    Runs the engine's backward over shallow copies of the graph (retained tensors dropped, so
    no ``.grad`` anywhere changes and the user's graph is not freed)."""
    copies = {}
    for n in order:  # parents first
        copies[n] = _copy(n, tuple(_repoint(p, copies) for p in n.parents))
    proxies = []
    for t in wanted:
        if t._node is None:
            proxies.append(t)
        else:
            proxies.append(_wrap(t._data, t._bk, t._dev, copies[t._node], getattr(t, "_idx", 0)))
    root = _wrap(output._data, output._bk, output._dev, copies[output._node], _key(output)[1])
    seed = _seed(output, None, False, "viz.graph")
    grads = run_backward([root], [seed], inputs=proxies, retain_graph=True)
    return {_key(t): g for t, g in zip(wanted, grads)}


# ---- graph -------------------------------------------------------------------------------------
class GraphNode(NamedTuple):
    """One node of a :class:`Graph`: an op (``kind="op"``) or a leaf tensor (``kind="leaf"``)."""

    id: str
    kind: str
    op: str | None  # the primitive's name, for op nodes
    names: tuple  # the names given to its output(s) in params, as (output index, name) pairs
    shape: tuple | None  # a leaf's shape
    dtype: str | None  # a leaf's dtype
    grads: tuple  # (name, text) of the gradients shown, with grads=True
    output: bool  # the graph's output (drawn on top)
    highlighted: bool


class GraphEdge(NamedTuple):
    """One edge of a :class:`Graph`: the value flowing from ``tail`` into input ``input`` of
    op ``head``."""

    tail: str
    head: str
    input: int
    output_index: int | None  # which output of a multi-output tail, else None
    shape: tuple
    dtype: str
    connection: str | None  # the local derivative, with connections=True
    highlighted: bool


_HIGHLIGHT = "#d62728"


def _q(text: str) -> str:
    """A DOT double-quoted string (newlines become centred line breaks)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Graph:
    """A drawn computation: what :func:`graph` returns.

    Attributes
    ----------
    nodes : list of GraphNode
        Ops and leaves, parents before the ops that use them; the output comes last.
    edges : list of GraphEdge
        One per differentiable input of every op, in argument order.
    output_name : str
        The output's name (``"output"`` unless ``params`` names it).
    """

    def __init__(self, nodes, edges, output_name):
        self.nodes = nodes
        self.edges = edges
        self.output_name = output_name

    def __repr__(self) -> str:
        ops = sum(n.kind == "op" for n in self.nodes)
        leaves, edges = len(self.nodes) - ops, len(self.edges)
        return (
            f"<agrad.viz.Graph of {self.output_name}: {ops} op{'s' * (ops != 1)}, "
            f"{leaves} lea{'ves' if leaves != 1 else 'f'}, {edges} edge{'s' * (edges != 1)}>"
        )

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text (no dependency needed).

        The output is on top (``rankdir=BT``: values flow upwards); ops are boxes, leaves
        ellipses, highlighted nodes and edges red and bold.

        Examples
        --------
        >>> import agrad as ag
        >>> from agrad import viz
        >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
        >>> print(viz.graph(ag.sum(ag.exp(w)), {"w": w}).to_dot())  # doctest: +ELLIPSIS
        digraph agrad {
          graph [rankdir=BT, ...];
          ...
          l0 [label="w\\n(2,) float64", ...];
          n0 [label="exp", ...];
          n1 [label="output\\nsum", ...];
          l0 -> n0 [label="(2,) float64"];
          n0 -> n1 [label="(2,) float64"];
        }
        """
        lines = [
            "digraph agrad {",
            '  graph [rankdir=BT, fontname="Helvetica", nodesep=0.4, ranksep=0.45];',
            '  node [fontname="Helvetica", fontsize=11, style=filled, penwidth=1];',
            '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
        ]
        for n in self.nodes:
            if n.kind == "op":
                label = [name if k is None else f"{name} = [{k}]" for k, name in n.names]
                if n.output and not n.names:
                    label.append(self.output_name)
                label.append(n.op)
                attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fe"}
            else:
                label = [", ".join(name for _, name in n.names)] if n.names else []
                label.append(f"{_shape_str(n.shape)} {n.dtype}" if n.names else _shape_str(n.shape))
                attrs = {"shape": "ellipse", "fillcolor": "#fff4e0" if n.names else "#f2f2f2"}
            for name, text in n.grads:
                label.append(f"∂{self.output_name}/∂{name} =\n{text}")
            if n.output:
                attrs["peripheries"] = "2"
                attrs["fillcolor"] = "#e6f4ea"
            if n.highlighted:
                attrs.update(color=_HIGHLIGHT, fontcolor=_HIGHLIGHT, penwidth="2.5")
                attrs["style"] = attrs.get("style", "filled") + ",bold"
            body = ", ".join(
                [f"label={_q(chr(10).join(label))}"] + [f"{k}={_q(v)}" for k, v in attrs.items()]
            )
            lines.append(f"  {n.id} [{body}];")
        for e in self.edges:
            label = f"{_shape_str(e.shape)} {e.dtype}"
            if e.output_index is not None:
                label = f"[{e.output_index}] {label}"
            if e.connection is not None:
                label += "\n" + e.connection
            attrs = [f"label={_q(label)}"]
            if e.highlighted:
                attrs.append(
                    f'color="{_HIGHLIGHT}", fontcolor="{_HIGHLIGHT}", penwidth=2.5, style=bold'
                )
            lines.append(f"  {e.tail} -> {e.head} [{', '.join(attrs)}];")
        lines.append("}")
        return "\n".join(lines)

    def _pipe(self, fmt: str) -> bytes:
        try:
            import graphviz
        except ImportError:
            raise GraphvizNotFoundError(
                "agrad.viz.Graph.render: drawing needs the graphviz Python package, which is "
                f"not installed. {_INSTALL}"
            ) from None
        try:
            return graphviz.Source(self.to_dot(), format=fmt).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError(
                "agrad.viz.Graph.render: drawing needs the Graphviz `dot` program, which is not "
                f"on PATH. {_INSTALL}"
            ) from None

    def render(self, path) -> pathlib.Path:
        """Draw the graph into ``path``: SVG or PNG, chosen by its extension.

        ``.dot`` or ``.gv`` write the DOT text itself, with no dependency. SVG and PNG need the
        ``graphviz`` Python package (``pip install "agrad[viz]"``) and the Graphviz ``dot``
        program (``apt-get install graphviz`` or ``brew install graphviz``); without them a
        :class:`GraphvizNotFoundError` says how to install them.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write, e.g. ``"graph.svg"``.

        Returns
        -------
        pathlib.Path
            ``path``.

        Examples
        --------
        >>> import os, tempfile
        >>> import agrad as ag
        >>> from agrad import viz
        >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
        >>> g = viz.graph(ag.sum(w * w), {"w": w})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     g.render(os.path.join(d, "graph.dot")).read_text().startswith("digraph")
        True
        """
        path = pathlib.Path(path)
        ext = path.suffix.lower().lstrip(".")
        if ext in ("dot", "gv"):
            path.write_text(self.to_dot() + "\n", encoding="utf-8")
            return path
        if ext not in ("svg", "png"):
            raise ValueError(
                f"agrad.viz.Graph.render: cannot tell the format from the path {str(path)!r}; "
                "end it in .svg or .png (or .dot / .gv for the DOT text)"
            )
        path.write_bytes(self._pipe(ext))
        return path

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the SVG drawing when Graphviz is installed, else the repr."""
        try:
            svg = self._pipe("svg").decode("utf-8")
        except GraphvizNotFoundError:
            return {"text/plain": repr(self)}
        return {"image/svg+xml": svg, "text/plain": repr(self)}


def graph(
    output: Tensor,
    params=None,
    *,
    connections: bool = False,
    grads: bool = False,
    highlight=None,
) -> Graph:
    """The computational graph recorded behind ``output``, ready to draw.

    Nodes are the ops that produced ``output`` and the leaf tensors that require grad; edges
    carry the shape and dtype of the value flowing along them. Constants (tensors that do not
    require grad, Python scalars) are left out. The output is drawn on top.

    Parameters
    ----------
    output : Tensor
        The result whose graph to draw (usually a cost).
    params : dict of str to Tensor, or agrad.nn.Module, optional
        Names for tensors: leaves are labelled with theirs (a Module's parameters get their
        ``named_parameters()`` names, e.g. ``0.weight``), and a named non-leaf tensor labels
        the op that produced it (``"L2"``), the output included. Unnamed leaves are labelled
        with their shape. Tensors not in the graph are ignored.
    connections : bool
        Label each edge with its local derivative as well (see :func:`connection`).
    grads : bool
        Annotate each named tensor with the gradient of ``output`` with respect to it: a
        leaf's ``.grad`` when it is set (as after ``output.backward()``), otherwise computed
        from the graph, which is neither freed nor changed. Values are shown for tensors of
        up to 6 elements, else the shape and norm. Needs a one-element ``output``.
    highlight : Tensor or str, optional
        A tensor (or its name in ``params``): every node and edge on the paths from the output
        back to it is drawn red and bold.

    Returns
    -------
    Graph
        With :meth:`Graph.to_dot` and :meth:`Graph.render`.

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad import viz
    >>> w = ag.asarray([1.0, 2.0], requires_grad=True)
    >>> loss = ag.sum(ag.log(w) * w)
    >>> g = viz.graph(loss, {"w": w, "loss": loss}, connections=True, grads=True, highlight="w")
    >>> g
    <agrad.viz.Graph of loss: 3 ops, 1 leaf, 4 edges>
    >>> [e.connection for e in g.edges]
    ['∂/∂x = 1/x', '∂/∂a = b', '∂/∂b = a', 'g ↦ g broadcast to x.shape']
    >>> g.nodes[0].grads
    (('w', '[1, 1.6931]'),)
    >>> g.render("loss.svg")  # doctest: +SKIP
    """
    output = _tensor(output, "graph", "output")
    if output._node is None and not output.requires_grad:
        raise ValueError(
            "agrad.viz.graph: output has no recorded graph (it does not require grad); create "
            "its inputs with requires_grad=True, outside ag.no_grad()"
        )
    items = _items(params, "graph")
    names = _names(items)
    out_key = _key(output)
    out_name = names.get(out_key, "output")
    order = [] if output._node is None else _postorder([output._node], ())
    in_graph = {out_key} | {(id(n), k) for n in order for k in range(n.nout)}
    in_graph |= {_entry_key(p) for n in order for p in n.parents if p is not None}

    target = None
    reach = set()
    if highlight is not None:
        target = _key(_resolve(highlight, items, "graph", "highlight"))
        if target not in in_graph:
            what = repr(highlight) if isinstance(highlight, str) else "(the tensor given)"
            raise ValueError(
                f"agrad.viz.graph: highlight={what} is not in the graph of output (no path "
                "leads from output back to it); pass a tensor that output was computed from"
            )
        reach = _reaching(order, target)

    shown = {}
    if grads:
        _one_element(output, "graph", "grads=True")
        todo = []
        for k, t in {_key(t): t for _, t in items}.items():
            if k not in in_graph or k == out_key:
                continue
            if t._node is None and t.grad is not None:
                shown[k] = t.grad
            else:
                todo.append(t)
        if todo:
            _check_saved(order, "graph", "grads=True computes gradients from the graph")
            shown.update(_gradients(output, todo, order))

    def node_grads(keys):
        return tuple(
            (names[k], "no gradient" if shown[k] is None else _show(shown[k]))
            for k in keys
            if k in shown
        )

    nodes, edges, ids, leaf_count = [], [], {}, [0]

    def leaf_id(p):
        k = _entry_key(p)
        if k not in ids:
            ids[k] = f"l{leaf_count[0]}"
            leaf_count[0] += 1
            nodes.append(
                GraphNode(
                    ids[k],
                    "leaf",
                    None,
                    ((None, names[k]),) if k in names else (),
                    tuple(p.shape),
                    str(p.dtype),
                    node_grads([k]),
                    k == out_key,
                    k == target,
                )
            )
        return ids[k]

    if output._node is None:
        leaf_id(output)
    for j, n in enumerate(order):
        keys = [(id(n), k) for k in range(n.nout)]
        nid = f"n{j}"
        for i, p in enumerate(n.parents):
            if p is None:
                continue
            tp = type(p)
            tail = (
                ids[_entry_key(p)] if tp is Node or tp is tuple else leaf_id(p)
            )  # parents come first in order, so their ids exist
            shape, dt = n.meta[i]
            edges.append(
                GraphEdge(
                    tail,
                    nid,
                    i,
                    p[1] if tp is tuple else None,
                    tuple(int(s) for s in shape),
                    _dtype_str(n.bk, dt),
                    connection(n.prim.name, i, n.static) if connections else None,
                    _on_path(p, reach, target),
                )
            )
        for k in keys:
            ids[k] = nid
        nodes.append(
            GraphNode(
                nid,
                "op",
                n.prim.name,
                tuple((None if n.nout == 1 else k[1], names[k]) for k in keys if k in names),
                None,
                None,
                node_grads(k for k in keys if k != out_key),
                n is output._node,
                n in reach or (target is not None and target[0] == id(n)),
            )
        )
    return Graph(nodes, edges, out_name)


# ---- chain -------------------------------------------------------------------------------------
class Factor(NamedTuple):
    """One local derivative along a path: op ``op``'s output with respect to its input
    ``input`` (of shape ``shape`` and dtype ``dtype``)."""

    op: str
    input: int
    formula: str
    name: str | None  # the name of the op's output in params, if any
    shape: tuple
    dtype: str
    output: int | None = None  # which output the path leaves a multi-output op by

    def __str__(self) -> str:
        who = f"{self.name} = {self.op}" if self.name else self.op
        if self.output is not None:
            who += f" (output {self.output})"
        return f"{who}, input {self.input} {_shape_str(self.shape)}: {self.formula}"


class Path(NamedTuple):
    """One path from the output back to ``wrt``: its local derivatives, output first, and its
    contribution to the gradient (the cotangent pushed back along this path alone)."""

    factors: tuple
    value: Tensor
    labels: tuple  # the nodes along the path, output first, as printed

    def __str__(self) -> str:
        return " ← ".join(self.labels)


class Chain:
    """A chain-rule account of ``∂output/∂wrt``: what :func:`chain` returns.

    Attributes
    ----------
    paths : list of Path
        Every path from the output back to ``wrt``, each with ``.factors`` and ``.value``.
    total : Tensor
        The sum of the paths' values: the gradient of the output with respect to ``wrt``.
    output_name, wrt_name : str
    """

    def __init__(self, paths, total, output_name, wrt_name):
        self.paths = paths
        self.total = total
        self.output_name = output_name
        self.wrt_name = wrt_name

    def __repr__(self) -> str:
        return f"<agrad.viz.Chain ∂{self.output_name}/∂{self.wrt_name}: {len(self.paths)} paths>"

    def __str__(self) -> str:
        o, w, n = self.output_name, self.wrt_name, len(self.paths)
        out = [
            f"∂{o}/∂{w} by the chain rule: {n} path{'s' if n != 1 else ''} from {o} back to {w}",
            "(along each path the cotangent is pushed back through the local derivatives listed;",
            " the paths' contributions add up to the gradient)",
        ]
        for j, p in enumerate(self.paths, 1):
            out.append("")
            out.append(f"path {j}: {p}")
            for f in p.factors:
                out.append(f"    {f}")
            out.append("  contribution: " + _show(p.value).replace("\n", "\n" + " " * 16))
        out.append("")
        out.append(f"∂{o}/∂{w} = sum over the {n} path{'s' if n != 1 else ''}:")
        out.append("  " + _show(self.total).replace("\n", "\n  "))
        return "\n".join(out)


def chain(output: Tensor, wrt, params=None, *, max_paths: int = 1000) -> Chain:
    """A printable chain-rule account of ``∂output/∂wrt``, path by path.

    Every path in the graph from ``output`` back to ``wrt`` is listed with the local derivative
    of each op along it (see :func:`connection`), and its contribution is computed by pushing
    the cotangent back along that path only: each op's VJP runs on its saved values and only
    the cotangent of the input on the path is kept (un-broadcast as the tape does). By
    linearity the contributions add up to the gradient. The graph is neither freed nor
    changed, and no ``.grad`` is written.

    Parameters
    ----------
    output : Tensor
        A one-element result (a cost) with a recorded graph.
    wrt : Tensor or str
        The tensor to differentiate with respect to (a leaf, or an intermediate tensor), or its
        name in ``params``.
    params : dict of str to Tensor, or agrad.nn.Module, optional
        Names for tensors, as in :func:`graph`: named intermediate tensors label the op that
        produced them along the paths.
    max_paths : int
        Refuse graphs with more paths than this (their number can grow exponentially with
        depth).

    Returns
    -------
    Chain
        With ``.paths`` (each with ``.factors`` and ``.value``), ``.total`` and a printable
        account (``print(chain(...))``).

    Examples
    --------
    >>> import agrad as ag
    >>> from agrad import viz
    >>> a = ag.asarray(2.0, requires_grad=True)
    >>> b = a * a
    >>> y = b + ag.exp(a)
    >>> c = viz.chain(y, "a", {"a": a, "b": b, "y": y})
    >>> print(c)  # doctest: +NORMALIZE_WHITESPACE
    ∂y/∂a by the chain rule: 3 paths from y back to a
    (along each path the cotangent is pushed back through the local derivatives listed;
     the paths' contributions add up to the gradient)
    <BLANKLINE>
    path 1: y = add[0] ← b = multiply[0] ← a
        y = add, input 0 (): ∂/∂a = 1
        b = multiply, input 0 (): ∂/∂a = b
      contribution: 2
    <BLANKLINE>
    path 2: y = add[0] ← b = multiply[1] ← a
        y = add, input 0 (): ∂/∂a = 1
        b = multiply, input 1 (): ∂/∂b = a
      contribution: 2
    <BLANKLINE>
    path 3: y = add[1] ← exp ← a
        y = add, input 1 (): ∂/∂b = 1
        exp, input 0 (): ∂/∂x = exp(x)
      contribution: 7.3891
    <BLANKLINE>
    ∂y/∂a = sum over the 3 paths:
      11.389
    """
    output = _tensor(output, "chain", "output")
    if not isinstance(max_paths, int) or isinstance(max_paths, bool) or max_paths < 1:
        raise ValueError(f"agrad.viz.chain: max_paths must be a positive int, got {max_paths!r}")
    items = _items(params, "chain")
    names = _names(items)
    wrt = _resolve(wrt, items, "chain", "wrt")
    if output._node is None and output is not wrt:
        raise ValueError(
            "agrad.viz.chain: output has no recorded graph (it does not depend on any tensor "
            "that requires grad); create its inputs with requires_grad=True, outside "
            "ag.no_grad()"
        )
    _one_element(output, "chain", "the chain rule account")
    out_key, target = _key(output), _key(wrt)
    out_name = names.get(out_key, "output")
    wrt_name = names.get(target, "wrt")
    seed = _seed(output, None, False, "viz.chain")
    if target == out_key:  # ∂output/∂output: one empty path
        one = _wrap(seed, output._bk, output._dev)
        return Chain([Path((), one, (out_name,))], one, out_name, wrt_name)

    tnode = wrt._node
    order = _postorder([output._node], () if tnode is None else {tnode})
    reach = _reaching(order, target)
    count = {}
    for n in order:  # parents first: the number of paths from each node back to wrt
        if n in reach:
            count[n] = sum(
                1 if _entry_key(p) == target else count[p if type(p) is Node else p[0]]
                for p in n.parents
                if _on_path(p, reach, target)
            )
    total_paths = count.get(output._node, 0)
    if total_paths == 0:
        raise ValueError(
            f"agrad.viz.chain: no path leads from output back to wrt ({wrt_name}): output does "
            "not depend on it through ops that record gradients (does wrt require grad? was "
            "output computed from it?)"
        )
    if total_paths > max_paths:
        raise ValueError(
            f"agrad.viz.chain: the graph has {total_paths} paths from output back to wrt "
            f"({wrt_name}), more than max_paths={max_paths}; pass a larger max_paths, or take "
            "wrt (or output) closer to the other, e.g. a named intermediate tensor"
        )
    _check_saved(reach, "chain", "computing the paths' contributions runs the ops' VJPs")

    # Enumerate the paths (depth first, inputs in argument order): each is a list of steps
    # (node, output index the path leaves it by, input index the path enters it by).
    paths = []
    stack = [(output._node, out_key[1], [])]
    while stack:
        n, k, steps = stack.pop()
        for i in reversed(range(len(n.parents))):
            p = n.parents[i]
            if not _on_path(p, reach, target):
                continue
            here = steps + [(n, k, i)]
            if _entry_key(p) == target:
                paths.append(here)
            else:
                stack.append((p if type(p) is Node else p[0], _entry_key(p)[1], here))
    paths.sort(key=lambda steps: [i for _, _, i in steps])  # by input indices, output first

    # The target as the backward sees it: the leaf itself, or a copy of its node with no
    # parents (a stop node; the user's node and its retained tensors are left alone).
    if tnode is None:
        end, proxy = wrt, wrt
    else:
        tcopy = _copy(tnode, (None,) * len(tnode.parents))
        end = tcopy if tnode.nout == 1 else (tcopy, target[1])
        proxy = _wrap(wrt._data, wrt._bk, wrt._dev, tcopy, target[1])

    result = []
    for steps in paths:
        below = end
        for n, k, i in reversed(steps):
            c = _copy(n, tuple(below if j == i else None for j in range(len(n.parents))))
            below = c if n.nout == 1 else (c, k)
        top = below if type(below) is Node else below[0]
        root = _wrap(output._data, output._bk, output._dev, top, out_key[1])
        (g,) = run_backward([root], [seed], inputs=[proxy], retain_graph=True)
        if g is None:  # an op on the path passes no gradient to that input
            from .ops.creation import zeros_like

            g = zeros_like(wrt.detach())
        factors = tuple(
            Factor(
                n.prim.name,
                i,
                connection(n.prim.name, i, n.static),
                names.get((id(n), k)),
                tuple(int(s) for s in n.meta[i][0]),
                _dtype_str(n.bk, n.meta[i][1]),
                k if n.nout > 1 else None,
            )
            for n, k, i in steps
        )
        labels = []
        for j, (n, k, i) in enumerate(steps):
            name = out_name if j == 0 else names.get((id(n), k))
            label = f"{name} = {n.prim.name}" if name else n.prim.name
            if n.nout > 1:
                label += f"(output {k})"
            labels.append(label + (f"[{i}]" if len(n.parents) > 1 else ""))
        labels.append(wrt_name)
        result.append(Path(factors, g, tuple(labels)))

    total = result[0].value
    for p in result[1:]:
        total = total + p.value
    return Chain(result, total, out_name, wrt_name)
