"""The kernel on array_api_strict: the array-API standard and nothing more (the stand-in for CuPy without a GPU).

Every orthogonalization method, the norms, every optimizer's step and the run loop give on
array_api_strict what they give on NumPy (the reference, computed by the same calls on NumPy).
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import (
    namespace,
    frobenius_norm,
    nuclear_norm,
    orthogonalize,
    run,
    skip_nonfinite,
    spectral_norm,
    to_numpy,
)
from adago_theory.backend import backend_name, from_numpy, standard_normal
from test_optim_lsq import LeastSquares
from test_optim_properties import NAMES, TABLE

xs = pytest.importorskip("array_api_strict")

METHODS = [("svd", {}), ("polar", {}), ("qdwh", {})] + [
    ("newton-schulz", {"coeffs": c}) for c in ("jordan", "you", "polar-express", "quintic", "cubic")
]


def test_namespace_accepts_strict_and_names_mixed_backends():
    a = xs.asarray(np.ones((2, 2)))
    assert namespace(a) is xs and backend_name(a) == "array_api_strict" and backend_name(xs) == "array_api_strict"
    with pytest.raises(TypeError, match="numpy and array_api_strict"):
        namespace(np.ones((2, 2)), a)
    with pytest.raises(TypeError, match="unsupported array type"):
        namespace(object())
    h = np.arange(6.0).reshape(2, 3)
    back = from_numpy(h, xp=xs, dtype=xs.float32)
    assert back.dtype == xs.float32 and np.array_equal(to_numpy(back), h)
    z = standard_normal(np.random.default_rng(0), (3, 2), like=back)
    assert z.dtype == xs.float32 and namespace(z) is xs


@pytest.mark.parametrize("method,kw", METHODS, ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("shape", [(3, 7, 4), (2, 4, 7)])
def test_orthogonalize_every_method(method, kw, shape):
    M = np.random.default_rng(1).standard_normal(shape)
    ref = orthogonalize(M, method, **kw)
    O = orthogonalize(xs.asarray(M), method, **kw)
    assert namespace(O) is xs and O.dtype == xs.float64 and tuple(O.shape) == shape
    np.testing.assert_allclose(to_numpy(O), ref, rtol=1e-11, atol=1e-12)
    O32 = orthogonalize(xs.asarray(M.astype(np.float32)), method, **kw)
    assert O32.dtype == xs.float32


def test_norms():
    M = np.random.default_rng(2).standard_normal((3, 5, 4))
    for f in (frobenius_norm, nuclear_norm, spectral_norm):
        np.testing.assert_allclose(to_numpy(f(xs.asarray(M))), f(M), rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_every_optimizer_step(name):
    rng = np.random.default_rng(3)
    X0 = rng.standard_normal((3, 6, 4))
    Gs = [rng.standard_normal((3, 6, 4)) for _ in range(3)]
    for wrap in (lambda o: o, skip_nonfinite):
        opt = wrap(TABLE[name]())
        X, s = X0, opt.init(X0)
        Y, t = xs.asarray(X0), opt.init(xs.asarray(X0))
        for G in Gs:
            X, s = opt.step(X, G, s)
            Y, t = opt.step(Y, xs.asarray(G), t)
        assert namespace(Y) is xs
        np.testing.assert_allclose(to_numpy(Y), X, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(to_numpy(t.alpha), s.alpha, rtol=1e-11, atol=1e-14)


def test_the_run_loop():
    opt = TABLE["adago"]()
    ref = run(opt, LeastSquares(seed=4), 20, seeds=(0, 1, 2), record=5)
    tr = run(opt, LeastSquares(seed=4, backend=xs), 20, seeds=(0, 1, 2), record=5)
    for field in ("f", "gap", "grad_fro", "grad_nuc", "grad_op", "alpha", "update_norm"):
        np.testing.assert_allclose(getattr(tr, field), getattr(ref, field), rtol=1e-10, err_msg=field)
    np.testing.assert_allclose(tr.X_final, ref.X_final, rtol=1e-10, atol=1e-13)
    # stochastic gradients and a per-run hyperparameter array on the strict backend
    P = LeastSquares(seed=4, sigma2=0.1, backend=xs)
    tr = run(TABLE["sgd"](), P, 10, seeds=(0, 1), stochastic=True)
    assert np.all(np.isfinite(tr.f))


@pytest.mark.slow
def test_jax_smoke():
    # JAX arrays are immutable: the kernel's in-place updates of its own temporaries become new arrays
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    M = np.random.default_rng(5).standard_normal((3, 6, 4)).astype(np.float32)
    with jax.default_device(jax.devices("cpu")[0]):
        for method, kw in [("svd", {}), ("qdwh", {}), ("newton-schulz", {"coeffs": "polar-express"})]:
            np.testing.assert_allclose(to_numpy(orthogonalize(jnp.asarray(M), method, **kw)),
                                       orthogonalize(M, method, **kw), rtol=1e-4, atol=1e-5)
        for name in ("muon-ns", "adago", "namo_d"):
            opt = TABLE[name]()
            Y, t = opt.step(jnp.asarray(M), jnp.asarray(0.5 * M), opt.init(jnp.asarray(M)))
            X, s = opt.step(M, 0.5 * M, opt.init(M))
            np.testing.assert_allclose(to_numpy(Y), X, rtol=1e-4, atol=1e-5)
