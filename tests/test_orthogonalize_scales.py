"""Scale safety: orthogonalize and the norms over every finite scale, smallest normal to largest finite.

Property-based (hypothesis): a well-conditioned batch (cond <= 2) is scaled per matrix by
``2**k`` times a mantissa, with the largest entry of each matrix anywhere between the smallest
normal number and the largest finite one of the dtype; the output must be orthogonal to the
dtype's accuracy (an independent check: ``O^T O = I`` from a float64 product on the host) and
agree with the polar factor of the unscaled matrix (``scipy.linalg.polar``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from adago_theory import frobenius_norm, nuclear_norm, orthogonalize, spectral_norm

# (method, options, float64 tolerance, float32 tolerance)
METHODS = [
    ("svd", {}, 1e-12, 2e-5),
    ("polar", {}, 1e-12, 2e-5),
    ("qdwh", {}, 1e-12, 2e-5),
    ("newton-schulz", {"coeffs": "polar-express"}, 1e-9, 2e-4),
    ("newton-schulz", {"coeffs": "quintic", "steps": 12}, 1e-9, 2e-4),
    ("newton-schulz", {"coeffs": "cubic", "steps": 25}, 1e-9, 2e-4),   # (eps > 0 breaks scale invariance)
]


def _well_conditioned(rng, shape):
    """Batch of matrices with singular values in [1/2, 1] and largest entry scaled to 1."""
    b, m, n = shape
    k = min(m, n)
    U = np.linalg.qr(rng.standard_normal((b, m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((b, n, k)))[0]
    s = rng.uniform(0.5, 1.0, (b, 1, k))
    M = (U * s) @ np.swapaxes(V, -1, -2)
    return M / np.abs(M).max(axis=(-2, -1), keepdims=True)


def _scales(dtype, data, b):
    fi = np.finfo(dtype)
    lo, hi = int(np.log2(fi.tiny)), int(np.log2(fi.max))          # 2**lo is the smallest normal
    ks = data.draw(st.lists(st.integers(lo, hi - 1), min_size=b, max_size=b), label="log2 scales")
    mant = data.draw(st.lists(st.floats(1.0, 1.99), min_size=b, max_size=b), label="mantissas")
    return np.array([np.ldexp(mt, k) for mt, k in zip(mant, ks)]).reshape(b, 1, 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method,kw,tol64,tol32", METHODS, ids=lambda v: v if isinstance(v, str) else None)
@settings(max_examples=50, deadline=None)
@given(data=st.data(), m=st.integers(1, 7), n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_orthogonal_at_every_finite_scale(dtype, method, kw, tol64, tol32, data, m, n, seed):
    rng = np.random.default_rng(seed)
    M0 = _well_conditioned(rng, (3, m, n))
    c = _scales(dtype, data, 3)
    # the largest entry lies in [smallest normal, largest finite]; clip the top to stay finite
    M = np.minimum(M0 * c, np.finfo(dtype).max).astype(dtype)
    M = np.where(np.abs(M0 * c) > np.finfo(dtype).max, np.sign(M0) * np.finfo(dtype).max, M).astype(dtype)
    assert np.all(np.isfinite(M))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)          # no overflow/underflow warning either
        O = orthogonalize(M, method, **kw)
    tol = tol64 if dtype == np.float64 else tol32
    Oh = O.astype(np.float64)
    k = min(m, n)
    G = np.swapaxes(Oh, -1, -2) @ Oh if m >= n else Oh @ np.swapaxes(Oh, -1, -2)
    assert np.abs(G - np.eye(k)).max() < tol, (float(c.ravel()[0]), np.abs(G - np.eye(k)).max())
    # and it is the polar factor of the unscaled matrix
    P = np.stack([scipy.linalg.polar(Mi)[0] if m >= n else scipy.linalg.polar(Mi.T)[0].T for Mi in M0])
    assert np.abs(Oh - P).max() < 20 * tol


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_norms_at_every_finite_scale(dtype, data, seed):
    rng = np.random.default_rng(seed)
    M0 = _well_conditioned(rng, (3, 5, 4))
    c = _scales(dtype, data, 3)
    fi = np.finfo(dtype)
    # keep the norms themselves representable: ||M||_F <= sqrt(20) * max entry
    c = np.minimum(c, fi.max / 8)
    M = (M0 * c).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fro = frobenius_norm(M).astype(np.float64)
        op = spectral_norm(M).astype(np.float64)
        nuc = nuclear_norm(M).astype(np.float64)
    Mh = M.astype(np.float64)
    # reference: the same norms of the matrix rescaled to order one, in float64, times the scale
    sc = c[:, 0, 0].astype(np.float64)
    ref_fro = np.linalg.norm(Mh / c, axis=(-2, -1)) * sc
    ref_op = np.linalg.norm(Mh / c, 2, axis=(-2, -1)) * sc
    ref_nuc = np.linalg.norm(Mh / c, "nuc", axis=(-2, -1)) * sc
    rt = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(fro, ref_fro, rtol=rt)
    np.testing.assert_allclose(op, ref_op, rtol=rt)
    np.testing.assert_allclose(nuc, ref_nuc, rtol=rt)


@pytest.mark.parametrize("case", [
    (np.array([[1e155]]), "qdwh", {}),
    (np.float32([[1e20]]), "newton-schulz", {"coeffs": "quintic", "steps": 10}),
    (np.diag([1e-170, 2e-170]), "newton-schulz", {"coeffs": "polar-express"}),
])
def test_the_issue_repros(case):
    M, method, kw = case
    O = orthogonalize(M, method, **kw)
    np.testing.assert_allclose(O, np.eye(M.shape[0]), atol=1e-5)


@pytest.mark.parametrize("method,kw", [("newton-schulz", {}), ("qdwh", {}), ("svd", {})])
def test_powers_of_two_change_nothing(method, kw):
    # the scaling is exact: a power of two in the normal range gives the same bits, and one at
    # the edges of the range (the scaled route) the same values to rounding
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 6, 5))
    O = orthogonalize(M, method, **kw)
    for k in (-300, -40, 40, 300):
        np.testing.assert_array_equal(orthogonalize(np.ldexp(M, k), method, **kw), O)
    for k in (-1015, -1000, 1000, 1020):     # (below -1022 the input itself is subnormal)
        np.testing.assert_allclose(orthogonalize(np.ldexp(M, k), method, **kw), O, rtol=0, atol=1e-14)
