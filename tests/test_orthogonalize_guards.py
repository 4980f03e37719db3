"""Newton–Schulz guards: a bound on ``steps``, coefficients whose iteration leaves the finite range refused,
and the one scalar map :func:`ns_scalar_map` against a hand-written composition."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from adago_theory import NS_PRESETS, ns_schedule, orthogonalize
from adago_theory.optim import muon
from adago_theory.orthogonalize import NS_MAX_STEPS, ns_scalar_map


def test_steps_beyond_the_bound_are_refused_naming_steps_and_the_bound():
    assert NS_MAX_STEPS == 100
    for bad in (101, 10**7):
        with pytest.raises(ValueError, match=r"steps must be an integer in \[1, 100\], got " + str(bad)):
            orthogonalize(np.eye(2), "newton-schulz", steps=bad)
    with pytest.raises(ValueError, match=r"orth=.*steps must be an integer in \[1, 100\]"):
        muon(0.1, orth=("newton-schulz", {"steps": 10**7}))
    assert orthogonalize(np.eye(2), "newton-schulz", coeffs="cubic", steps=100).shape == (2, 2)


@pytest.mark.parametrize("coeffs,steps", [
    ([(3.0, 3.0, 3.0)], 2),            # p(1) = 9, p(9) ~ 1.8e5
    ([(1.0, 0.0, 50.0)], 2),           # p(1) = 51, p(51) ~ 1.7e10
    ([(8.0, 0.0, 0.0)] * 6, None),     # linear, 8^5 > 1e4 after five steps
    ([(3.4445, -4.7750, 2.0315), (3.0, 0.0, 0.0)], 12),   # a bounded step, then one that grows
])
def test_coefficients_whose_iteration_leaves_the_finite_range_are_refused(coeffs, steps):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # refused before any matrix arithmetic
        with pytest.raises(ValueError, match=r"coeffs: the Newton–Schulz iteration leaves the finite range"):
            orthogonalize(np.eye(3), "newton-schulz", coeffs=coeffs, steps=steps)
    with pytest.raises(ValueError, match="leaves the finite range"):
        muon(0.1, orth={"method": "newton-schulz", "coeffs": coeffs, "steps": steps})


def test_one_bounded_step_of_growing_coefficients_is_allowed():
    # the check is on the schedule actually applied: one step of p(x) = 3x + 3x^3 + 3x^5 stays below 9
    O = orthogonalize(np.eye(2) / np.sqrt(2), "newton-schulz", coeffs=[(3.0, 3.0, 3.0)])
    np.testing.assert_allclose(O, np.eye(2) * ns_scalar_map(2**-0.5, [(3.0, 3.0, 3.0)]), rtol=1e-12)   # sigma / ||M||_F


def test_bounded_custom_coefficients_and_every_preset_pass_up_to_the_bound():
    orthogonalize(np.eye(3), "newton-schulz", coeffs=[(2.0, -1.5, 0.5)], steps=100)   # p(1) = 1
    for name in NS_PRESETS:
        ns_schedule(name, NS_MAX_STEPS)


def test_the_scalar_map_is_the_composition_of_the_polynomials():
    x = np.linspace(0.0, 1.0, 101)
    for name in NS_PRESETS:
        sched, _ = ns_schedule(name)
        y = x.copy()
        for a, b, c in sched:                              # independent: the monomial form
            y = a * y + b * y**3 + c * y**5
        np.testing.assert_allclose(ns_scalar_map(x, name), y, rtol=1e-12, atol=1e-12)
    # a schedule from ns_schedule is applied as it is
    sched, _ = ns_schedule("jordan", 7)
    assert ns_scalar_map(0.5, sched) == ns_scalar_map(0.5, "jordan", steps=7)


def test_singular_values_of_a_diagonal_input_follow_the_scalar_map():
    s = np.array([1.0, 0.5, 0.1, 0.01])
    O = orthogonalize(np.diag(s), "newton-schulz", coeffs="you")
    np.testing.assert_allclose(np.diag(O), ns_scalar_map(s / np.linalg.norm(s), "you"), rtol=1e-12)
