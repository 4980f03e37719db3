r"""Baselines: SGD (with heavy-ball / Nesterov momentum), AdamW and AdaGrad-Norm."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..backend import is_torch_namespace
from .base import (
    Optimizer,
    batch_full,
    batch_zeros,
    check_beta,
    check_bool,
    check_hyper,
    check_param,
    expand,
    make_schedule,
    on_runs,
    prepare,
    sum_sq,
)
from .donation import is_donated

__all__ = ["sgd", "adamw", "adagrad_norm", "SGDState", "AdamWState", "AdaGradNormState"]


class SGDState(NamedTuple):
    """State of :func:`sgd`: ``count``, the momentum buffer ``B`` (``None`` without
    momentum), ``alpha`` (:math:`\\eta_t`)."""

    count: int
    B: Any
    alpha: Any


class AdamWState(NamedTuple):
    """State of :func:`adamw`: ``count``, the moments ``m`` and ``v`` (shape of X),
    ``alpha`` (:math:`\\eta_t`, the learning rate of the last step)."""

    count: int
    m: Any
    v: Any
    alpha: Any


class AdaGradNormState(NamedTuple):
    """State of :func:`adagrad_norm`: ``count``, ``b_sq`` (:math:`b_t^2`, shape
    ``X.shape[:-2]``), ``alpha`` (:math:`\\eta_t / b_t`)."""

    count: int
    b_sq: Any
    alpha: Any


def sgd(eta, *, momentum=0.0, nesterov=False) -> Optimizer:
    r"""Gradient descent, with optional heavy-ball or Nesterov momentum (PyTorch's form).

    .. math::

        B_t &= \mu B_{t-1} + G_t, \qquad B_0 = 0, \\
        D_t &= \begin{cases} G_t + \mu B_t & \text{(Nesterov)} \\ B_t & \text{otherwise}\end{cases}
        \qquad X_t = X_{t-1} - \eta_t D_t .

    With :math:`\mu = 0`, :math:`X_t = X_{t-1} - \eta_t G_t`.  Source: the
    ``torch.optim.SGD`` documentation (dampening 0; the first step's
    ``buf = grad`` equals :math:`\mu\cdot 0 + G_1`); the "Sum" momentum form of
    ``optimizers.md`` §b4.

    Parameters
    ----------
    eta : float, array or callable
        :math:`\eta \ge 0` or a schedule ``t -> eta_t``.  Every numeric hyperparameter
        may be an array of one value per run (broadcastable to ``X.shape[:-2]``;
        :mod:`adago_theory.optim.base`).
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.
    nesterov : bool, default False
        Needs ``momentum > 0`` (as in PyTorch).

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`\eta_t`.
    """
    eta_t = make_schedule("eta", eta)
    mu = check_beta("momentum", momentum)
    nesterov = check_bool("nesterov", nesterov)
    if nesterov and np.any(np.asarray(mu) == 0.0):
        raise ValueError("nesterov=True needs momentum in (0, 1) (every entry), got momentum=0.0")
    heavy = bool(np.any(np.asarray(mu) > 0.0))

    def init(X):
        xp = check_param(X)
        on_runs("momentum", mu, X)                                       # shape checked once, here
        return SGDState(0, xp.zeros_like(X) if heavy else None, batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        lr = on_runs("eta", eta_t(t), X)
        B = None
        D = G
        if heavy:
            m = expand(xp, on_runs("momentum", mu, X), X.ndim)
            B = m * state.B + G
            D = G + m * B if nesterov else B
        return X - expand(xp, lr, X.ndim) * D, SGDState(t, B, batch_full(xp, X, lr))

    return Optimizer(init, step)


def adamw(eta, *, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01) -> Optimizer:
    r"""AdamW (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW`` computes it.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1) G_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) G_t^{\odot 2}, \qquad m_0 = v_0 = 0, \\
        X_t &= (1 - \eta_t\lambda) X_{t-1}
              - \frac{\eta_t}{1-\beta_1^t}\,
                \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    (entrywise).  Source: the ``torch.optim.AdamW`` algorithm box (decay first,
    then the bias-corrected Adam step, :math:`\epsilon` outside the square root).

    Parameters
    ----------
    eta : float or callable
        :math:`\eta \ge 0` or a schedule.
    beta1, beta2 : float, default 0.9, 0.999
        In :math:`[0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 0.01
        :math:`\lambda \ge 0` (PyTorch's default).

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`\eta_t` (the per-entry steps differ).
    """
    eta_t = make_schedule("eta", eta)
    beta1 = check_beta("beta1", beta1)
    beta2 = check_beta("beta2", beta2)
    eps = check_hyper("eps", eps, lo=0.0, lo_open=True)
    wd = check_hyper("weight_decay", weight_decay, lo=0.0)
    names = (("beta1", beta1), ("beta2", beta2), ("eps", eps), ("weight_decay", wd))

    def init(X):
        xp = check_param(X)
        [on_runs(n, v, X) for n, v in names]                             # shapes checked once, here
        return AdamWState(0, xp.zeros_like(X), xp.zeros_like(X), batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        lr = on_runs("eta", eta_t(t), X)
        if is_torch_namespace(xp) and all(isinstance(v, float) for v in (lr, beta1, beta2, eps, wd)):
            return _adamw_torch(xp, X, G, state, t, lr, beta1, beta2, eps, wd)
        b1, b2, e, lam = (expand(xp, on_runs(n, v, X), X.ndim) for n, v in names)
        m = b1 * state.m + (1.0 - b1) * G
        v = b2 * state.v + (1.0 - b2) * (G * G)
        bc1 = 1.0 - b1**t
        bc2_sqrt = (1.0 - b2**t) ** 0.5
        lx = expand(xp, lr, X.ndim)
        X_new = (1.0 - lx * lam) * X - (lx / bc1) * (m / (xp.sqrt(v) / bc2_sqrt + e))
        return X_new, AdamWState(t, m, v, batch_full(xp, X, lr))

    return Optimizer(init, step)


def _adamw_torch(xp, X, G, state, t, lr, b1, b2, eps, wd):
    """The AdamW step on PyTorch tensors in ``torch.optim.AdamW``'s own operations (its
    single-tensor loop: ``mul_``, ``lerp_``, ``mul_().addcmul_()``, ``addcdiv_``), on new arrays —
    or in place on the arrays handed over with :class:`~adago_theory.optim.donation.donating`.  Five
    fused passes instead of the generic path's dozen; equal to it to rounding (tested) and to
    ``torch.optim.AdamW`` bit for bit (tested)."""
    import torch

    m = state.m.lerp_(G, 1.0 - b1) if is_donated(state.m) else torch.lerp(state.m, G, 1.0 - b1)
    v = state.v.mul_(b2) if is_donated(state.v) else state.v * b2
    v.addcmul_(G, G, value=1.0 - b2)
    denom = (v.sqrt() / (1.0 - b2**t) ** 0.5).add_(eps)
    own = is_donated(X)
    if wd != 0.0:
        Xn = X.mul_(1.0 - lr * wd) if own else X * (1.0 - lr * wd)
    else:
        Xn = X if own else X.clone()
    Xn.addcdiv_(m, denom, value=-(lr / (1.0 - b1**t)))
    return Xn, AdamWState(t, m, v, batch_full(xp, X, lr))


def adagrad_norm(eta, *, b0) -> Optimizer:
    r"""AdaGrad-Norm (Ward, Wu & Bottou, 2019): one AdaGrad step size per matrix.

    .. math::

        b_t^2 = b_{t-1}^2 + \|G_t\|_F^2, \qquad X_t = X_{t-1} - \frac{\eta_t}{b_t}\, G_t .

    Source: Ward, Wu & Bottou, "AdaGrad stepsizes: sharp convergence over
    nonconvex landscapes" (ICML 2019 / JMLR 2020), Algorithm "AdaGrad-Norm":
    the accumulator includes the current gradient before the step, as in AdaGO
    (whose step size is this one with a clamp, a floor and an orthogonalized
    direction).

    Parameters
    ----------
    eta : float or callable
        :math:`\eta \ge 0` or a schedule.
    b0 : float
        :math:`b_0 > 0` (required; the paper assumes :math:`b_0 > 0`).

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`\eta_t / b_t`.
    """
    eta_t = make_schedule("eta", eta)
    b0 = check_hyper("b0", b0, lo=0.0, lo_open=True)

    def init(X):
        xp = check_param(X)
        b = on_runs("b0", b0, X)
        return AdaGradNormState(0, batch_zeros(xp, X) + b * b, batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        b_sq = state.b_sq + sum_sq(xp, G)
        alpha = on_runs("eta", eta_t(t), X) / xp.sqrt(b_sq)
        X_new = X - expand(xp, alpha, X.ndim) * G
        return X_new, AdaGradNormState(t, b_sq, alpha)

    return Optimizer(init, step)
