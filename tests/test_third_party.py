"""Array API code written by others is differentiable when handed agrad tensors: the
functions below call ``array_namespace(x)``, get agrad's namespace, and record on the tape."""

from __future__ import annotations

import array_api_extra as xpx  # in the test extras
import numpy as np
import pytest

import agrad as ag

try:  # in the test extras from Python 3.11 (scipy 1.15, Python 3.10's last, is too old)
    import scipy
    import scipy.special as special
    import scipy.stats as stats
except ImportError:
    scipy = special = stats = None

SCIPY_OK = scipy is not None and tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (1, 16)
needs_scipy = pytest.mark.skipif(
    not SCIPY_OK,
    reason="needs scipy >= 1.16 (Python 3.11+): scipy 1.15's softmax turns agrad's tensors into "
    "NumPy arrays, and its logsumexp makes a scalar without the input's device",
)

try:  # scikit-learn's Array API dispatch (the test extras, from Python 3.11)
    import sklearn
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.naive_bayes import GaussianNB
    from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures, StandardScaler
except ImportError:
    sklearn = None

needs_sklearn = pytest.mark.skipif(
    sklearn is None or not SCIPY_OK,
    reason="needs scikit-learn >= 1.7 and scipy >= 1.16: the test extras from Python 3.11",
)

X = np.array([[0.5, 1.0, -2.0], [0.3, 0.1, 0.9]])


@needs_scipy
def test_scipy_sees_agrad_as_the_namespace(backend):
    from scipy._lib._array_api import array_namespace

    assert array_namespace(ag.asarray(X, backend=backend)) is ag


@needs_scipy
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_scipy_logsumexp(backend, axis):
    x = ag.asarray(X, backend=backend)
    out = special.logsumexp(x, axis=axis)
    assert isinstance(out, ag.Tensor) and out.backend == backend
    np.testing.assert_allclose(out.numpy(), special.logsumexp(X, axis=axis))
    assert ag.testing.gradcheck(lambda t: special.logsumexp(t, axis=axis), x)
    assert ag.testing.gradgradcheck(lambda t: special.logsumexp(t, axis=axis), x)
    # closed form: the gradient of logsumexp is softmax
    g = ag.grad(lambda t: ag.sum(special.logsumexp(t, axis=axis)))(x)
    e = np.exp(X - X.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(g.numpy(), e / e.sum(axis=axis, keepdims=True), rtol=1e-12)


@needs_scipy
@pytest.mark.parametrize("axis", [0, 1])
def test_scipy_softmax(backend, axis):
    x = ag.asarray(X, backend=backend)
    np.testing.assert_allclose(special.softmax(x, axis=axis).numpy(), special.softmax(X, axis=axis))
    assert ag.testing.gradcheck(lambda t: special.softmax(t, axis=axis), x)
    assert ag.testing.gradgradcheck(lambda t: special.softmax(t, axis=axis), x)


@pytest.mark.parametrize(
    "name, fn, ref",
    [
        ("cov", lambda t: xpx.cov(t), np.cov),
        ("sinc", lambda t: xpx.sinc(t), np.sinc),
        ("kron", lambda t: xpx.kron(t, t), lambda a: np.kron(a, a)),
        ("atleast_nd", lambda t: xpx.atleast_nd(t, ndim=3) * t, lambda a: a[None] * a),
    ],
)
def test_array_api_extra(backend, name, fn, ref):
    x = ag.asarray(X, backend=backend)
    np.testing.assert_allclose(fn(x).numpy(), ref(X), rtol=1e-12, atol=1e-15)
    assert ag.testing.gradcheck(fn, x)
    assert ag.testing.gradgradcheck(fn, x)


@pytest.mark.parametrize("m", [True, False])
def test_array_api_extra_with_a_0d_condition(backend, m):
    # apply_where and at index with the condition itself when it is 0-d: x[m], x[m] = v
    cond = ag.asarray(m, backend=backend)
    v = ag.asarray(X[0], backend=backend)

    def where(t):
        return xpx.apply_where(cond, t, ag.exp, ag.sin)

    def at(t):
        return xpx.at(t * 1.0)[cond].set(2.0 * t)

    np.testing.assert_allclose(where(v).numpy(), np.exp(X[0]) if m else np.sin(X[0]), rtol=1e-14)
    np.testing.assert_array_equal(at(v).numpy(), 2.0 * X[0] if m else X[0])
    for fn in (where, at):
        assert ag.testing.gradcheck(fn, v)
        assert ag.testing.gradgradcheck(fn, v)


@needs_scipy
def test_scipy_ttest_makes_its_scalar_without_a_device(backend):
    # ttest_1samp turns popmean into xp.asarray(popmean): a NumPy 0-d tensor on agrad, which
    # joins a torch or array-api-strict sample as a scalar (PyTorch's rule for 0-d CPU tensors)
    p = np.array([0.2, 0.3, 0.5, 1.1])
    x = ag.asarray(p, backend=backend)
    res, want = stats.ttest_1samp(x, 0.25), stats.ttest_1samp(p, 0.25)
    assert res.statistic.backend == backend
    np.testing.assert_allclose(res.statistic.numpy(), want.statistic, rtol=1e-12)
    np.testing.assert_allclose(float(res.pvalue), want.pvalue, rtol=1e-10)
    # (not differentiated: its p-value goes through scipy.special, which converts to NumPy)


@needs_scipy
def test_scipy_stats_through_a_0d_condition(backend):
    # tmean and variation take array-api-extra's apply_where with a 0-d condition on the way
    p = np.array([0.2, 0.3, 0.5, 1.1])
    x = ag.asarray(p, backend=backend)
    np.testing.assert_allclose(stats.tmean(x).numpy(), stats.tmean(p), rtol=1e-14)
    np.testing.assert_allclose(stats.variation(x).numpy(), stats.variation(p), rtol=1e-14)
    g = ag.grad(stats.tmean)(x)  # the mean's: 1/n each
    np.testing.assert_allclose(g.numpy(), np.full(4, 0.25), rtol=1e-14)
    # variation = std / mean: d/dp_i = (p_i - mean) / (n std mean) - std / (n mean^2)
    mu, sd = p.mean(), p.std()
    want = (p - mu) / (4 * sd * mu) - sd / (4 * mu**2)
    np.testing.assert_allclose(ag.grad(stats.variation)(x).numpy(), want, rtol=1e-12)
    assert ag.testing.gradcheck(stats.variation, x)


# ---- scikit-learn, with array_api_dispatch ---------------------------------------------------
D = np.random.default_rng(7).normal(size=(8, 3))
T = np.random.default_rng(8).normal(size=8)


@needs_sklearn
def test_sklearn_rbf_kernel(backend):
    x = ag.asarray(D, backend=backend)
    with sklearn.config_context(array_api_dispatch=True):
        k = rbf_kernel(x, gamma=0.3)
        assert isinstance(k, ag.Tensor) and k.backend == backend
        np.testing.assert_allclose(k.numpy(), rbf_kernel(D, gamma=0.3), rtol=1e-12)
        assert ag.testing.gradcheck(lambda t: rbf_kernel(t, gamma=0.3), x)
        assert ag.testing.gradgradcheck(lambda t: rbf_kernel(t, gamma=0.3), x)
        g = ag.grad(lambda t: ag.sum(rbf_kernel(t, gamma=0.3)))(x)
    # closed form: K_ij = exp(-g |x_i - x_j|^2), so d sum(K) / d x_i = -4 g sum_j K_ij (x_i - x_j)
    kn = rbf_kernel(D, gamma=0.3)
    want = -4 * 0.3 * np.einsum("ij,ijk->ik", kn, D[:, None, :] - D[None, :, :])
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-10, atol=1e-12)


@needs_sklearn
def test_sklearn_ridge_and_pca_fit_on_tensors(backend):
    # a fitted model's outputs are differentiable in the training data
    x, y = ag.asarray(D, backend=backend), ag.asarray(T, backend=backend)
    with sklearn.config_context(array_api_dispatch=True):

        def ridge(t):
            return Ridge(alpha=0.5, solver="svd").fit(t, y).predict(t)

        def pca(t):
            return PCA(n_components=2, svd_solver="full").fit_transform(t)

        np.testing.assert_allclose(
            ridge(x).numpy(), Ridge(alpha=0.5, solver="svd").fit(D, T).predict(D), rtol=1e-10
        )
        np.testing.assert_allclose(
            np.abs(pca(x).numpy()),  # (each component up to its sign)
            np.abs(PCA(n_components=2, svd_solver="full").fit_transform(D)),
            rtol=1e-10,
        )
        assert ag.testing.gradcheck(ridge, x)
        assert ag.testing.gradcheck(pca, x)
        # closed form for ridge's fit on its own data, through y: predictions = H y with the
        # hat matrix H of the centred data, so d sum(predictions) / dy = H^T 1
        g = ag.grad(lambda v: ag.sum(Ridge(alpha=0.5, solver="svd").fit(x, v).predict(x)))(y)
    c = D - D.mean(axis=0)
    h = c @ np.linalg.solve(c.T @ c + 0.5 * np.eye(3), c.T) + np.full((8, 8), 1 / 8)
    np.testing.assert_allclose(g.numpy(), h.T @ np.ones(8), rtol=1e-10)


@needs_sklearn
@pytest.mark.parametrize(
    "make",
    [
        lambda: Ridge(solver="svd"),  # (the solver agrad's namespace gets, without a warning)
        LinearDiscriminantAnalysis,
        StandardScaler,
        MinMaxScaler,
        PolynomialFeatures,
        GaussianNB,
        lambda: LogisticRegression(max_iter=500),
    ]
    if sklearn is not None
    else [],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sklearn's own 0/0, masked right after
def test_sklearn_own_array_api_check_passes_on_agrad(make):
    # scikit-learn's own compliance check: fitted attributes and every method's outputs on
    # agrad tensors (the default backend) equal those on NumPy arrays, namespace and dtype kept
    from sklearn.utils.estimator_checks import check_array_api_input

    est = make()
    check_array_api_input(type(est).__name__, est, array_namespace="agrad", check_values=True)
