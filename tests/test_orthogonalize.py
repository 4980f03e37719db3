"""orthogonalize(): exact methods against scipy/mpmath references, invariants, presets, errors."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings, strategies as st

from adago_theory import NS_PRESETS, ns_schedule, orthogonalize, polar_error, to_numpy

U64 = np.finfo(np.float64).eps / 2


def make_matrix(rng, m, n, sing, batch=()):
    """U diag(sing) V^T with Haar-like factors (independent construction for the tests)."""
    k = min(m, n)
    out = np.empty(batch + (m, n))
    for idx in np.ndindex(*batch) if batch else [()]:
        U, _ = np.linalg.qr(rng.standard_normal((m, k)))
        V, _ = np.linalg.qr(rng.standard_normal((n, k)))
        out[idx] = (U * sing) @ V.T
    return out


def ref_polar_partial(M, rank):
    """U_r V_r^T from scipy's SVD with the known rank (reference for rank-deficient inputs)."""
    U, s, Vh = scipy.linalg.svd(M, full_matrices=False)
    return U[:, :rank] @ Vh[:rank]


# ---------------------------------------------------------------- exact methods vs scipy.linalg.polar

@pytest.mark.parametrize("method", ["svd", "polar", "qdwh"])
@pytest.mark.parametrize("shape", [(7, 7), (12, 5), (5, 12), (1, 6), (6, 1), (40, 25)])
def test_exact_methods_match_scipy_polar_well_conditioned(method, shape):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((4,) + shape)
    O = orthogonalize(M, method)
    assert O.shape == M.shape and O.dtype == M.dtype
    for i in range(4):
        P = scipy.linalg.polar(M[i])[0] if shape[0] >= shape[1] else scipy.linalg.polar(M[i].T)[0].T
        assert np.linalg.norm(O[i] - P) / np.linalg.norm(P) < 1e-12


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 12),
    n=st.integers(1, 12),
    log_kappa=st.floats(0.0, 6.0),
    batch=st.sampled_from([(), (3,), (2, 2)]),
    seed=st.integers(0, 2**31 - 1),
    method=st.sampled_from(["svd", "polar", "qdwh"]),
)
def test_exact_methods_hypothesis(m, n, log_kappa, batch, seed, method):
    rng = np.random.default_rng(seed)
    k = min(m, n)
    kappa = 10.0**log_kappa
    sing = np.geomspace(1.0, 1.0 / kappa, k) * 10.0 ** rng.uniform(-3, 3)
    M = make_matrix(rng, m, n, sing, batch)
    O = orthogonalize(M, method)
    assert O.shape == M.shape
    tol = max(1e-12, 50 * kappa * U64 * np.sqrt(k))
    flat_M, flat_O = M.reshape(-1, m, n), O.reshape(-1, m, n)
    for Mi, Oi in zip(flat_M, flat_O):
        P = scipy.linalg.polar(Mi)[0] if m >= n else scipy.linalg.polar(Mi.T)[0].T
        assert np.linalg.norm(Oi - P) / np.linalg.norm(P) < tol


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(2, 12),
    n=st.integers(2, 12),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_svd_rank_deficient_gives_partial_isometry(m, n, seed, data):
    k = min(m, n)
    r = data.draw(st.integers(0, k - 1))
    rng = np.random.default_rng(seed)
    sing = np.concatenate([np.geomspace(1.0, 1e-3, r), np.zeros(k - r)])
    M = make_matrix(rng, m, n, sing)
    O = orthogonalize(M, "svd")
    P = ref_polar_partial(M, r)
    assert np.linalg.norm(O - P) < 1e-10 * max(1.0, np.sqrt(r))
    s = np.linalg.svd(O, compute_uv=False)
    assert np.allclose(s[:r], 1.0, atol=1e-12) and np.allclose(s[r:], 0.0, atol=1e-12)


@pytest.mark.parametrize("kappa", [1e2, 1e4, 1e8, 1e12])
def test_qdwh_forward_error_within_small_multiple_of_svd_route(kappa):
    """Both routes measured against a 40-digit mpmath polar factor: qdwh <= 10 x svd-route error + 10u."""
    mpmath.mp.dps = 40
    rng = np.random.default_rng(int(np.log10(kappa)))
    M = make_matrix(rng, 20, 10, np.geomspace(1.0, 1.0 / kappa, 10))
    U, _, V = mpmath.svd_r(mpmath.matrix(M.tolist()))
    P = np.array((U * V).tolist(), dtype=float)
    err = {m: np.linalg.norm(orthogonalize(M, m) - P) / np.linalg.norm(P) for m in ("svd", "qdwh")}
    assert err["svd"] < 10 * kappa * U64
    assert err["qdwh"] <= 10 * err["svd"] + 10 * U64
    # and it also holds for the wide orientation
    Ow = orthogonalize(np.ascontiguousarray(M.T), "qdwh")
    assert np.linalg.norm(Ow - P.T) / np.linalg.norm(P) <= 10 * err["svd"] + 10 * U64


# ---------------------------------------------------------------- invariants

@pytest.mark.parametrize("method", ["svd", "qdwh", "newton-schulz"])
def test_invariants(method):
    rng = np.random.default_rng(1)
    M = rng.standard_normal((3, 9, 6))
    kw = {"coeffs": "polar-express"} if method == "newton-schulz" else {}
    O = orthogonalize(M, method, **kw)
    tol = 1e-12 if method != "newton-schulz" else 1e-6
    # orthogonality on the column space
    G = np.swapaxes(O, -1, -2) @ O
    assert np.abs(G - np.eye(6)).max() < tol
    # <M, O> = ||M||_* (von Neumann), reference from scipy singular values
    nuc = np.array([scipy.linalg.svdvals(Mi).sum() for Mi in M])
    assert np.allclose(np.sum(M * O, axis=(-2, -1)), nuc, rtol=tol)
    # invariance to positive scaling (per matrix, different scales)
    c = np.array([1e-8, 3.0, 1e6])[:, None, None]
    assert np.abs(orthogonalize(c * M, method, **kw) - O).max() < tol
    # Orth(M^T) = Orth(M)^T
    assert np.abs(orthogonalize(np.swapaxes(M, -1, -2), method, **kw) - np.swapaxes(O, -1, -2)).max() < tol


def test_zero_matrices_give_zero_never_nan():
    Z = np.zeros((2, 4, 3))
    for method, kw in [("svd", {}), ("polar", {}), ("qdwh", {})] + [
        ("newton-schulz", {"coeffs": p}) for p in NS_PRESETS
    ]:
        O = orthogonalize(Z, method, **kw)
        assert np.array_equal(O, Z), method
    # one zero matrix inside a batch leaves the others alone
    M = np.random.default_rng(2).standard_normal((2, 4, 3))
    M[0] = 0.0
    O = orthogonalize(M, "qdwh")
    assert np.all(O[0] == 0) and np.allclose(np.swapaxes(O[1], 0, 1) @ O[1], np.eye(3), atol=1e-13)


def test_empty_matrix():
    assert orthogonalize(np.zeros((0, 3))).shape == (0, 3)


# ---------------------------------------------------------------- dtypes and backends

@pytest.mark.parametrize("method", ["svd", "polar", "qdwh", "newton-schulz"])
def test_dtype_and_backend_kept(kernel_backend, method):
    rng = np.random.default_rng(3)
    M64 = rng.standard_normal((2, 10, 6))
    for dt, tol in [("float32", 1e-4), ("float64", 1e-10)]:
        M = kernel_backend.asarray(M64, dt)
        kw = {"coeffs": "polar-express"} if method == "newton-schulz" else {}
        O = orthogonalize(M, method, **kw)
        assert O.dtype == M.dtype
        assert type(O) is type(M)
        assert O.shape == M.shape
        P = np.stack([scipy.linalg.polar(Mi)[0] for Mi in M64])
        assert np.abs(to_numpy(O).astype(np.float64) - P).max() < tol * (30 if method == "newton-schulz" else 1)


def test_float16_inputs():
    M = np.random.default_rng(4).standard_normal((12, 8)).astype(np.float16)
    for method in ["svd", "qdwh"]:
        O = orthogonalize(M, method)
        assert O.dtype == np.float16
        assert np.abs(O.astype(np.float64) - scipy.linalg.polar(M.astype(np.float64))[0]).max() < 5e-3
    O = orthogonalize(M, "newton-schulz", coeffs="polar-express")
    assert O.dtype == np.float16


def test_torch_bfloat16_if_available():
    torch = pytest.importorskip("torch")
    M = torch.randn(2, 12, 8, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    O = orthogonalize(M, "svd")
    assert O.dtype == torch.bfloat16
    P = np.stack([scipy.linalg.polar(Mi)[0] for Mi in to_numpy(M).astype(np.float64)])
    assert np.abs(to_numpy(O) - P).max() < 2e-2


# ---------------------------------------------------------------- Newton-Schulz presets

def scalar_composition(x, schedule):
    """The scalar map p_k o ... o p_1 (independent of the matrix code)."""
    for a, b, c in schedule:
        x = a * x + b * x**3 + c * x**5
    return x


def test_ns_singular_values_follow_the_scalar_polynomials():
    rng = np.random.default_rng(5)
    sing = np.geomspace(1.0, 1e-2, 8)
    M = make_matrix(rng, 16, 8, sing)
    for name, preset in NS_PRESETS.items():
        O = orthogonalize(M, "newton-schulz", coeffs=name)
        sched, scale = ns_schedule(name)
        x = sing / (scale * np.linalg.norm(M))
        predicted = np.sort(scalar_composition(x, sched))[::-1]
        measured = np.linalg.svd(O, compute_uv=False)
        assert np.allclose(np.sort(measured)[::-1], np.sort(np.abs(predicted))[::-1], atol=1e-10), name


def test_jordan_band_after_five_steps():
    """theory.md §5.1: from normalized sigma in [0.01, 1], 5 Jordan steps land in [0.6818, 1.1344]."""
    rng = np.random.default_rng(6)
    n = 4
    # normalized singular values x_i = s_i/||M||_F spread over [0.01, 1): a dominant one plus small ones
    sing = np.array([1.0, 0.3, 0.05, 0.012])
    M = make_matrix(rng, 30, n, sing)
    x = sing / np.linalg.norm(sing)
    assert x.min() >= 0.01
    s = np.linalg.svd(orthogonalize(M, "newton-schulz", coeffs="jordan", steps=5), compute_uv=False)
    assert s.min() >= 0.6818 - 1e-4 and s.max() <= 1.1344 + 1e-4
    # and it is a band, not convergence: some singular value stays > 1e-2 away from 1
    assert np.abs(s - 1).max() > 1e-2


def test_polar_express_reaches_1e6_within_8_steps():
    """Polar Express is designed for normalized singular values in [1e-3, 1] (after M / (1.01 ||M||_F))."""
    rng = np.random.default_rng(7)
    for m, n in [(10, 10), (50, 30), (30, 50), (200, 100)]:
        k = min(m, n)
        # sigma_min / sigma_max >= 1e-3 and sigma_min / (1.01 ||M||_F) >= 1e-3
        sing = np.r_[1.0, np.full(k - 1, 1e-3 * 1.01 * np.sqrt(k) * 1.0001)]
        sing[1:] = np.minimum(sing[1:], 1.0)
        M = make_matrix(rng, m, n, sing)
        assert sing.min() / (1.01 * np.linalg.norm(M)) >= 1e-3
        err = polar_error(M, orthogonalize(M, "newton-schulz", coeffs="polar-express", steps=8))
        assert float(err.sigma_dev) < 1e-6, (m, n, float(err.sigma_dev))
        # the converging presets keep improving; Jordan does not (negative control)
        err_j = polar_error(M, orthogonalize(M, "newton-schulz", coeffs="jordan", steps=8))
        assert float(err_j.sigma_dev) > 1e-2


def test_schedule_repeats_last_triple_and_accepts_custom_lists():
    sched, scale = ns_schedule("polar-express", 10)
    assert len(sched) == 10 and sched[8] == sched[9] == (1.875, -1.25, 0.375) and scale == 1.01
    sched, _ = ns_schedule([(1.5, -0.5, 0.0)], 3)
    assert sched == [(1.5, -0.5, 0.0)] * 3
    sched, _ = ns_schedule((15 / 8, -10 / 8, 3 / 8))
    assert sched == [(15 / 8, -10 / 8, 3 / 8)]
    # safety factor applied to all polynomials but the last
    a0, b0, c0 = NS_PRESETS["polar-express"].coeffs[0]
    assert np.isclose(a0 * 1.01, 8.28721201814563) and np.isclose(c0 * 1.01**5, 17.300387312530933)


def test_ns_custom_coefficients_match_hand_loop():
    rng = np.random.default_rng(8)
    M = rng.standard_normal((6, 9))
    X = M / np.linalg.norm(M)
    for _ in range(3):
        A = X @ X.T
        X = 1.5 * X - 0.5 * A @ X
    assert np.allclose(orthogonalize(M, "newton-schulz", coeffs=[(1.5, -0.5, 0.0)], steps=3), X, atol=1e-14)
    # KJ's additive epsilon reproduces X / (||M||_F + 1e-7)
    Y = M / (np.linalg.norm(M) + 1e-7)
    for _ in range(2):
        A = Y @ Y.T
        Y = 3.4445 * Y + (-4.7750 * A + 2.0315 * A @ A) @ Y
    assert np.allclose(orthogonalize(M, "newton-schulz", steps=2, eps=1e-7), Y, atol=1e-14)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize(
    "M, kw, exc, match",
    [
        (np.ones(3), {}, ValueError, "ndim"),
        (np.float64(1.0), {}, ValueError, "ndim"),
        (np.ones((2, 2), dtype=np.int64), {}, TypeError, "floating"),
        (np.ones((2, 2), dtype=bool), {}, TypeError, "floating"),
        (np.ones((2, 2), dtype=np.complex128), {}, TypeError, "floating"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, ValueError, "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), {"method": "newton-schulz"}, ValueError, "NaN or Inf"),
        (np.eye(2), {"method": "qr"}, ValueError, "method"),
        (np.eye(2), {"method": "newton-schulz", "coeffs": "nope"}, ValueError, "coeffs"),
        (np.eye(2), {"method": "newton-schulz", "steps": 0}, ValueError, "steps"),
        (np.eye(2), {"method": "newton-schulz", "steps": -3}, ValueError, "steps"),
        (np.eye(2), {"method": "newton-schulz", "steps": 2.5}, TypeError, "steps"),
        (np.eye(2), {"method": "newton-schulz", "coeffs": []}, ValueError, "coeffs"),
        (np.eye(2), {"method": "newton-schulz", "coeffs": [(1.0, 2.0)]}, ValueError, "coeffs"),
        (np.eye(2), {"method": "newton-schulz", "coeffs": [(1.0, 2.0, float("nan"))]}, ValueError, "coeffs"),
        (np.eye(2), {"method": "svd", "steps": 3}, ValueError, "steps"),
        (np.eye(2), {"method": "svd", "coeffs": "jordan"}, ValueError, "coeffs"),
        (np.eye(2), {"method": "svd", "rtol": -1.0}, ValueError, "rtol"),
        (np.eye(2), {"method": "newton-schulz", "eps": -1.0}, ValueError, "eps"),
    ],
)
def test_bad_inputs(M, kw, exc, match):
    kw = dict(kw)
    method = kw.pop("method", "svd")
    with pytest.raises(exc, match=match):
        orthogonalize(M, method, **kw)


def test_not_an_array():
    with pytest.raises(TypeError):
        orthogonalize([[1.0, 0.0], [0.0, 1.0]])
