"""Memory per step: no optimizer step allocates more than the bound derived by counting its arrays.

The bound (``adago_theory.app.bench.memory.bound``; derivation in docs/performance.md, "Memory
per step") is c_P P + c_Q Q + c_V V + P/itemsize + 64 KiB with P = X.nbytes and
Q = R min(m, n)^2 itemsize; it is checked against tracemalloc's peak (NumPy reports its array
buffers to it).  The negative controls show that the bound can fail: one extra Gram-sized
(R, m, m) array, or a copy of the batch made one matrix at a time in a Python loop, alive during
the step, exceed it.
"""

import numpy as np
import pytest

from adago_theory import orthogonalize
from adago_theory.app.bench.memory import bound, configs, measure, peak_numpy
from adago_theory.optim import Optimizer, muon, namo_d

SHAPES = [(64, 50, 30), (16, 40, 100)]          # tall and wide, P = 768 KB and 512 KB in float64
CONFIGS = configs()


def test_tracemalloc_sees_numpy_arrays():
    """The measure itself: a known allocation pattern gives its known peak (two arrays alive, then one)."""
    X = np.ones((64, 50, 30))

    def f():
        A = X * 2.0
        B = A + 1.0
        del A
        return B * 3.0                       # B and the result alive: 2 X.nbytes; A freed before

    peak, kept, _ = peak_numpy(f)
    assert 2 * X.nbytes <= peak < 2 * X.nbytes + 4096
    assert X.nbytes <= kept < X.nbytes + 4096


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("label,name,route,factory", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_step_within_bound(label, name, route, factory, shape):
    r = measure(label, name, route, factory, shape, "float64", warm=False)
    assert r["ok"], (f"{label} {shape}: step allocated {r['step']:.2f} P, bound {r['bound']:.2f} P "
                     f"(c_P, c_Q, c_V = {r['consts']})")
    # the bound is not vacuous: the step uses at least the new iterate (and the state's arrays are P-sized)
    assert r["step"] >= 1.0
    # init allocates the state and nothing else of note
    assert r["init"] <= r["state"] + 0.15


def test_state_sizes():
    """Persistent state, closed forms: one momentum buffer (Muon), plus per-column vectors (NAMO-D)."""
    R, m, n = 64, 50, 30
    X = np.zeros((R, m, n))
    s = muon(0.02).init(X)
    assert s.M.nbytes == X.nbytes and s.alpha.nbytes == R * 8
    s = namo_d(0.01).init(X)
    assert s.M.nbytes + s.V.nbytes + s.alpha.nbytes + s.alpha_cols.nbytes == X.nbytes + (2 * n + 1) * R * 8


def _measured_with(orth, shape=(64, 50, 30)):
    return measure("muon/ns (mutant)", "muon", "ns", lambda: muon(0.02, orth=orth), shape, "float64", warm=False)


def test_bound_fails_with_an_extra_gram_array():
    """Negative control: an orthogonalizer that also holds one (R, m, m) array exceeds the bound."""
    def orth_gram(U):
        A = U @ np.swapaxes(U, -1, -2)         # (R, m, m), alive while the orthogonalizer runs
        O = orthogonalize(U, "newton-schulz", check_finite=False)
        return O + 0.0 * A[..., :1, :1]

    honest = _measured_with(lambda U: orthogonalize(U, "newton-schulz", check_finite=False))
    mutant = _measured_with(orth_gram)
    assert honest["ok"]
    assert not mutant["ok"], (f"an extra (R, m, m) array went unnoticed: "
                              f"{mutant['step']:.2f} P <= {mutant['bound']:.2f} P")


def test_bound_fails_with_a_python_loop_copy():
    """Negative control: a step that first copies the gradient matrix by matrix in a Python loop (the copy
    alive through the step, one more P at its peak) exceeds the bound.

    (A copy freed before the step's peak does not raise the peak, and is rightly not counted.)
    """
    def loop_copy_muon():
        opt = muon(0.02)

        def step(X, G, state):
            Gc = np.stack([G[i].copy() for i in range(G.shape[0])])
            return opt.step(X, Gc, state)

        return Optimizer(opt.init, step)

    honest = measure("muon/ns", "muon", "ns", lambda: muon(0.02), (64, 50, 30), "float64", warm=False)
    mutant = measure("muon/ns (mutant)", "muon", "ns", loop_copy_muon, (64, 50, 30), "float64", warm=False)
    assert honest["ok"]
    assert not mutant["ok"], f"a batch copy went unnoticed: {mutant['step']:.2f} P <= {mutant['bound']:.2f} P"


def test_bound_formula():
    """The bound's arithmetic, by hand, for Muon with Newton–Schulz on 64 x 50 x 30 float64."""
    R, m, n, s = 64, 50, 30, 8
    b, (cp, cq, cv) = bound("muon", "ns", (R, m, n), s)
    P, Q, V = R * m * n * s, R * n * n * s, R * (m + n) * s
    assert b == cp * P + cq * Q + cv * V + P // s + 64 * 1024


@pytest.mark.slow
def test_torch_profiler_measure():
    """The PyTorch measure (profiler memory events) on a known pattern, then a few steps within the bound.

    Slow (~10-40 s: the profiler's start-up on every call).
    """
    torch = pytest.importorskip("torch")
    from adago_theory.app.bench.memory import peak_torch

    X = torch.ones((64, 50, 30), dtype=torch.float64)
    P = X.numel() * 8

    def f():
        A = X * 2.0
        B = A + 1.0
        del A
        return B * 3.0

    peak, kept, _ = peak_torch(f)
    assert 2 * P <= peak < 2 * P + 4096
    assert P <= kept < P + 4096
    for label, name, route, factory in CONFIGS:
        if label in ("muon/ns", "adago/svd", "namo_d/ns", "adamw"):
            r = measure(label, name, route, factory, (64, 50, 30), "float64", backend="torch")
            assert r["ok"], f"torch {label}: {r['step']:.2f} P > bound {r['bound']:.2f} P"
