"""Rate fitting (verify.fit) on synthetic data with known slopes, against independent references."""

import itertools

import numpy as np
import pytest

from verify.fit import RateFit, fit_rate, local_slopes, ols_slope, rate_verdict


T = np.geomspace(100, 1e4, 7)


def test_exact_power_law_recovered_by_every_estimator():
    G = 3.0 * T**-0.25
    f = fit_rate(T, G)
    assert f.slope == pytest.approx(-0.25, abs=1e-12)
    assert f.theil_slope == pytest.approx(-0.25, abs=1e-12)
    assert f.intercept == pytest.approx(np.log(3.0), abs=1e-12)
    np.testing.assert_allclose(f.eoc, -0.25, atol=1e-12)
    assert f.n_seeds == 1 and f.boot_method == "none"
    assert f.ci == f.ci_ols  # single seed: the OLS interval


def test_ols_and_theil_sen_match_hand_computations():
    rng = np.random.default_rng(3)
    y = -0.5 * np.log(T) + 0.3 * rng.standard_normal(T.size)
    f = fit_rate(T, np.exp(y))
    slope_np, icpt_np = np.polyfit(np.log(T), y, 1)
    assert f.slope == pytest.approx(slope_np, rel=1e-12)
    assert f.intercept == pytest.approx(icpt_np, rel=1e-12)
    x = np.log(T)
    pair = [(y[j] - y[i]) / (x[j] - x[i]) for i, j in itertools.combinations(range(T.size), 2)]
    assert f.theil_slope == pytest.approx(np.median(pair), rel=1e-12)
    # t-interval by hand
    from scipy import stats

    resid = y - (icpt_np + slope_np * x)
    se = np.sqrt(np.sum(resid**2) / (T.size - 2) / np.sum((x - x.mean()) ** 2))
    tq = stats.t.ppf(0.975, T.size - 2)
    assert f.ci_ols[0] == pytest.approx(slope_np - tq * se, rel=1e-10)
    assert f.ci_ols[1] == pytest.approx(slope_np + tq * se, rel=1e-10)


def test_local_slopes_by_hand():
    y = np.array([0.0, -1.0, -1.5, -3.0])
    x = np.array([1.0, np.e, np.e**2, np.e**4])
    np.testing.assert_allclose(local_slopes(x, y), [-1.0, -0.5, -0.75])


def test_ols_slope_vectorized_matches_polyfit():
    rng = np.random.default_rng(0)
    x = np.log(T)
    Y = rng.standard_normal((5, T.size))
    np.testing.assert_allclose(ols_slope(x, Y), [np.polyfit(x, row, 1)[0] for row in Y], rtol=1e-12)


def test_bootstrap_resamples_seeds_not_columns():
    # Each seed is an exact power law with its own constant: every resample of *seeds* has
    # slope exactly -0.25, so the seed bootstrap CI collapses; resampling columns independently
    # (the pitfall of toolkits.md §8.4) mixes constants across T and gives a wide interval.
    rng = np.random.default_rng(1)
    c = rng.lognormal(0.0, 1.5, (8, 1))
    G = c * T**-0.25
    f = fit_rate(T, G, rng=2)
    assert f.ci_boot[1] - f.ci_boot[0] < 1e-9
    assert f.ci_boot[0] == pytest.approx(-0.25, abs=1e-9)
    # the wrong (column-wise) bootstrap, by hand
    idx = rng.integers(0, 8, (2000, 8, T.size))
    Gc = np.take_along_axis(np.broadcast_to(G, (2000, 8, T.size)), idx, axis=1)
    slopes = ols_slope(np.log(T), np.log(Gc.mean(axis=1)))
    lo, hi = np.quantile(slopes, [0.025, 0.975])
    assert hi - lo > 0.05


def test_bootstrap_ci_covers_true_slope_on_noisy_data():
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(40):
        G = 3.0 * T**-0.25 * rng.lognormal(0.0, 0.1, (8, T.size))
        f = fit_rate(T, G, rng=rng)
        covered += f.ci_boot[0] <= -0.25 <= f.ci_boot[1]
        assert f.ci_theil[0] <= f.theil_slope <= f.ci_theil[1]
    # nominal 95%; with 8 seeds the percentile bootstrap under-covers somewhat
    assert covered >= 30


def test_bca_and_statistics():
    rng = np.random.default_rng(5)
    G = 2.0 * T**-0.5 * rng.lognormal(0.0, 0.2, (10, T.size))
    f = fit_rate(T, G, boot_method="BCa", rng=0)
    assert f.boot_method == "BCa" and f.ci_boot[0] < f.slope < f.ci_boot[1]
    # rms statistic: half the slope of the mean of squares
    f2 = fit_rate(T, G, statistic="rms")
    f_sq = fit_rate(T, G**2, statistic="mean")
    assert f2.slope == pytest.approx(0.5 * f_sq.slope, rel=1e-12)
    fg = fit_rate(T, G, statistic="geomean")
    assert fg.slope == pytest.approx(np.polyfit(np.log(T), np.log(G).mean(0), 1)[0], rel=1e-12)


def test_x_min_restricts_the_fit_but_not_the_eoc():
    G = np.where(T < 1000, 1.0, 1.0) * T**-1.0
    G[:2] = 5.0  # a pre-asymptotic plateau
    f = fit_rate(T, G, x_min=500)
    assert f.slope == pytest.approx(-1.0, abs=1e-12)
    assert f.fitted.sum() == np.sum(T >= 500)
    assert f.eoc.size == T.size - 1


def test_rate_verdicts():
    rng = np.random.default_rng(11)
    G = 3.0 * T**-0.3 * rng.lognormal(0.0, 0.05, (8, T.size))
    f = fit_rate(T, G, rng=0)
    ok, text = rate_verdict(f, -0.25, 0.03)
    assert ok and "predicted -0.250 outside the CI" in text
    ok_m, _ = rate_verdict(f, -0.25, 0.01, direction="matches")
    assert not ok_m
    ok_m2, _ = rate_verdict(f, -0.3, 0.05, direction="matches")
    assert ok_m2
    # a plateau (slope 0) is not consistent with T^-1/4
    Gp = 1.0 + 0.0 * T + 0.01 * rng.standard_normal((8, T.size)) ** 2
    assert not rate_verdict(fit_rate(T, Gp, rng=0), -0.25, 0.03)[0]


def test_label_and_record():
    f = fit_rate(T, 3.0 * T**-0.25 * np.exp(0.01 * np.random.default_rng(0).standard_normal((4, T.size))), rng=0)
    assert isinstance(f, RateFit)
    assert f.label().startswith("slope \u22120.2")
    d = f._asdict()
    assert set(d) == set(RateFit._fields)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, 0.0, 1.0]), "positive"),
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, np.nan, 1.0]), "positive"),
    (dict(x=[1.0, 2.0], G=[1.0, 2.0]), "at least 3"),
    (dict(x=[3.0, 2.0, 1.0], G=[1.0, 2.0, 3.0]), "increasing"),
    (dict(x=[1.0, 2.0, 3.0], G=[[1.0, 2.0]]), "shape"),
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, 2.0, 3.0], statistic="max"), "statistic"),
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, 2.0, 3.0], confidence=1.5), "confidence"),
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, 2.0, 3.0], n_resamples=10), "n_resamples"),
    (dict(x=[1.0, 2.0, 3.0], G=[1.0, 2.0, 3.0], boot_method="studentized"), "boot_method"),
    (dict(x=[-1.0, 2.0, 3.0], G=[1.0, 2.0, 3.0]), "x must hold"),
])
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_rate(**kwargs)


def test_rate_verdict_bad_input():
    f = fit_rate(T, T**-0.5)
    with pytest.raises(ValueError, match="delta"):
        rate_verdict(f, -0.5, -1.0)
    with pytest.raises(ValueError, match="direction"):
        rate_verdict(f, -0.5, 0.1, direction="sideways")


# --------------------------------------------------------------------------- hierarchical bootstrap (issue 12)

from verify.fit import fit_rate_hierarchical, hierarchical_resample  # noqa: E402


def test_hierarchical_resample_draws_instances_then_seeds():
    # G[i, s, k] = 100 i + s: a resample's mean reveals which instances and seeds were drawn
    I, S, K = 3, 4, 2
    G = (100.0 * np.arange(I)[:, None, None] + np.arange(S)[None, :, None]) * np.ones((1, 1, K))
    means = hierarchical_resample(G, 5000, np.random.default_rng(0))
    assert means.shape == (5000, K)
    np.testing.assert_allclose(means[:, 0], means[:, 1])           # one run keeps its pairing across horizons
    # the mean over resamples is the pooled mean, its variance the two-stage variance (by hand)
    assert means[:, 0].mean() == pytest.approx(G[..., 0].mean(), rel=2e-2)
    inst = 100.0 * np.arange(I)
    var_hand = np.var(inst) / I + np.var(np.arange(S)) / (I * S)
    assert means[:, 0].var() == pytest.approx(var_hand, rel=0.1)


def test_hierarchical_ci_widens_when_instances_disagree():
    g = np.random.default_rng(1)
    rho = -0.25 + 0.04 * g.standard_normal((5, 1, 1))             # instance-specific exponents
    G = T ** rho * np.exp(0.01 * g.standard_normal((5, 6, T.size)))
    h = fit_rate_hierarchical(T, G, rng=2)
    s = fit_rate(T, G.reshape(30, T.size), rng=2)
    assert h.slope == pytest.approx(s.slope, abs=1e-12)            # same point estimate (pooled mean)
    assert (h.ci[1] - h.ci[0]) > 1.5 * (s.ci[1] - s.ci[0])
    assert h.ci_name.startswith("hierarchical") and h.n_seeds == 30
    # slope of the pooled log-mean by hand
    y = np.log(G.mean(axis=(0, 1)))
    assert h.slope == pytest.approx(np.polyfit(np.log(T), y, 1)[0], rel=1e-12)


def test_hierarchical_fit_window_and_bad_input():
    G = np.ones((2, 2, T.size)) * T ** -0.5
    f = fit_rate_hierarchical(T, G, x_min=1000, rng=0)
    assert f.fitted.tolist() == (T >= 1000).tolist() and f.slope == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="instances"):
        fit_rate_hierarchical(T, G[:1], rng=0)
    with pytest.raises(ValueError, match="shape"):
        fit_rate_hierarchical(T, G[0], rng=0)
    with pytest.raises(ValueError, match="n_resamples"):
        fit_rate_hierarchical(T, G, n_resamples=10)


def test_loglog_fit_recovers_an_exact_power_law_and_refuses_bad_input():
    """One home for the log-log fit of a table of means (also used by the sweep plot's rate fits)."""
    from verify.fit import loglog_fit

    x = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    r = loglog_fit(x, 3.0 * x ** -0.25)
    assert abs(r["slope"] + 0.25) < 1e-12 and abs(r["theil_slope"] + 0.25) < 1e-12
    assert abs(r["intercept"] - np.log(3.0)) < 1e-12 and r["stderr"] < 1e-6   # rounding-level residuals
    assert r["theil_low"] <= r["slope"] <= r["theil_high"]
    two = loglog_fit([10.0, 100.0], [1.0, 0.5])        # two points: the slope through them, no interval
    assert abs(two["slope"] - np.log(0.5) / np.log(10.0)) < 1e-12
    assert np.isnan(two["stderr"]) and np.isnan(two["theil_low"]) and np.isnan(two["theil_high"])
    noisy = 2.0 * x ** -0.5 * np.exp(np.array([0.05, -0.03, 0.02, -0.04, 0.01]))
    b_hand = np.polyfit(np.log(x), np.log(noisy), 1)[0]   # independent OLS
    assert abs(loglog_fit(x, noisy)["slope"] - b_hand) < 1e-12
    for bad in ([1.0, -1.0, 2.0, 3.0, 4.0], [1.0, 2.0]):
        with pytest.raises(ValueError):
            loglog_fit(x, bad)
