r"""A catalogue of mutants: small, plausible implementation mistakes and look-alikes of the project's optimizers.

A verification suite is only as good as its power to say "no".  Each :class:`Mutant` is a factory with the
signature of the optimizer it replaces (``adago(eta, *, gamma, eps, beta=0.95, ...) -> Optimizer``), built from
the kernel's own factories and public helpers, so that it can be substituted for the real optimizer in every
check (``run_checks(substitute={"adago": mutant.factory})``, ``python -m verify --mutants``).  A mutant is
*killed* by a check when the check's status is not ``"pass"`` with the mutant in place; a mutant that every
applicable check passes is a defect of the suite (a check to sharpen), never of the mutant.

A mutant may be declared *equivalent* for a check (``equivalent_for``): it satisfies that check's claim, so the
check rightly passes it.  The reason is written next to the declaration; that is a finding, not a failure.

Every factory takes the replaced factory's keywords (unknown ones are forwarded to the project's factory, so a
kernel keyword added or removed later does not break a mutant) and ignores none of them silently except where
its docstring says so (e.g. ``orth`` for the mutants that *are* a wrong orthogonalizer).

Names follow ``<replaced>_<mistake>``.  ``expected_killers`` name the checks of :data:`verify.CHECKS` that are
expected to kill the mutant; the kill matrix (:mod:`verify.kill_matrix`) measures which really do.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from adago_theory.backend import namespace
from adago_theory.optim import adago as _adago
from adago_theory.optim import make_schedule, muon as _muon, namo as _namo, namo_d as _namo_d, shape_scale
from adago_theory.optim import polargrad as _polargrad, resolve_orth
from adago_theory.optim import Optimizer

__all__ = ["Mutant", "MUTANTS", "mutants_for", "equivalence_reason"]


class Mutant(NamedTuple):
    """One entry of the catalogue.

    Attributes
    ----------
    name : str
        Registry key, ``<replaced>_<mistake>``.
    replaces : str
        The name (of :data:`verify._factories.NAMES`) whose factory the mutant stands in for.
    factory : callable
        The mutant's factory, with the replaced factory's signature.
    violates : str
        The claim it breaks, in words.
    expected_killers : tuple of str
        Check names expected to kill it.
    equivalent_for : tuple of (str, str)
        ``(check name, reason)`` pairs: checks whose claim the mutant satisfies.
    """

    name: str
    replaces: str
    factory: Callable[..., Optimizer]
    violates: str
    expected_killers: tuple
    equivalent_for: tuple = ()


# --------------------------------------------------------------------------- small helpers


def _per_run(xp, a, ndim):
    """A per-run scalar (a float, or an array of shape ``batch``) made broadcastable against ``ndim`` axes."""
    if isinstance(a, (int, float)):
        return float(a)
    a = xp.asarray(a)
    return xp.reshape(a, tuple(a.shape) + (1,) * (ndim - a.ndim))


def _cap(a, hi):
    r""":math:`\min(a, hi)` for a float or a per-run array of hyperparameters."""
    return min(float(a), hi) if isinstance(a, (int, float)) else namespace(a).clip(a, max=hi)


def _fro(xp, A):
    """Per-matrix Frobenius norm over the last two axes."""
    return xp.sqrt(xp.sum(A * A, axis=(-2, -1)))


def _frobenius_direction(M):
    r""":math:`M/\|M\|_F` (0 for :math:`M = 0`): the steepest-descent direction of the Frobenius norm."""
    xp = namespace(M)
    n = _fro(xp, M)
    safe = xp.where(n > 0, n, xp.ones_like(n))
    return M / xp.reshape(safe, tuple(safe.shape) + (1, 1))


#: One step of the classical cubic Newton–Schulz map after Frobenius normalisation: an *inexact* Orth.
_NS1 = ("newton-schulz", {"coeffs": "cubic", "steps": 1})


def _momentum(xp, M_prev, G, beta, nesterov):
    r""":math:`M = \beta M_{-} + (1-\beta)G` and the direction's input (the Nesterov mix or :math:`M`)."""
    M = beta * M_prev + (1.0 - beta) * G
    return M, ((1.0 - beta) * G + beta * M if nesterov else M)


# --------------------------------------------------------------------------- AdaGO family


def _adago_variant(eta, gamma, eps, beta, v0, nesterov, orth, kw, *, accumulate="sum", clamp=True,
                   root=True, floor=True):
    r"""AdaGO's step written out (as :func:`adago_theory.optim.adago`), with one mistake switched on.

    ``accumulate``: ``"sum"`` (correct, :math:`v_t^2 = v_{t-1}^2 + \min(\|G_t\|^2,\gamma^2)`) or ``"first"``
    (frozen after the first step).  ``clamp``: the :math:`\min(\cdot,\gamma)`.  ``root``: :math:`\min(\|G\|,\gamma)/v_t`
    (correct) or its square :math:`\min(\|G\|^2,\gamma^2)/v_t^2`.  ``floor``: :math:`\max(\varepsilon_t, \cdot)`.
    The real factory validates the hyperparameters and provides the state (so its type and fields stay the
    kernel's); with every switch at its correct value the step equals the real one (a test checks this).
    """
    real = _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)
    eta_t, eps_t = make_schedule("eta", eta), make_schedule("eps", eps)
    orth_fn = resolve_orth(orth)

    def step(X, G, state):
        xp = namespace(X, G)
        t = state.count + 1
        M, U = _momentum(xp, state.M, G, _per_run(xp, beta, G.ndim), nesterov)
        g2 = xp.sum(G * G, axis=(-2, -1))
        cap = _per_run(xp, gamma, 1)
        c2 = xp.minimum(g2, xp.zeros_like(g2) + cap * cap) if clamp else g2
        v_sq = state.v_sq + c2 if (accumulate == "sum" or t == 1) else state.v_sq
        pos = v_sq > 0
        safe = xp.where(pos, v_sq, xp.ones_like(v_sq))
        ratio = c2 / safe if not root else xp.sqrt(c2) / xp.sqrt(safe)
        ratio = xp.where(pos, ratio, xp.zeros_like(ratio))
        alpha = _per_run(xp, eta_t(t), 1) * ratio
        if floor:
            alpha = xp.maximum(alpha, xp.zeros_like(alpha) + _per_run(xp, eps_t(t), 1))
        X_new = X - xp.reshape(alpha, tuple(alpha.shape) + (1, 1)) * orth_fn(U)
        return X_new, state._replace(count=t, M=M, v_sq=v_sq, alpha=alpha)

    return Optimizer(real.init, step)


def adago_eta_twice(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO with :math:`\eta` applied twice: :math:`X_t = X_{t-1} - \eta_t\,\alpha_t\,\mathrm{Orth}(M_t)`.

    The seed's component map writes this line (``theory.md`` §1.2), but its own formula for
    :math:`\alpha_t` already holds :math:`\eta`.  Violates: the step size lies in
    :math:`[\varepsilon_t, \max(\varepsilon_t, \eta_t)]` and the rate :math:`T^{-1/4}` of the stated schedule
    (the step is :math:`\eta` times too short: with :math:`\eta = O(T^{-3/4})` the iterates barely move).
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``inexact_rate``.
    """
    real = _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)
    eta_t = make_schedule("eta", eta)

    def step(X, G, state):
        xp = namespace(X, G)
        X1, s1 = real.step(X, G, state)
        e = eta_t(s1.count)
        return X - _per_run(xp, e, X.ndim) * (X - X1), s1._replace(alpha=_per_run(xp, e, s1.alpha.ndim) * s1.alpha)

    return Optimizer(real.init, step)


def adago_frozen_accumulator(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO whose accumulator is never updated after the first step: :math:`v_t = v_1` for all :math:`t`.

    The step size :math:`\eta_t\min(\|G_t\|_F,\gamma)/v_1` then tracks the gradient norm instead of decaying
    like :math:`1/\sqrt t` (a normalised-gradient method).  Violates: the AdaGrad-Norm step size (the
    accumulator of every gradient seen so far) that the rate and the vanishing step at a null gradient
    rest on.
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``,
    ``inexact_rate``, ``deterministic_rate``, ``noise_adaptivity``.
    """
    return _adago_variant(eta, gamma, eps, beta, v0, nesterov, orth, kw, accumulate="first")


def adago_reset_accumulator(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO with the accumulator reset every step (the new :math:`v_t^2` is used but never stored).

    Then :math:`v_t^2 = v_0^2 + \min(\|G_t\|^2,\gamma^2)` and :math:`\alpha_t \approx \eta_t`: Muon with
    step :math:`\eta_t`.  Violates: the adaptive step size (the step no longer shrinks as gradients
    accumulate).
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``,
    ``inexact_rate``, ``deterministic_rate``, ``noise_adaptivity``.
    """
    real = _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)

    def step(X, G, state):
        xp = namespace(X, G)
        X1, s1 = real.step(X, G, state)
        v0_ = _per_run(xp, v0, 1)
        return X1, s1._replace(v_sq=xp.zeros_like(s1.v_sq) + v0_ * v0_)

    return Optimizer(real.init, step)


def adago_no_gamma_clamp(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO without the clamp: :math:`v_t^2 = v_{t-1}^2 + \|G_t\|_F^2`, :math:`\alpha_t = \max(\varepsilon_t,
    \eta_t\|G_t\|_F/v_t)` (``gamma`` is validated and then ignored).

    Violates: the clamp's role in the analysis (one large gradient no longer inflates :math:`v_t` only by
    :math:`\gamma^2`; after a gradient spike the step collapses to the floor).  Equivalent in every setting where
    :math:`\|G_t\|_F \le \gamma` throughout (then the clamp never acts).
    Expected killers: ``orthogonality``, ``null_gradient``.
    Measured (quick kill matrix): the rate checks and ``hyperparams`` pass it; their gradients rarely exceed
    :math:`\gamma`, so the clamp seldom acts there.
    """
    return _adago_variant(eta, gamma, eps, beta, v0, nesterov, orth, kw, clamp=False)


def adago_squared_ratio(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO with the square root forgotten:
    :math:`\alpha_t = \max(\varepsilon_t, \eta_t\min(\|G_t\|^2,\gamma^2)/v_t^2)`.

    The ratio then decays like :math:`1/t` instead of :math:`1/\sqrt t`.  Violates: the AdaGrad-Norm step
    size and the rate it gives.
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``.
    """
    return _adago_variant(eta, gamma, eps, beta, v0, nesterov, orth, kw, root=False)


def adago_no_floor(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO without the floor: :math:`\alpha_t = \eta_t\min(\|G_t\|_F,\gamma)/v_t` (``eps`` validated, ignored).

    Violates: the lower bound :math:`\alpha_t \ge \varepsilon_t` that the analysis divides by (the
    :math:`\Delta/(\varepsilon T)` term) — with the horizon schedule the floor carries most steps.
    Expected killers: ``orthogonality``, ``adago_rate``, ``hyperparams``.
    """
    return _adago_variant(eta, gamma, eps, beta, v0, nesterov, orth, kw, floor=False)


def adago_momentum_sign(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO with the sign of the momentum term flipped: :math:`M_t = (1-\beta)G_t - \beta M_{t-1}`.

    An alternating average: it no longer averages out the noise (its variance factor is
    :math:`(1-\beta)/(1+\beta)` only for the correct sign).  Violates: the momentum variance reduction the
    stochastic rate rests on.
    Expected killers: ``orthogonality``, ``adago_rate``, ``hyperparams``, ``inexact_rate``,
    ``deterministic_rate``.
    """
    real = _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)

    def step(X, G, state):
        return real.step(X, G, state._replace(M=-state.M))

    return Optimizer(real.init, step)


def adago_no_momentum(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO without momentum (``beta`` validated, then 0): :math:`X_t = X_{t-1} - \alpha_t\mathrm{Orth}(G_t)`.

    Violates: the stochastic rate with batch size 1 (without momentum the bound needs a batch growing like
    :math:`\sqrt T`, ``adago_rate``'s page).  Expected killers: ``orthogonality``, ``hyperparams``.
    Measured (quick kill matrix): ``adago_rate`` passes it (fitted slope -0.375 without momentum): the rate
    checks' settings do not show what momentum is needed for; a setting that does would kill it.
    """
    _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)  # validate
    return _adago(eta, gamma=gamma, eps=eps, beta=0.0, v0=v0, nesterov=nesterov, orth=orth, **kw)


def adago_frobenius_direction(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO stepping along :math:`M_t/\|M_t\|_F` instead of :math:`\mathrm{Orth}(M_t)` (``orth`` ignored).

    Normalised momentum SGD with AdaGO's step size: same Frobenius length only for rank one.  Violates:
    the update is orthogonal (every singular value of :math:`X_{t-1} - X_t` equals :math:`\alpha_t`), and the
    rate in the nuclear norm.
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``.
    """
    resolve_orth(orth)
    return _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=_frobenius_direction, **kw)


def adago_ns1(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""AdaGO with an inexact orthogonalizer where the exact one is claimed: one cubic Newton–Schulz step.

    After Frobenius normalisation one step of :math:`p(x) = (3x - x^3)/2` leaves singular values far from 1
    (``orth`` ignored).  Violates: "the update is orthogonal" (the claims that assume the exact polar factor).
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``.
    """
    resolve_orth(orth)
    return _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=_NS1, **kw)


def adago_muon_horizon(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    r"""Muon on AdaGO's horizon schedule: :math:`X_t = X_{t-1} - \eta_t\mathrm{Orth}(M_t)` (a look-alike).

    ``gamma``, ``eps`` and ``v0`` are validated and ignored (AdaGO's ratio replaced by 1).  Violates: every
    claim about the *adaptive* step size (its decay, its vanishing at a null gradient, the robustness to
    :math:`\eta`).
    Expected killers: ``orthogonality``, ``adago_rate``, ``adago_descent``, ``null_gradient``, ``hyperparams``,
    ``inexact_rate``, ``deterministic_rate``, ``noise_adaptivity``.
    """
    _adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)  # validate
    return _muon(eta, beta=beta, nesterov=nesterov, orth=orth, **kw)


# --------------------------------------------------------------------------- NAMO / NAMO-D


def namo_no_adaptation(eta, *, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True, orth="newton-schulz", scale="rms",
                       clamp=True, weight_decay=0.0, **kw):
    r"""NAMO without its noise adaptation: the ratio :math:`\|U_t\|_F/(\sqrt{v_t}+\epsilon)` (and its bias
    correction) replaced by 1, i.e. Muon with NAMO's shape factor and clamp,
    :math:`X_t = X_{t-1} - \min(\eta_t s(m,n), 1)\,\mathrm{Orth}(U_t)` (``beta2`` and ``eps`` ignored).

    Violates: the noise adaptivity of NAMO (a step that shrinks as the noise grows).
    Expected killers: ``orthogonality``, ``namo_rate``, ``deterministic_rate``, ``noise_adaptivity``.
    """
    _namo(eta, beta=beta, beta2=beta2, eps=eps, nesterov=nesterov, orth=orth, scale=scale, clamp=clamp,
          weight_decay=weight_decay, **kw)  # validate
    base = make_schedule("eta", eta)
    by_shape = {}

    def opt_for(X):
        s = shape_scale(scale, X.shape[-2], X.shape[-1])
        if s not in by_shape:  # the clamp min(eta_t s, 1) as a schedule for Muon, whose step is eta_t s
            lr = (lambda t: _cap(base(t), 1.0 / s)) if clamp else base
            by_shape[s] = _muon(lr, beta=beta, nesterov=nesterov, orth=orth, scale=scale,
                                weight_decay=weight_decay, **kw)
        return by_shape[s]

    def init(X):
        return opt_for(X).init(X)

    def step(X, G, state):
        return opt_for(X).step(X, G, state)

    return Optimizer(init, step)


def namo_d_no_clamp(eta, *, c=0.75, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True, orth="newton-schulz",
                    scale="rms", clamp=True, weight_decay=0.0, **kw):
    r"""NAMO-D with the clamp toward the mean removed (``c`` validated, then 0: full column adaptivity).

    Violates: the bound :math:`\kappa(D_t) \le 1/c^2` on the condition number of the diagonal (the update
    :math:`\mathrm{Orth}(U_t)D_t` stays close to orthogonal).  Expected killers: ``orthogonality``.
    """
    _namo_d(eta, c=c, beta=beta, beta2=beta2, eps=eps, nesterov=nesterov, orth=orth, scale=scale, clamp=clamp,
            weight_decay=weight_decay, **kw)  # validate
    return _namo_d(eta, c=0.0, beta=beta, beta2=beta2, eps=eps, nesterov=nesterov, orth=orth, scale=scale,
                   clamp=clamp, weight_decay=weight_decay, **kw)


# --------------------------------------------------------------------------- PolarGrad


def _polargrad_variant(eta, beta, polar_first, weight_decay, orth, kw, *, nu="nuclear"):
    r"""PolarGrad's step written out (as :func:`adago_theory.optim.polargrad`) with the scale :math:`\nu_t` chosen:
    ``"nuclear"`` (correct, :math:`\langle M, \mathrm{Orth}(M)\rangle`), ``"frobenius"`` (:math:`\|M\|_F`) or
    ``"one"`` (no scale: Muon)."""
    real = _polargrad(eta, beta=beta, polar_first=polar_first, weight_decay=weight_decay, orth=orth, **kw)
    eta_t = make_schedule("eta", eta)
    orth_fn = resolve_orth(orth)
    beta_ = beta

    def scale(xp, A, O):
        if nu == "nuclear":
            return xp.sum(A * O, axis=(-2, -1))
        if nu == "frobenius":
            return _fro(xp, A)
        return xp.ones_like(_fro(xp, A))

    def step(X, G, state):
        xp = namespace(X, G)
        t = state.count + 1
        lr = eta_t(t)
        beta, wd = _per_run(xp, beta_, X.ndim), _per_run(xp, weight_decay, X.ndim)
        if polar_first:
            U = orth_fn(G)
            n = scale(xp, G, U)
            M = beta * state.M + (1.0 - beta) * U
            D = M
        else:
            M = beta * state.M + (1.0 - beta) * G
            D = orth_fn(M)
            n = scale(xp, M, D)
        alpha = _per_run(xp, lr, 1) * n
        decay = 1.0 - _per_run(xp, lr, X.ndim) * wd
        X_new = decay * X - xp.reshape(alpha, tuple(alpha.shape) + (1, 1)) * D
        return X_new, state._replace(count=t, M=M, alpha=alpha)

    return Optimizer(real.init, step)


def polargrad_frobenius(eta, *, beta=0.0, polar_first=False, weight_decay=0.0, orth="polar", **kw):
    r"""PolarGrad scaled by the Frobenius norm instead of the nuclear norm:
    :math:`X_t = X_{t-1} - \eta_t\|G_t\|_F\,\mathrm{Orth}(G_t)`.

    Since :math:`\|G\|_F \le \|G\|_*`, the step is too short by up to :math:`\sqrt r`.  Violates: the linear
    rate :math:`1 - 1/(r\kappa_H)` with the step :math:`c/(L r)` (the nuclear-norm scale is what makes
    PolarGrad a gradient method in the nuclear geometry).
    Expected killers: ``orthogonality``, ``polargrad``, ``null_gradient``.  Measured (quick kill matrix, seed 0):
    ``polargrad`` passes it, its contraction bound met with 0.4 % to spare (its own test, seed 11 and 120 steps,
    fails it): the criterion is not sharp enough in the quick setting.
    """
    return _polargrad_variant(eta, beta, polar_first, weight_decay, orth, kw, nu="frobenius")


def polargrad_no_scale(eta, *, beta=0.0, polar_first=False, weight_decay=0.0, orth="polar", **kw):
    r"""PolarGrad without its nuclear-norm scale: Muon, :math:`X_t = X_{t-1} - \eta_t\mathrm{Orth}(G_t)`.

    Violates: the linear convergence of PolarGrad (a constant-length step stalls at a distance of the order
    of the step).  Expected killers: ``orthogonality``, ``polargrad``, ``null_gradient``.
    """
    return _polargrad_variant(eta, beta, polar_first, weight_decay, orth, kw, nu="one")


def polargrad_ns1(eta, *, beta=0.0, polar_first=False, weight_decay=0.0, orth="polar", **kw):
    r"""PolarGrad with one cubic Newton–Schulz step for the polar factor (``orth`` ignored).

    :math:`\nu_t = \langle G, U\rangle` is then that method's (under-)estimate of :math:`\|G\|_*` and the
    direction is not orthogonal.  Violates: the rate claimed with the exact polar factor.
    Expected killers: ``orthogonality``, ``polargrad``, ``null_gradient``.
    """
    resolve_orth(orth)
    return _polargrad(eta, beta=beta, polar_first=polar_first, weight_decay=weight_decay, orth=_NS1, **kw)


# --------------------------------------------------------------------------- the registry


def _m(fn, replaces, violates, killers, equivalent=()):
    name = fn.__name__
    return name, Mutant(name, replaces, fn, violates, tuple(killers), tuple(equivalent))


#: The catalogue: name -> :class:`Mutant`.  ``expected_killers`` lists the quickest killer first (the
#: default test run uses it); ``equivalent_for`` gives ``(check, reason)`` pairs.
MUTANTS = dict([
    _m(adago_eta_twice, 'adago', 'eta applied twice (step eta times too short)',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'inexact_rate')),
    _m(adago_frozen_accumulator, 'adago', 'accumulator never updated after step 1',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams', 'inexact_rate',
        'deterministic_rate', 'noise_adaptivity')),
    _m(adago_reset_accumulator, 'adago', 'accumulator reset every step (Muon with step eta)',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams', 'inexact_rate',
        'deterministic_rate', 'noise_adaptivity')),
    _m(adago_no_gamma_clamp, 'adago', 'gamma clamp dropped',
       ('orthogonality', 'null_gradient')),
    _m(adago_squared_ratio, 'adago', 'square root forgotten in the step size',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams')),
    _m(adago_no_floor, 'adago', 'step-size floor eps dropped',
       ('orthogonality', 'adago_rate', 'hyperparams')),
    _m(adago_momentum_sign, 'adago', 'sign of the momentum term flipped',
       ('orthogonality', 'adago_rate', 'hyperparams', 'inexact_rate', 'deterministic_rate'),
       (
           ('adago_descent',
            'its claim is about deterministic AdaGO with beta = 0, where the momentum term vanishes and the '
            'mutant is AdaGO exactly'),
       )),
    _m(adago_no_momentum, 'adago', 'momentum dropped (beta = 0)',
       ('orthogonality', 'hyperparams'),
       (
           ('adago_descent',
            'its claim is about deterministic AdaGO with beta = 0, where the momentum term vanishes and the '
            'mutant is AdaGO exactly'),
       )),
    _m(adago_frobenius_direction, 'adago', 'Orth(M) replaced by M/||M||_F',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams')),
    _m(adago_ns1, 'adago', 'inexact orthogonalizer (one cubic Newton-Schulz step) where exact is claimed',
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams')),
    _m(adago_muon_horizon, 'adago', "Muon on AdaGO's horizon schedule in place of AdaGO",
       ('orthogonality', 'adago_rate', 'adago_descent', 'null_gradient', 'hyperparams', 'inexact_rate',
        'deterministic_rate', 'noise_adaptivity')),
    _m(namo_no_adaptation, 'namo', "NAMO without its noise adaptation (Muon with NAMO's scale)",
       ('orthogonality', 'namo_rate', 'deterministic_rate', 'noise_adaptivity')),
    _m(namo_d_no_clamp, 'namo_d', 'NAMO-D with the clamp toward the mean removed (c = 0)',
       ('orthogonality',)),
    _m(polargrad_frobenius, 'polargrad', 'PolarGrad scaled by the Frobenius norm instead of the nuclear norm',
       ('orthogonality', 'polargrad', 'null_gradient'),
       (
           ('polarsgd_rate',
            "its direction ||G||_F Orth(G) satisfies the two facts the O(1/K) argument uses: ⟨g, D(g)⟩ = "
            "||g||_F ||g||_* >= ||g||_F^2 and ||D(G)||_op <= ||G||_* (docs/derivations/polarsgd.md, 'Mutants that "
            "satisfy this claim')"),
       )),
    _m(polargrad_no_scale, 'polargrad', 'PolarGrad without its scale (Muon)',
       ('orthogonality', 'polargrad', 'null_gradient')),
    _m(polargrad_ns1, 'polargrad', 'PolarGrad with an inexact polar factor (one cubic Newton-Schulz step)',
       ('orthogonality', 'polargrad', 'null_gradient'),
       (
           ('polarsgd_rate',
            "one cubic Newton-Schulz step p(x) = (3x - x^3)/2 >= x on [0, 1] keeps ⟨g, D(g)⟩ = ⟨g, U⟩^2 >= "
            "||g||_F^2 and ||D(G)||_op <= ||G||_*, the two facts the O(1/K) argument uses "
            "(docs/derivations/polarsgd.md, 'Mutants that satisfy this claim')"),
       )),
])


def mutants_for(name):
    """The mutants that replace ``name`` (e.g. ``"adago"``), in catalogue order."""
    return {k: m for k, m in MUTANTS.items() if m.replaces == name}


def equivalence_reason(mutant, check):
    """The reason ``mutant`` is declared equivalent for ``check``, or None."""
    for c, why in mutant.equivalent_for:
        if c == check:
            return why
    return None
