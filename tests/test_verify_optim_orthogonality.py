"""Tests of verify.orthogonality (issue 5, item 4): quick verdict, truncated control, predictions, torch path, plot."""

import numpy as np
import pytest

from adago_theory import orthogonalize
from verify.orthogonality import TOL_EXACT, check_orthogonality, composed_singular_values, plot_orthogonality
from verify.result import CheckResult


@pytest.fixture(scope="module")
def result():
    return check_orthogonality(quick=True, rng=3)


def test_quick_verdict_positive_and_control_negative(result):
    assert result.verdict is True, result.verdict_text
    assert result.negative_control["verdict"] is False
    dev = result.measured["max_deviation"]
    for name in ("AdaGO", "Muon", "NAMO", "PolarGrad"):
        assert np.max(dev["svd"][name]) <= TOL_EXACT
        assert np.max(dev["jordan"][name]) > 0.1          # Jordan's quintic is visibly not orthogonal
    nd = result.measured["namo_d"]
    assert np.all(np.asarray(nd["kappa"]) <= result.predicted["namo_d"]["kappa_max"] + 1e-12)
    assert np.max(nd["kappa"]) > 1.05                     # and NAMO-D does depart from orthogonal here


def test_composition_matches_newton_schulz_output():
    rng = np.random.default_rng(0)
    U = rng.standard_normal((3, 9, 5)) * np.array([1.0, 0.3, 0.05, 0.01, 0.002])
    for coeffs, steps in (("jordan", 5), ("cubic", 3), ("polar-express", 8)):
        out = orthogonalize(U, "newton-schulz", coeffs=coeffs, steps=steps)
        sv = np.linalg.svd(out, compute_uv=False)
        np.testing.assert_allclose(sv, composed_singular_values(U, coeffs, steps), rtol=1e-10, atol=1e-12)


def test_namo_d_spectrum_identity():
    """sigma(O D) = |d| for O with orthonormal columns (m >= n): the identity the check relies on."""
    rng = np.random.default_rng(1)
    O = np.linalg.qr(rng.standard_normal((8, 5)))[0]
    d = rng.uniform(0.2, 2.0, 5)
    np.testing.assert_allclose(np.linalg.svd(O * d, compute_uv=False), np.sort(d)[::-1], rtol=1e-12)


def test_torch_backend_agrees_with_numpy():
    pytest.importorskip("torch")
    a = check_orthogonality(quick=True, rng=5, steps=1, seeds=2)
    b = check_orthogonality(quick=True, rng=5, steps=1, seeds=2, backend="torch")
    assert a.verdict and b.verdict
    for o in ("jordan", "polar-express"):
        for n in ("AdaGO", "Muon"):
            np.testing.assert_allclose(a.measured["max_deviation"][o][n], b.measured["max_deviation"][o][n],
                                       rtol=1e-6, atol=1e-9)


def test_plot_and_json_roundtrip(result, tmp_path):
    from matplotlib.figure import Figure

    from adago_theory.app.plotting import save_figure

    fig = plot_orthogonality(CheckResult.from_json(result.to_json()))
    assert isinstance(fig, Figure)
    assert {p.suffix for p in save_figure(fig, tmp_path / "orthogonality")} == {".png", ".pdf"}


@pytest.mark.parametrize("kw", [dict(steps=0), dict(seeds=-1), dict(backend="tensorflow")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        check_orthogonality(quick=True, **kw)


def _eta_twice(eta, **kw):
    """AdaGO stepping by eta * alpha_t (eta applied twice): a plausible slip, state untouched."""
    from adago_theory.optim import Optimizer, adago

    opt = adago(eta, **kw)

    def step(X, G, s):
        Xn, s2 = opt.step(X, G, s)
        return X - eta * (X - Xn), s2

    return Optimizer(opt.init, step)


def _frobenius_direction(eta, **kw):
    """AdaGO with Orth(M) replaced by M / ||M||_F."""
    from adago_theory.optim import adago

    kw["orth"] = lambda M: M / np.linalg.norm(M, axis=(-2, -1), keepdims=True)
    return adago(eta, **kw)


@pytest.mark.parametrize("mutant", [_eta_twice, _frobenius_direction])
def test_mutants_killed(mutant):
    """The step size is recomputed from the gradients, not read from state: eta-twice (whose state.alpha is
    AdaGO's) and a non-orthogonal direction both fail."""
    r = check_orthogonality(quick=True, rng=3, factories={"adago": mutant})
    assert r.status == "fail", r.verdict_text
    assert np.max(r.measured["equality_error"]["svd"]["AdaGO"]) > 1e-3


def test_uses_and_preregistered(result):
    assert set(check_orthogonality.uses) == {"adago", "muon", "namo", "namo_d", "polargrad"}
    assert result.params["preregistered"]["tol"] == TOL_EXACT
    assert result.status == "pass"
