"""Tests of verify.null_gradient (issue 5, item 5): quick verdict, Muon / constant-floor controls, plot."""

import numpy as np
import pytest

from verify.null_gradient import STEP_DROP, check_null_gradient, plot_null_gradient
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_null_gradient(quick=True, rng=13)


def test_quick_verdict_positive_and_controls_negative(result):
    assert result.verdict is True, result.verdict_text
    assert result.negative_control["verdict"] is False, result.negative_control["verdict_text"]
    for name in ("AdaGO", "PolarGrad"):
        assert np.all(np.asarray(result.measured[name]["alpha_ratio"]) <= STEP_DROP)
    ctrl = result.negative_control["measured"]
    muon = next(v for k, v in ctrl.items() if k.startswith("Muon"))
    # Muon's update norm is eta sqrt(r) at every step (exact orthogonalization, full-rank momentum)
    un = np.asarray(muon["update_norm"])[1:]
    np.testing.assert_allclose(un, result.negative_control["predicted"]["Muon update norm"], rtol=1e-9)
    floor = next(v for k, v in ctrl.items() if k.startswith("AdaGO"))
    assert np.all(np.asarray(floor["alpha"])[1:] >= result.params["control_eps"] * (1 - 1e-12))


def test_alpha_bound_recomputed(result):
    """alpha_t <= eps_t + eta ||G_t||_F / v_1, recomputed here from the recorded trace."""
    a = result.measured["AdaGO"]
    g, al = np.asarray(a["grad_fro"]), np.asarray(a["alpha"])
    p = result.params["adago"]
    v1 = np.sqrt(p["v0"] ** 2 + np.minimum(g[0] ** 2, p["gamma"] ** 2))
    t = np.arange(1, al.shape[0])[:, None]
    assert np.all(al[1:] <= 1e-3 / t + p["eta"] * np.minimum(g[:-1], p["gamma"]) / v1 * (1 + 1e-12))


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    fig = plot_null_gradient(CheckResult.from_json(result.to_json()))
    assert isinstance(fig, Figure)
    assert {p.suffix for p in save_figure(fig, tmp_path / "null_gradient")} == {".png", ".pdf"}


@pytest.mark.parametrize("kw", [dict(steps=5), dict(seeds=0), dict(backend="jax")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_null_gradient(quick=True, **kw)
