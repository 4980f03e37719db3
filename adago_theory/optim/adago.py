r"""AdaGO: AdaGrad-Norm step sizes for orthogonalized momentum (Zhang, Liu & Schaeffer, arXiv 2509.02981)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .base import (
    Optimizer,
    batch_zeros,
    check_beta,
    check_bool,
    check_hyper,
    check_param,
    clip_max,
    clip_min,
    descend,
    ema,
    ema_nesterov,
    make_schedule,
    on_runs,
    prepare,
    resolve_orth,
    sum_sq,
)

__all__ = ["adago", "AdaGOState"]


class AdaGOState(NamedTuple):
    """State of :func:`adago`.

    Attributes
    ----------
    count : int
        Steps taken.
    M : array, shape of X
        Momentum :math:`M_t`.
    v_sq : array, shape X.shape[:-2]
        The accumulator :math:`v_t^2` (one scalar per matrix and run).
    alpha : array, shape X.shape[:-2]
        :math:`\\alpha_t`, the step size of the last step
        (:math:`X_t = X_{t-1} - \\alpha_t O_t`).
    """

    count: int
    M: Any
    v_sq: Any
    alpha: Any


def adago(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd") -> Optimizer:
    r"""AdaGO: orthogonalized momentum with a clamped AdaGrad-Norm step size.

    .. math::

        M_t &= \beta M_{t-1} + (1-\beta) G_t, \qquad M_0 = 0, \\
        v_t^2 &= v_{t-1}^2 + \min(\|G_t\|_F^2, \gamma^2), \\
        \alpha_t &= \max\Big(\varepsilon_t,\ \eta_t\,\frac{\min(\|G_t\|_F, \gamma)}{v_t}\Big), \\
        X_t &= X_{t-1} - \alpha_t\, \mathrm{Orth}(M_t).

    Source.  The rule is the seed's (``seeds/000_*.txt``, "Architecture
    Onboarding" and "Method Summary"), which three independent secondary sources
    restate identically (the zij canon page, the optax-style ``scale_by_adago``
    port, kozistr/pytorch_optimizer; ``theory.md`` §1.2) [SEC].  No official code
    exists.  What is confirmed and what is ours:

    * confirmed by the seed and the secondary sources: EMA momentum; the
      accumulator is updated *before* :math:`\alpha_t` and so includes
      :math:`G_t`; the clamp :math:`\min(\cdot, \gamma)`; the floor
      :math:`\varepsilon`; :math:`\eta` applied **once**.  The seed's component
      map writes the last line as :math:`\Theta_t \leftarrow \Theta_{t-1} -
      \eta\,\alpha_t O_t` (:math:`\eta` twice), but its own formula for
      :math:`\alpha_t` already holds :math:`\eta`, and every implementation
      applies it once; we follow the formula.
    * secondary only: :math:`\|\cdot\|` is the Frobenius norm (both ports).
    * ours: :math:`v_0` (below); the accumulator uses the raw gradient
      :math:`G_t`, not :math:`M_t` (as the seed writes); no bias correction of
      the momentum (the optax port has one, the seed does not).

    Since :math:`\min(\|G_t\|_F,\gamma) \le v_t`, :math:`\alpha_t \in
    [\varepsilon_t, \max(\varepsilon_t, \eta_t)]` [DERIVED, ``theory.md`` §1.2].

    Parameters
    ----------
    eta : float, array or callable
        :math:`\eta \ge 0`, or a schedule ``t -> eta_t`` (t = 1, 2, ...).  Every
        numeric hyperparameter may be an array of one value per run (broadcastable
        to ``X.shape[:-2]``; :mod:`adago_theory.optim.base`).
    gamma : float
        The clamp :math:`\gamma > 0` (required: the sources disagree, 1.0 in the
        optax port, 10.0 in pytorch_optimizer).
    eps : float or callable
        The step-size floor :math:`\varepsilon \ge 0`, or a schedule
        ``t -> eps_t``.  The theory makes it horizon-dependent (the seed quotes
        :math:`\varepsilon = T^{-3/4}`, "Theorem 3.3" [SEC, unread]) and advises
        :math:`\varepsilon < \eta^2` in practice.
    beta : float, default 0.95
        Momentum :math:`\beta \in [0, 1)` (0.95 in both ports).
    v0 : float, default 1e-6
        :math:`v_0 \ge 0`; the accumulator starts at :math:`v_0^2`.  **Our
        choice.**  The paper's value is unknown.  The optax port uses 1.0 and
        pytorch_optimizer 1e-6 (there as the initial *sum of squares*).  The
        seed writes :math:`v_t^2 = \sum_{\tau \le t}\min(\|G_\tau\|^2, \gamma^2)`,
        an accumulator that starts empty, so we take a value that is negligible
        next to any gradient yet keeps :math:`v_t > 0`; then
        :math:`\alpha_1 \approx \eta` whatever the scale of the problem.  With
        ``v0=0`` and :math:`G_1 = 0` the ratio :math:`0/0` is taken as 0
        (:math:`\alpha_1 = \varepsilon_1`).
    nesterov : bool, default False
        Orthogonalize :math:`(1-\beta)G_t + \beta M_t` instead of :math:`M_t` (an
        option of the optax port, off in the seed).
    orth : str, tuple, dict or callable, default "svd"
        The orthogonalizer; the exact polar factor by default, as the theory
        assumes (the seed: "Newton–Schulz in practice").

    Returns
    -------
    Optimizer

    Examples
    --------
    >>> import numpy as np
    >>> opt = adago(0.5, gamma=1.0, eps=1e-3, v0=0.0)
    >>> X = np.zeros((2, 2)); G = np.diag([3.0, 4.0])       # ||G||_F = 5 > gamma
    >>> X1, s = opt.step(X, G, opt.init(X))
    >>> float(s.v_sq), float(s.alpha)                        # v_1 = gamma, alpha_1 = eta
    (1.0, 0.5)
    """
    eta_t = make_schedule("eta", eta)
    gamma = check_hyper("gamma", gamma, lo=0.0, lo_open=True)
    eps_t = make_schedule("eps", eps)
    beta = check_beta("beta", beta)
    v0 = check_hyper("v0", v0, lo=0.0)
    nesterov = check_bool("nesterov", nesterov)
    orth_fn = resolve_orth(orth)

    def init(X):
        xp = check_param(X)
        on_runs("beta", beta, X), on_runs("gamma", gamma, X)            # shapes checked once, here
        v = on_runs("v0", v0, X)
        return AdaGOState(0, xp.zeros_like(X), batch_zeros(xp, X) + v * v, batch_zeros(xp, X))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        b, g = on_runs("beta", beta, X), on_runs("gamma", gamma, X)
        if nesterov:
            M, U = ema_nesterov(xp, state.M, G, b)          # U = (1 - beta) G + beta M
        else:
            M = U = ema(xp, state.M, G, b)
        c2 = clip_max(xp, sum_sq(xp, G), g * g)            # min(||G||_F^2, gamma^2)
        v_sq = state.v_sq + c2
        v = xp.sqrt(v_sq)
        pos = v > 0
        ratio = xp.where(pos, xp.sqrt(c2) / xp.where(pos, v, xp.ones_like(v)), xp.zeros_like(v))
        # max(eps, eta * min(||G||, gamma) / v)
        alpha = clip_min(xp, on_runs("eta", eta_t(t), X) * ratio, on_runs("eps", eps_t(t), X))
        O = orth_fn(U)
        X_new = descend(xp, X, alpha, O)
        return X_new, AdaGOState(t, M, v_sq, alpha)

    return Optimizer(init, step)
