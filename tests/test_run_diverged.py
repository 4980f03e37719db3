"""A diverged run is a failure: ``run`` raises :class:`DivergedRunError` whatever the horizon and grid."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import adago_theory
from adago_theory import DivergedRunError, run
from adago_theory.optim import polargrad, sgd
from test_optim_lsq import LeastSquares


def _lsq():
    return LeastSquares(m=6, n=4, p=10, cond=10.0, seed=0)


def test_exported_flat_and_a_value_error():
    assert adago_theory.DivergedRunError is DivergedRunError
    assert issubclass(DivergedRunError, ValueError)


@pytest.mark.parametrize("record", ["all", "log", [0], 7])
@pytest.mark.parametrize("T", [400, 700, 2000])
def test_polargrad_with_a_large_step_raises_naming_step_and_runs(T, record):
    # eta = 5 on L = 1: |1 - 5 nu| > 1, the iterates grow geometrically and overflow after ~200 steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergedRunError, match=r"diverged at step \d+: .* not finite in run\(s\) \[0, 1\] "
                                                   r"\(seeds \[3, 4\]\)") as info:
            run(polargrad(5.0), _lsq(), T, seeds=(3, 4), record=record)
    assert 0 < info.value.step <= T and info.value.runs == [0, 1] and info.value.seeds == [3, 4]


def test_a_short_horizon_that_has_not_overflowed_yet_returns_finite_values():
    tr = run(polargrad(5.0), _lsq(), 20, seeds=(0,))
    assert np.all(np.isfinite(tr.f)) and tr.f[-1, 0] > 1e10 * tr.f[0, 0]     # diverging, not yet diverged


def test_only_the_diverged_run_is_named():
    # a per-run initial point: run 1 starts at a huge iterate whose value overflows at once
    P = _lsq()
    X0 = np.concatenate([P.initial_point(0), 1e200 * np.ones((1, 6, 4))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergedRunError, match=r"step 0: the value f .* run\(s\) \[1\] \(seeds \[8\]\)"):
            run(sgd(0.1), P, 5, seeds=(7, 8), X0=X0)


def test_a_converging_run_does_not_raise():
    tr = run(sgd(0.5), _lsq(), 50, seeds=(0, 1), record=[0, 50])
    assert np.all(np.isfinite(tr.f)) and math.isfinite(float(tr.gap[-1, 0]))
