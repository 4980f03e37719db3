"""The PyTorch fast paths of the step helpers (``ema``, ``ema_nesterov``, ``descend`` in
adago_theory.optim.base: fused ``torch.lerp`` / ``torch.add(alpha=)`` / ``addcmul``) against the
generic array-API path (the same helper on NumPy arrays) and against the formulas written out by
hand in float64; float32 and float64, scalar and per-run array hyperparameters; the inputs are
never written."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adago_theory.optim import base  # noqa: E402

DTYPES = [(torch.float32, np.float32, 2e-6), (torch.float64, np.float64, 1e-14)]
R, M_, N_ = 3, 5, 7


def _data(np_dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((R, M_, N_)).astype(np_dtype) for _ in range(3)]


def _hyper(kind, value, np_dtype):
    """A float, or one value per run (shape (R,)) as the step would pass it (on_runs)."""
    if kind == "float":
        return float(value)
    return np.asarray(value + 0.03 * np.arange(R), dtype=np_dtype)


def _t(a):
    return torch.from_numpy(np.array(a, copy=True)) if isinstance(a, np.ndarray) else a


def _close(got, want, tol, scale=1.0):
    got = got.double().numpy() if torch.is_tensor(got) else np.asarray(got, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def _runs(v):
    """Per-run value as a float64 array broadcasting over (R, m, n)."""
    return np.asarray(v, dtype=np.float64).reshape(-1, 1, 1) if isinstance(v, np.ndarray) else float(v)


@pytest.mark.parametrize("kind", ["float", "array"])
@pytest.mark.parametrize("tdt,ndt,tol", DTYPES, ids=["float32", "float64"])
def test_ema_fast_path(tdt, ndt, tol, kind):
    M, G, _ = _data(ndt)
    beta = _hyper(kind, 0.9, ndt)
    Mt, Gt = torch.from_numpy(M.copy()), torch.from_numpy(G.copy())
    got = base.ema(torch, Mt, Gt, _t(beta))
    assert got.dtype == tdt
    generic = base.ema(np, M, G, beta)                  # the array-API path (NumPy)
    b = _runs(beta)
    by_hand = b * M.astype(np.float64) + (1.0 - b) * G.astype(np.float64)
    _close(got, generic.astype(np.float64), tol, 4.0)
    _close(got, by_hand, tol, 4.0)
    np.testing.assert_array_equal(Mt.numpy(), M)      # inputs untouched
    np.testing.assert_array_equal(Gt.numpy(), G)


@pytest.mark.parametrize("kind", ["float", "array"])
@pytest.mark.parametrize("tdt,ndt,tol", DTYPES, ids=["float32", "float64"])
def test_ema_nesterov_fast_path(tdt, ndt, tol, kind):
    M, G, _ = _data(ndt, 1)
    beta = _hyper(kind, 0.9, ndt)
    Mt, Gt = torch.from_numpy(M.copy()), torch.from_numpy(G.copy())
    B, U = base.ema_nesterov(torch, Mt, Gt, _t(beta))
    assert B.dtype == U.dtype == tdt
    Bg, Ug = base.ema_nesterov(np, M, G, beta)
    b = _runs(beta)
    B_hand = b * M.astype(np.float64) + (1.0 - b) * G.astype(np.float64)
    U_hand = (1.0 - b) * G.astype(np.float64) + b * B_hand
    _close(B, Bg.astype(np.float64), tol, 4.0)
    _close(U, Ug.astype(np.float64), tol, 4.0)
    _close(B, B_hand, tol, 4.0)
    _close(U, U_hand, tol, 4.0)
    np.testing.assert_array_equal(Mt.numpy(), M)
    np.testing.assert_array_equal(Gt.numpy(), G)


def test_ema_nesterov_fast_path_is_not_the_plain_ema():
    """Negative control: U differs from B (the mix is applied), by beta (1 - beta) (G - M)."""
    M, G, _ = _data(np.float64, 2)
    B, U = base.ema_nesterov(torch, torch.from_numpy(M), torch.from_numpy(G), 0.9)
    np.testing.assert_allclose((U - B).numpy(), 0.9 * 0.1 * (G - M), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("decay_kind", ["one", "float", "array"])
@pytest.mark.parametrize("a_kind", ["float", "array"])
@pytest.mark.parametrize("tdt,ndt,tol", DTYPES, ids=["float32", "float64"])
def test_descend_fast_path(tdt, ndt, tol, a_kind, decay_kind):
    X, D, _ = _data(ndt, 3)
    a = _hyper(a_kind, 0.25, ndt)
    decay = 1.0 if decay_kind == "one" else _hyper(decay_kind, 0.97, ndt)
    Xt, Dt = torch.from_numpy(X.copy()), torch.from_numpy(D.copy())
    got = base.descend(torch, Xt, _t(a), Dt, _t(decay))
    assert got.dtype == tdt
    generic = base.descend(np, X, a, D, decay)
    by_hand = _runs(decay) * X.astype(np.float64) - _runs(a) * D.astype(np.float64)
    _close(got, generic.astype(np.float64), tol, 4.0)
    _close(got, by_hand, tol, 4.0)
    np.testing.assert_array_equal(Xt.numpy(), X)
    np.testing.assert_array_equal(Dt.numpy(), D)


def test_descend_reads_a_half_precision_direction_into_the_parameter_dtype():
    """An orthogonalized direction in bfloat16 (orth_dtype) updates a float32 parameter in float32."""
    X, D, _ = _data(np.float32, 4)
    Db = torch.from_numpy(D).bfloat16()
    got = base.descend(torch, torch.from_numpy(X), 0.5, Db)
    assert got.dtype == torch.float32
    _close(got, X.astype(np.float64) - 0.5 * Db.double().numpy(), 1e-6, 4.0)


def test_muon_step_on_torch_equals_the_numpy_step():
    """The whole functional Muon step through the fast paths equals the generic path to rounding."""
    from adago_theory.optim import muon

    X, G, M = _data(np.float64, 5)
    opt = muon(0.1, orth="svd", weight_decay=0.1)
    s_np = opt.init(X)
    s_t = opt.init(torch.from_numpy(X))
    for k in range(3):
        Gk = G * (1.0 + k)
        X_np, s_np = opt.step(X if k == 0 else X_np, Gk, s_np)
        X_t, s_t = opt.step(torch.from_numpy(X) if k == 0 else X_t, torch.from_numpy(Gk), s_t)
    np.testing.assert_allclose(X_t.numpy(), X_np, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(s_t.M.numpy(), s_np.M, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("tall", [False, True])
def test_single_matrix_normalisation_is_the_plain_formula_bit_for_bit(dtype, batch, tall):
    """Both routes of the torch normalisation give the bits of W / (scale ||W||_F + eps) written
    out here in torch's own 0-d arithmetic (float32 norm for bfloat16, rounded once at the end):
    the batch route with the sum of squares of ``vecdot``, the one-matrix route (a scalar
    division, one rounding; the denominator computed on the host) with BLAS's ``dot`` — also on
    a transposed (non-contiguous) input; and both within a few ulps of a float64 reference.  A
    zero matrix still takes the scaled route."""
    from adago_theory.backend import namespace
    from adago_theory.orthogonalize import _fro_normalize_torch

    g = torch.Generator().manual_seed(7)
    W = torch.randn(batch, 6, 9, generator=g, dtype=torch.float64).to(dtype)
    W = W.mT if tall else W
    nd = torch.float32 if dtype == torch.bfloat16 else dtype
    Wn = W.to(nd)
    S = Wn.mT if tall else Wn                       # summed in storage order (the transpose's sum)
    if batch == 1:
        v = S.reshape(-1)
        ss = torch.dot(v, v).reshape(1)
    else:
        ss = torch.linalg.vecdot(S.flatten(-2), S.flatten(-2))
    den = torch.sqrt(ss).mul_(1.0001).add_(1e-7)
    want = (Wn / den[:, None, None]).to(dtype)
    got = _fro_normalize_torch(namespace(W), W, 1.0001, 1e-7)
    assert got.dtype == dtype
    torch.testing.assert_close(got, want, atol=0, rtol=0)
    W64 = W.to(torch.float64)
    ref = W64 / (1.0001 * torch.sqrt((W64 * W64).sum(dim=(-2, -1))) + 1e-7)[:, None, None]
    tol = 2.0 ** -7 if dtype == torch.bfloat16 else 8 * torch.finfo(dtype).eps
    torch.testing.assert_close(got.to(torch.float64), ref, atol=0, rtol=tol)
    Z = torch.zeros(1, 6, 9, dtype=dtype)
    assert bool((_fro_normalize_torch(namespace(Z), Z, 1.0, 0.0) == 0).all())
