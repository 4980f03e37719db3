r"""NAMO and NAMO-D (Zhang, Liu & Schaeffer, arXiv 2602.17080), as the official code does them."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..backend import pow2_scale
from ..norms import frobenius_norm
from .base import (
    SCALES,
    Optimizer,
    batch_zeros,
    check_beta,
    check_bool,
    check_choice,
    check_hyper,
    check_param,
    descend,
    ema,
    ema_nesterov,
    expand,
    is_zero,
    make_schedule,
    on_runs,
    prepare,
    resolve_orth,
    shape_scale,
    sqrt,
    sum_sq,
)

__all__ = ["namo", "namo_d", "NAMOState", "NAMODState"]

# bc1 + 1e-12 in the denominator of the bias correction: minxin-zhg/namo src/namo.py (both classes).
_BC_TINY = 1e-12


class NAMOState(NamedTuple):
    """State of :func:`namo`.

    Attributes
    ----------
    count : int
        Steps taken.
    M : array, shape of X
        Momentum buffer :math:`B_t`.
    v_sq : array, shape X.shape[:-2]
        :math:`v_t`, the EMA of :math:`\\|G_t\\|_F^2` (the code's ``v_squared``).
    alpha : array, shape X.shape[:-2]
        :math:`s_t`, the factor that multiplied :math:`\\mathrm{Orth}(U_t)` at the last step.
    """

    count: int
    M: Any
    v_sq: Any
    alpha: Any


class NAMODState(NamedTuple):
    """State of :func:`namo_d`.

    Attributes
    ----------
    count : int
    M : array, shape of X
        Momentum buffer :math:`B_t`.
    V : array, shape X.shape[:-2] + (n,)
        Column-wise EMA of :math:`\\|G_t[:, j]\\|_2^2`.
    alpha : array, shape X.shape[:-2]
        The mean over columns of :math:`u_{t,j}` (a summary; see ``alpha_cols``).
    alpha_cols : array, shape X.shape[:-2] + (n,)
        :math:`u_{t,j}`, the factor that multiplied column :math:`j` of
        :math:`\\mathrm{Orth}(U_t)` at the last step.
    """

    count: int
    M: Any
    V: Any
    alpha: Any
    alpha_cols: Any


def _common(eta, beta, beta2, eps, nesterov, orth, scale, clamp, weight_decay):
    return (
        make_schedule("eta", eta),
        check_beta("beta", beta),
        check_beta("beta2", beta2),
        check_hyper("eps", eps, lo=0.0),
        check_bool("nesterov", nesterov),
        resolve_orth(orth),
        check_choice("scale", scale, SCALES),
        check_bool("clamp", clamp),
        check_hyper("weight_decay", weight_decay, lo=0.0),
    )


def _hypers(xp, X, t, eta_t, beta, beta2, eps, wd):
    r"""The hyperparameters on ``X``'s runs, and the bias-corrected base step
    :math:`b_t = \eta_t\sqrt{1-\beta_2^t}/(1-\beta^t+10^{-12})`.  ``t = None``: check shapes only."""
    b, b2, e, lam = (on_runs(n, v, X) for n, v in (("beta", beta), ("beta2", beta2), ("eps", eps),
                                                   ("weight_decay", wd)))
    if t is None:
        return None
    base = on_runs("eta", eta_t(t), X) * sqrt(xp, 1.0 - b2**t) / (1.0 - b**t + _BC_TINY)
    return b, b2, e, lam, base


def _safe_div(xp, num, den):
    """num / den, with 0 where den == 0 (then num == 0 too: both are norms of the same zero data)."""
    pos = den > 0
    return xp.where(pos, num / xp.where(pos, den, xp.ones_like(den)), xp.zeros_like(num))


def namo(eta, *, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True, orth="newton-schulz", scale="rms",
         clamp=True, weight_decay=0.0) -> Optimizer:
    r"""NAMO: orthogonalized momentum with one Adam-like adaptive step size per matrix.

    .. math::

        B_t &= \beta B_{t-1} + (1-\beta) G_t, \qquad
        U_t = (1-\beta) G_t + \beta B_t \ \text{(Nesterov)}\ \text{or}\ B_t, \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\|G_t\|_F^2, \qquad B_0 = 0,\ v_0 = 0, \\
        a_t &= \eta_t\,\frac{\sqrt{1-\beta_2^t}}{1-\beta^t + 10^{-12}}\,
               \frac{\|U_t\|_F}{\sqrt{v_t} + \epsilon}, \\
        s_t &= \min\big(a_t\, s(m, n),\ 1\big), \qquad
        X_t = \big(1 - \lambda\min(a_t, 1)\big) X_{t-1} - s_t\,\mathrm{Orth}(U_t).

    Source: the official code, minxin-zhg/namo ``src/namo.py``, class ``NAMO``
    [READ-CODE, ``theory.md`` §2.2, ``optimizers.md`` §b5]; every line above is
    that code (``buf.lerp_(g, 1 - momentum)``, ``g.lerp(buf, momentum)``,
    ``v_squared.mul_(mu2).add_(gn * gn, alpha=1 - mu2)``,
    ``v_squared.sqrt().add_(eps)``, ``adaptive_lr.clamp(max=1.0)``,
    ``p.mul_(1 - wd * adaptive_lr_clamped)``, the ``1e-12``).  The paper's
    Algorithm box was not read; its form of :math:`a_t`, the clamps and the
    shape factor may differ (``theory.md`` §6.2).  Written down: :math:`v_t`
    uses the raw gradient, :math:`a_t` the momentum :math:`U_t`; :math:`\epsilon`
    is added *after* the square root (the code, not its docstring); the weight
    decay uses the unscaled :math:`\min(a_t, 1)`.

    Parameters
    ----------
    eta : float, array or callable
        :math:`\eta \ge 0` or a schedule (official default 1e-2).  Every numeric
        hyperparameter may be an array of one value per run (broadcastable to
        ``X.shape[:-2]``; :mod:`adago_theory.optim.base`).
    beta, beta2 : float, default 0.95, 0.99
        :math:`\beta` (momentum) and :math:`\beta_2` (EMA of the squared norm),
        both in :math:`[0, 1)` (official defaults).
    eps : float, default 1e-8
        :math:`\epsilon \ge 0` (the code's ``adamnorm_eps``).  With ``eps=0`` a
        zero denominator gives :math:`a_t = 0`.
    nesterov : bool, default True
    orth : default "newton-schulz"
        Jordan's 5-step quintic as in the code (which runs it in bfloat16 with a
        1e-7 epsilon; here in the parameter dtype); ``"svd"`` is the code's
        ``use_exact_svd``.
    scale : {"rms", "jordan", "none"}, default "rms"
        :math:`s(m,n)`; "rms" is the code's ``0.2 * sqrt(max(A, B))``
        (``scale_coeff=0.2``).
    clamp : bool, default True
        Apply the code's two :math:`\min(\cdot, 1)` clamps; ``False`` removes both
        (:math:`s_t = a_t s(m,n)`, decay :math:`1-\lambda a_t`).
    weight_decay : float, default 0.0
        :math:`\lambda \ge 0`.  The official default is 0.1; 0 here so that the
        optimizer solves the given problem unless asked otherwise.

    Returns
    -------
    Optimizer
        ``state.alpha`` is :math:`s_t`.
    """
    (eta_t, beta, beta2, eps, nesterov, orth_fn, scale, clamp, wd) = _common(
        eta, beta, beta2, eps, nesterov, orth, scale, clamp, weight_decay)

    def init(X):
        xp = check_param(X)
        _hypers(xp, X, None, eta_t, beta, beta2, eps, wd)                       # shapes checked once, here
        z = batch_zeros(xp, X)
        return NAMOState(0, xp.zeros_like(X), z, z)

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        b, b2, e, lam, base = _hypers(xp, X, t, eta_t, beta, beta2, eps, wd)
        if nesterov:
            B, U = ema_nesterov(xp, state.M, G, b)          # U = (1 - beta) G + beta B
        else:
            B = U = ema(xp, state.M, G, b)
        v_sq = b2 * state.v_sq + (1.0 - b2) * sum_sq(xp, G)
        O = orth_fn(U)
        a = base * _safe_div(xp, frobenius_norm(U), xp.sqrt(v_sq) + e)   # ||U||_F scale-safe
        s = a * shape_scale(scale, X.shape[-2], X.shape[-1])
        if clamp:
            s = xp.clip(s, max=1.0)
        if is_zero(lam):
            X_new = descend(xp, X, s, O)
        else:
            a_wd = xp.clip(a, max=1.0) if clamp else a
            X_new = descend(xp, X, s, O, 1.0 - lam * a_wd)
        return X_new, NAMOState(t, B, v_sq, s)

    return Optimizer(init, step)


def namo_d(eta, *, c=0.75, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True, orth="newton-schulz",
           scale="rms", clamp=True, weight_decay=0.0) -> Optimizer:
    r"""NAMO-D: orthogonalized momentum right-multiplied by a clamped diagonal of column step sizes.

    For :math:`X \in \mathbb{R}^{m\times n}` and columns :math:`j = 1..n` (the
    input dimension of a PyTorch ``nn.Linear`` weight):

    .. math::

        V_{t,j} &= \beta_2 V_{t-1,j} + (1-\beta_2)\|G_t[:, j]\|_2^2, \qquad
        B_t, U_t \ \text{as in NAMO}, \\
        b_t &= \eta_t\,\frac{\sqrt{1-\beta_2^t}}{1-\beta^t + 10^{-12}}, \qquad
        d_j = \frac{\|U_t[:, j]\|_2}{\sqrt{V_{t,j}} + \epsilon}, \\
        d_j &\leftarrow \operatorname{clip}\big(d_j,\ c\,\bar d,\ \bar d / c\big),
             \quad \bar d = \tfrac1n\textstyle\sum_j d_j \quad (0 < c \le 1), \\
        u_j &= \min\big(d_j\, b_t\, s(m,n),\ 1\big), \qquad
        X_t[:, j] = \max\big(0,\ 1 - \lambda\min(d_j b_t, 1)\big)X_{t-1}[:, j]
                    - u_j\,\mathrm{Orth}(U_t)[:, j],

    i.e. :math:`X_t = X_{t-1}\,\mathrm{diag}(\text{decay}) - \mathrm{Orth}(U_t)\,D_t` with
    :math:`D_t = \mathrm{diag}(u)`.

    Source: minxin-zhg/namo ``src/namo.py``, class ``NAMO_D`` [READ-CODE,
    ``theory.md`` §2.3].  The clamp toward the mean is applied only when
    :math:`0 < c \le 1` and :math:`\bar d` is finite and positive, as in the code.
    The code's ``nanmean`` is a plain mean here: :math:`d_j` is never NaN
    (:math:`0/0` is taken as 0, the only way to get NaN there).

    Parameters
    ----------
    eta : float or callable
        :math:`\eta \ge 0` or a schedule (official default 1e-2).
    c : float, default 0.75
        Clamp :math:`c \in [0, 1]`; :math:`c = 0` disables it (full column
        adaptivity), :math:`c = 1` gives every column the mean.  The class default
        is 0.75; the official Hydra config uses 0.01 and the sweeps
        {0.12, 0.40, 0.75, 0.90} (``theory.md`` §2.3).
    beta, beta2, eps, nesterov, orth, scale, clamp, weight_decay
        As in :func:`namo`.  ``clamp=False`` removes the two :math:`\min(\cdot, 1)`
        clamps (not the :math:`\max(0, \cdot)` on the decay, nor the clamp by
        :math:`c`).

    Returns
    -------
    Optimizer
        ``state.alpha_cols`` holds :math:`u_j`; ``state.alpha`` their mean.
    """
    (eta_t, beta, beta2, eps, nesterov, orth_fn, scale, clamp, wd) = _common(
        eta, beta, beta2, eps, nesterov, orth, scale, clamp, weight_decay)
    c = check_hyper("c", c, lo=0.0, hi=1.0)

    def init(X):
        xp = check_param(X)
        _hypers(xp, X, None, eta_t, beta, beta2, eps, wd), on_runs("c", c, X)  # shapes checked once, here
        n = X.shape[-1]
        return NAMODState(0, xp.zeros_like(X), batch_zeros(xp, X, (n,)), batch_zeros(xp, X),
                          batch_zeros(xp, X, (n,)))

    def step(X, G, state):
        xp = prepare(X, G, state)
        t = state.count + 1
        b, b2, e, lam, base = _hypers(xp, X, t, eta_t, beta, beta2, eps, wd)
        b2 = expand(xp, b2, X.ndim - 1)                     # per run, against (..., n)
        V = b2 * state.V + (1.0 - b2) * xp.sum(G * G, axis=-2)
        if nesterov:
            B, U = ema_nesterov(xp, state.M, G, b)          # U = (1 - beta) G + beta B
        else:
            B = U = ema(xp, state.M, G, b)
        O = orth_fn(U)
        base = expand(xp, base, X.ndim - 1)
        d = _safe_div(xp, _col_norms(xp, U), xp.sqrt(V) + expand(xp, e, X.ndim - 1))
        cc = on_runs("c", c, X)
        if isinstance(cc, float):
            if 0.0 < cc <= 1.0:
                d = _clamp_to_mean(xp, d, cc, None)
        else:
            cc = expand(xp, cc, X.ndim - 1)
            d = _clamp_to_mean(xp, d, xp.where(cc > 0, cc, xp.ones_like(cc)), cc > 0)
        u = d * (base * shape_scale(scale, X.shape[-2], X.shape[-1]))
        if clamp:
            u = xp.clip(u, max=1.0)
        if is_zero(lam):
            X_new = X - O * u[..., None, :]
        else:
            a_wd = d * base
            if clamp:
                a_wd = xp.clip(a_wd, max=1.0)
            decay = xp.clip(1.0 - expand(xp, lam, X.ndim - 1) * a_wd, min=0.0)
            X_new = X * decay[..., None, :] - O * u[..., None, :]
        return X_new, NAMODState(t, B, V, xp.mean(u, axis=-1), u)

    return Optimizer(init, step)


def _col_norms(xp, U):
    """Column norms :math:`\\|U[:, j]\\|_2`, scale-safely (one power-of-two scale per matrix)."""

    k = pow2_scale(xp, U)
    W = U * k
    return xp.sqrt(xp.sum(W * W, axis=-2)) / k[..., 0]


def _clamp_to_mean(xp, d, c, active):
    r"""Clip each :math:`d_j` to :math:`[c\bar d, \bar d / c]` where :math:`\bar d` is finite and positive.

    ``c`` is a float in :math:`(0, 1]` or an array (..., 1) of them; ``active`` None (all runs)
    or a per-run boolean array (..., 1): the runs with :math:`c = 0` are left alone.
    """
    dbar = xp.mean(d, axis=-1, keepdims=True)
    valid = xp.isfinite(dbar) & (dbar > 0)
    if active is not None:
        valid = valid & active
    lo = xp.where(valid, c * dbar, xp.zeros_like(dbar))
    hi = xp.where(valid, dbar / c, xp.full_like(dbar, math.inf))
    return xp.minimum(xp.maximum(d, lo), hi)
