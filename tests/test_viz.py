"""agrad.viz: the graph's DOT text, rendering, the chain-rule account, errors, the example."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
import sys
import types

import numpy as np
import pytest
from test_examples import _run_script

import agrad as ag
import agrad.viz as viz

ROOT = pathlib.Path(__file__).resolve().parents[1]
GRAPH_PY = ROOT / "examples" / "graph.py"
RED = "#d62728"

HAVE_GRAPHVIZ = importlib.util.find_spec("graphviz") is not None
HAVE_DOT = shutil.which("dot") is not None


def leaf(values, backend="numpy"):
    return ag.asarray(
        np.asarray(values, dtype=float), dtype=ag.float64, backend=backend, requires_grad=True
    )


def xor_net(backend="numpy"):
    """The XOR network of examples/xor.py: X, y, θ1, θ2, L2, L3 and the cost C."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from xor import cost, forward
    finally:
        sys.path.remove(str(ROOT / "examples"))
    rng = np.random.default_rng(0)
    X = ag.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=ag.float64, backend=backend)
    y = ag.asarray([[0], [1], [1], [0]], dtype=ag.float64, backend=backend)
    t1 = leaf(rng.normal(size=(3, 2)), backend)
    t2 = leaf(rng.normal(size=(3, 1)), backend)
    L2, L3 = forward(X, t1, t2)
    C = cost(L3, y)
    return {"X": X, "y": y, "θ1": t1, "θ2": t2, "L2": L2, "L3": L3, "C": C}


# ---- parsing the DOT text --------------------------------------------------------------------
NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r'^  (\w+) -> (\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')


def parse(dot):
    """``{id: (label, attrs)}`` and ``[(tail label, head label, edge label, attrs)]``."""
    nodes, edges = {}, []
    for line in dot.splitlines():
        m = EDGE.match(line)
        if m:
            edges.append(m.groups())
            continue
        m = NODE.match(line)
        if m:
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
    first = lambda i: nodes[i][0].split("\n")[0]  # noqa: E731
    named = [(first(t), first(h), lab.replace("\\n", "\n"), a) for t, h, lab, a in edges]
    return nodes, named


def labels(dot):
    return [lab for lab, _ in parse(dot)[0].values()]


# ---- graph(): structure ----------------------------------------------------------------------
def test_xor_graph_nodes_names_and_edge_labels():
    net = xor_net()
    names = {k: net[k] for k in ("θ1", "θ2", "L2", "L3", "C")}
    g = viz.graph(net["C"], names)
    dot = g.to_dot()
    assert dot.startswith("digraph agrad {\n") and dot.endswith("}")
    assert "rankdir=BT" in dot  # values flow upwards: the output is on top
    nodes, edges = parse(dot)
    # θ1 and θ2 are the only leaves (X and y do not require grad), named with shape and dtype
    leaves = sorted(lab for i, (lab, _) in nodes.items() if i.startswith("l"))
    assert leaves == ["θ1\n(3, 2) float64", "θ2\n(3, 1) float64"]
    # named intermediates label the op that produced them; the output is marked
    ops = [lab for i, (lab, _) in nodes.items() if i.startswith("n")]
    assert "L2\nconcat" in ops and "L3\ndivide" in ops
    out = [i for i, (_, attrs) in nodes.items() if "peripheries" in attrs]
    assert [nodes[i][0] for i in out] == ["C\nmean"]
    assert g.nodes[-1].output and g.output_name == "C"
    # edges: shape and dtype of the value flowing along them
    assert ("θ1", "matmul", "(3, 2) float64", "") in edges
    assert ("θ2", "matmul", "(3, 1) float64", "") in edges
    assert ("L2", "matmul", "(4, 3) float64", "") in edges
    assert ("subtract", "C", "(4, 1) float64", "") in edges
    assert len(edges) == len(g.edges) == 20
    assert len(nodes) == len(g.nodes) == 20  # 18 ops and 2 leaves
    assert repr(g) == "<agrad.viz.Graph of C: 18 ops, 2 leaves, 20 edges>"


def test_unnamed_leaves_get_their_shape_and_the_output_its_role():
    a, b = leaf([1.0, 2.0]), leaf([[3.0], [4.0], [5.0]])
    z = ag.sum(a * b)
    labs = labels(viz.graph(z).to_dot())
    assert "(2,)" in labs and "(3, 1)" in labs
    assert "output\nsum" in labs
    # broadcasting: both inputs of multiply keep their own shapes on their edges
    _, edges = parse(viz.graph(z).to_dot())
    assert ("(2,)", "multiply", "(2,) float64", "") in edges
    assert ("(3, 1)", "multiply", "(3, 1) float64", "") in edges
    assert ("multiply", "output", "(3, 2) float64", "") in edges


def test_a_leaf_output_is_a_one_node_graph():
    a = leaf([1.0])
    g = viz.graph(a, {"a": a})
    assert [(n.kind, n.output) for n in g.nodes] == [("leaf", True)] and g.edges == []
    assert "peripheries" in g.to_dot()


def test_module_parameters_are_named_by_attribute_path():
    rng = ag.random.default_rng(0)
    net = ag.nn.Sequential(
        ag.nn.Linear(2, 3, rng=rng, dtype=ag.float64),
        ag.nn.Tanh(),
        ag.nn.Linear(3, 1, rng=rng, dtype=ag.float64),
    )
    x = ag.asarray([[0.5, -1.0], [1.5, 2.0]], dtype=ag.float64)
    loss = ag.mean(net(x) ** 2)
    g = viz.graph(loss, net, grads=True)
    labs = labels(g.to_dot())
    for name, shape in [("0.weight", (3, 2)), ("0.bias", (3,)), ("2.weight", (1, 3))]:
        assert any(lab.startswith(f"{name}\n{shape} float64") for lab in labs), labs
    ch = viz.chain(loss, "0.weight", net)
    assert str(ch).startswith("∂output/∂0.weight by the chain rule: 1 path from output back to")
    loss.backward()
    np.testing.assert_allclose(ch.total.numpy(), net[0].weight.grad.numpy(), rtol=1e-12)
    by_name = {n.names[0][1]: n for n in g.nodes if n.kind == "leaf"}
    assert set(by_name) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    w = net[2].weight.grad.numpy()
    text = by_name["2.weight"].grads[0][1]
    np.testing.assert_allclose(np.array(eval(text)), w, rtol=1e-4)
    assert by_name["0.weight"].grads[0][1].startswith("[[")


def test_graph_on_every_backend(backend):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], backend)
    w = leaf([0.5, -0.5], backend)
    z = ag.sum(ag.exp(x) * w)
    g = viz.graph(z, {"x": x, "w": w, "z": z}, connections=True, grads=True, highlight="w")
    _, edges = parse(g.to_dot())
    assert ("x", "exp", "(2, 2) float64\n∂/∂x = exp(x)", "") in edges
    assert ("w", "multiply", "(2,) float64\n∂/∂b = a", "") not in edges  # it is highlighted
    assert [e[:3] for e in edges if RED in e[3]] == [
        ("w", "multiply", "(2,) float64\n∂/∂b = a"),
        ("multiply", "z", "(2, 2) float64\ng ↦ g broadcast to x.shape"),
    ]
    z.backward()
    shown = {n.names[0][1]: n.grads[0][1] for n in g.nodes if n.kind == "leaf"}
    np.testing.assert_allclose(np.array(eval(shown["w"])), w.grad.numpy(), rtol=1e-4)


# ---- graph(): highlight -----------------------------------------------------------------------
def two_branches():
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    h = a * b
    z = ag.sum(h) + ag.sum(b * b)
    return a, b, h, z


def test_highlight_colours_exactly_the_path_to_a_leaf():
    a, b, h, z = two_branches()
    g = viz.graph(z, {"a": a, "b": b, "h": h, "z": z}, highlight=a)
    nodes, edges = parse(g.to_dot())
    red = [(t, hd) for t, hd, _, attrs in edges if RED in attrs]
    assert red == [("a", "h"), ("h", "sum"), ("sum", "z")]
    assert all("penwidth=2.5" in attrs and "bold" in attrs for *_, attrs in edges if RED in attrs)
    plain = [(t, hd) for t, hd, _, attrs in edges if RED not in attrs]
    assert sorted(plain) == [
        ("b", "h"),
        ("b", "multiply"),
        ("b", "multiply"),
        ("multiply", "sum"),
        ("sum", "z"),
    ]
    red_nodes = sorted(lab.split("\n")[0] for lab, attrs in nodes.values() if RED in attrs)
    assert red_nodes == ["a", "h", "sum", "z"]
    assert sum(n.highlighted for n in g.nodes) == 4
    assert [e.highlighted for e in g.edges].count(True) == 3


def test_highlight_an_intermediate_by_name_stops_there():
    a, b, h, z = two_branches()
    g = viz.graph(z, {"a": a, "b": b, "h": h, "z": z}, highlight="h")
    red = [(t, hd) for t, hd, _, attrs in parse(g.to_dot())[1] if RED in attrs]
    assert red == [("h", "sum"), ("sum", "z")]


def test_highlight_a_shared_leaf_colours_every_path():
    a, b, h, z = two_branches()
    g = viz.graph(z, {"b": b}, highlight="b")
    assert sum(e.highlighted for e in g.edges) == 7  # every edge but a -> multiply
    assert [e.highlighted for e in g.edges if e.tail == "l0"] == [False]


def test_highlight_one_output_of_a_multi_output_op():
    a = leaf([1.0, 2.0, 3.0])
    u0, u1, u2 = ag.unstack(a * a)
    z = u0 * u2 + ag.exp(u1)
    g = viz.graph(z, {"a": a, "u1": u1}, highlight="u1")
    red = [(e.tail, e.head, e.output_index) for e in g.edges if e.highlighted]
    unstack = next(n.id for n in g.nodes if n.op == "unstack")
    assert red[0] == (unstack, next(n.id for n in g.nodes if n.op == "exp"), 1)
    assert len(red) == 2  # unstack -[1]-> exp -> add (the output)
    assert "u1 = [1]\nunstack" in labels(g.to_dot())
    assert '"[0] () float64"' in g.to_dot()  # edges from a multi-output op name the output


# ---- graph(): connections and grads -----------------------------------------------------------
def test_connection_labels_per_primitive_and_input():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    W = leaf([[0.5], [-0.5]])
    h = ag.concat([ag.log(x) @ W, ag.reshape(x[0], (2, 1))], axis=1)
    z = ag.mean(ag.cumulative_prod(h, axis=1) / (h + 2.0))
    g = viz.graph(z, {"x": x, "W": W}, connections=True)
    conn = {(e.tail, e.head, e.input): e.connection for e in g.edges}
    by_op = {}
    for e in g.edges:
        head = next(n.op for n in g.nodes if n.id == e.head)
        by_op.setdefault(head, []).append(e.connection)
    assert by_op["log"] == ["∂/∂x = 1/x"]
    assert by_op["matmul"] == ["g ↦ g @ Bᵀ", "g ↦ Aᵀ @ g"]
    assert by_op["getitem"] == ["g ↦ g scattered (added) into zeros at the key"]
    assert by_op["reshape"] == ["g ↦ reshape(g, x.shape)"]
    assert by_op["concat"] == ["g ↦ block 0 of g along axis 1", "g ↦ block 1 of g along axis 1"]
    assert by_op["cumulative_prod"] == ["VJP of cumulative_prod"]  # the generic fallback
    assert sorted(by_op["divide"]) == ["∂/∂a = 1/b", "∂/∂b = −a/b²"]
    assert by_op["mean"] == ["g ↦ g/n broadcast to x.shape"]
    assert viz.connection("sum", 0) == "g ↦ g broadcast to x.shape"
    assert len(conn) == len(g.edges)
    assert "\\n∂/∂x = 1/x" in g.to_dot()  # the formula is the edge label's second line
    assert all(e.connection is None for e in viz.graph(z).edges)


def test_connection_formulas():
    assert viz.connection("multiply", 0) == "∂/∂a = b"
    assert viz.connection("multiply", 1) == "∂/∂b = a"
    assert viz.connection("exp", 0) == "∂/∂x = exp(x)"
    assert viz.connection("matmul", 0) == "g ↦ g @ Bᵀ"
    assert viz.connection("matmul", 1) == "g ↦ Aᵀ @ g"
    assert viz.connection("subtract", 1) == "∂/∂b = −1"
    assert viz.connection("where", 2) == "∂/∂b = [not condition]"
    assert viz.connection("stack", 2, {"axis": 0}) == "g ↦ g[2] along axis 0"
    assert viz.connection("qr", 0) == "VJP of qr"
    assert viz.connection("exp", 1) == "VJP of exp"  # no such input: no formula is made up


def test_grads_are_computed_without_touching_the_graph_or_grad():
    a, b, h, z = two_branches()
    h.retain_grad()
    g = viz.graph(z, {"a": a, "b": b, "h": h}, grads=True)
    assert a.grad is None and b.grad is None and h.grad is None  # nothing written
    shown = {name: text for n in g.nodes for name, text in n.grads}
    assert shown == {"a": "[3, -1]", "b": "[7, 0]", "h": "[1, 1]"}  # ∂z/∂b = a + 2b
    assert "∂z/∂a" not in g.to_dot() and "∂output/∂a =\\n[3, -1]" in g.to_dot()
    z.backward()  # the graph was not freed
    np.testing.assert_allclose(b.grad.numpy(), [7.0, 0.0])
    np.testing.assert_allclose(h.grad.numpy(), [1.0, 1.0])


def test_grads_use_a_leafs_grad_when_set_and_show_big_ones_by_norm():
    a = leaf(np.arange(12.0).reshape(3, 4))
    z = ag.sum(a * a)
    z.backward()  # frees the graph: .grad is what is shown
    a.grad = a.grad * 0 + 0.5
    g = viz.graph(z, {"a": a}, grads=True)
    assert g.nodes[0].grads == (("a", "shape (3, 4), ‖·‖ = 1.732"),)


def test_grads_of_an_unused_output_and_of_tensors_outside_the_graph():
    a = leaf([1.0, 2.0])
    u0, u1 = ag.unstack(a)
    z = u0 * 2.0
    g = viz.graph(z, {"u1": u1, "a": a, "other": leaf([1.0])}, grads=True)
    # u1 is an output of the drawn unstack that z does not use; "other" is not drawn at all
    assert {n: t for nd in g.nodes for n, t in nd.grads} == {"a": "[2, 0]", "u1": "no gradient"}


# ---- rendering -------------------------------------------------------------------------------
needs_graphviz = pytest.mark.skipif(
    not (HAVE_GRAPHVIZ and HAVE_DOT),
    reason="rendering needs the graphviz package (pip install 'agrad[viz]') and the Graphviz "
    "`dot` program (apt-get install graphviz / brew install graphviz), absent here",
)


@needs_graphviz
def test_render_svg_and_png(tmp_path):
    net = xor_net()
    names = {k: net[k] for k in ("θ1", "θ2", "L2", "L3", "C")}
    g = viz.graph(net["C"], names, connections=True, grads=True, highlight="θ1")
    svg = g.render(tmp_path / "xor.svg")
    assert svg == tmp_path / "xor.svg"
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "θ1" in text and RED in text
    png = g.render(str(tmp_path / "xor.PNG"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")


def test_render_dot_text_needs_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    a = leaf([1.0])
    g = viz.graph(ag.exp(a), {"a": a})
    path = g.render(tmp_path / "g.gv")
    assert path.read_text(encoding="utf-8") == g.to_dot() + "\n"


def test_render_refuses_an_unknown_extension(tmp_path):
    g = viz.graph(ag.exp(leaf([1.0])))
    with pytest.raises(ValueError, match=r"cannot tell the format from the path .*g\.pdf.*\.svg"):
        g.render(tmp_path / "g.pdf")
    with pytest.raises(ValueError, match="end it in .svg or .png"):
        g.render(tmp_path / "noext")


INSTALL = r'pip install "agrad\[viz\]".*apt-get install graphviz.*brew install graphviz'


def test_render_without_the_graphviz_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` raises ImportError
    g = viz.graph(ag.exp(leaf([1.0])))
    with pytest.raises(viz.GraphvizNotFoundError, match="graphviz Python package.*" + INSTALL):
        g.render(tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    assert g._repr_mimebundle_() == {"text/plain": repr(g)}


def test_render_without_the_dot_program_says_how_to_install(tmp_path, monkeypatch):
    class ExecutableNotFound(RuntimeError):
        pass

    class Source:
        def __init__(self, source, **kw):
            pass

        def pipe(self, **kw):
            raise ExecutableNotFound("failed to execute PosixPath('dot')")

    fake = types.SimpleNamespace(Source=Source, ExecutableNotFound=ExecutableNotFound)
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    g = viz.graph(ag.exp(leaf([1.0])))
    with pytest.raises(viz.GraphvizNotFoundError, match="`dot` program.*not on PATH.*" + INSTALL):
        g.render(tmp_path / "g.png")


@pytest.mark.skipif(not HAVE_GRAPHVIZ, reason="needs the graphviz Python package")
def test_render_with_dot_off_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # the real package, no `dot` to run
    g = viz.graph(ag.exp(leaf([1.0])))
    with pytest.raises(viz.GraphvizNotFoundError, match="`dot` program"):
        g.render(tmp_path / "g.svg")


# ---- graph(): errors -------------------------------------------------------------------------
def test_graph_errors():
    a, b, h, z = two_branches()
    with pytest.raises(TypeError, match=r"agrad\.viz\.graph: output must be an agrad Tensor, got"):
        viz.graph(np.ones(2))
    with pytest.raises(ValueError, match=r"agrad\.viz\.graph: output has no recorded graph"):
        viz.graph(ag.asarray([1.0]) * 2.0)
    with pytest.raises(TypeError, match=r"params must be a dict of name -> Tensor or an agrad"):
        viz.graph(z, [a, b])
    with pytest.raises(TypeError, match=r"params\['a'\] must be an agrad Tensor, got ndarray"):
        viz.graph(z, {"a": np.ones(2)})
    with pytest.raises(TypeError, match=r"params keys must be str names, got int 0"):
        viz.graph(z, {0: a})
    with pytest.raises(ValueError, match=r"highlight='c' is not a name in params \(names: 'a'"):
        viz.graph(z, {"a": a}, highlight="c")
    with pytest.raises(ValueError, match=r"highlight='c' is not a name in params \(names: none"):
        viz.graph(z, highlight="c")
    other = leaf([1.0])
    with pytest.raises(ValueError, match=r"highlight='other' is not in the graph of output"):
        viz.graph(z, {"other": other}, highlight="other")
    with pytest.raises(ValueError, match=r"highlight=\(the tensor given\) is not in the graph"):
        viz.graph(z, highlight=other)
    with pytest.raises(TypeError, match=r"agrad\.viz\.graph: highlight must be an agrad Tensor"):
        viz.graph(z, highlight=3)
    with pytest.raises(ValueError, match=r"grads=True needs a one-element output .*\(2,\)"):
        viz.graph(h, {"a": a}, grads=True)
    z.backward()  # frees the graph; h has no .grad to show
    with pytest.raises(RuntimeError, match=r"grads=True computes .* freed .*retain_graph=True"):
        viz.graph(z, {"h": h}, grads=True)
    viz.graph(z, {"a": a, "b": b}, grads=True)  # leaves show their .grad: nothing to compute


# ---- chain() ---------------------------------------------------------------------------------
def _graphs(backend):
    """(output, wrt, params, expected number of paths) on several kinds of graph."""
    net = xor_net(backend)
    names = {k: net[k] for k in ("θ1", "θ2", "L2", "L3", "C")}
    x = leaf([[0.5, -1.0, 2.0]], backend)  # (1, 3), broadcast against (2, 3) and (2, 1)
    w = leaf([[1.5], [-0.5]], backend)
    s = x * w  # shared: used twice below
    bcast = ag.sum(ag.exp(s) * x + s * s / (1.0 + w * w))
    a = leaf([0.3, -0.7, 1.1], backend)
    u = ag.unstack(a * 2.0)  # a multi-output op
    multi = u[0] * u[2] + ag.tanh(u[1]) + ag.sum(a[1:] ** 2)
    M = leaf([[1.0, 2.0], [0.5, -1.0]], backend)
    v = leaf([0.2, 0.4], backend)
    lin = ag.sum(ag.log(1.0 + ag.square(M @ v + ag.concat([v, v])[:2])))
    return [
        ("xor θ1", net["C"], net["θ1"], names, 2),
        ("xor θ2", net["C"], "θ2", names, 2),
        ("xor L2", net["C"], "L2", names, 2),  # an intermediate tensor
        ("xor L3", net["C"], net["L3"], names, 2),
        ("broadcast x", bcast, x, {}, 4),
        ("broadcast w", bcast, w, None, 5),
        ("unstack", multi, a, {"a": a}, 4),
        ("unstack u1", multi, u[1], {}, 1),
        ("matmul concat", lin, v, {"v": v}, 3),
    ]


def test_chain_total_equals_backward_on_every_backend(backend):
    for what, out, wrt, params, n in _graphs(backend):
        ch = viz.chain(out, wrt, params)
        assert len(ch.paths) == n, what
        t = params[wrt] if isinstance(wrt, str) else wrt
        t.grad = None  # the graphs share leaves: start afresh
        t.retain_grad()
        out.backward(retain_graph=True)
        expected = t.grad
        t.grad = None
        assert ch.total.backend == backend and ch.total.shape == t.shape, what
        assert ch.total.dtype == t.dtype, what
        np.testing.assert_allclose(ch.total.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)
        for p in ch.paths:
            assert p.value.shape == t.shape and len(p.factors) == len(p.labels) - 1


def test_chain_paths_factors_and_printout():
    net = xor_net()
    names = {k: net[k] for k in ("θ1", "θ2", "L2", "L3", "C")}
    ch = viz.chain(net["C"], "θ2", names)
    assert repr(ch) == "<agrad.viz.Chain ∂C/∂θ2: 2 paths>"
    p1, p2 = ch.paths
    assert str(p1) == (
        "C = mean ← subtract[0] ← multiply[1] ← log ← L3 = divide[1] ← add[1] ← exp ← negative "
        "← matmul[1] ← θ2"
    )
    assert [f.op for f in p2.factors] == [
        "mean",
        "subtract",
        "multiply",
        "log",
        "subtract",
        "divide",
        "add",
        "exp",
        "negative",
        "matmul",
    ]
    f = p1.factors[4]
    assert (f.op, f.input, f.name, f.shape, f.dtype) == ("divide", 1, "L3", (4, 1), "float64")
    assert f.formula == "∂/∂b = −a/b²" and str(f) == "L3 = divide, input 1 (4, 1): ∂/∂b = −a/b²"
    text = str(ch)
    assert text.startswith("∂C/∂θ2 by the chain rule: 2 paths from C back to θ2\n")
    assert "\npath 1: C = mean ← subtract[0]" in text and "\npath 2: " in text
    assert "    matmul, input 1 (3, 1): g ↦ Aᵀ @ g\n  contribution: [[" in text
    assert "\n∂C/∂θ2 = sum over the 2 paths:\n  [[" in text
    # the textbook form: each path is one term of the cross-entropy
    X, y, L2, L3 = (net[k].detach() for k in ("X", "y", "L2", "L3"))
    m = X.shape[0]
    np.testing.assert_allclose(p1.value.numpy(), (L2.mT @ (-y * (1 - L3)) / m).numpy())
    np.testing.assert_allclose(p2.value.numpy(), (L2.mT @ ((1 - y) * L3) / m).numpy())
    np.testing.assert_allclose(ch.total.numpy(), (L2.mT @ (L3 - y) / m).numpy())


def test_chain_leaves_the_graph_and_grads_alone():
    a, b, h, z = two_branches()
    h.retain_grad()
    ch = viz.chain(z, b, {"b": b, "z": z})
    assert [str(p) for p in ch.paths] == [
        "z = add[0] ← sum ← multiply[1] ← b",
        "z = add[1] ← sum ← multiply[0] ← b",
        "z = add[1] ← sum ← multiply[1] ← b",
    ]
    assert [p.value.numpy().tolist() for p in ch.paths] == [[1.0, 2.0], [3.0, -1.0], [3.0, -1.0]]
    assert a.grad is None and b.grad is None and h.grad is None
    z.backward()
    np.testing.assert_allclose(b.grad.numpy(), ch.total.numpy())


def test_chain_through_a_multi_output_op_names_the_output():
    a = leaf([1.0, 2.0, 3.0])
    u0, u1, u2 = ag.unstack(a * a)
    z = u0 * u2 + ag.exp(u1)
    ch = viz.chain(z, a, {"a": a, "u1": u1, "z": z})
    labs = [str(p) for p in ch.paths]
    assert "z = add[1] ← exp ← u1 = unstack(output 1) ← multiply[0] ← a" in labs
    f = ch.paths[-1].factors[2]
    assert (f.op, f.output, f.name) == ("unstack", 1, "u1")
    assert str(f).startswith("u1 = unstack (output 1), input 0 (3,): ")
    z.backward()
    np.testing.assert_allclose(ch.total.numpy(), a.grad.numpy())


def test_chain_of_the_output_itself_and_zero_paths():
    a = leaf([2.0])
    z = ag.sum(a * 3.0)
    ch = viz.chain(z, z, {"z": z})
    assert len(ch.paths) == 1 and ch.paths[0].factors == () and float(ch.total) == 1.0
    # a path whose op passes no gradient on (floor's derivative is 0) still counts, as zeros
    y = ag.sum(ag.floor(a) + a)
    ch = viz.chain(y, a)
    assert [p.value.numpy().tolist() for p in ch.paths] == [[0.0], [1.0]]


def test_chain_refuses_too_many_paths():
    x = leaf([0.5])
    y = x
    for _ in range(7):
        y = y * y  # every level doubles the paths: 2**7 = 128
    z = ag.sum(y)
    with pytest.raises(
        ValueError,
        match=r"agrad\.viz\.chain: the graph has 128 paths from output back to wrt \(x\), more "
        r"than max_paths=100; pass a larger max_paths",
    ):
        viz.chain(z, x, {"x": x}, max_paths=100)
    ch = viz.chain(z, x)  # the default, 1000, allows it
    z.backward()
    assert len(ch.paths) == 128
    np.testing.assert_allclose(ch.total.numpy(), x.grad.numpy(), rtol=1e-12)
    y = x
    for _ in range(10):
        y = y + y
    with pytest.raises(ValueError, match=r"has 1024 paths .* more than max_paths=1000;"):
        viz.chain(ag.sum(y), x)


def test_chain_errors():
    a, b, h, z = two_branches()
    other = leaf([1.0, 1.0])
    with pytest.raises(TypeError, match=r"agrad\.viz\.chain: output must be an agrad Tensor"):
        viz.chain([1.0], a)
    with pytest.raises(TypeError, match=r"agrad\.viz\.chain: wrt must be an agrad Tensor, got"):
        viz.chain(z, 1.0)
    with pytest.raises(ValueError, match=r"wrt='q' is not a name in params \(names: 'a', 'b'\)"):
        viz.chain(z, "q", {"a": a, "b": b})
    with pytest.raises(ValueError, match=r"max_paths must be a positive int, got 0"):
        viz.chain(z, a, max_paths=0)
    with pytest.raises(ValueError, match=r"the chain rule account needs a one-element output"):
        viz.chain(h, a)
    with pytest.raises(ValueError, match=r"no path leads from output back to wrt \(o\)"):
        viz.chain(z, other, {"o": other})
    with pytest.raises(ValueError, match=r"output has no recorded graph"):
        viz.chain(ag.sum(ag.asarray([1.0])), a)
    z.backward()
    with pytest.raises(RuntimeError, match=r"runs the ops' VJPs, but the values saved by op '\w+'"):
        viz.chain(z, a)


# ---- examples/graph.py -------------------------------------------------------------------------
def run_example(*args, cwd, env_extra=None):
    return _run_script(GRAPH_PY, *args, cwd=cwd, env_extra=env_extra, timeout=120)


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_example_smoke(name, tmp_path):
    if name != "numpy":
        pytest.importorskip(name)
    res = run_example("--backend", name, "--smoke", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert f"backend {name}" in out
    assert "<agrad.viz.Graph of C: 18 ops, 2 leaves, 20 edges>; 19 edges lead back to θ1" in out
    assert "∂C/∂θ2 by the chain rule: 2 paths from C back to θ2" in out
    assert re.search(r"sum of the paths = L2ᵀ \(L3 − y\) / m +max \|difference\| \d", out)
    assert out.rstrip().endswith("the chain rule reduces to (L3 − y) L2")
    assert list(tmp_path.iterdir()) == []  # --smoke writes no file unless asked


@needs_graphviz
def test_example_writes_the_svg_by_default(tmp_path):
    res = run_example("--epochs", "20", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "wrote xor_graph.svg" in res.stdout
    svg = (tmp_path / "xor_graph.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "θ1" in svg and "L3" in svg and RED in svg


def test_example_writes_dot_text_without_graphviz(tmp_path):
    # no `dot` on PATH: the DOT text is written instead, with the install instructions
    res = run_example("--smoke", "--out", "g.png", cwd=tmp_path, env_extra={"PATH": str(tmp_path)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'pip install "agrad[viz]"' in res.stdout and "apt-get install graphviz" in res.stdout
    assert "wrote the DOT text to g.dot instead" in res.stdout
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph agrad {")
