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


def _many_groups_store(path, n_eta=6, Ts=(8, 16, 32, 64)):
    """2 x n_eta groups (optimizer rule vs constant over n_eta multipliers) x len(Ts) horizons."""
    import pandas as pd

    open_store(path)
    for k in range(n_eta):
        for T in Ts:
            cfg = canonical_config({"problem": "toy", "optimizer": "gd", "optimizer_params": {"eta": 0.1 * (k + 1)},
                                    "T": T, "seeds": [0, 1], "runner": RUNNER})
            rows = [{"run_id": run_id(cfg), "problem": "toy", "optimizer": "gd", "T": T, "scaling": "",
                     "opt_eta": 0.1 * (k + 1), "seed": s, "step": t, "y": (k + 1) * T ** -0.5 + 1e-3 * s}
                    for s in (0, 1) for t in (0, T)]
            write_result(path, run_id(cfg), pd.DataFrame(rows), cfg)
    return path


def test_sweep_plot_readable_with_24_runs(tmp_path):
    """issue 15 item 8: 24 runs (6 groups x 4 horizons): one colour per group, never reused, and the legend
    below the axes, not over them or wider than the figure."""
    from adago_theory.app.sweep.plot import plot_curves, plot_rates

    df = load_results(_many_groups_store(tmp_path / "s"))
    assert df.run_id.nunique() == 24
    for fig in (plot_curves(df, "y"), plot_rates(df, "y")):
        ax = fig.axes[0]
        colors_by_group = {}
        for line in ax.get_lines():
            if line.get_linestyle() == "--":  # fitted lines share their group's colour
                continue
            colors_by_group.setdefault(tuple(np.round(np.asarray(__import__("matplotlib").colors.to_rgba(
                line.get_color()))[:3], 6)), set()).add(round(float(line.get_ydata()[-1] /
                                                                  line.get_xdata()[-1] ** -0.5)))
        assert len(colors_by_group) == 6 and all(len(v) == 1 for v in colors_by_group.values())
        (leg,) = fig.legends
        fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig).draw()
        lb = leg.get_window_extent()
        ab = ax.get_window_extent()
        fb = fig.bbox
        assert lb.y1 <= ab.y0 + 1e-6  # below the axes
        assert lb.x0 >= fb.x0 - 1 and lb.x1 <= fb.x1 + 1  # not wider than the figure
        assert len(leg.get_texts()) == 6


def test_two_horizon_fit_has_no_interval(tmp_path):
    """issue 15 item 8: a fit on two horizons prints 'n/a (2 horizons)', not an interval of width zero."""
    from adago_theory.app.sweep.plot import interval_text

    _power_law_store(tmp_path / "s", Ts=(8, 32))
    fits = fit_rates(load_results(tmp_path / "s"), "y")
    assert (fits.n_T == 2).all() and fits.theil_low.isna().all()
    np.testing.assert_allclose(fits.slope, -0.5, atol=1e-10)
    assert {interval_text(r) for r in fits.itertuples()} == {"n/a (2 horizons)"}
    from adago_theory.app.cli import main

    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["plot", str(tmp_path / "s"), "--out", str(tmp_path / "f")]) == 0
    assert "n/a (2 horizons)" in buf.getvalue()


def test_plot_names_what_it_left_out(tmp_path):
    """issue 15 item 2: failed (diverged) runs and unfittable groups are named, with the reason."""
    from adago_theory.app.sweep.store import write_error

    _power_law_store(tmp_path / "s")
    cfg = canonical_config({"problem": "toy", "optimizer": "gd", "optimizer_params": {"eta": 9.0}, "T": 64,
                            "seeds": [0], "runner": RUNNER})
    write_error(tmp_path / "s", run_id(cfg), cfg, {"type": "DivergedRunError", "step": 41,
                                                   "message": "the run diverged at step 41: f is not finite"})
    res = plot_store(tmp_path / "s", out=tmp_path / "f")
    assert (f"run {run_id(cfg)} (gd, T=64)", "failed: DivergedRunError: the run diverged at step 41: f is not finite"
            ) in res["left_out"]
