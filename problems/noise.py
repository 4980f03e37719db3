r"""Noise models for stochastic gradients, all with batch size :math:`b`.

Three models, each unbiased and each with a known variance
:math:`E\|g - \nabla f\|_F^2` (AdaGO's Assumption 3.2 shape, seed 000 §Mechanism 2:
"unbiased with bounded variance :math:`E\|G_t-\nabla L\|_F^2 \le \kappa^2/b_t`"):

* **Gaussian, exact variance** — :math:`g = \nabla f + \xi`,
  :math:`\xi = \sqrt{\sigma^2/(b\,d)}\;Z`, :math:`Z_{ij}` iid :math:`N(0,1)`,
  :math:`d` the number of parameter entries.  Then
  :math:`E\|\xi\|_F^2 = \sigma^2/b` exactly, and the law is the law of the mean of
  :math:`b` iid samples of variance :math:`\sigma^2`.
* **Student-t (heavy-tailed, finite variance)** — each of the :math:`b` samples is a
  multivariate Student-t vector with :math:`\nu > 2` degrees of freedom,
  :math:`\xi_k = \sqrt{c}\,Z_k/\sqrt{W_k/\nu}`, :math:`W_k \sim \chi^2_\nu`,
  :math:`c = \sigma^2(\nu-2)/(\nu d)`, so :math:`E\|\xi_k\|^2 = \sigma^2` and
  :math:`P(\|\xi_k\| > r) \sim r^{-\nu}` (heavy tails; the variance is finite iff
  :math:`\nu > 2`, the fourth moment iff :math:`\nu > 4`).  The batch mean
  :math:`\bar\xi = \frac1b\sum_k \xi_k` is drawn **exactly** without drawing the
  :math:`b` vectors: given :math:`W_1..W_b`, :math:`\bar\xi` is Gaussian with
  per-entry variance :math:`\frac{c}{b^2}\sum_k \nu/W_k`, so
  :math:`\bar\xi = \frac{1}{b}\big(c\sum_k \nu/W_k\big)^{1/2} Z` and
  :math:`E\|\bar\xi\|^2 = \sigma^2/b` [DERIVED; the scale-mixture form of the
  multivariate t is standard].  Cost: :math:`b` scalars per run, not :math:`b\,d`.
* **True mini-batch sampling** from a finite data set of :math:`N` points: indices
  drawn uniformly **with replacement** (as in PolarGrad's ``mat_log_reg.py``,
  ``theory.md`` §3.4 [READ-CODE]), so that
  :math:`E\|g_b - \nabla f\|^2 = V(X)/b` with
  :math:`V(X) = \frac1N\sum_i \|\nabla f_i(X) - \nabla f(X)\|^2` exactly.

Randomness follows SPEC 7: ``rng`` comes from ``adago_theory.default_rng(rng, xp)``.
NumPy and PyTorch draw on the host (a ``numpy.random.Generator``) and move; CuPy
draws on the device with its own Generator, so its numbers differ from NumPy's
(same statistics, not the same bits).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from adago_theory.backend import from_numpy, namespace, standard_normal

from .base import check_choice, check_int, check_real

__all__ = ["NOISES", "NoiseModel", "make_noise", "additive_noise", "minibatch_indices", "gather_rows",
           "draw"]

#: Additive noise kinds.
NOISES = ("gaussian", "student_t")


class NoiseModel(NamedTuple):
    r"""An additive noise model: ``kind`` in :data:`NOISES`, variance ``sigma2`` at :math:`b = 1`, and ``nu``."""

    kind: str
    sigma2: float
    nu: float | None


def make_noise(kind="gaussian", sigma2=0.0, nu=5.0) -> NoiseModel:
    r"""Validate and build an additive :class:`NoiseModel`.

    Parameters
    ----------
    kind : {"gaussian", "student_t"}
    sigma2 : float
        :math:`\sigma^2 \ge 0`, the variance :math:`E\|\xi\|_F^2` of one sample.
    nu : float
        Degrees of freedom of the Student-t model, :math:`\nu > 2` (finite variance).
    """
    check_choice("noise", kind, NOISES)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    if kind == "student_t":
        nu = check_real("nu", nu, lo=2.0, lo_open=True)
    else:
        nu = None
    return NoiseModel(kind, sigma2, nu)


def draw(rng, method, like, *args, size):
    """``rng.<method>(*args, size=size)`` on the backend and device of ``like`` (float64 / int64).

    NumPy Generators draw on the host (then the result moves); CuPy Generators draw
    on the device.  A CuPy Generator without ``method`` falls back to a host draw
    seeded from it.
    """
    if type(rng).__module__.startswith("cupy"):
        fn = getattr(rng, method, None)
        if fn is not None:
            return fn(*args, size=size)
        import cupy

        host = np.random.default_rng(int(float(rng.random(1)[0]) * 2**53))
        return cupy.asarray(getattr(host, method)(*args, size=size))
    out = np.asarray(getattr(rng, method)(*args, size=size))
    return from_numpy(out, like=like)


def additive_noise(noise, rng, like, batch_size):
    r"""Noise arrays with the shapes of ``like`` (a tuple of ``(R, m, n)`` arrays); :math:`E\sum\|\xi_i\|_F^2 = \sigma^2/b`.

    The :math:`R` runs get independent noise; for several matrices one sample is
    the concatenation of all blocks (one :math:`W_k` per sample for Student-t).
    Returns None when ``noise.sigma2 == 0``.
    """
    if noise.sigma2 == 0.0:
        return None
    b = check_int("batch_size", batch_size, lo=1)
    A0 = like[0]
    xp = namespace(A0)
    d = sum(int(A.shape[-2]) * int(A.shape[-1]) for A in like)
    R = int(A0.shape[0])
    Z = [standard_normal(rng, tuple(A.shape), like=A) for A in like]
    if noise.kind == "gaussian":
        scale = math.sqrt(noise.sigma2 / (b * d))
        return tuple(scale * z for z in Z)
    nu = noise.nu
    c = noise.sigma2 * (nu - 2.0) / (nu * d)
    W = draw(rng, "chisquare", A0, nu, size=(R, b))
    s = xp.sqrt(c * nu * xp.sum(1.0 / W, axis=-1)) / b
    s = xp.reshape(xp.astype(s, A0.dtype), (R, 1, 1))
    return tuple(s * z for z in Z)


def minibatch_indices(rng, n_data, runs, batch_size, like):
    r"""``runs × batch_size`` indices uniform on ``{0..n_data-1}``, with replacement, flattened (int64, on ``like``'s backend)."""
    n_data = check_int("n_data", n_data, lo=1)
    b = check_int("batch_size", batch_size, lo=1)
    idx = draw(rng, "integers", like, 0, n_data, size=(int(runs), b))
    xp = namespace(idx)
    return xp.reshape(idx, (-1,))


def gather_rows(xp, D, idx, runs, batch_size):
    r"""Rows ``D[idx]`` of a data matrix ``(N, k)`` reshaped to ``(runs, batch_size, k)``."""
    out = xp.take(D, idx, axis=0)
    return xp.reshape(out, (int(runs), int(batch_size)) + tuple(D.shape[1:]))
