"""Rate fits and figures from a results store, against exact power laws and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adago_theory.app.sweep import canonical_config, fit_rates, load_results, plot_store, run_id
from adago_theory.app.sweep.plot import metric_columns, run_groups
from adago_theory.app.sweep.store import open_store, write_result

RUNNER = "test_sweep_toy:toy_runner"


def _power_law_store(path, *, c=3.0, p=-0.5, Ts=(8, 16, 32, 64, 128), seeds=(0, 1, 2), noise=None):
    """A store whose metric y at the last step is exactly c * T^p * (1 + seed/10) (and noise[T, seed])."""
    import pandas as pd

    open_store(path)
    for T in Ts:
        for eta_rule in ("0.5*T^-0.5", None):
            params = {"eta": 0.5 * T ** -0.5} if eta_rule else {"eta": 0.1}
            cfg = canonical_config({"problem": "toy", "optimizer": "gd", "optimizer_params": params,
                                    "scaling": {"eta": eta_rule} if eta_rule else {}, "T": T,
                                    "seeds": list(seeds), "runner": RUNNER})
            steps = np.array([0, T // 2, T])
            rows = []
            for s in seeds:
                final = c * T**p * (1 + s / 10) * (1 if eta_rule else 2)
                if noise is not None:
                    final *= noise[(T, s)]
                for t, y in zip(steps, (10.0, 0.5 * (10.0 + final), final)):
                    rows.append({"run_id": run_id(cfg), "problem": "toy", "optimizer": "gd", "T": T,
                                 "scaling": ";".join(f"eta={r}" for r in [eta_rule] if r), "opt_eta": params["eta"],
                                 "seed": s, "step": int(t), "y": y})
            write_result(path, run_id(cfg), pd.DataFrame(rows), cfg)
    return path


def test_fit_recovers_exact_power_law(tmp_path):
    df = load_results(_power_law_store(tmp_path))
    fits = fit_rates(df, "y", statistic="final")
    assert len(fits) == 2  # the rule group and the fixed-eta group, each across 5 horizons
    assert set(fits.n_T) == {5} and set(fits.n_seeds) == {3}
    np.testing.assert_allclose(fits.slope, -0.5, atol=1e-12)
    np.testing.assert_allclose(fits.theil_slope, -0.5, atol=1e-12)
    # the intercept: log of c * mean_s(1 + s/10) (times 2 for the fixed-eta group)
    icpt = sorted(fits.intercept)
    np.testing.assert_allclose(icpt, [np.log(3.0 * 1.1), np.log(6.0 * 1.1)], rtol=1e-12)
    labels = set(fits.label)
    assert labels == {"gd eta=0.5*T^-0.5", "gd eta=0.1"}


def test_fit_matches_scipy_on_noisy_data(tmp_path):
    rng = np.random.default_rng(7)
    Ts, seeds = (8, 16, 32, 64), (0, 1, 2, 3)
    noise = {(T, s): float(np.exp(0.3 * rng.standard_normal())) for T in Ts for s in seeds}
    df = load_results(_power_law_store(tmp_path, Ts=Ts, seeds=seeds, noise=noise))
    fits = fit_rates(df, "y", statistic="final")
    row = fits[fits.label == "gd eta=0.5*T^-0.5"].iloc[0]
    # independent reference: mean over seeds per T, then scipy on the logs
    yT = np.array([np.mean([3.0 * T**-0.5 * (1 + s / 10) * noise[(T, s)] for s in seeds]) for T in Ts])
    lr = stats.linregress(np.log(Ts), np.log(yT))
    ts = stats.theilslopes(np.log(yT), np.log(Ts), alpha=0.95)
    assert row.slope == pytest.approx(lr.slope, rel=1e-12)
    assert row.stderr == pytest.approx(lr.stderr, rel=1e-12)
    assert (row.theil_low, row.theil_high) == pytest.approx((ts.low_slope, ts.high_slope), rel=1e-12)


def test_min_and_mean_statistics(tmp_path):
    df = load_results(_power_law_store(tmp_path))
    # per run and seed the recorded values are 10, (10 + y)/2, y with y < 10: min = y; the mean
    # (15 + 1.5 y)/3 decays more slowly than y
    fmin = fit_rates(df, "y", statistic="min")
    np.testing.assert_allclose(fmin.slope, -0.5, atol=1e-12)
    fmean = fit_rates(df, "y", statistic="mean")
    assert np.all(fmean.slope > -0.5) and np.all(fmean.slope < 0)
    with pytest.raises(ValueError, match="statistic must be"):
        fit_rates(df, "y", statistic="median")
    with pytest.raises(ValueError, match="metric must be one of y"):
        fit_rates(df, "nope")


def test_groups_and_metric_columns(tmp_path):
    df = load_results(_power_law_store(tmp_path))
    assert metric_columns(df) == ["y"]
    g = run_groups(df, across_T=True)
    assert g.group.nunique() == 2 and len(g) == 10
    assert g.groupby("group")["T"].nunique().tolist() == [5, 5]


def test_plot_store_writes_figures_and_fits(tmp_path):
    _power_law_store(tmp_path / "s")
    res = plot_store(tmp_path / "s", out=tmp_path / "fig")
    names = sorted(p.name for p in res["files"])
    assert names == ["curves_y.pdf", "curves_y.png", "rates_y.csv", "rates_y.pdf", "rates_y.png"]
    assert (tmp_path / "fig" / "curves_y.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig" / "rates_y.pdf").read_bytes()[:5] == b"%PDF-"
    import pandas as pd

    csv = pd.read_csv(tmp_path / "fig" / "rates_y.csv")
    np.testing.assert_allclose(csv.slope, -0.5, atol=1e-10)
    with pytest.raises(ValueError, match="kind must be"):
        plot_store(tmp_path / "s", kinds=("bars",))


def test_plot_store_empty(tmp_path):
    open_store(tmp_path)
    with pytest.raises(ValueError, match="holds no finished run"):
        plot_store(tmp_path)
