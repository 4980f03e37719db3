"""Tests of verify.hyperparams (issue 5, item 10): quick verdict, eps = eta^2 control, curve statistics, plot."""

import numpy as np
import pytest

from verify.hyperparams import check_hyperparams, curve_stats, plot_hyperparams
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_hyperparams(quick=True, rng=19)


def test_quick_outcome_and_control_negative(result):
    """Quick mode judges (a)-(c) with the full mode's criteria: the outcome is pass or not reproduced, never a
    widened pass; the accumulator-reset control is not less sensitive than Muon."""
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    crit = result.measured["criteria"]
    assert result.status == ("pass" if all(crit.values()) else "not reproduced"), result.verdict_text
    z = result.measured["zones"]
    assert z["slow"] and z["oscillation"] and z["best_interior"]
    pre = result.params["preregistered"]
    assert result.measured["sensitivity"]["AdaGO"] <= result.measured["sensitivity"]["Muon"] / pre["less_sensitive"]
    # criterion (c), the seed's statement, recomputed from the recorded finals
    fe = dict(zip(result.params["epss"], np.asarray(result.measured["final_vs_eps"])))
    eta2 = result.measured["eta_star"] ** 2
    small = [e for e in fe if e <= eta2 / 10]
    best = min(fe[e] for e in small)
    f_guide = float(np.median(result.measured["eps_guideline_run"]["final"]))
    assert crit["c_guideline_degrades"] == (f_guide > pre["worse"] * best)


def test_curve_stats_closed_forms():
    K = 41
    t = np.arange(K, dtype=float)
    smooth = np.exp(-0.1 * t)[:, None]                       # log f linear: jitter = 0.1, trend = -0.1 * 10
    zig = (1.0 + 0.5 * (t % 2))[:, None]                     # alternates 1, 1.5: jitter = log 1.5
    st = curve_stats(np.hstack([smooth, zig]))
    np.testing.assert_allclose(st["osc"], [0.1, np.log(1.5)], rtol=1e-12)
    np.testing.assert_allclose(st["trend"][0], -0.1 * (K - 1 - (3 * K) // 4), rtol=1e-12)
    np.testing.assert_allclose(st["final"][0], np.exp(-0.1 * t[-4:]).mean(), rtol=1e-12)


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    fig = plot_hyperparams(CheckResult.from_json(result.to_json()))
    assert isinstance(fig, Figure)
    assert {p.suffix for p in save_figure(fig, tmp_path / "hyperparams")} == {".png", ".pdf"}


@pytest.mark.parametrize("kw", [dict(steps=5), dict(seeds=0), dict(backend="mlx")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_hyperparams(quick=True, **kw)


def _no_floor(eta, **kw):
    """AdaGO that ignores its floor eps (a plausible slip)."""
    from adago_theory.optim import adago

    kw["eps"] = 0.0
    return adago(eta, **kw)


@pytest.mark.slow  # a second quick run of the whole check (several seconds); run with -m slow
def test_mutant_killed():
    """AdaGO without its floor: eps = eta^2 can no longer degrade the run, criterion (c) is not seen."""
    r = check_hyperparams(quick=True, rng=19, factories={"adago": _no_floor})
    assert r.status != "pass", r.verdict_text
    assert r.measured["criteria"]["c_guideline_degrades"] is False


def test_judges_on_hand_made_sweeps():
    """The zone and floor criteria on numbers written out here."""
    from verify.hyperparams import judge_floor, judge_zones

    final = np.array([0.1, 0.01, 0.005, 0.05])
    osc = np.array([0.01, 0.02, 0.02, 0.2])
    assert judge_zones(final, osc, np.array([-0.5, -0.1, 0.0, 0.1])) == (2, True, True, True)
    assert judge_zones(final, osc, np.array([0.1, -0.1, 0.0, 0.1]))[1] is False        # not decreasing: not slow
    small, best, harmless, degrades = judge_floor({1e-6: 1.0, 1e-4: 1.5, 1e-2: 1.9}, 0.5, 2.5)
    assert small == [1e-6, 1e-4, 1e-2] and best == 1.0 and harmless and degrades
    assert judge_floor({1e-6: 1.0, 1e-4: 2.5}, 0.5, 1.9)[2:] == (False, False)
