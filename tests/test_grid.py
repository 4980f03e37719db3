"""verify._grid: a sweep as few batched runs equals the separate runs (issue 13 item 3, the checks' part)."""

import numpy as np
import pytest

from adago_theory import run
from adago_theory.optim import adago, muon
from problems import make_matrix_least_squares, make_teacher_student
from verify._grid import HORIZON_SPREAD, Config, group_configs, run_grid, takes_arrays

SEEDS = [3, 11, 29]
FIELDS = ("f", "gap", "grad_fro", "grad_nuc", "grad_op", "alpha", "update_norm")


def _ls():
    return make_matrix_least_squares(8, 5, kappa_A=10.0, rng=1)


def _make_adago(eta, eps):
    return adago(eta, gamma=10.0, eps=eps, beta=0.9, orth="svd")


def _assert_equal_rows(got, ref):
    np.testing.assert_array_equal(got.steps, ref.steps)
    np.testing.assert_array_equal(got.seeds, ref.seeds)
    for name in FIELDS:
        a, b = getattr(got, name), getattr(ref, name)
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, equal_nan=True, err_msg=name)


def test_grid_equals_separate_runs_deterministic():
    """Etas, epss and close horizons (360..400: one group) against a hand loop of separate runs."""
    P = _ls()
    configs = [Config({"eta": e, "eps": p}, T) for e, p, T in
               [(0.05, 1e-3, 400), (0.2, 1e-4, 360), (0.5, 1e-2, 380), (0.1, 1e-3, 120)]]
    assert group_configs(configs) == [[0, 1, 2], [3]]
    got = run_grid(_make_adago, configs, P, SEEDS, record="log", num_records=30)
    for c, tr in zip(configs, got):
        ref = run(_make_adago(**c.params), P, c.T, seeds=SEEDS, record="log", num_records=30)
        _assert_equal_rows(tr, ref)
        assert tr.steps[-1] == c.T
    np.testing.assert_allclose(got[0].X_final, run(_make_adago(0.05, 1e-3), P, 400, seeds=SEEDS,
                                                   record=[0, 400]).X_final, rtol=1e-12, atol=1e-13)
    assert got[1].X_final is None                       # shorter than its batch: the last iterate is not its own


def test_grid_two_matrices_and_stochastic_same_noise():
    """Teacher-student (a tuple of two matrices, mini-batch noise): deterministic and stochastic rows equal the
    separate runs (each configuration sees its separate run's noise); without SameNoise the batch's noise
    differs (the reason it exists)."""
    P = make_teacher_student(6, 4, 1, n_samples=64, rng=2)

    def make(eta):
        return muon(eta, beta=0.9, nesterov=False, orth="svd")

    configs = [Config({"eta": e}, T) for e, T in ((0.01, 40), (0.05, 36), (0.1, 40))]
    for stochastic in (False, True):
        got = run_grid(make, configs, P, SEEDS, stochastic=stochastic, record="all")
        for c, tr in zip(configs, got):
            _assert_equal_rows(tr, run(make(**c.params), P, c.T, seeds=SEEDS, stochastic=stochastic, record="all"))
    plain = run(make(np.repeat([0.01, 0.1], len(SEEDS))), P, 40, seeds=SEEDS * 2, stochastic=True, record="all")
    ref = run(make(0.01), P, 40, seeds=SEEDS, stochastic=True, record="all")
    np.testing.assert_array_equal(plain.f[0, :3], ref.f[0])  # same initial points
    assert not np.allclose(plain.f[1:, :3], ref.f[1:])       # other noise draws


def test_factory_without_arrays_falls_back():
    """A factory that calls float() on eta cannot batch: the probe says so and each value runs alone."""
    calls = []

    def scalar_only(eta, eps):
        calls.append(np.ndim(eta))
        return _make_adago(float(eta), float(eps))

    assert not takes_arrays(scalar_only, {"eta": 0.1, "eps": 1e-3})
    assert takes_arrays(_make_adago, {"eta": 0.1, "eps": 1e-3})
    P = _ls()
    configs = [Config({"eta": e, "eps": 1e-3}, 50) for e in (0.05, 0.2)]
    calls.clear()
    got = run_grid(scalar_only, configs, P, SEEDS, record="all")
    assert calls == [1, 0, 0]                           # the probe's array build (refused), then one run per value
    for c, tr in zip(configs, got):
        _assert_equal_rows(tr, run(_make_adago(**c.params), P, c.T, seeds=SEEDS, record="all"))


def test_silently_wrong_array_factory_is_caught():
    """A factory that takes arrays but uses only their first entry (a plausible slip) fails the probe."""
    def first_only(eta):
        return muon(np.asarray(eta).ravel()[0] if np.ndim(eta) else eta, beta=0.9, nesterov=False, orth="svd")

    assert not takes_arrays(first_only, {"eta": 0.1})


def test_group_configs_spread_and_bad_input():
    cs = [Config({"eta": 0.1}, T) for T in (32, 100, 316, 1000)]
    assert group_configs(cs) == [[3], [2], [1], [0]]    # a x3.16 grid never groups
    assert group_configs(cs, spread=0.0) == [[0, 1, 2, 3]]
    assert HORIZON_SPREAD == pytest.approx(0.8)
    with pytest.raises(ValueError, match="same names"):
        run_grid(_make_adago, [({"eta": 0.1, "eps": 1e-3}, 5), ({"eta": 0.1}, 5)], _ls(), SEEDS)
    with pytest.raises(ValueError, match="real scalars"):
        run_grid(_make_adago, [({"eta": np.ones(2), "eps": 1e-3}, 5)], _ls(), SEEDS)


def test_spread_matches_sweep_engine():
    from adago_theory.app.sweep.batch import HORIZON_SPREAD as engine

    assert HORIZON_SPREAD == engine


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverged_configuration_returned_others_run():
    """errors="return": the diverging configuration (eta huge on a quadratic, no floor on the step) gets its own
    DivergedRunError; the batch is rerun one by one, so the other configuration equals its separate run."""
    from adago_theory.run import DivergedRunError

    P = _ls()

    def make(eta):
        return muon(eta, beta=0.0, nesterov=False, orth="svd")

    configs = [Config({"eta": 0.01}, 30), Config({"eta": 1e200}, 30)]
    got = run_grid(make, configs, P, SEEDS, record=lambda T: [0, T // 2, T], errors="return")
    assert isinstance(got[1], DivergedRunError)
    _assert_equal_rows(got[0], run(make(0.01), P, 30, seeds=SEEDS, record=[0, 15, 30]))
    with pytest.raises(DivergedRunError):
        run_grid(make, configs, P, SEEDS)


def test_probe_uses_the_grids_values():
    """A factory that mishandles beta arrays only when beta varies: the probe with the grid's [min, max] catches
    it; a grid where beta is 0 everywhere does not need it (equal values) and batches."""
    def beta_first(eps, beta):
        b = np.asarray(beta).ravel()[0] if np.ndim(beta) else beta
        return adago(0.1, gamma=10.0, eps=eps, beta=float(b), orth="svd")

    assert not takes_arrays(beta_first, {"eps": [1e-3, 1e-2], "beta": [0.0, 0.9]})
    assert takes_arrays(beta_first, {"eps": [1e-3, 1e-2], "beta": [0.0, 0.0]})


def test_check_sweep_batched_equals_substituted_scalar_factory():
    """ill_conditioning's eta study (stochastic): the project's factories (batched grid) and a substitute that
    only takes scalars (one run per eta, the former layout) give the same tuning and final gaps."""
    from verify._factories import resolve
    from verify.ill_conditioning import _study

    P = make_matrix_least_squares(10, 6, kappa_A=30.0, sigma2=1.0, rng=4)
    F = resolve()

    def scalar_adago(eta, **kw):
        return adago(float(eta), **kw)

    grids = {"AdaGO": (0.1, 0.3, 1.0)}
    batched = _study(F, P, [1, 2], [3, 4], 30, grids)["AdaGO"]
    alone = _study(resolve({"adago": scalar_adago}), P, [1, 2], [3, 4], 30, grids)["AdaGO"]
    np.testing.assert_allclose(batched["tune_median"], alone["tune_median"], rtol=1e-12)
    np.testing.assert_allclose(batched["final_gap"], alone["final_gap"], rtol=1e-12)
    assert batched["eta_star"] == alone["eta_star"]


def test_takes_run_arrays_against_hand_written_factories():
    from adago_theory.optim import adago, muon, takes_run_arrays

    assert takes_run_arrays(lambda **kw: muon(**kw), {"eta": (0.01, 0.1)})
    assert takes_run_arrays(lambda **kw: adago(**kw, gamma=10.0), {"eta": (0.05, 0.2), "eps": (1e-4, 1e-3)})
    # accepts the array but steps every run with its first entry: caught
    assert not takes_run_arrays(lambda eta: muon(float(np.ravel(eta)[0])), {"eta": (0.01, 0.1)})
    # refuses arrays (raises): "no", not an error
    assert not takes_run_arrays(lambda eta: muon(float(eta)), {"eta": (0.01, 0.1)})
    assert not takes_run_arrays(lambda **kw: muon(**kw), {})
