"""newton_schulz_orthogonalizer: orthogonalize's Newton–Schulz with the options validated once.

Reference: ``orthogonalize(M, "newton-schulz", ...)`` itself (the function the resolved one must
equal bit for bit), and the optimizers' results before and after ``resolve_orth`` returned it.
"""

import functools

import numpy as np
import pytest

from adago_theory import newton_schulz_in_dtype, newton_schulz_orthogonalizer, orthogonalize
from adago_theory.optim import muon, resolve_orth

OPTIONS = [dict(), dict(coeffs="polar-express"), dict(coeffs="quintic", steps=7, eps=1e-7),
           dict(coeffs=[(3.0, -3.2, 1.2), (1.875, -1.25, 0.375)], steps=3)]
SHAPES = [(5, 8), (8, 5), (3, 4, 6), (2, 7, 3), (0, 4), (4, 4)]


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_equals_orthogonalize_bit_for_bit_numpy(opts, shape):
    rng = np.random.default_rng(3)
    M = rng.standard_normal(shape)
    want = orthogonalize(M, "newton-schulz", **opts)
    got = newton_schulz_orthogonalizer(**opts)(M)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("shape", SHAPES)
def test_equals_orthogonalize_bit_for_bit_torch(dtype, shape):
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(5)
    M = torch.randn(shape, generator=g, dtype=torch.float64).to(torch.float32)
    dt = getattr(torch, dtype)
    want = orthogonalize(M, "newton-schulz", eps=1e-7, dtype=dt)
    fn = newton_schulz_orthogonalizer(eps=1e-7)
    got = newton_schulz_in_dtype(fn, dt)(M)
    assert got.dtype == want.dtype == dt
    assert torch.equal(got, want)
    assert torch.equal(newton_schulz_orthogonalizer(eps=1e-7, dtype=dt)(M), want)


def test_options_are_refused_at_construction_and_M_at_the_call():
    with pytest.raises(ValueError, match="eps"):
        newton_schulz_orthogonalizer(eps=-1.0)
    with pytest.raises(ValueError, match="steps"):
        newton_schulz_orthogonalizer(steps=0)
    with pytest.raises(ValueError, match="unknown"):
        newton_schulz_orthogonalizer(coeffs="no-such-preset")
    fn = newton_schulz_orthogonalizer()
    with pytest.raises(ValueError, match="M must be a matrix"):
        fn(np.ones(3))
    with pytest.raises(TypeError, match="M must have a real floating dtype"):
        fn(np.ones((2, 2), dtype=int))
    with pytest.raises(ValueError, match="dtype must be a real floating dtype"):
        newton_schulz_orthogonalizer(dtype="int32")(np.ones((2, 2)))


def test_resolve_orth_returns_it_and_in_dtype_binds_only_it():
    fn = resolve_orth(("newton-schulz", {"coeffs": "polar-express"}))
    M = np.random.default_rng(0).standard_normal((6, 4))
    np.testing.assert_array_equal(fn(M), orthogonalize(M, "newton-schulz", coeffs="polar-express"))
    assert newton_schulz_in_dtype(fn, np.float32)(M).dtype == np.float32
    assert newton_schulz_in_dtype(resolve_orth("svd"), np.float32) is None
    assert newton_schulz_in_dtype(lambda M: M, np.float32) is None
    bound = newton_schulz_in_dtype(fn, np.float32)
    assert newton_schulz_in_dtype(bound, np.float64) is None          # a dtype already bound stays
    # a functools.partial of orthogonalize itself is not mistaken for the resolved function
    assert newton_schulz_in_dtype(functools.partial(orthogonalize, method="newton-schulz"), np.float32) is None


def test_muon_steps_unchanged_by_the_resolved_orthogonalizer():
    """Muon with the resolved Newton–Schulz takes exactly the steps of Muon with the plain
    ``orthogonalize`` call as its orthogonalizer (a callable is used as it is)."""
    rng = np.random.default_rng(11)
    X0 = rng.standard_normal((3, 6, 4))
    plain = muon(0.05, orth=lambda U: orthogonalize(U, "newton-schulz", eps=1e-7, check_finite=False))
    fast = muon(0.05, orth=("newton-schulz", {"eps": 1e-7}))
    Xa, Xb, sa, sb = X0, X0, plain.init(X0), fast.init(X0)
    for t in range(4):
        G = rng.standard_normal(X0.shape)
        Xa, sa = plain.step(Xa, G, sa)
        Xb, sb = fast.step(Xb, G, sb)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(sa.M, sb.M)
