r"""Muon: orthogonalized momentum with a fixed step size."""

from __future__ import annotations

from typing import Any, NamedTuple

from .base import (
    SCALES,
    Optimizer,
    batch_full,
    batch_zeros,
    check_beta,
    check_bool,
    check_choice,
    check_hyper,
    check_param,
    descend,
    ema,
    ema_nesterov,
    make_schedule,
    on_runs,
    prepare,
    resolve_orth,
    shape_scale,
)

__all__ = ["muon", "MuonState"]


class MuonState(NamedTuple):
    """State of :func:`muon`.

    Attributes
    ----------
    count : int
        Steps taken.
    M : array, shape of X
        The momentum buffer :math:`B_t` (EMA of the gradients).
    alpha : array, shape X.shape[:-2]
        :math:`\\eta_t s(m, n)`, the factor that multiplied :math:`\\mathrm{Orth}(U_t)`
        at the last step.
    """

    count: int
    M: Any
    alpha: Any


def muon(eta, *, beta=0.95, nesterov=True, orth="newton-schulz", scale="none", weight_decay=0.0) -> Optimizer:
    r"""Muon (Jordan et al., 2024): a step along the orthogonalized momentum.

    .. math::

        B_t &= \beta B_{t-1} + (1-\beta) G_t, \qquad B_0 = 0, \\
        U_t &= \begin{cases} (1-\beta) G_t + \beta B_t & \text{(Nesterov)} \\
                             B_t & \text{otherwise} \end{cases} \\
        X_t &= (1 - \eta_t\lambda) X_{t-1} - \eta_t\, s(m, n)\, \mathrm{Orth}(U_t).

    Source: KellerJordan/Muon ``muon.py`` (``muon_update``: ``momentum.lerp_(grad,
    1 - beta)``, ``grad.lerp_(momentum, beta)`` when Nesterov, then
    ``p.mul_(1 - lr * wd)``, ``p.add_(update, alpha=-lr)``) [READ-CODE,
    ``optimizers.md`` §a, §b4]; the same EMA/Nesterov form is the "Muon" of the
    NAMO and PolarGrad repositories (``theory.md`` §2.5, §3.2).

    Parameters
    ----------
    eta : float, array or callable
        Learning rate :math:`\eta \ge 0`, or a schedule ``t -> eta_t`` (t = 1, 2, ...).
        Every numeric hyperparameter may be an array of one value per run
        (broadcastable to ``X.shape[:-2]``; :mod:`adago_theory.optim.base`).
    beta : float or array, default 0.95
        Momentum :math:`\beta \in [0, 1)`.
    nesterov : bool, default True
        Use the Nesterov mix :math:`U_t = (1-\beta)G_t + \beta B_t`.
    orth : str, tuple, dict or callable, default "newton-schulz"
        The orthogonalizer (see :func:`~adago_theory.optim.resolve_orth`).  The
        default is 5 steps of Jordan's quintic (3.4445, -4.7750, 2.0315) in the
        input dtype, normalised by :math:`\|U\|_F` with no additive epsilon.
    scale : {"none", "jordan", "rms"}, default "none"
        The shape factor :math:`s(m, n)`: 1, :math:`\sqrt{\max(1, m/n)}` (Jordan's
        code) or :math:`0.2\sqrt{\max(m, n)}` (Moonlight / torch
        ``match_rms_adamw``).  ``m, n = X.shape[-2:]`` (rows, columns).
    weight_decay : float or array, default 0.0
        Decoupled weight decay :math:`\lambda \ge 0`, applied as
        :math:`(1-\eta_t\lambda)X` (Jordan's code).

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`\eta_t s(m, n)`.

    Notes
    -----
    Choices that differ from the reference code, all deliberate:
    the reference runs Newton–Schulz in bfloat16 with
    :math:`U/(\|U\|_F + 10^{-7})`; here it runs in the parameter dtype with no
    epsilon (pass ``orth=("newton-schulz", {"eps": 1e-7})`` to add it).  The
    reference's default shape factor is "jordan"; the default here is "none" so
    that :math:`\eta_t` is the spectral-norm length of the step, the quantity the
    theory uses.

    Examples
    --------
    >>> import numpy as np
    >>> opt = muon(0.1, orth="svd")
    >>> X = np.zeros((3, 2)); G = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> X1, s = opt.step(X, G, opt.init(X))
    >>> X1
    array([[-0.1,  0. ],
           [ 0. , -0.1],
           [ 0. ,  0. ]])
    """
    eta_t = make_schedule("eta", eta)
    beta = check_beta("beta", beta)
    nesterov = check_bool("nesterov", nesterov)
    orth_fn = resolve_orth(orth)
    scale = check_choice("scale", scale, SCALES)
    wd = check_hyper("weight_decay", weight_decay, lo=0.0)

    def init(X):
        xp = check_param(X)
        on_runs("beta", beta, X), on_runs("weight_decay", wd, X)        # shapes checked once, here
        return MuonState(0, xp.zeros_like(X), batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        lr, b, lam = on_runs("eta", eta_t(t), X), on_runs("beta", beta, X), on_runs("weight_decay", wd, X)
        if nesterov:
            B, U = ema_nesterov(xp, state.M, G, b)          # U = (1 - beta) G + beta B
        else:
            B = U = ema(xp, state.M, G, b)
        O = orth_fn(U)
        a = lr * shape_scale(scale, X.shape[-2], X.shape[-1])
        X_new = descend(xp, X, a, O, 1.0 - lr * lam)
        return X_new, MuonState(t, B, batch_full(xp, X, a))

    return Optimizer(init, step)
