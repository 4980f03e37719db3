"""Every bad hyperparameter gets a ValueError / TypeError that names the parameter and its range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adago_theory.optim import adagrad_norm, adago, adamw, muon, namo, namo_d, polargrad, sgd

NAN, INF = math.nan, math.inf

AG = dict(gamma=1.0, eps=1e-3)  # adago's required arguments

CASES = [
    # (factory, args, kwargs, exception, regex that the message must match)
    (muon, (-0.1,), {}, ValueError, r"eta must be in \[0\.0, inf\)"),
    (muon, (NAN,), {}, ValueError, r"eta must be a finite real"),
    (muon, (INF,), {}, ValueError, r"eta must be a finite real"),
    (muon, ("0.1",), {}, TypeError, r"eta must be a real number"),
    (muon, (True,), {}, TypeError, r"eta must be a real number"),
    (muon, (0.1,), {"beta": 1.0}, ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    (muon, (0.1,), {"beta": -0.01}, ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    (muon, (0.1,), {"beta": NAN}, ValueError, r"beta must be a finite real number in \[0\.0, 1\.0\)"),
    (muon, (0.1,), {"nesterov": 1}, TypeError, r"nesterov must be True or False"),
    (muon, (0.1,), {"orth": "bogus"}, ValueError, r"orth: unknown method 'bogus'"),
    (muon, (0.1,), {"orth": 42}, TypeError, r"orth must be a method name"),
    (muon, (0.1,), {"orth": ("newton-schulz", {"coeffs": "nope"})}, ValueError, r"orth=.*preset"),
    (muon, (0.1,), {"orth": ("newton-schulz", {"steps": 0})}, ValueError, r"orth=.*steps"),
    (muon, (0.1,), {"orth": ("svd", {"steps": 3})}, ValueError, r"orth=.*steps applies only"),
    (muon, (0.1,), {"orth": {"method": "qdwh", "bogus": 1}}, ValueError, r"orth="),
    (muon, (0.1,), {"scale": "moonlight"}, ValueError, r"scale must be one of \['none', 'jordan', 'rms'\]"),
    (muon, (0.1,), {"weight_decay": -1e-3}, ValueError, r"weight_decay must be in \[0\.0, inf\)"),
    (muon, (0.1,), {"nonfinite": "skip"}, TypeError, r"unexpected keyword argument 'nonfinite'"),
    (adago, (0.1,), {"gamma": 0.0, "eps": 1e-3}, ValueError, r"gamma must be in \(0\.0, inf\)"),
    (adago, (0.1,), {"gamma": -1.0, "eps": 1e-3}, ValueError, r"gamma must be in \(0\.0, inf\)"),
    (adago, (0.1,), {"gamma": INF, "eps": 1e-3}, ValueError, r"gamma must be a finite real"),
    (adago, (0.1,), {"gamma": 1.0, "eps": -1e-3}, ValueError, r"eps must be in \[0\.0, inf\)"),
    (adago, (0.1,), {"gamma": 1.0, "eps": NAN}, ValueError, r"eps must be a finite real"),
    (adago, (0.1,), dict(AG, v0=-1.0), ValueError, r"v0 must be in \[0\.0, inf\)"),
    (adago, (0.1,), dict(AG, beta=1.5), ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    (adago, (-1.0,), AG, ValueError, r"eta must be in"),
    (namo, (0.1,), {"beta2": 1.0}, ValueError, r"beta2 must be in \[0\.0, 1\.0\)"),
    (namo, (0.1,), {"eps": -1.0}, ValueError, r"eps must be in \[0\.0, inf\)"),
    (namo, (0.1,), {"clamp": "yes"}, TypeError, r"clamp must be True or False"),
    (namo, (0.1,), {"scale": None}, ValueError, r"scale must be one of"),
    (namo_d, (0.1,), {"c": 1.5}, ValueError, r"c must be in \[0\.0, 1\.0\]"),
    (namo_d, (0.1,), {"c": -0.1}, ValueError, r"c must be in \[0\.0, 1\.0\]"),
    (namo_d, (0.1,), {"weight_decay": NAN}, ValueError, r"weight_decay must be a finite"),
    (polargrad, (0.1,), {"beta": 1.0}, ValueError, r"beta must be in \[0\.0, 1\.0\)"),
    (polargrad, (0.1,), {"polar_first": None}, TypeError, r"polar_first must be True or False"),
    (polargrad, (0.1,), {"orth": "newton"}, ValueError, r"orth: unknown method"),
    (sgd, (0.1,), {"momentum": 1.0}, ValueError, r"momentum must be in \[0\.0, 1\.0\)"),
    (sgd, (0.1,), {"nesterov": True}, ValueError, r"nesterov=True needs momentum in \(0, 1\)"),
    (adamw, (0.1,), {"eps": 0.0}, ValueError, r"eps must be in \(0\.0, inf\)"),
    (adamw, (0.1,), {"beta1": 1.0}, ValueError, r"beta1 must be in \[0\.0, 1\.0\)"),
    (adamw, (0.1,), {"beta2": -0.5}, ValueError, r"beta2 must be in \[0\.0, 1\.0\)"),
    (adagrad_norm, (0.1,), {"b0": 0.0}, ValueError, r"b0 must be in \(0\.0, inf\)"),
    (adagrad_norm, (0.1,), {"b0": NAN}, ValueError, r"b0 must be a finite real"),
]


@pytest.mark.parametrize("factory,args,kwargs,exc,match", CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_bad_hyperparameter_is_rejected_at_factory_time(factory, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        factory(*args, **kwargs)


def test_adago_needs_gamma_and_eps():
    with pytest.raises(TypeError, match="gamma"):
        adago(0.1, eps=1e-3)
    with pytest.raises(TypeError, match="eps"):
        adago(0.1, gamma=1.0)


@pytest.mark.parametrize("bad", [-1.0, NAN, float("inf"), -0.0 - 1e-300, "x"])
def test_a_schedule_value_out_of_range_raises_at_the_step_naming_parameter_and_t(bad):
    opt = adago(lambda t: 0.1 if t < 2 else bad, gamma=1.0, eps=1e-3)
    X = np.ones((3, 2))
    X1, s = opt.step(X, X, opt.init(X))
    with pytest.raises((ValueError, TypeError), match=r"eta\(t=2\)"):
        opt.step(X1, X1, s)
    opt = muon(0.1, orth="svd")
    eps_sched = adago(0.1, gamma=1.0, eps=lambda t: -1e-3)
    with pytest.raises(ValueError, match=r"eps\(t=1\) must be in \[0\.0, inf\)"):
        eps_sched.step(X, X, eps_sched.init(X))


def test_a_schedule_that_fails_is_reported_with_its_name():
    opt = sgd(lambda t: 1 / (t - 1))
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"the schedule eta\(t\) failed at t=1"):
        opt.step(X, X, opt.init(X))


def test_step_rejects_a_gradient_from_another_backend():
    torch = pytest.importorskip("torch")
    opt = muon(0.1, orth="svd")
    X = np.ones((2, 4, 3))
    with pytest.raises(TypeError, match="different backends"):
        opt.step(X, torch.ones(2, 4, 3, dtype=torch.float64), opt.init(X))


def test_step_rejects_mismatched_shape_dtype_and_state():
    opt = muon(0.1, orth="svd")
    X = np.ones((2, 4, 3))
    s = opt.init(X)
    with pytest.raises(ValueError, match=r"G must have the shape of X, \(2, 4, 3\)"):
        opt.step(X, np.ones((2, 3, 4)), s)
    with pytest.raises(TypeError, match="G must have the dtype of X"):
        opt.step(X, np.ones((2, 4, 3), dtype=np.float32), s)
    with pytest.raises(TypeError, match="state must be the state returned by init"):
        opt.step(X, X, (0, X))
    with pytest.raises(ValueError, match=r"X must be a matrix \(m, n\) or a batch"):
        opt.init(np.ones(3))
    with pytest.raises(TypeError, match="real floating dtype"):
        opt.init(np.ones((3, 2), dtype=np.int64))


def test_the_name_registry_holds_every_factory():
    from adago_theory.optim import OPTIMIZERS

    assert OPTIMIZERS == {"muon": muon, "adago": adago, "namo": namo, "namo_d": namo_d, "polargrad": polargrad,
                          "sgd": sgd, "adamw": adamw, "adagrad_norm": adagrad_norm}
