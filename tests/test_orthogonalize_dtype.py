"""``orthogonalize(..., "newton-schulz", dtype=...)``: the iteration in another precision.

References: a hand-written loop of the published iteration (normalise in the input's precision,
round once, iterate in the target dtype), the float64 iteration, and for bfloat16 the loop of
``torch.optim.Muon`` (KellerJordan/Muon) in bfloat16.  The negative control of each test is the
closest wrong thing: iterating in the input's precision and only casting the result.
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import orthogonalize
from adago_theory.orthogonalize import ns_schedule

JORDAN = (3.4445, -4.7750, 2.0315)


def _loop(X, steps=5, coeffs=JORDAN):
    """X <- aX + (bA + cA^2)X, A = XX^T, in X's dtype (wide X)."""
    a, b, c = coeffs
    for _ in range(steps):
        A = X @ X.swapaxes(-1, -2) if isinstance(X, np.ndarray) else X @ X.mT
        X = a * X + (b * A + c * (A @ A)) @ X
    return X


def test_numpy_float64_input_iterates_in_float32():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 20, 35))
    got = orthogonalize(M, "newton-schulz", dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == M.shape
    X0 = (M / np.linalg.norm(M, axis=(-2, -1), keepdims=True)).astype(np.float32)   # normalised in float64
    want = _loop(X0)
    np.testing.assert_allclose(got, want, atol=3e-6, rtol=0)
    exact = orthogonalize(M, "newton-schulz")
    # the closest wrong thing, a float64 iteration cast at the end, would be within half an ulp
    # of float32 (6e-8) of the float64 result; a float32 iteration is visibly further
    assert np.abs(got - exact).max() > 1e-7
    assert np.abs(exact.astype(np.float32) - exact).max() < 1e-7


def test_numpy_dtype_equal_to_the_input_changes_nothing():
    M = np.random.default_rng(1).standard_normal((30, 12))           # tall: processed transposed
    np.testing.assert_array_equal(orthogonalize(M, "newton-schulz", dtype=np.float64),
                                  orthogonalize(M, "newton-schulz"))


def test_bad_dtype_and_other_methods_are_refused():
    M = np.ones((3, 4))
    with pytest.raises(ValueError, match="dtype must be a real floating dtype"):
        orthogonalize(M, "newton-schulz", dtype=np.int32)
    with pytest.raises(ValueError, match="dtype must be a real floating dtype"):
        orthogonalize(M, "newton-schulz", dtype="not a dtype")
    for method in ("svd", "polar", "qdwh"):
        with pytest.raises(ValueError, match="dtype applies only to method='newton-schulz'"):
            orthogonalize(M, method, dtype=np.float32)
    Z = np.zeros((2, 0, 3))
    assert orthogonalize(Z, "newton-schulz", dtype=np.float32).dtype == np.float32


torch = pytest.importorskip("torch")


def _muon_reference_bf16(G):
    """torch.optim.Muon's published iteration: round to bfloat16, normalise, iterate in bfloat16."""
    X = G.bfloat16()
    X = X.mT if G.shape[0] > G.shape[1] else X
    X = X / (X.norm() + 1e-7)
    X = _loop(X)
    return X.mT if G.shape[0] > G.shape[1] else X


@pytest.mark.parametrize("shape", [(256, 256), (384, 128), (1, 256, 256)])
def test_torch_float32_input_iterates_in_bfloat16(shape):
    g = torch.Generator().manual_seed(2)
    G = torch.randn(*shape, generator=g)
    got = orthogonalize(G, "newton-schulz", eps=1e-7, dtype=torch.bfloat16)
    assert got.dtype == torch.bfloat16 and got.shape == G.shape
    exact = orthogonalize(G.double(), "newton-schulz", eps=1e-7)
    G2 = G.reshape(G.shape[-2:])
    ref = _muon_reference_bf16(G2).reshape(G.shape)

    def err(O):
        return float(torch.linalg.norm(O.double() - exact) / torch.linalg.norm(exact))

    # as accurate as torch's own bfloat16 iteration (the normalisation here is rounded once, not twice)
    assert err(got) < 1.1 * err(ref) + 1e-3, (err(got), err(ref))
    # and really iterated in bfloat16: a float32 iteration rounded at the end is ~10x closer
    f32_cast = orthogonalize(G, "newton-schulz", eps=1e-7).bfloat16()
    assert err(f32_cast) < 0.3 * err(got), (err(f32_cast), err(got))


def test_torch_small_half_iteration_runs_in_float32_and_is_rounded_at_the_end():
    # below NS_HALF_CPU_WORK a CPU iterates half precision in float32: the result is the float32
    # iteration of the float32-normalised input, rounded once to bfloat16
    g = torch.Generator().manual_seed(3)
    G = torch.randn(20, 30, generator=g)
    got = orthogonalize(G, "newton-schulz", dtype=torch.bfloat16)
    want = orthogonalize(G, "newton-schulz").bfloat16()
    assert torch.equal(got, want)


def test_schedule_cache_keeps_the_validation():
    assert ns_schedule("jordan", 1)[0] == [JORDAN]
    for bad in (True, 1.0):                 # equal to 1 as dictionary keys, still refused
        with pytest.raises(TypeError, match="steps must be an integer"):
            ns_schedule("jordan", bad)
    sched = ns_schedule([[1.5, -0.5, 0.0]], 2)[0]     # a list (unhashable): validated every call
    assert sched == [(1.5, -0.5, 0.0)] * 2
    cached = ns_schedule("jordan", 1)[0]
    cached.append("mutated")                           # the cached schedule is not shared
    assert ns_schedule("jordan", 1)[0] == [JORDAN]
