r"""PolarGrad (Lau, Long & Su, arXiv 2505.21799): orthogonalized updates scaled by the nuclear norm."""

from __future__ import annotations

from typing import Any, NamedTuple

from .base import (
    Optimizer,
    batch_zeros,
    check_beta,
    check_bool,
    check_hyper,
    check_param,
    descend,
    ema,
    make_schedule,
    on_runs,
    prepare,
    resolve_orth,
)

__all__ = ["polargrad", "PolarGradState"]


class PolarGradState(NamedTuple):
    """State of :func:`polargrad`.

    Attributes
    ----------
    count : int
    M : array, shape of X
        The momentum buffer: an EMA of :math:`G` (momentum first) or of
        :math:`\\mathrm{Orth}(G)` (polar first).
    alpha : array, shape X.shape[:-2]
        :math:`\\eta_t\\,\\nu_t`, the factor that multiplied the direction at the
        last step (:math:`\\nu_t` the nuclear-norm estimate).
    """

    count: int
    M: Any
    alpha: Any


def polargrad(eta, *, beta=0.0, polar_first=False, weight_decay=0.0, orth="polar") -> Optimizer:
    r"""PolarGrad / PolarSGD and their momentum variants (PolarGradM).

    Momentum first (``polar_first=False``, the default):

    .. math::

        M_t &= \beta M_{t-1} + (1-\beta) G_t, \qquad U_t = \mathrm{Orth}(M_t),
        \qquad \nu_t = \langle M_t, U_t\rangle\ (= \|M_t\|_*), \\
        X_t &= (1 - \eta_t\lambda) X_{t-1} - \eta_t\,\nu_t\, U_t .

    Polar first (``polar_first=True``):

    .. math::

        U_t &= \mathrm{Orth}(G_t), \qquad \nu_t = \langle G_t, U_t\rangle\ (= \|G_t\|_*),
        \qquad M_t = \beta M_{t-1} + (1-\beta) U_t, \\
        X_t &= (1 - \eta_t\lambda) X_{t-1} - \eta_t\,\nu_t\, M_t .

    With :math:`\beta = 0` both reduce to PolarGrad,
    :math:`X_t = X_{t-1} - \eta_t \|G_t\|_*\,\mathrm{Orth}(G_t)` (``theory.md``
    §3.2).  Why :math:`\nu_t` is the nuclear norm: for the polar decomposition
    :math:`M = U_p H`, :math:`\operatorname{tr} H = \langle M, U_p\rangle = \|M\|_*`.

    Source: the official code, timlautk/polargrad ``polar_grad.py`` class
    ``PolarGrad`` [READ-CODE]: ``m.lerp_(g, 1 - momentum)``, ``nuc_norm =
    torch.sum(m * U)``, ``p.mul_(1 - lr * wd).add_(nuc_norm * U, alpha=-lr)``, and
    the polar-first branch with ``m.lerp_(U, 1 - momentum)``.  Like the code,
    :math:`\nu_t` is computed as :math:`\langle M, U\rangle` with the
    orthogonalizer's own :math:`U`, so with an inexact ``orth`` it is that
    method's estimate of :math:`\|M\|_*`.

    Parameters
    ----------
    eta : float, array or callable
        :math:`\eta \ge 0` (the code's ``lr``) or a schedule.  Every numeric
        hyperparameter may be an array of one value per run (broadcastable to
        ``X.shape[:-2]``; :mod:`adago_theory.optim.base`).
    beta : float, default 0.0
        Momentum :math:`\beta \in [0, 1)`; 0 is PolarGrad/PolarSGD (the
        experiments' setting; the class default is 0.95).
    polar_first : bool, default False
        Average the polar factors instead of the gradients.
    weight_decay : float, default 0.0
        Decoupled weight decay :math:`\lambda \ge 0`, applied as :math:`(1-\eta\lambda)X`.
    orth : default "polar"
        The exact polar factor (LAPACK SVD on the CPU, QDWH to convergence on a
        GPU).  The official default is QDWH stopped after ``inner_steps=2``
        iterations, an approximation; pass another method to study that.

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`\eta_t \nu_t`.
    """
    eta_t = make_schedule("eta", eta)
    beta = check_beta("beta", beta)
    polar_first = check_bool("polar_first", polar_first)
    wd = check_hyper("weight_decay", weight_decay, lo=0.0)
    orth_fn = resolve_orth(orth)

    def init(X):
        xp = check_param(X)
        on_runs("beta", beta, X), on_runs("weight_decay", wd, X)        # shapes checked once, here
        return PolarGradState(0, xp.zeros_like(X), batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        lr, b, lam = on_runs("eta", eta_t(t), X), on_runs("beta", beta, X), on_runs("weight_decay", wd, X)
        if polar_first:
            U = orth_fn(G)
            nu = xp.sum(G * U, axis=(-2, -1))
            M = ema(xp, state.M, U, b)
            D = M
        else:
            M = ema(xp, state.M, G, b)
            D = orth_fn(M)
            nu = xp.sum(M * D, axis=(-2, -1))
        alpha = lr * nu
        X_new = descend(xp, X, alpha, D, 1.0 - lr * lam)
        return X_new, PolarGradState(t, M, alpha)

    return Optimizer(init, step)
