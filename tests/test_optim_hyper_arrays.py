"""Hyperparameters as arrays: an (hyperparameter x seed) grid is one batched run equal to separate runs.

Reference: the same optimizer built with Python floats, stepped run by run on the same gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import to_numpy
from adago_theory.optim import adagrad_norm, adago, adamw, muon, namo, namo_d, polargrad, sgd, skip_nonfinite

# name -> (factory, fixed keyword arguments, {hyperparameter: two values (one per row of the grid)})
GRID = {
    "muon": (muon, {"orth": "svd"}, {"eta": [0.1, 0.2], "beta": [0.9, 0.5], "weight_decay": [0.0, 0.01]}),
    "muon-ns": (muon, {"scale": "jordan"}, {"eta": [0.05, 0.2], "beta": [0.0, 0.8]}),
    "adago": (adago, {}, {"eta": [0.5, 1.0], "gamma": [1.0, 3.0], "eps": [1e-3, 1e-4], "beta": [0.9, 0.0],
                         "v0": [0.0, 0.5]}),
    "adago-nesterov": (adago, {"nesterov": True, "gamma": 2.0, "eps": 1e-4}, {"eta": [0.5, 1.0], "beta": [0.9, 0.7]}),
    "namo": (namo, {}, {"eta": [0.1, 0.3], "beta": [0.9, 0.95], "beta2": [0.99, 0.9], "eps": [1e-8, 1e-3],
                        "weight_decay": [0.0, 0.1]}),
    "namo_d": (namo_d, {}, {"eta": [0.1, 0.3], "c": [0.5, 0.0], "beta": [0.9, 0.95], "beta2": [0.99, 0.9],
                            "eps": [1e-8, 1e-3], "weight_decay": [0.1, 0.0]}),
    "namo_d-c": (namo_d, {"clamp": False}, {"c": [1.0, 0.25]}),
    "polargrad": (polargrad, {}, {"eta": [0.1, 0.05], "beta": [0.0, 0.5], "weight_decay": [0.0, 0.1]}),
    "polargrad-first": (polargrad, {"polar_first": True}, {"eta": [0.1, 0.05], "beta": [0.3, 0.5]}),
    "sgd": (sgd, {}, {"eta": [0.1, 0.3], "momentum": [0.5, 0.0]}),
    "sgd-nesterov": (sgd, {"nesterov": True}, {"eta": [0.1, 0.3], "momentum": [0.5, 0.9]}),
    "adamw": (adamw, {}, {"eta": [0.01, 0.05], "beta1": [0.9, 0.5], "beta2": [0.999, 0.9], "eps": [1e-8, 1e-2],
                          "weight_decay": [0.01, 0.0]}),
    "adagrad_norm": (adagrad_norm, {}, {"eta": [0.5, 1.0], "b0": [0.1, 2.0]}),
}
DEFAULTS = {adago: {"gamma": 2.0, "eps": 1e-4}, adagrad_norm: {"b0": 1.0}}


def _build(factory, fixed, hyper):
    kw = {**DEFAULTS.get(factory, {}), **fixed, **hyper}
    return factory(**kw) if "eta" in kw else factory(0.1, **kw)


@pytest.mark.parametrize("name", sorted(GRID))
def test_a_hyperparameter_grid_is_one_batch_equal_to_separate_runs(name):
    factory, fixed, grid = GRID[name]
    H, S, T = 2, 3, 5                              # 2 hyperparameter rows x 3 seeds, 5 steps
    rng = np.random.default_rng(7)
    X0 = rng.standard_normal((H, S, 6, 4))
    Gs = [rng.standard_normal((H, S, 6, 4)) for _ in range(T)]
    batched = _build(factory, fixed, {k: np.array(v)[:, None] for k, v in grid.items()})   # shape (H, 1)
    X, s = X0, batched.init(X0)
    for G in Gs:
        X, s = batched.step(X, G, s)
    assert tuple(s.alpha.shape) == (H, S)
    for h in range(H):
        single = _build(factory, fixed, {k: float(v[h]) for k, v in grid.items()})
        x, sr = X0[h], single.init(X0[h])
        for G in Gs:
            x, sr = single.step(x, G[h], sr)
        np.testing.assert_allclose(X[h], x, rtol=1e-12, atol=1e-12, err_msg=f"row {h}")
        np.testing.assert_allclose(s.alpha[h], sr.alpha, rtol=1e-12, atol=1e-15, err_msg=f"alpha row {h}")


@pytest.mark.parametrize("name", ["muon", "adago", "sgd"])
def test_a_schedule_returning_arrays(name):
    factory, fixed, _ = GRID[name]
    etas = np.array([0.1, 0.3])
    batched = _build(factory, fixed, {"eta": lambda t: etas[:, None] / np.sqrt(t)})
    rng = np.random.default_rng(8)
    X0 = rng.standard_normal((2, 2, 5, 3))
    Gs = [rng.standard_normal(X0.shape) for _ in range(4)]
    X, s = X0, batched.init(X0)
    for G in Gs:
        X, s = batched.step(X, G, s)
    for h in range(2):
        single = _build(factory, fixed, {"eta": lambda t, e=etas[h]: e / np.sqrt(t)})
        x, sr = X0[h], single.init(X0[h])
        for G in Gs:
            x, sr = single.step(x, G[h], sr)
        np.testing.assert_allclose(X[h], x, rtol=1e-12, atol=1e-12)


def test_per_run_arrays_of_the_full_run_shape_and_skip_nonfinite():
    # one eta per run (shape (R,)), with the skip wrapper on top
    rng = np.random.default_rng(9)
    etas = np.array([0.1, 0.2, 0.4])
    X0 = rng.standard_normal((3, 5, 4))
    G = rng.standard_normal((3, 5, 4))
    X1, s = skip_nonfinite(sgd(etas)).step(X0, G, skip_nonfinite(sgd(etas)).init(X0))
    np.testing.assert_allclose(X1, X0 - etas[:, None, None] * G, rtol=1e-15)
    np.testing.assert_array_equal(s.alpha, etas)


def test_float32_stays_float32_with_array_hyperparameters(kernel_backend):
    X = kernel_backend.asarray(np.ones((2, 4, 3)), "float32")
    for opt in (muon(np.array([0.1, 0.2]), beta=np.array([0.9, 0.5])), adamw(np.array([1e-3, 1e-2])),
                namo_d(np.array([0.1, 0.2]), c=np.array([0.5, 0.0]))):
        X1, s = opt.step(X, 0.5 * X, opt.init(X))
        assert X1.dtype == X.dtype and s.alpha.dtype == X.dtype


@pytest.mark.parametrize("factory,kw,match", [
    (muon, {"eta": np.array([0.1, -0.1])}, r"eta must hold finite real numbers in \[0.0, inf\), got -0.1 at index \[1\]"),
    (muon, {"eta": 0.1, "beta": np.array([0.5, 1.0])}, r"beta must hold finite real numbers in \[0.0, 1.0\), got 1.0"),
    (adago, {"eta": 0.1, "gamma": np.array([1.0, 0.0]), "eps": 1e-3}, r"gamma must hold .* in \(0.0, inf\)"),
    (adago, {"eta": np.array([0.1, np.nan]), "gamma": 1.0, "eps": 1e-3}, r"eta must hold finite .*nan at index \[1\]"),
    (namo_d, {"eta": 0.1, "c": np.array([[0.5], [1.5]])}, r"c must hold finite real numbers in \[0.0, 1.0\], got 1.5 at index \[1, 0\]"),
    (adamw, {"eta": 0.1, "eps": np.array([0.0])}, r"eps must hold .* in \(0.0, inf\)"),
    (adagrad_norm, {"eta": 0.1, "b0": np.array([1.0, -2.0])}, r"b0 must hold"),
    (sgd, {"eta": 0.1, "momentum": np.array([0.5, 0.0]), "nesterov": True}, r"nesterov=True needs momentum"),
])
def test_every_entry_is_checked_with_the_scalar_rule(factory, kw, match):
    with pytest.raises(ValueError, match=match):
        factory(**kw)


def test_an_array_that_does_not_broadcast_to_the_runs_is_refused_naming_it():
    opt = muon(0.1, beta=np.array([0.5, 0.6, 0.7]))
    with pytest.raises(ValueError, match=r"beta has shape \(3,\), which does not broadcast to the run axes .*\(4,\)"):
        opt.init(np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match=r"eta\(t=1\) must hold finite"):
        muon(lambda t: np.array([0.1, -1.0])).step(np.ones((2, 3, 2)), np.ones((2, 3, 2)),
                                                     muon(0.1).init(np.ones((2, 3, 2))))
    with pytest.raises(TypeError, match="eta must be a real number or an array of real numbers"):
        muon(np.array([True, False]))


def test_torch_arrays_are_accepted_as_hyperparameters():
    torch = pytest.importorskip("torch")
    opt = sgd(torch.tensor([0.1, 0.2], dtype=torch.float64))
    X = np.ones((2, 2, 2))
    X1, _ = opt.step(X, X, opt.init(X))
    np.testing.assert_allclose(to_numpy(X1)[:, 0, 0], [0.9, 0.8])
