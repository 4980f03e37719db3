"""``run``: what it records (against independent NumPy computations), seeds as one batch, grids, errors."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from adago_theory import log_grid, record_steps, run
from adago_theory.optim import adago, muon, sgd
from test_optim_lsq import Factorization, LeastSquares


def _lsq(**kw):
    return LeastSquares(m=6, n=4, p=10, cond=10.0, seed=11, **kw)


# ----------------------------------------------------------------------------- what is recorded


def test_recorded_metrics_match_numpy_at_the_final_iterate():
    P = _lsq()
    tr = run(adago(1.0, gamma=5.0, eps=1e-4), P, 12, seeds=(0, 1, 2), record="all")
    K, R = 13, 3
    for a in (tr.f, tr.gap, tr.grad_fro, tr.grad_nuc, tr.grad_op, tr.alpha, tr.update_norm):
        assert a.shape == (K, R) and a.dtype == np.float64
    assert tr.steps.tolist() == list(range(13)) and tr.time.shape == (K,)
    assert tr.seeds.tolist() == [0, 1, 2] and tr.skipped.tolist() == [0, 0, 0]
    A, C = P.A_host, P.C_host
    for r in range(R):
        X = tr.X_final[r]
        G = A.T @ (A @ X - C)
        assert tr.f[-1, r] == pytest.approx(0.5 * np.linalg.norm(A @ X - C) ** 2, rel=1e-13)
        assert tr.gap[-1, r] == pytest.approx(tr.f[-1, r] - P.constants.f_star, rel=1e-12)
        assert tr.grad_fro[-1, r] == pytest.approx(np.linalg.norm(G, "fro"), rel=1e-13)
        assert tr.grad_nuc[-1, r] == pytest.approx(np.linalg.norm(G, "nuc"), rel=1e-13)
        assert tr.grad_op[-1, r] == pytest.approx(np.linalg.norm(G, 2), rel=1e-13)
    assert np.all(np.isnan(tr.alpha[0])) and np.all(np.isnan(tr.update_norm[0]))
    assert np.all(np.diff(tr.time) >= 0)
    # the initial point of run r is the problem's initial point for seed r
    X0 = P.initial_point(1)[0]
    assert tr.f[0, 1] == pytest.approx(0.5 * np.linalg.norm(A @ X0 - C) ** 2, rel=1e-13)


def test_update_norm_and_alpha_of_gradient_descent_are_the_closed_form():
    # X_t - X_{t-1} = -eta G_{t-1}: ||update||_F at step t is eta * ||grad f(X_{t-1})||_F
    P = _lsq()
    eta = 0.4
    tr = run(sgd(eta), P, 15, seeds=(4, 5), record="all")
    np.testing.assert_allclose(tr.update_norm[1:], eta * tr.grad_fro[:-1], rtol=1e-12)
    np.testing.assert_allclose(tr.alpha[1:], eta)


def test_two_matrix_problem_records_combined_norms():
    P = Factorization(seed=2)
    tr = run(muon(0.02, orth="svd"), P, 5, seeds=(0, 1), record="all")
    assert tr.alpha.shape == (6, 2, 2) and tr.skipped.shape == (2, 2)
    for r in range(2):
        X, Y = tr.X_final[0][r], tr.X_final[1][r]
        E = X @ Y.T - P.M
        GX, GY = E @ Y, E.T @ X
        nrm = lambda o: math.sqrt(np.linalg.norm(GX, o) ** 2 + np.linalg.norm(GY, o) ** 2)  # noqa: E731
        assert tr.grad_fro[-1, r] == pytest.approx(nrm("fro"), rel=1e-13)
        assert tr.grad_nuc[-1, r] == pytest.approx(nrm("nuc"), rel=1e-13)
        assert tr.grad_op[-1, r] == pytest.approx(nrm(2), rel=1e-13)
    np.testing.assert_allclose(tr.alpha[1:], 0.02)


# ----------------------------------------------------------------------------- seeds as one batch


def test_a_batch_of_seeds_equals_single_runs_deterministic():
    P = _lsq()
    opt = muon(0.1, orth="svd", scale="jordan")
    seeds = (3, 5, 7, 9)
    tr = run(opt, P, 20, seeds=seeds, record=5)
    for r, s in enumerate(seeds):
        one = run(opt, P, 20, seeds=s, record=5)
        np.testing.assert_allclose(tr.f[:, r], one.f[:, 0], rtol=1e-12)
        np.testing.assert_allclose(tr.grad_nuc[:, r], one.grad_nuc[:, 0], rtol=1e-12)
        np.testing.assert_allclose(tr.X_final[r], one.X_final[0], rtol=1e-12, atol=1e-13)


def test_a_stochastic_batch_starts_where_single_runs_start_and_is_reproducible():
    P = _lsq(sigma2=0.5)
    opt = adago(1.0, gamma=5.0, eps=1e-4)
    tr = run(opt, P, 10, seeds=(3, 4), stochastic=True, batch_size=2)
    again = run(opt, P, 10, seeds=(3, 4), stochastic=True, batch_size=2)
    np.testing.assert_array_equal(tr.f, again.f)
    for r, s in enumerate((3, 4)):
        one = run(opt, P, 10, seeds=s, stochastic=True, batch_size=2)
        assert one.f[0, 0] == tr.f[0, r]
    # the noise differs from the deterministic run and between seeds
    det = run(opt, P, 10, seeds=(3, 4))
    assert not np.allclose(det.f[-1], tr.f[-1])


def test_a_stochastic_batch_and_single_runs_agree_in_distribution():
    # SGD on a quadratic: f_T is a fixed function of the Gaussian noise; batch vs single runs of the same
    # seeds must have the same mean final value (two-sample z-test, 5 sigma).
    P = _lsq(sigma2=4.0)
    opt = sgd(0.3)
    seeds = tuple(range(60))
    batch = run(opt, P, 6, seeds=seeds, stochastic=True, record=[6]).f[-1]
    single = np.array([run(opt, P, 6, seeds=s, stochastic=True, record=[6]).f[-1, 0] for s in seeds])
    diff = batch - single                    # same initial points: paired differences are noise only
    assert abs(diff.mean()) < 5 * diff.std(ddof=1) / math.sqrt(len(seeds))
    assert diff.std() > 0                    # not bit for bit (documented)


def test_stochastic_run_still_decreases_f_and_records_the_exact_gradient():
    P = _lsq(sigma2=0.1)
    tr = run(adago(1.0, gamma=5.0, eps=1e-4), P, 200, seeds=(0, 1, 2), stochastic=True, record="log")
    assert np.all(tr.gap[-1] < 0.2 * tr.gap[0])
    A, C = P.A_host, P.C_host
    G = A.T @ (A @ tr.X_final[0] - C)
    assert tr.grad_fro[-1, 0] == pytest.approx(np.linalg.norm(G), rel=1e-13)


# ----------------------------------------------------------------------------- grids and progress


def test_record_grids():
    assert record_steps(5, "all").tolist() == [0, 1, 2, 3, 4, 5]
    assert record_steps(10, 4).tolist() == [0, 4, 8, 10]
    assert record_steps(10, [10, 0, 3, 3]).tolist() == [0, 3, 10]
    assert record_steps(1000, "auto").tolist() == list(range(1001))
    g = log_grid(10**5, num=50)
    assert g[0] == 0 and g[1] == 1 and g[-1] == 10**5 and np.all(np.diff(g) > 0) and len(g) <= 51
    big = g[g >= 100].astype(float)
    ratios = big[1:] / big[:-1]
    assert ratios.max() < 1.3 and ratios.min() > 1.2   # geometric: (1e5)^(1/49) = 1.265 up to rounding
    assert np.array_equal(record_steps(5000, "auto"), log_grid(5000, 100))
    assert log_grid(0).tolist() == [0]


def test_long_runs_record_on_the_log_grid_by_default():
    P = LeastSquares(m=3, n=2, p=4, seed=0)
    tr = run(sgd(0.2), P, 1500, seeds=(0, 1))
    assert np.array_equal(tr.steps, log_grid(1500, 100))
    assert tr.f.shape == (len(tr.steps), 2)


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    P = LeastSquares(m=3, n=2, p=4, seed=0)
    run(sgd(0.1), P, 2000, record=[2000])
    assert capsys.readouterr().err == ""          # stderr is not a TTY under pytest
    run(sgd(0.1), P, 50, progress=True)
    err = capsys.readouterr().err
    assert "run:" in err and "/50" in err


# ----------------------------------------------------------------------------- backends and dtypes


def test_torch_backend_gives_the_numpy_trajectory():
    pytest.importorskip("torch")
    opt = adago(1.0, gamma=5.0, eps=1e-4, orth="svd")
    a = run(opt, _lsq(), 15, seeds=(0, 1))
    b = run(opt, _lsq(backend="torch"), 15, seeds=(0, 1))
    np.testing.assert_allclose(b.f, a.f, rtol=1e-10)
    np.testing.assert_allclose(b.X_final, a.X_final, rtol=1e-10, atol=1e-12)
    assert isinstance(b.X_final, np.ndarray)


def test_float32_problem_runs_in_float32():
    tr = run(muon(0.1), _lsq(dtype="float32"), 10, seeds=(0, 1))
    assert tr.X_final.dtype == np.float32 and tr.f.dtype == np.float64
    assert np.all(tr.gap[-1] < tr.gap[0])


# ----------------------------------------------------------------------------- errors


def test_an_initial_point_on_another_backend_is_rejected():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="X0 is a torch array but the problem lives on numpy"):
        run(sgd(0.1), _lsq(), 3, X0=torch.zeros(1, 6, 4, dtype=torch.float64))


def test_bad_arguments_are_rejected_with_clear_errors():
    P = _lsq()
    opt = sgd(0.1)
    with pytest.raises(ValueError, match=r"T must be an integer >= 0"):
        run(opt, P, -1)
    with pytest.raises(TypeError, match=r"T must be an integer"):
        run(opt, P, 2.5)
    with pytest.raises(ValueError, match="at least one seed"):
        run(opt, P, 3, seeds=[])
    with pytest.raises(ValueError, match="non-negative integers"):
        run(opt, P, 3, seeds=[1, -2])
    with pytest.raises(ValueError, match="record must be"):
        run(opt, P, 3, record="sometimes")
    with pytest.raises(ValueError, match=r"record steps must lie in \[0, T\] = \[0, 3\]"):
        run(opt, P, 3, record=[0, 9])
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1"):
        run(opt, P, 3, stochastic=True, batch_size=0)
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        run(lambda X, G: X, P, 3)
    with pytest.raises(ValueError, match=r"X0 must have shape \(R, m, n\) = \(2, 6, 4\), got \(2, 4, 6\)"):
        run(opt, P, 3, seeds=(0, 1), X0=np.zeros((2, 4, 6)))
    with pytest.raises(TypeError, match="X0 has dtype float32 but the problem's dtype is float64"):
        run(opt, P, 3, X0=np.zeros((1, 6, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="X0 must be a tuple of 2 arrays"):
        run(opt, Factorization(), 3, X0=np.zeros((1, 6, 2)))


def test_problems_that_break_the_protocol_are_named():
    class NoGrad:
        shapes, xp = ((2, 2),), np

        def value(self, X):
            return X.sum(axis=(-2, -1))

    with pytest.raises(TypeError, match=r"missing \['grad', 'initial_point'\]"):
        run(sgd(0.1), NoGrad(), 3)

    class BadGrad(LeastSquares):
        def grad(self, X):
            return X[..., :-1]

    with pytest.raises(ValueError, match=r"problem.grad returned shape \(1, 6, 3\)"):
        run(sgd(0.1), BadGrad(), 3)
    class Deterministic(NoGrad):
        def grad(self, X):
            return X

        def initial_point(self, rng, runs=1):
            return np.ones((runs, 2, 2))

    assert run(sgd(0.1), Deterministic(), 3).f.shape == (4, 1)
    with pytest.raises(TypeError, match=r"missing \['stochastic_grad'\]"):
        run(sgd(0.1), Deterministic(), 3, stochastic=True)


# ----------------------------------------------------------------------------- the problems package


def test_run_on_the_problems_package_generators():
    problems = pytest.importorskip("problems")
    pr = problems.make_matrix_least_squares(8, 5, kappa_A=10.0, rng=0)
    tr = run(adago(1.0, gamma=10.0, eps=1e-4), pr, 60, seeds=(0, 1, 2))
    assert tr.gap is not None and np.all(tr.gap[-1] < 0.1 * tr.gap[0])
    if importlib.util.find_spec("torch") is not None:
        tt = run(adago(1.0, gamma=10.0, eps=1e-4), pr.to(backend="torch"), 10, seeds=(0, 1, 2))
        np.testing.assert_allclose(tt.f, tr.f[:11], rtol=1e-10)
    pc = problems.make_matrix_completion(12, 8, 2, rng=0)
    tc = run(muon(0.05, orth="svd"), pc, 30, seeds=(0, 1), stochastic=True, batch_size=4)
    assert tc.alpha.shape == (31, 2, 2) and np.all(tc.f[-1] < tc.f[0])
