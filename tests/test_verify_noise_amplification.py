"""Noise amplification check: quick verdict, negative control, bound and first-order formula vs references."""

import numpy as np
import pytest
from scipy import linalg

from verify._spectra import geometric_spectrum, matrices_with_spectrum
from verify.noise_amplification import (
    check_noise_amplification,
    first_order_amplification,
    polar_perturbation_bound,
)


@pytest.fixture(scope="module")
def quick_result():
    return check_noise_amplification(quick=True, rng=0)


def test_quick_verdict_and_negative_control(quick_result):
    r = quick_result
    assert r.verdict, r.verdict_text
    assert r.negative_verdict is False
    assert r.passed
    for key, v in r.measured["shapes"].items():
        assert v["bound_ratio_max"] <= 1.0
        assert np.max(v["amplification"]) > 1e5  # kappa = 1e8 amplifies enormously


def _scipy_polar(A):
    U = np.empty_like(A)
    for idx in np.ndindex(A.shape[:-2]):
        U[idx] = linalg.polar(A[idx])[0]
    return U


@pytest.mark.parametrize("shape", [(7, 4), (5, 5), (4, 6)])
def test_bound_holds_with_scipy_polar(shape):
    rng = np.random.default_rng(1)
    m, n = shape
    r = min(m, n)
    kap = np.array([1.0, 10.0, 1e3, 1e5])
    s = np.broadcast_to(geometric_spectrum(kap, r)[:, None, :], (4, 50, r))
    A, _ = matrices_with_spectrum(rng, s, m, n)
    E = rng.standard_normal(A.shape) * 10.0 ** rng.uniform(-8, 0, A.shape[:-2] + (1, 1))
    dU = np.linalg.norm(_scipy_polar(A + E) - _scipy_polar(A), axis=(-2, -1))
    bound, li = polar_perturbation_bound(A, E)
    assert np.all(dU <= bound * (1 + 1e-10))
    if m == n:  # the square case is Li's bound itself
        np.testing.assert_allclose(bound, li)


def test_bound_is_attained_to_first_order_in_the_square_case():
    # E = eps * u_n v_{n-1}^T - eps * u_{n-1} v_n^T rotates the two smallest directions: the worst case
    rng = np.random.default_rng(2)
    s = np.array([1.0, 0.3, 1e-3, 1e-3])
    A, _ = matrices_with_spectrum(rng, s, 4, 4)
    U, _, Vt = np.linalg.svd(A)
    eps = 1e-9
    E = eps * (np.outer(U[:, 3], Vt[2]) - np.outer(U[:, 2], Vt[3]))
    dU = np.linalg.norm(_scipy_polar(A + E) - _scipy_polar(A))
    bound, _ = polar_perturbation_bound(A, E)
    assert dU / bound == pytest.approx(1.0, rel=1e-3)


def test_first_order_formula_against_monte_carlo():
    rng = np.random.default_rng(3)
    m, n = 6, 3
    s = np.array([1.0, 0.2, 0.05])
    A, _ = matrices_with_spectrum(rng, s, m, n)
    eps = 1e-7
    N = rng.standard_normal((4000, m, n))
    N *= eps / np.linalg.norm(N, axis=(-2, -1), keepdims=True) * np.sqrt(m * n)  # E||N||^2 ~ eps^2 m n
    P0 = _scipy_polar(A[None])[0]
    dU = np.linalg.norm(_scipy_polar(A[None] + N) - P0, axis=(-2, -1))
    ratio = np.sqrt(np.mean(dU**2) / np.mean(np.linalg.norm(N, axis=(-2, -1)) ** 2))
    assert ratio == pytest.approx(float(first_order_amplification(s, m, n)), rel=0.05)


def test_check_can_fail():
    # An absurd margin makes the slope criterion fail; the bound part still holds.
    r = check_noise_amplification(shapes=((10, 5),), kappas=(1.0, 1e2, 1e3, 1e4), delta=1e-6, quick=True, rng=4)
    assert not r.verdict
    assert r.measured["shapes"]["10x5"]["bound_ratio_max"] <= 1.0


@pytest.mark.parametrize("kw, match", [
    (dict(shapes=((1, 3),)), "shapes"),
    (dict(kappas=(1.0, 10.0)), "at least 3"),
    (dict(noise=0.1), "noise"),
    (dict(noise_levels=(0.0, 1.0)), "noise_levels"),
    (dict(seeds=1), "seeds"),
    (dict(delta=2.0), "delta"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        check_noise_amplification(quick=True, **kw)


def test_bound_input_validation():
    with pytest.raises(ValueError, match="same shape"):
        polar_perturbation_bound(np.ones((3, 2)), np.ones((2, 3)))


def test_plot(quick_result):
    from matplotlib.figure import Figure

    from verify.noise_amplification import plot_noise_amplification

    fig = plot_noise_amplification(quick_result)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "fit slope" in legend  # the fitted slope with its CI is in the legend


def test_near_miss_controls_rejected(quick_result):
    """The bound is attained within a factor 2 on random noise (so half of it fails), and half the exponent is
    rejected by the same slope criterion; the true statements pass."""
    near = quick_result.negative_control["measured"]
    for v in near.values():
        assert v["half_bound_ratio_max"] > 1.0 and not v["half_bound_holds"]
        assert not v["half_exponent_accepted"]
    assert quick_result.status == "pass"
    assert quick_result.params["preregistered"]["delta"] == quick_result.params["delta"]


def test_measure_predict_judge_pieces_against_scipy():
    """The split pieces: measure's ||dU|| against scipy's polar factors; judge's ratio is measured / bound."""
    from verify.noise_amplification import judge, measure, predict

    rng = np.random.default_rng(4)
    kappas = np.array([1.0, 1e2, 1e3, 1e4])
    levels = np.array([1e-2, 1.0])
    kn = np.array([1e2])
    meas = measure(rng, 6, 4, kappas, 1e-9, levels, kn, 3)
    assert meas["dU"].shape == (4, 3) and meas["dU2"].shape == (2, 1, 3)
    ref = np.linalg.norm(_scipy_polar(meas["G"] + meas["N"]) - _scipy_polar(meas["G"]), axis=(-2, -1))
    np.testing.assert_allclose(meas["dU"], ref, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(meas["N"], axis=(-2, -1)), 1e-9, rtol=1e-12)
    # the noise sweep is scaled to rho * sigma_min(G) = rho / kappa (||G||_2 = 1)
    np.testing.assert_allclose(np.linalg.norm(meas["N2"], axis=(-2, -1)), (levels[:, None, None] / kn[None, :, None])
                               * np.ones((2, 1, 3)), rtol=1e-12)
    pred = predict(meas, 6, 4, kappas, 1e2)
    j = judge(meas, pred, kappas, 1e2, 0.1, np.random.default_rng(5))
    np.testing.assert_allclose(j["ratio"][:12], (ref / pred["bnd"]).ravel(), rtol=1e-5)
    assert j["ok_bound"] == bool(np.all(j["ratio"] <= 1.0))
    assert j["near"]["half_bound_ratio_max"] == pytest.approx(2.0 * j["ratio"].max())
