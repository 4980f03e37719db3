"""``skip_nonfinite(optimizer)``: runs with a non-finite gradient skip the step (optax's ``apply_if_finite``).

Moved from test_optim_properties.py with the ``nonfinite="skip"`` flag it replaces: same assertions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adago_theory import run, to_numpy
from adago_theory.optim import (
    NonFiniteGradientError,
    NonFiniteParameterError,
    SkipNonFiniteState,
    adago,
    init_all,
    muon,
    skip_nonfinite,
    step_all,
)
from test_optim_lsq import LeastSquares
from test_optim_properties import NAMES, TABLE


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_gradient_skip_mode(name, kernel_backend):
    opt = TABLE[name]()
    opt_skip = skip_nonfinite(opt)
    rng = np.random.default_rng(5)
    X = kernel_backend.asarray(rng.standard_normal((3, 6, 4)))
    G1 = kernel_backend.asarray(rng.standard_normal((3, 6, 4)))
    Gh = rng.standard_normal((3, 6, 4))
    Gh[1, 0, 0] = math.nan
    G2 = kernel_backend.asarray(Gh)
    s = opt_skip.init(X)
    Xa, s = opt_skip.step(X, G1, s)
    Xb, sb = opt_skip.step(Xa, G2, s)
    Xb_h = to_numpy(Xb)
    assert np.all(np.isfinite(Xb_h))
    np.testing.assert_array_equal(Xb_h[1], to_numpy(Xa)[1])               # run 1 kept its X
    assert to_numpy(sb.skipped).tolist() == [0, 1, 0]
    assert float(to_numpy(sb.alpha)[1]) == 0.0
    assert isinstance(sb, SkipNonFiniteState) and sb.count == 2
    for f in sb.inner._fields:                                            # ... and its state
        v = getattr(sb.inner, f)
        if f not in ("count", "alpha", "alpha_cols") and hasattr(v, "shape"):
            np.testing.assert_array_equal(to_numpy(v)[1], to_numpy(getattr(s.inner, f))[1], err_msg=f)
    # runs 0 and 2 stepped exactly as in raise mode
    Xc, _ = opt.step(Xa, kernel_backend.asarray(np.where(np.isnan(Gh), 0.0, Gh)), s.inner)
    for r in (0, 2):
        np.testing.assert_allclose(Xb_h[r], to_numpy(Xc)[r], rtol=1e-12, atol=1e-14)


def test_step_all_skips_a_run_in_every_matrix_when_one_gradient_is_not_finite():
    rng = np.random.default_rng(6)
    opt = skip_nonfinite(adago(0.1, gamma=1.0, eps=1e-4))
    Xs = (rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3)))
    G0 = rng.standard_normal((2, 5, 3))
    G1 = rng.standard_normal((2, 4, 3))
    G1[0, 1, 1] = math.inf
    out, states = step_all(opt, Xs, (G0, G1), init_all(opt, Xs))
    for i in range(2):
        np.testing.assert_array_equal(out[i][0], Xs[i][0])                # run 0 moved in no matrix
        assert not np.allclose(out[i][1], Xs[i][1])                       # run 1 moved in both
        assert states[i].skipped.tolist() == [1, 0]
    with pytest.raises(NonFiniteGradientError, match=r"matrix \[1\]"):
        opt_r = adago(0.1, gamma=1.0, eps=1e-4)
        step_all(opt_r, Xs, (G0, G1), init_all(opt_r, Xs))


def test_run_with_skip_mode_records_skipped_steps():
    class NaNOnce(LeastSquares):
        calls = 0

        def grad(self, X):
            G = super().grad(X)
            NaNOnce.calls += 1
            if NaNOnce.calls == 3:
                G = G.copy()
                G[0, 0, 0] = math.nan
            return G

    tr = run(skip_nonfinite(muon(0.05)), NaNOnce(), 10, seeds=(0, 1))
    assert tr.skipped.tolist() == [1, 0]
    assert np.all(np.isfinite(tr.X_final))
    assert tr.alpha[3, 0] == 0.0 and tr.update_norm[3, 0] == 0.0 and tr.update_norm[3, 1] > 0


def test_a_nonfinite_parameter_is_refused_even_when_skipping():
    opt = skip_nonfinite(muon(0.1))
    X = np.ones((2, 3, 2))
    s = opt.init(X)
    X[0, 0, 0] = math.nan
    with pytest.raises(NonFiniteParameterError, match=r"\[\[0\]\]"):
        opt.step(X, np.ones_like(X), s)


def test_wrapper_rejects_what_is_not_an_optimizer_or_its_state():
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        skip_nonfinite(lambda X: X)
    opt = skip_nonfinite(muon(0.1))
    X = np.ones((3, 2))
    with pytest.raises(TypeError, match="state must be the state returned by init"):
        opt.step(X, X, muon(0.1).init(X))
