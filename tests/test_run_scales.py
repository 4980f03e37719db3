"""The recorded metrics of ``run`` are scale-safe: gradients of 1e±200 are measured, not overflowed."""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import run
from adago_theory.optim import sgd


class Linear:
    """f(X) = <C, X> on 4x3 matrices: the gradient is C everywhere (closed-form norms)."""

    name, shapes, xp, dtype, constants = "linear", ((4, 3),), np, np.float64, None

    def __init__(self, C):
        self.C = C

    def value(self, X):
        return np.sum(self.C * X, axis=(-2, -1))

    def grad(self, X):
        return np.broadcast_to(self.C, X.shape).copy()

    def initial_point(self, rng, runs=1):
        return np.zeros((runs, 4, 3))


@pytest.mark.parametrize("scale", [1e-200, 1e200, 1e300])
def test_gradient_norms_and_update_norm_at_extreme_scales(scale):
    C0 = np.arange(1.0, 13.0).reshape(4, 3) / 12.0
    eta = 1.0 / scale                     # the step X_1 = -eta C stays of order one
    tr = run(sgd(eta), Linear(scale * C0), 2, seeds=(0, 1), record="all")
    s = np.linalg.svd(C0, compute_uv=False)
    np.testing.assert_allclose(tr.grad_fro, scale * np.sqrt((C0**2).sum()), rtol=1e-13)
    np.testing.assert_allclose(tr.grad_nuc, scale * s.sum(), rtol=1e-13)
    np.testing.assert_allclose(tr.grad_op, scale * s[0], rtol=1e-13)
    np.testing.assert_allclose(tr.update_norm[1:], np.sqrt((C0**2).sum()), rtol=1e-13)
