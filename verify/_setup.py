r"""Setup shared by the checks that run optimizers, and the hand-written references they judge against.

* :func:`setup` — the common preamble (rng, backend, run seeds, factories).
* :func:`drive` — a plain loop that records iterates and gradients (nothing from the optimizer's state).
* Reference step sizes recomputed *by hand* from the gradients an optimizer saw: :func:`adago_alpha`,
  :func:`momentum_inputs`, :func:`namo_scale`, :func:`namo_d_columns`.  They restate the update rules of
  ``theory.md`` §1.2, §2 (seed text / official code) in a few lines of NumPy, so that a check compares what an
  optimizer *did* (its iterates) with what the rule says it should have done, never with its own state.
* :func:`outcome` — the one place where criteria become ``"pass"`` / ``"fail"`` / ``"not reproduced"`` /
  ``"not judged"``.
* :func:`with_reset_accumulator` — the negative control used by several checks: AdaGO whose AdaGrad-Norm
  accumulator restarts at every step (a plausible slip: the state is not threaded through), so its step size is
  :math:`\approx\eta` at every step.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from adago_theory import default_rng, to_numpy

from ._factories import resolve
from ._runs import check_backend, check_int, draw_seeds

__all__ = ["setup", "drive", "adago_alpha", "momentum_inputs", "namo_scale", "namo_d_columns", "outcome",
           "with_reset_accumulator", "host"]


def host(a):
    """A float64 host copy of a backend array."""
    return np.asarray(to_numpy(a), dtype=np.float64)


def setup(rng, backend, seeds, default_seeds, factories=None, make=None):
    """The preamble of every optimizer check: ``g`` (Generator), ``backend``, ``S``, ``seeds`` (ints), ``F``, ``P``.

    ``seeds`` is the user's number of runs (``None``: ``default_seeds``); the run seeds are drawn once from
    ``rng`` and shared by every optimizer and horizon of the check (common random numbers).  ``make(g, backend)``,
    when given, builds the problem(s) first (``P``), then the seeds are drawn.
    """
    g = default_rng(rng)
    backend = check_backend(backend)
    S = check_int("seeds", default_seeds if seeds is None else seeds, lo=1)
    F = resolve(factories)
    P = make(g, backend) if make is not None else None
    return SimpleNamespace(g=g, backend=backend, S=S, F=F, P=P, seeds=draw_seeds(g, S))


def drive(P, X0, opt, K, *, noise_seed=None):
    """``K`` steps of ``opt`` from ``X0``; returns host iterates ``X`` (K+1, R, m, n) and gradients ``G`` (K, R, m, n).

    Stochastic gradients (``P.stochastic_grad``) when ``noise_seed`` is given, exact ones otherwise.  Nothing is
    read from the optimizer's state.
    """
    X, state = X0, opt.init(X0)
    noise = default_rng(noise_seed, P.xp) if noise_seed is not None else None
    Xs, Gs = [host(X)], []
    for _ in range(int(K)):
        G = P.stochastic_grad(X, noise) if noise is not None else P.grad(X)
        X, state = opt.step(X, G, state)
        Xs.append(host(X))
        Gs.append(host(G))
    return np.array(Xs), np.array(Gs)


def adago_alpha(grad_fro, *, eta, gamma, eps, v0):
    r"""AdaGO's step sizes recomputed from the gradient norms :math:`\|G_t\|_F`, :math:`t = 1..K` (axis 0).

    .. math::

        v_t^2 = v_0^2 + \sum_{\tau\le t}\min(\|G_\tau\|_F^2, \gamma^2),\qquad
        \alpha_t = \max\Big(\varepsilon_t,\ \eta_t\frac{\min(\|G_t\|_F,\gamma)}{v_t}\Big)

    (seed ``000_*.txt`` "Method Summary" [seed text]).  ``eta`` and ``eps`` may be callables of ``t``.

    Returns
    -------
    alpha, adaptive : ndarray, shape of ``grad_fro``
        :math:`\alpha_t` and the adaptive term :math:`\eta_t\min(\|G_t\|_F,\gamma)/v_t` alone.
    """
    g = np.asarray(grad_fro, dtype=np.float64)
    c = np.minimum(g, gamma)
    v = np.sqrt(v0 * v0 + np.cumsum(c * c, axis=0))
    t = np.arange(1, g.shape[0] + 1).reshape((-1,) + (1,) * (g.ndim - 1))
    et = np.vectorize(eta)(t) if callable(eta) else eta
    ep = np.vectorize(eps)(t) if callable(eps) else eps
    adaptive = et * np.divide(c, v, out=np.zeros_like(c), where=v > 0)
    return np.maximum(ep, adaptive), adaptive


def momentum_inputs(G, beta, nesterov):
    r"""The orthogonalizer's inputs :math:`U_t` from the gradients (axis 0 = steps): :math:`M_t = \beta M_{t-1} +
    (1-\beta)G_t`, :math:`U_t = M_t`, or :math:`(1-\beta)G_t + \beta M_t` with Nesterov."""
    M = np.zeros_like(G[0])
    out = np.empty_like(G)
    for t in range(G.shape[0]):
        M = beta * M + (1.0 - beta) * G[t]
        out[t] = (1.0 - beta) * G[t] + beta * M if nesterov else M
    return out


def namo_scale(G, U, *, eta, beta, beta2, eps, shape_factor):
    r"""NAMO's step factor :math:`s_t = \min(1, \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta^t}
    \frac{\|U_t\|_F}{\sqrt{v_t}+\epsilon}s(m,n))`, :math:`v_t = \beta_2v_{t-1} + (1-\beta_2)\|G_t\|_F^2`
    (minxin-zhg/namo ``src/namo.py`` [official code])."""
    v = 0.0
    out = []
    for t in range(1, G.shape[0] + 1):
        v = beta2 * v + (1.0 - beta2) * np.sum(G[t - 1] ** 2, axis=(-2, -1))
        base = eta * math.sqrt(1.0 - beta2**t) / (1.0 - beta**t)
        out.append(np.minimum(1.0, base * np.linalg.norm(U[t - 1], axis=(-2, -1)) / (np.sqrt(v) + eps)
                              * shape_factor))
    return np.array(out)


def namo_d_columns(G, U, *, eta, c, beta, beta2, eps, shape_factor):
    r"""NAMO-D's column factors :math:`u_{t,j}`: :math:`d_j = \|U_{:,j}\|/(\sqrt{V_j}+\epsilon)`, clamped to
    :math:`[c\bar d, \bar d/c]`, times the bias-corrected :math:`\eta s(m,n)`, then :math:`\min(\cdot, 1)`
    (minxin-zhg/namo ``NAMO_D`` [official code])."""
    V = 0.0
    out = []
    for t in range(1, G.shape[0] + 1):
        V = beta2 * V + (1.0 - beta2) * np.sum(G[t - 1] ** 2, axis=-2)
        base = eta * math.sqrt(1.0 - beta2**t) / (1.0 - beta**t)
        d = np.linalg.norm(U[t - 1], axis=-2) / (np.sqrt(V) + eps)
        dbar = d.mean(-1, keepdims=True)
        d = np.clip(d, c * dbar, dbar / c)
        out.append(np.minimum(1.0, d * base * shape_factor))
    return np.array(out)


def outcome(*, mechanism, seed_claim=True, judgeable=True):
    """``"not judged"`` if the setting cannot judge the claim, ``"fail"`` if a criterion on the mechanism fails,
    ``"not reproduced"`` if only the seed's own (empirical) statement fails, else ``"pass"``."""
    if not judgeable:
        return "not judged"
    if not mechanism:
        return "fail"
    return "pass" if seed_claim else "not reproduced"


def with_reset_accumulator(adago_factory):
    r"""A factory like ``adago_factory`` whose accumulator restarts from :math:`v_0^2` at every step.

    Then :math:`\alpha_t = \max(\varepsilon, \eta\min(\|G_t\|,\gamma)/\sqrt{v_0^2 + \min(\|G_t\|^2,\gamma^2)})
    \approx \eta`: the adaptive AdaGrad-Norm scaling is lost (a plausible slip; the negative control of the checks
    whose claim rests on that scaling).  Needs a state with a ``v_sq`` field (the project's AdaGO has one).
    """
    def factory(eta, *, v0=1e-6, **kw):
        opt = adago_factory(eta, v0=v0, **kw)

        def step(X, G, state):
            return opt.step(X, G, state._replace(v_sq=state.v_sq * 0 + v0 * v0))

        return type(opt)(opt.init, step)

    factory.__name__ = "adago_reset_accumulator"
    return factory
