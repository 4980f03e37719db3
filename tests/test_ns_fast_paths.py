"""The backend fast paths of Newton–Schulz: the fused PyTorch iteration and the NumPy batch rule.

References are independent of the code under test: ``scipy.linalg.polar`` (the exact polar
factor), the scalar map applied to the singular values of a float64 SVD, and a short
hand-written loop of ``torch.optim.Muon``'s published iteration.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from adago_theory import orthogonalize
from adago_theory.orthogonalize import ns_scalar_map
from adago_theory.parallel import use_batch_parallel

torch = pytest.importorskip("torch")


def _polar(M):
    """Polar factor of each matrix of a float64 NumPy batch (wide ones through the transpose)."""
    m, n = M.shape[-2:]
    return np.stack([scipy.linalg.polar(A)[0] if m >= n else scipy.linalg.polar(A.T)[0].T for A in M])


def _ns_by_svd(M, coeffs, steps, scale=1.0):
    """U phi(sigma / (s ||M||_F)) V^T in float64: the Newton–Schulz result written through the SVD."""
    out = []
    for A in M:
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        x = s / (scale * np.linalg.norm(A))
        out.append((U * ns_scalar_map(x, coeffs, steps)) @ Vt)
    return np.stack(out)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 5e-6)])
@pytest.mark.parametrize("shape", [(3, 7, 12), (2, 12, 7), (9, 5), (1, 1, 4)])
def test_torch_path_is_the_polar_factor(dtype, tol, shape):
    rng = np.random.default_rng(0)
    M = rng.standard_normal(shape)
    Mb = M.reshape((-1,) + shape[-2:])
    O = orthogonalize(torch.from_numpy(M).to(dtype), "newton-schulz", coeffs="polar-express", steps=12)
    assert O.dtype == dtype and tuple(O.shape) == shape
    np.testing.assert_allclose(O.double().numpy().reshape(Mb.shape), _polar(Mb), atol=20 * tol)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-13), (torch.float32, 2e-6)])
@pytest.mark.parametrize("coeffs", ["jordan", "you", "cubic"])
def test_torch_path_equals_the_scalar_map_and_the_numpy_path(dtype, tol, coeffs):
    rng = np.random.default_rng(1)
    M = rng.standard_normal((4, 10, 16))
    O = orthogonalize(torch.from_numpy(M).to(dtype), "newton-schulz", coeffs=coeffs, steps=5).double().numpy()
    np.testing.assert_allclose(O, _ns_by_svd(M, coeffs, 5), atol=tol * 10)
    On = orthogonalize(M.astype(np.float64 if dtype == torch.float64 else np.float32), "newton-schulz",
                       coeffs=coeffs, steps=5)
    np.testing.assert_allclose(O, On.astype(np.float64), atol=tol * 10)


def _muon_reference(G, steps=5, eps=1e-7):
    """torch.optim.Muon's published iteration, written out (KellerJordan/Muon; in G's dtype)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.mT if G.shape[0] > G.shape[1] else G
    X = X / (X.norm() + eps)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    return X.mT if G.shape[0] > G.shape[1] else X


@pytest.mark.parametrize("shape", [(64, 64), (96, 40), (256, 256)])   # float32 inside; bfloat16 inside
def test_bfloat16_is_as_accurate_as_torch_muon(shape):
    # error from the float64 iteration of the same polynomial; bfloat16 is compared with the
    # reference loop in bfloat16 (what torch.optim.Muon runs): no worse than it, up to 10 %
    torch.manual_seed(0)
    G = torch.randn(*shape, dtype=torch.float64)
    exact = orthogonalize(G, "newton-schulz", eps=1e-7)
    ours = orthogonalize(G.to(torch.bfloat16), "newton-schulz", eps=1e-7)
    ref = _muon_reference(G.to(torch.bfloat16))
    assert ours.dtype == torch.bfloat16
    e_ours = float(torch.linalg.norm(ours.double() - exact) / torch.linalg.norm(exact))
    e_ref = float(torch.linalg.norm(ref.double() - exact) / torch.linalg.norm(exact))
    assert e_ours < 1.1 * e_ref + 1e-3, (e_ours, e_ref)
    assert e_ours < 0.05


def test_float32_matches_the_reference_loop():
    torch.manual_seed(1)
    G = torch.randn(30, 50)
    ours = orthogonalize(G, "newton-schulz", eps=1e-7)
    torch.testing.assert_close(ours, _muon_reference(G), atol=2e-5, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_torch_path_at_every_finite_scale(dtype, data, m, n, seed):
    # as tests/test_orthogonalize_scales.py, for the torch path: largest entry of each matrix
    # anywhere from the smallest normal number to the largest finite one
    fi = torch.finfo(dtype)
    rng = np.random.default_rng(seed)
    k = min(m, n)
    U = np.linalg.qr(rng.standard_normal((3, m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((3, n, k)))[0]
    M0 = (U * rng.uniform(0.5, 1.0, (3, 1, k))) @ np.swapaxes(V, -1, -2)
    M0 /= np.abs(M0).max(axis=(-2, -1), keepdims=True)
    lo, hi = int(np.log2(fi.tiny)), int(np.log2(fi.max))
    ks = data.draw(st.lists(st.integers(lo, hi - 1), min_size=3, max_size=3), label="log2 scales")
    Mt = torch.from_numpy(M0).to(dtype) * torch.tensor([2.0**e for e in ks], dtype=torch.float64).to(dtype)[:, None, None]
    assert bool(torch.isfinite(Mt).all())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        O = orthogonalize(Mt, "newton-schulz", coeffs="polar-express", steps=12).double().numpy()
    tol = 1e-9 if dtype == torch.float64 else 2e-4
    assert np.abs(O - _polar(M0)).max() < 20 * tol


def test_torch_powers_of_two_change_nothing_and_zero_stays_zero():
    rng = np.random.default_rng(3)
    M = torch.from_numpy(rng.standard_normal((4, 6, 5)))
    O = orthogonalize(M, "newton-schulz")
    for k in (-300, -40, 40, 300):
        torch.testing.assert_close(orthogonalize(torch.ldexp(M, torch.tensor(k)), "newton-schulz"), O,
                                   atol=0, rtol=0)
    for k in (-1015, 1020):                # the scaled route (the plain sum of squares is unsafe)
        torch.testing.assert_close(orthogonalize(torch.ldexp(M, torch.tensor(k)), "newton-schulz"), O,
                                   atol=1e-14, rtol=0)
    Z = M.clone()
    Z[1] = 0.0
    OZ = orthogonalize(Z, "newton-schulz")
    assert bool((OZ[1] == 0).all()) and bool(torch.isfinite(OZ).all())
    torch.testing.assert_close(OZ[0], O[0], atol=0, rtol=0)


def test_numpy_batch_rule():
    import array_api_compat.numpy as xnp

    # the thread path is for batches with enough work per call; small Muon-sized batches stay on one thread
    assert not use_batch_parallel(xnp, np.empty((64, 30, 50)))
    assert use_batch_parallel(xnp, np.empty((1024, 30, 50)))
    assert not use_batch_parallel(xnp, np.empty((30, 50)))


def test_fused_finiteness_screen_on_torch():
    # the torch screen sums X and G: finite entries whose sum overflows must still pass, and any
    # NaN/Inf (also +Inf and -Inf that cancel to NaN) must be refused with the right error
    from adago_theory.optim import muon
    from adago_theory.optim.base import NonFiniteGradientError, NonFiniteParameterError

    opt = muon(0.01)
    big = float(torch.finfo(torch.float32).max)
    X = torch.zeros(2, 3, 4)
    X[0, 0, :] = big                          # finite; its sum overflows to inf
    G = torch.randn(2, 3, 4)
    Xn, _ = opt.step(X, G, opt.init(X))
    assert bool(torch.isfinite(Xn).all())
    for where, err in (("G", NonFiniteGradientError), ("X", NonFiniteParameterError)):
        for bad in (float("nan"), float("inf")):
            Xb, Gb = X.clone(), G.clone()
            (Gb if where == "G" else Xb)[1, 2, 3] = bad
            with pytest.raises(err):
                opt.step(Xb, Gb, opt.init(X))
    Gb = G.clone()
    Gb[1, 0, 0], Gb[1, 0, 1] = float("inf"), float("-inf")
    with pytest.raises(NonFiniteGradientError, match=r"run\(s\) \[\[1\]\]"):
        opt.step(torch.zeros(2, 3, 4), Gb, opt.init(X))
