"""Newton–Schulz error check: quick verdict, negative control, and its pieces against independent references."""

import numpy as np
import pytest

from adago_theory import NS_PRESETS, ns_schedule, orthogonalize
from verify.ns_error import check_ns_error, jordan_band, scalar_orbit


@pytest.fixture(scope="module")
def quick_result():
    return check_ns_error(quick=True, rng=0)


def test_quick_verdict_and_negative_control(quick_result):
    r = quick_result
    assert r.verdict, r.verdict_text
    assert r.negative_verdict is False, r.negative_control["verdict_text"]
    assert r.passed
    assert r.kind == "equality" and r.quick
    # the measured convergence floor is far below the tolerance for the convergent presets
    for p in ("cubic", "quintic", "polar-express"):
        assert np.all(r.measured["converged_error"][p] <= r.predicted["convergence_tolerance"])
    # Jordan's last-step error is bounded away from 0 (not a rounding artefact)
    assert r.measured["jordan_band"]["min_sigma_dev_last"] > 0.04


def test_measured_error_equals_composition_prediction(quick_result):
    """Where rounding is negligible, the measured error equals the scalar prediction."""
    m, p = quick_result.measured, quick_result.predicted
    for preset in NS_PRESETS:
        E = np.asarray(m["rel_error_vs_steps"][preset])
        P = np.asarray(p["rel_error_vs_steps"][preset])
        big = P > 1e-6
        np.testing.assert_allclose(E[big], P[big], rtol=1e-6)


def test_scalar_orbit_matches_singular_values_of_a_diagonal_input():
    # Independent reference: Newton–Schulz on diag(s) stays diagonal, so its diagonal is the composition.
    s = np.array([1.0, 0.5, 0.1, 0.01])
    M = np.diag(s)
    for preset in ("jordan", "quintic", "polar-express"):
        sched, scale = ns_schedule(preset)
        O = orthogonalize(M, "newton-schulz", coeffs=preset)
        phi, amp, peak = scalar_orbit(s / (scale * np.linalg.norm(s)), sched)
        np.testing.assert_allclose(np.diag(O), phi, rtol=1e-12, atol=1e-14)
        assert np.all(amp >= 1) and np.all(peak >= amp)


def test_jordan_band_values():
    lo, hi, xc = jordan_band()
    # theory.md §5.1: asymptotic band [0.6818, 1.1344]; x_c is the larger critical point of p
    assert lo == pytest.approx(0.6818, abs=5e-5) and hi == pytest.approx(1.1344, abs=5e-5)
    a, b, c = NS_PRESETS["jordan"].coeffs[0]
    assert a + 3 * b * xc**2 + 5 * c * xc**4 == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="invariant-interval"):
        jordan_band(NS_PRESETS["quintic"].coeffs[0])


def test_check_can_fail():
    # An absurdly strict rounding constant must make criterion (i) fail.
    r = check_ns_error(presets=("quintic", "jordan"), kappas=(1.0, 1e2, 1e4), shape=(8, 4), seeds=2,
                       dtypes=("float64", "float32"), c_round=1e-6, quick=True, rng=1)
    assert not r.verdict and "FAIL" in r.verdict_text
    # Too few steps for criterion (ii): cannot certify convergence
    r2 = check_ns_error(presets=("quintic", "jordan"), kappas=(1.0, 1e2), shape=(8, 4), seeds=2,
                        dtypes=("float64",), steps=(1, 2, 5, 10), quick=True, rng=1)
    assert not r2.verdict


def test_backends(backend):
    r = check_ns_error(presets=("quintic", "jordan"), kappas=(1.0, 1e2, 1e4), shape=(12, 6), seeds=2,
                       backend=backend.name, quick=True, rng=2)
    assert r.passed, r.verdict_text
    assert "float16" in r.params["dtypes"]


@pytest.mark.parametrize("kw, match", [
    (dict(presets=("nope",)), "presets"),
    (dict(kappas=(1.0,)), "kappas"),
    (dict(kappas=(10.0, 1.0)), "kappas"),
    (dict(dtypes=("int8",)), "dtypes"),
    (dict(steps=(3, 2)), "steps"),
    (dict(shape=(1, 4)), "shape"),
    (dict(seeds=0), "seeds"),
    (dict(c_round=-1.0), "c_round"),
    (dict(backend="jax"), "backend"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        check_ns_error(quick=True, **kw)


def test_plot(quick_result):
    from matplotlib.figure import Figure

    from verify.ns_error import plot_ns_error

    fig = plot_ns_error(quick_result)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert all(ax.get_yscale() == "log" for ax in fig.axes[:3])


def test_measure_predict_compare_pieces_against_a_hand_loop():
    """The split pieces: measure's singular values and predict's phi both equal a hand-written composition."""
    import array_api_compat.numpy as xp

    from verify.ns_error import compare, measure, predict

    rng = np.random.default_rng(3)
    M = rng.standard_normal((2, 9, 5))
    P_ref = np.stack([np.linalg.svd(A, full_matrices=False)[0] @ np.linalg.svd(A, full_matrices=False)[2]
                      for A in M])
    for preset, k in (("quintic", 7), ("jordan", 5), ("polar-express", 8)):
        sched, scale = ns_schedule(preset, k)
        s = np.linalg.svd(M, compute_uv=False)
        x = s / (scale * np.linalg.norm(M, axis=(-2, -1))[:, None])
        for a, b, c in sched:  # the expanded polynomial, written out here
            x = a * x + b * x**3 + c * x**5
        hand = np.sort(x, axis=-1)
        meas = measure(xp, np.float64, M, P_ref, preset, k)
        pred = predict(meas["M_st"], preset, k)
        np.testing.assert_allclose(pred["phi"], hand, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(meas["sv_out"], hand, rtol=1e-10, atol=1e-12)
        hand_err = np.sqrt(np.mean((x - 1.0) ** 2, axis=-1))
        np.testing.assert_allclose(pred["pred_err"], hand_err, rtol=1e-10, atol=1e-14)
        q = compare(meas, pred, "float64", M.shape)
        assert q["ratio"].shape == (2,) and np.all(q["ratio"] <= 8.0)
        np.testing.assert_allclose(q["sig_dev"], np.max(np.abs(hand - 1.0), axis=-1), rtol=1e-8, atol=1e-12)
