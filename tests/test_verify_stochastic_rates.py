"""verify.namo_rate, verify.inexact_rate, verify.rate_tightness (issue 12, items 2, 5, 7): real optimizers pass in
quick mode, named mutants are killed, the claims quick mode cannot judge say so, the records plot."""

import math

import numpy as np
import pytest

from verify.namo_rate import check_namo_d_rate, check_namo_rate, namo_schedule, plot_namo_rate
from verify.result import CheckResult


@pytest.fixture(scope="module")
def namo_quick():
    return check_namo_rate(quick=True, rng=11)


def test_namo_passes_quick_and_its_step_adapts_to_the_noise(namo_quick):
    r = namo_quick
    assert r.status == "pass", r.verdict_text
    rho = np.asarray(r.measured["rho"])
    pred = np.asarray(r.predicted["rho_noise_dominated"])
    assert np.all(np.diff(rho) < 0)                               # the step shrinks as 1 - beta shrinks
    assert rho[-1] == pytest.approx(pred[-1], rel=0.35)            # ~ sqrt((1-beta)/(1+beta)) (derived)
    assert r.negative_control["verdict"] is False
    fig = plot_namo_rate(CheckResult.from_json(r.to_json()))
    assert len(fig.axes) == 2


def test_namo_without_adaptation_is_killed():
    from verify.mutants import MUTANTS

    r = check_namo_rate(quick=True, rng=11, factories={"namo": MUTANTS["namo_no_adaptation"].factory})
    assert not r.passed
    assert np.all(np.asarray(r.measured["rho"]) > 0.9)             # the step never shrank


@pytest.mark.slow
def test_namo_d_passes_quick():
    r = check_namo_d_rate(quick=True, rng=11)
    assert r.status == "pass", r.verdict_text


def test_namo_schedule_by_hand():
    h = namo_schedule(400, Delta=2.0, L_op=0.5, sigma=1.0, m=10, n=6)
    s = 0.2 * math.sqrt(10)
    assert h["s"] == pytest.approx(s)
    assert h["eta"] * s == pytest.approx(2.0 / 20)                # c T^-1/2 with c = sqrt(Delta/L_op) = 2
    cb = (math.sqrt(1.0)) ** (2 / 3)
    assert 1 - h["beta"] == pytest.approx(cb / 20) and 1 - h["beta2"] == pytest.approx(cb / 40)


@pytest.mark.slow
def test_inexact_rate_quick_reports_every_orthogonalizer():
    from verify.inexact_rate import ORTHS, check_inexact_rate, plot_inexact_rate

    r = check_inexact_rate(quick=True, rng=3)
    assert set(r.measured["variants"]) == set(ORTHS)
    ex = r.measured["variants"]["exact (SVD)"]
    assert ex["constant_ratio"] == pytest.approx(1.0)
    assert r.negative_control["verdict"] is False
    assert r.status in ("pass", "fail")
    plot_inexact_rate(CheckResult.from_json(r.to_json()))


def test_tightness_is_not_judged_in_quick_mode():
    from verify.rate_tightness import check_adago_rate_tight, plot_adago_rate_tight

    r = check_adago_rate_tight(quick=True, rng=5)
    assert r.status == "not judged" and "not judged" in r.verdict_text
    d = r.measured["ranks"]["2"]
    ratio = np.asarray(d["ratio"])
    assert np.all(ratio >= 1.0)                                    # the lower bound holds at every horizon
    assert np.all(np.asarray(d["nuc_over_fro"]) > 1.2)             # the matrix geometry: nuclear > Frobenius
    assert np.all(np.asarray(d["nuc_over_fro"]) <= math.sqrt(2) + 1e-9)
    plot_adago_rate_tight(CheckResult.from_json(r.to_json()))


@pytest.mark.slow
def test_tightness_full_mode_judges_every_rank():
    from verify.rate_tightness import check_adago_rate_tight

    r = check_adago_rate_tight(quick=False, rng=0)
    assert r.status in ("pass", "fail", "not judged")
    for rank, d in r.measured["ranks"].items():
        assert np.all(np.asarray(d["ratio"]) >= 1.0), rank
