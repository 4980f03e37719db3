"""Symbolic facts check: quick verdict, negative control, and the derived expressions at random values."""

import math

import numpy as np
import pytest

from verify.symbolic import adago_bound_expressions, check_symbolic_facts, ns_polynomial


@pytest.fixture(scope="module")
def quick_result():
    return check_symbolic_facts(quick=True, rng=0)


def test_quick_verdict_and_negative_control(quick_result):
    r = quick_result
    assert r.verdict, r.verdict_text
    assert all(v["holds"] for v in r.measured.values())
    assert r.negative_verdict is False
    assert r.passed


def test_stated_numbers(quick_result):
    m = quick_result.measured
    assert m["jordan_p1"]["value"] == pytest.approx(0.701, abs=1e-15)
    fp = np.asarray(m["jordan_repelling_fixed_points"]["value"], float)
    # independent: numpy roots of p(x) - x
    roots = np.roots([2.0315, 0, -4.7750, 0, 3.4445 - 1.0, 0])
    pos = np.sort(roots[(np.abs(roots.imag) < 1e-12) & (roots.real > 0)].real)
    np.testing.assert_allclose(fp[:2], pos, rtol=1e-12)
    lo, hi = m["jordan_band"]["value"]
    assert (lo, hi) == pytest.approx((0.6818, 1.1344), abs=5e-5)  # theory.md §5.1
    from verify.ns_error import jordan_band

    lo_n, hi_n, _ = jordan_band()  # numpy route: np.roots of p'
    assert (lo, hi) == pytest.approx((lo_n, hi_n), abs=1e-12)


def test_adago_bound_expressions_numerically():
    E = adago_bound_expressions()
    s = E["symbols"]
    vals = {s["T"]: 1000.0, s["L"]: 2.0, s["Delta"]: 3.0, s["eta"]: 0.1, s["eps"]: 0.05, s["gamma"]: 10.0,
            s["v0"]: 1.0}
    ours = float(E["ours"].subs(vals))
    by_hand = (3.0 / (0.05 * 1000) + 2.0 * 0.05 / 2
               + 2.0 * 0.1**2 * math.log(1 + 100.0 * 1000) / (2 * 0.05 * 1000))
    assert ours == pytest.approx(by_hand, rel=1e-12)
    assert float(E["difference"].subs(vals)) == pytest.approx(2.0 * 0.01 / (2 * 0.05 * 1000), rel=1e-12)
    assert float(E["c_star"].subs(vals)) == pytest.approx(math.sqrt(2 * 3.0 / 2.0), rel=1e-12)


def test_adago_lemma_on_a_hand_sequence():
    # a_t = 1, v0 = 1: sum 1/(1+t) for t=1..T <= log(1+T)
    T = 50
    lhs = sum(1.0 / (1 + t) for t in range(1, T + 1))
    assert lhs <= math.log(1 + T)
    assert lhs > 1.0  # the no-log control fails here


def test_ns_polynomial_is_exact():
    import sympy as sp

    p, x = ns_polynomial((3.4445, -4.7750, 2.0315))
    assert p.subs(x, 1) == sp.Rational(701, 1000)


def test_plot(quick_result):
    from matplotlib.figure import Figure

    from verify.symbolic import plot_symbolic_facts

    fig = plot_symbolic_facts(quick_result)
    assert isinstance(fig, Figure) and len(fig.axes) == 3


def test_near_misses_rejected_and_true_statements_accepted(quick_result):
    """The negative control's near misses all fail; the same tests accept the true constants (so the tests can
    tell a factor 2 or a wrong exponent apart, not only a false statement)."""
    import sympy as sp

    from verify.symbolic import PREREGISTERED, adago_bound_expressions, ns_polynomial
    from adago_theory import NS_PRESETS

    holds = quick_result.negative_control["measured"]["holds"]
    assert set(holds) == set(PREREGISTERED["near_misses"]) and not any(holds.values())
    p, x = ns_polynomial(NS_PRESETS["quintic"].coeffs[0])
    assert sp.expand(sp.diff(p, x) - sp.Rational(15, 8) * (1 - x**2) ** 2) == 0
    E = adago_bound_expressions()
    s = E["symbols"]
    assert sp.simplify(E["difference"] - s["L"] * s["eta"] ** 2 / (2 * s["eps"] * s["T"])) == 0
    assert quick_result.status == "pass"


def test_judge_rejects_a_perturbed_fact_and_only_that_one():
    """measure / predict / judge: every fact holds; a wrong exact constant or a shifted cross-check fails exactly
    its own fact."""
    import sympy as sp

    from verify.symbolic import judge, measure_constants, measure_ns, predict

    meas = measure_ns()
    cm, (lhs, rhs) = measure_constants(np.random.default_rng(0), quick=True)
    meas.update(cm)
    pred = predict()
    assert set(pred) == set(meas)
    holds = judge(meas, pred)
    assert all(holds.values()), [k for k, v in holds.items() if not v]

    pred["jordan_p1"]["exact"] = sp.Rational(7, 10)
    pred["polargrad_step"]["exact"] = (pred["polargrad_step"]["exact"][0] * 2, pred["polargrad_step"]["exact"][1])
    # the exact band against the numpy route of verify.ns_error, which must agree to 1e-12
    meas["jordan_band"]["numpy_route"] = [meas["jordan_band"]["numpy_route"][0] + 1e-9,
                                          meas["jordan_band"]["numpy_route"][1]]
    bad = judge(meas, pred)
    assert {k for k, v in bad.items() if not v} == {"jordan_p1", "polargrad_step", "jordan_band"}


def test_jordan_cycle_against_a_hand_loop():
    """The 4-cycle measured through ns_scalar_map equals a plain polynomial loop to rounding."""
    from verify.symbolic import measure_ns

    a, b, c = 3.4445, -4.7750, 2.0315
    t = 1.0
    for _ in range(4000):
        t = a * t + b * t**3 + c * t**5
    cyc = []
    for _ in range(4):
        cyc.append(t)
        t = a * t + b * t**3 + c * t**5
    got = measure_ns()["jordan_attracting_4_cycle"]["value"]
    np.testing.assert_allclose(got[:4], sorted(cyc), rtol=1e-13)
