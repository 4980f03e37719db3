"""The AdamW step on PyTorch tensors takes ``torch.optim.AdamW``'s own operations.

References: ``torch.optim.AdamW`` itself (an independent implementation: equal bit for bit), and
the generic array-API path of the same factory on NumPy (equal to rounding).  Per-run array
hyperparameters keep the generic path (checked against the scalar runs).
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory.optim import adamw, donating

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_equals_torch_adamw_bit_for_bit(dtype, wd):
    g = torch.Generator().manual_seed(0)
    W = torch.nn.Parameter(torch.randn(1, 40, generator=g, dtype=dtype))
    ref = torch.optim.AdamW([W], lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=wd, foreach=False)
    opt = adamw(0.01, beta1=0.9, beta2=0.99, eps=1e-6, weight_decay=wd)
    X = W.detach().clone()
    s = opt.init(X)
    for k in range(5):
        G = torch.randn(1, 40, generator=g, dtype=dtype)
        W.grad = G.clone()
        ref.step()
        X, s = opt.step(X, G, s)
        assert torch.equal(X, W.detach()), f"step {k}"
        assert torch.equal(s.m, ref.state[W]["exp_avg"]) and torch.equal(s.v, ref.state[W]["exp_avg_sq"])


def test_equals_the_generic_numpy_path_to_rounding_and_is_pure():
    rng = np.random.default_rng(1)
    X0, opt = rng.standard_normal((3, 4, 6)), adamw(0.05, weight_decay=0.05)
    Xn, sn = X0, opt.init(X0)
    Xt, st = torch.from_numpy(X0.copy()), opt.init(torch.from_numpy(X0.copy()))
    for k in range(4):
        G = rng.standard_normal(X0.shape)
        Gt = torch.from_numpy(G.copy())
        kept = (Xt.clone(), Gt.clone(), st.m.clone(), st.v.clone())
        Xn, sn = opt.step(Xn, G, sn)
        Xt2, st2 = opt.step(Xt, Gt, st)
        for a, b in zip(kept, (Xt, Gt, st.m, st.v)):    # pure: nothing it was given was written
            assert torch.equal(a, b)
        Xt, st = Xt2, st2
        np.testing.assert_allclose(Xt.numpy(), Xn, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(st.v.numpy(), sn.v, rtol=1e-13, atol=1e-300)
    # donated: the same bits, written into the given buffers
    G = torch.from_numpy(rng.standard_normal(X0.shape))
    Xp, sp = opt.step(Xt.clone(), G, type(st)(st.count, st.m.clone(), st.v.clone(), st.alpha))
    with donating(Xt, st.m, st.v):
        Xd, sd = opt.step(Xt, G, st)
    assert Xd is Xt and sd.m is st.m and sd.v is st.v
    assert torch.equal(Xd, Xp) and torch.equal(sd.m, sp.m) and torch.equal(sd.v, sp.v)


def test_per_run_arrays_keep_the_generic_path():
    rng = np.random.default_rng(2)
    X0 = torch.from_numpy(rng.standard_normal((2, 3, 5)))
    lrs = np.array([0.01, 0.1])
    batched = adamw(lrs, weight_decay=0.0)
    Xb, sb = X0.clone(), batched.init(X0)
    Xs = [X0[r].clone() for r in range(2)]
    singles = [adamw(float(lr), weight_decay=0.0) for lr in lrs]
    ss = [o.init(x) for o, x in zip(singles, Xs)]
    for k in range(3):
        G = torch.from_numpy(rng.standard_normal((2, 3, 5)))
        Xb, sb = batched.step(Xb, G, sb)
        for r in range(2):
            Xs[r], ss[r] = singles[r].step(Xs[r], G[r], ss[r])
    for r in range(2):
        torch.testing.assert_close(Xb[r], Xs[r], rtol=1e-12, atol=1e-14)
