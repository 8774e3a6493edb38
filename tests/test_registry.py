"""Every primitive either has a VJP or is declared non-differentiable, and the public
namespace exposes the functions issue #2 promises."""

from __future__ import annotations

import agrad as ag
from agrad._op import REGISTRY

PROMISED = """
add subtract multiply divide floor_divide remainder pow negative positive exp expm1 log log1p
log2 log10 sqrt square sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh abs
sign maximum minimum clip logaddexp hypot reciprocal floor ceil round trunc sum prod mean var
std max min cumulative_sum matmul tensordot vecdot matrix_transpose reshape permute_dims
expand_dims squeeze broadcast_to concat stack flip take take_along_axis where astype equal
not_equal less less_equal greater greater_equal asarray zeros ones full empty arange linspace
eye zeros_like ones_like full_like empty_like no_grad enable_grad is_grad_enabled grad
value_and_grad vjp to_device jvp linearize jacobian jacrev jacfwd hessian hvp detect_anomaly
set_detect_anomaly is_anomaly_enabled save load
""".split()


def test_every_primitive_declares_its_differentiability():
    import agrad.ops  # noqa: F401  (registers everything)

    missing = [
        name
        for name, p in REGISTRY.items()
        if p.differentiable and p.vjp is None and not name.endswith("_for_test")
    ]
    assert not missing, f"primitives without a VJP and not declared non-differentiable: {missing}"


def test_primitives_show_the_signature_and_name_a_caller_uses():
    # help(), IDEs and libraries read these: no xp, arrays positional-only as in the standard
    import inspect

    import agrad.ops  # noqa: F401  (registers everything)

    for name, p in REGISTRY.items():
        sig = inspect.signature(p)
        assert "xp" not in sig.parameters, name
        assert p.__name__ == p.__qualname__ == name
    assert str(inspect.signature(ag.exp)) == "(x, /)"
    assert str(inspect.signature(ag.atan2)) == "(x1, x2, /)"
    assert str(inspect.signature(ag.less)) == "(x1, x2, /)"  # a generic forward, named
    assert str(inspect.signature(ag.isnan)) == "(x, /)"
    assert str(inspect.signature(ag.where)) == "(condition, x1, x2, /)"
    assert ag.exp.__module__ == "agrad.ops.elementwise"


def test_the_promised_surface_exists():
    absent = [n for n in PROMISED if not callable(getattr(ag, n, None))]
    assert not absent, f"missing from agrad: {absent}"
    for name in ("float16", "float32", "float64", "int64", "bool", "pi", "e", "inf", "nan"):
        assert hasattr(ag, name)


def test_direct_forwards_are_recognised_exactly():
    """Ops whose forward is `return xp.<name>(...)` are called through the namespace directly;
    anything else keeps its forward."""
    from agrad._op import REGISTRY, _direct_name

    if ag.COMPILED:  # compiled forwards have no bytecode to compare; each is a C function
        assert REGISTRY["sin"].direct is None and REGISTRY["add"].direct is None
    else:
        assert REGISTRY["sin"].direct == "sin" and REGISTRY["add"].direct == "add"
    assert REGISTRY["matmul"].direct is None  # its forward improves the error message

    def twice(xp, x):
        return xp.sin(x) * 2

    def other_arg(xp, x, y):
        return xp.add(y, x)

    def static(xp, x, *, axis=None):
        return xp.sum(x, axis=axis)

    assert [_direct_name(f) for f in (twice, other_arg, static)] == [None, None, None]
