r"""A tiny runner for testing the sweep engine without the real problems and optimizers.

``toy_runner(config)`` runs gradient descent on :math:`f(x) = x^2/2` from
:math:`x_0 = 1 + s` (one scalar run per seed :math:`s`, all seeds as one batch), so the
exact trace is the closed form :math:`x_t = (1+s)(1-\eta)^t`, :math:`f_t = x_t^2/2`
(:func:`toy_closed_form`).  The other test files import it (``--runner
test_sweep_toy:toy_runner`` in subprocesses with ``tests/`` on ``PYTHONPATH``).

Problem parameters that steer it: ``fail`` (raise), ``sleep`` (seconds to wait before
returning), ``k`` (ignored: a label that makes distinct runs).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

RUNNER = "test_sweep_toy:toy_runner"


def toy_runner(config):
    """Gradient descent on x^2/2, a short loop (the reference is the closed form below)."""
    pp, op = config["problem_params"], config["optimizer_params"]
    if pp.get("fail"):
        raise RuntimeError("toy failure on purpose")
    if pp.get("sleep"):
        time.sleep(float(pp["sleep"]))
    eta = float(op.get("eta", 0.1))
    x = 1.0 + np.asarray(config["seeds"], dtype=float)
    xs = [x]
    for _ in range(config["T"]):
        x = x - eta * x
        xs.append(x)
    X = np.stack(xs)
    return {"steps": np.arange(config["T"] + 1), "f": 0.5 * X**2, "grad_abs": np.abs(X), "note": "ignored"}


def toy_closed_form(eta, T, seeds):
    """(steps, f) with f of shape (T+1, R): f_t = (1+s)^2 (1-eta)^(2t) / 2."""
    t = np.arange(T + 1)[:, None]
    s = np.asarray(seeds, dtype=float)[None, :]
    return t[:, 0], 0.5 * (1.0 + s) ** 2 * (1.0 - eta) ** (2 * t)


def toy_config(**kw):
    """A canonical run config for the toy runner (keyword overrides)."""
    from adago_theory.app.sweep import canonical_config

    cfg = {"problem": "toy", "optimizer": "gd", "optimizer_params": {"eta": 0.1}, "T": 6, "seeds": [0, 1, 2],
           "runner": RUNNER}
    cfg.update(kw)
    return canonical_config(cfg)


def test_toy_runner_matches_closed_form():
    tr = toy_runner(toy_config(optimizer_params={"eta": 0.25}, T=9, seeds=[0, 3]))
    steps, f = toy_closed_form(0.25, 9, [0, 3])
    np.testing.assert_array_equal(tr["steps"], steps)
    np.testing.assert_allclose(tr["f"], f, rtol=1e-13)


def test_toy_runner_fails_on_request():
    with pytest.raises(RuntimeError, match="on purpose"):
        toy_runner(toy_config(problem_params={"fail": True}))
