"""Buffer donation (``optim.donating``): the in-place step is the pure step, bit for bit.

The reference of each donated step is the same factory's pure step on copies of the same inputs
(the pure path is itself tested against hand-written loops in test_optim_reference.py); what is
checked here is that handing the buffers over changes where the results are written and nothing
else, that only the donated objects are written, and that ``skip_nonfinite`` — which needs the
old ``X`` and state — is not fooled by a donation around it.
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory.optim import OPTIMIZERS, donating, skip_nonfinite

torch = pytest.importorskip("torch")

# factory name -> keyword variants (Nesterov or not, weight decay, the orthogonalizer)
VARIANTS = {
    "muon": [dict(orth="svd"), dict(nesterov=False, weight_decay=0.1, orth="newton-schulz")],
    "adago": [dict(gamma=2.0, eps=1e-3), dict(gamma=2.0, eps=1e-3, nesterov=True)],
    "namo": [dict(), dict(weight_decay=0.1, nesterov=False)],
    "namo_d": [dict(c=0.5), dict(weight_decay=0.1)],
    "polargrad": [dict(beta=0.5), dict(beta=0.5, polar_first=True, weight_decay=0.1)],
    "sgd": [dict(), dict(momentum=0.9, nesterov=True)],
    "adamw": [dict(), dict(weight_decay=0.1)],
    "adagrad_norm": [dict(b0=0.5)],
}
ETA = {"muon": 0.05, "adago": 0.2, "namo": 0.03, "namo_d": 0.03, "polargrad": 0.01, "sgd": 0.1, "adamw": 0.01,
       "adagrad_norm": 0.1}
CASES = [(name, kw) for name, kws in VARIANTS.items() for kw in kws]


def _arrays(lib, seed, shape=(3, 7, 5)):
    rng = np.random.default_rng(seed)
    X, G = rng.standard_normal(shape), rng.standard_normal(shape)
    return (X, G) if lib == "numpy" else (torch.from_numpy(X), torch.from_numpy(G))


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a.clone()


def _copy_state(s):
    return type(s)(*(_copy(v) if hasattr(v, "shape") else v for v in s))


def _equal(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_every_factory_is_covered():
    assert set(VARIANTS) == set(OPTIMIZERS)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for n, kws in VARIANTS.items() for i in range(len(kws))])
def test_donated_step_equals_the_pure_step_bit_for_bit(lib, name, kw):
    opt = OPTIMIZERS[name](ETA[name], **kw)
    X, G = _arrays(lib, 0)
    Xp, sp = _copy(X), opt.init(X)                      # the pure run
    Xd, sd = _copy(X), opt.init(X)                      # the donated run
    for k in range(4):
        _, Gk = _arrays(lib, 10 + k)
        G_before = _copy(Gk)
        Xp, sp = opt.step(Xp, Gk, sp)
        arrays = [Xd] + [v for v in sd if hasattr(v, "shape")]
        with donating(*arrays):
            Xd, sd = opt.step(Xd, Gk, sd)
        assert _equal(Gk, G_before)                     # G is never donated, never written
        assert _equal(Xd, Xp), f"step {k}: X differs"
        for f, a, b in zip(sp._fields, sp, sd):
            if hasattr(a, "shape"):
                assert _equal(a, b), f"step {k}: state.{f} differs"
            else:
                assert a == b


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_donation_writes_in_place_and_only_the_donated_objects(lib):
    from adago_theory.optim import muon

    opt = muon(0.05, orth="svd")
    X, G = _arrays(lib, 1)
    s = opt.init(X)
    X1, s = opt.step(X, G, s)                           # a momentum that is not zero
    kept_X, kept_M = _copy(X1), _copy(s.M)
    with donating(X1, s.M):
        X2, s2 = opt.step(X1, G, s)
    assert X2 is X1 and s2.M is s.M                     # written into the donated buffers
    assert not _equal(X1, kept_X) and not _equal(s.M, kept_M)
    # donating only X: the state's momentum is a new array and the old one is untouched
    X3 = _copy(X2)
    old_M = _copy(s2.M)
    with donating(X3):
        X4, s4 = opt.step(X3, G, s2)
    assert X4 is X3 and s4.M is not s2.M and _equal(s2.M, old_M)
    # outside the context nothing is donated any more
    X5, s5 = opt.step(X4, G, s4)
    assert X5 is not X4 and s5.M is not s4.M


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_skip_nonfinite_keeps_the_old_iterate_of_skipped_runs_under_donation(lib):
    from adago_theory.optim import muon

    opt = skip_nonfinite(muon(0.05, orth="svd"))
    X, G = _arrays(lib, 2)
    X, s = opt.step(X, G, opt.init(X))                  # a momentum that is not zero: a step would move X
    G = _copy(G)
    G[1, 0, 0] = float("nan")                            # run 1 must keep its X and momentum
    X_before, M_before = _copy(X), _copy(s.inner.M)
    with donating(X, *(v for v in s.inner if hasattr(v, "shape"))):
        X_new, s_new = opt.step(X, G, s)
    assert _equal(X_new[1], X_before[1]) and _equal(s_new.inner.M[1], M_before[1])
    assert not _equal(X_new[0], X_before[0])
    assert int(s_new.skipped[1]) == 1 and int(s_new.skipped[0]) == 0


def test_torch_engine_steps_large_parameters_in_place():
    """A matrix stepped alone (above STACK_MAX_NUMEL) is updated in its own storage, with no copy
    back, and its momentum keeps its storage from step to step; the result is the pure step's."""
    from adago_theory.optim import muon
    from adago_theory.torch_optim import Muon
    from adago_theory.torch_optim.engine import STACK_MAX_NUMEL

    n = int(np.sqrt(STACK_MAX_NUMEL)) + 8
    g = torch.Generator().manual_seed(3)
    W = torch.nn.Parameter(torch.randn(n, n, generator=g, dtype=torch.float64))
    W_ref = W.detach().clone()
    opt = Muon([W], lr=0.02, orth="svd")
    f = muon(0.02, orth="svd")
    s_ref = f.init(W_ref)
    copies = []
    real_copy = torch.Tensor.copy_

    def spy(self, src, *a, **k):
        if self.data_ptr() == W.data_ptr():
            copies.append(1)
        return real_copy(self, src, *a, **k)

    ptr, m_ptr = W.data_ptr(), None
    for k in range(3):
        W.grad = torch.randn(n, n, generator=g, dtype=torch.float64)
        torch.Tensor.copy_ = spy
        try:
            opt.step()
        finally:
            torch.Tensor.copy_ = real_copy
        W_ref, s_ref = f.step(W_ref, W.grad, s_ref)
        assert W.data_ptr() == ptr
        if m_ptr is not None:
            assert opt.state[W]["M"].data_ptr() == m_ptr
        m_ptr = opt.state[W]["M"].data_ptr()
        assert torch.equal(W.detach(), W_ref)
    assert not copies                                   # never copied back: written in place


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_vouched_finite_inputs_skip_only_their_own_screen(lib):
    from adago_theory.optim import NonFiniteGradientError, NonFiniteParameterError, muon

    opt = muon(0.05, orth="svd")
    X, G = _arrays(lib, 4)
    s = opt.init(X)
    Xn = _copy(X)
    Xn[0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteParameterError):
        opt.step(Xn, G, s)
    with donating(finite=(Xn, G)):                      # vouched for: stepped as it is
        X1, _ = opt.step(Xn, G, s)
    assert bool(np.isnan(np.asarray(X1[0])).any()) and not bool(np.isnan(np.asarray(X1[1:])).any())
    Gn = _copy(G)
    Gn[2, 1, 1] = float("inf")
    with donating(finite=(X,)), pytest.raises(NonFiniteGradientError, match=r"run\(s\) \[\[2\]\]"):
        opt.step(X, Gn, s)                              # X vouched for, G still screened
    with donating(finite=(G,)), pytest.raises(NonFiniteParameterError, match=r"run\(s\) \[\[0\]\]"):
        opt.step(Xn, G, s)                              # G vouched for, X still screened
