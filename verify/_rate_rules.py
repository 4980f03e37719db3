r"""Hyperparameter rules fixed a priori from a problem's constants, and the runs the rate checks share.

Used by :mod:`verify.deterministic_rate` and :mod:`verify.noise_adaptivity` (issue 12, items 3 and 4).
Nothing here is a claim; the derivations are on ``docs/derivations/deterministic_rate.md`` and
``docs/derivations/noise_adaptivity.md``.

**The length unit.**  For a normalized step :math:`\Theta_t = \Theta_{t-1} - \eta O_t` with
:math:`\|O_t\|_{op} \le 1` and :math:`\langle\nabla f, O_t\rangle = \|\nabla f\|_*`, spectral smoothness
gives :math:`\min_{t<T}\|\nabla f(\Theta_t)\|_* \le \frac1T\sum_{t<T}\|\nabla f(\Theta_t)\|_* \le
\frac{\Delta}{\eta T} + \frac{L_{op}\eta}{2}`, minimized by :math:`\eta^\star_T = \eta_0 T^{-1/2}` with

.. math:: \eta_0 = \sqrt{2\Delta_0 / L_{op}},

:math:`\Delta_0` the seed-mean of :math:`f(\Theta_0)` (an upper bound on :math:`f(\Theta_0) - \inf f` for the
problems used here, which have :math:`f \ge 0`).  Every rule below is written in this unit; none is tuned
after a run.

**The rules** (``RULES``; :math:`T` the horizon):

======================  ======================================================================================
``adago``               AdaGO, :math:`\beta = 0`: :math:`\eta = \eta_0` (horizon-free, the AdaGrad-Norm rule),
                        :math:`\varepsilon = \eta_0 T^{-3/4}` (the seed's :math:`T^{-3/4}` in units of
                        :math:`\eta_0`), :math:`\gamma = 100` (never active here), :math:`v_0 = 10^{-6}`.
``adago_momentum``      the same with :math:`\beta = 0.9`.
``namo``                NAMO: :math:`\eta = \eta_0 T^{-1/2}`, :math:`1-\beta = 1-\beta_2 = T^{-1/2}`, no Nesterov,
                        no shape factor, exact orthogonalization.
``namo_d``              NAMO-D: as NAMO, :math:`c = 0.75` (the class default).
``muon_stochastic``     Muon tuned for the stochastic end (normalized SGD with momentum, Cutkosky & Mehta 2020):
                        :math:`\eta = \eta_0 T^{-3/4}`, :math:`1-\beta = T^{-1/2}`.
``muon_deterministic``  Muon tuned for :math:`\sigma = 0`: :math:`\eta = \eta_0 T^{-1/2}`, :math:`\beta = 0`.
======================  ======================================================================================
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from adago_theory import DivergedRunError, run
from adago_theory.backend import standard_normal, to_numpy

__all__ = ["RateInstance", "rate_instance", "RULES", "RULE_TEXT", "RULE_CONSTANTS", "RULE_FACTORY", "eta_unit", "make_rule", "trace_summary", "robust_problem", "PerRunNoise",
           "average_gradient_grid", "host_mean_value", "host_grad_norm", "SkewedRankOneNoise",
           "record_grid"]

#: The rules' fixed constants (part of every check's pre-registration).
RULE_CONSTANTS = dict(gamma=100.0, v0=1e-6, adago_beta_momentum=0.9, namo_d_c=0.75, eps_exponent=-0.75,
                      muon_stochastic_eta_exponent=-0.75, momentum_exponent=-0.5, step_exponent=-0.5)

#: Each rule in words (for the pages and the results).
RULE_TEXT = {
    "adago": "AdaGO beta=0: eta=eta0 (horizon-free), eps=eta0 T^-3/4, gamma=100, v0=1e-6, exact Orth",
    "adago_momentum": "AdaGO beta=0.9: eta=eta0 (horizon-free), eps=eta0 T^-3/4, gamma=100, v0=1e-6, exact Orth",
    "namo": "NAMO: eta=eta0 T^-1/2, 1-beta=1-beta2=T^-1/2, no Nesterov, scale none, exact Orth",
    "namo_d": "NAMO-D: eta=eta0 T^-1/2, 1-beta=1-beta2=T^-1/2, c=0.75, no Nesterov, scale none, exact Orth",
    "muon_stochastic": "Muon tuned for sigma>0: eta=eta0 T^-3/4, 1-beta=T^-1/2 (Cutkosky-Mehta), exact Orth",
    "muon_deterministic": "Muon tuned for sigma=0: eta=eta0 T^-1/2, beta=0, exact Orth",
}
RULES = tuple(RULE_TEXT)
#: Which factory name of ``verify._factories.NAMES`` each rule runs.
RULE_FACTORY = {"adago": "adago", "adago_momentum": "adago", "namo": "namo", "namo_d": "namo_d",
                "muon_stochastic": "muon", "muon_deterministic": "muon"}


def eta_unit(Delta0, L_op):
    r"""The length unit :math:`\eta_0 = \sqrt{2\Delta_0/L_{op}}` (module docstring).

    Examples
    --------
    >>> eta_unit(2.0, 4.0)
    1.0
    """
    if not (Delta0 > 0 and L_op > 0 and math.isfinite(Delta0) and math.isfinite(L_op)):
        raise ValueError(f"Delta0 and L_op must be finite and > 0, got {Delta0!r}, {L_op!r}")
    return math.sqrt(2.0 * Delta0 / L_op)


def make_rule(name, T, eta0, factories):
    r"""The optimizer of rule ``name`` for horizon ``T``, built through ``factories`` (``resolve(...)`` output).

    Parameters
    ----------
    name : str
        One of :data:`RULES`.
    T : int
        Horizon :math:`T \ge 1`.
    eta0 : float
        The length unit :math:`\eta_0 > 0`.
    factories : mapping
        ``name -> factory`` (:func:`verify._factories.resolve`).

    Returns
    -------
    Optimizer
    """
    if name not in RULE_TEXT:
        raise ValueError(f"rule must be one of {RULES}, got {name!r}")
    T = int(T)
    c = RULE_CONSTANTS
    om = min(1.0, T ** c["momentum_exponent"])          # 1 - beta
    if name in ("adago", "adago_momentum"):
        beta = 0.0 if name == "adago" else c["adago_beta_momentum"]
        return factories["adago"](eta0, gamma=c["gamma"], eps=eta0 * T ** c["eps_exponent"], beta=beta,
                                  v0=c["v0"], nesterov=False, orth="svd")
    if name == "namo":
        return factories["namo"](eta0 * T ** c["step_exponent"], beta=1.0 - om, beta2=1.0 - om, nesterov=False,
                                 orth="svd", scale="none")
    if name == "namo_d":
        return factories["namo_d"](eta0 * T ** c["step_exponent"], c=c["namo_d_c"], beta=1.0 - om, beta2=1.0 - om,
                                   nesterov=False, orth="svd", scale="none")
    if name == "muon_stochastic":
        return factories["muon"](eta0 * T ** c["muon_stochastic_eta_exponent"], beta=1.0 - om, nesterov=False,
                                 orth="svd")
    return factories["muon"](eta0 * T ** c["step_exponent"], beta=0.0, nesterov=False, orth="svd")


def robust_problem(rng, backend="numpy"):
    r"""The nonconvex smooth test problem: Cauchy robust regression, :math:`8\times5`, :math:`\kappa(A) = 5`.

    ``problems.make_robust_regression`` (:math:`f \ge 0`, :math:`L_{op}` certified, nonconvex on every instance),
    built without noise; the checks add their own noise (:class:`PerRunNoise`).
    """
    from problems import make_robust_regression

    return make_robust_regression(8, 5, kappa_A=5.0, rng=rng, backend=backend)


class PerRunNoise:
    r"""A problem with additive isotropic Gaussian noise whose level :math:`\sigma_r` differs per run.

    ``stochastic_grad`` returns :math:`\nabla f(X_r) + \sigma_r\,Z_r/\sqrt{mn}` with :math:`Z_r` iid
    :math:`N(0, 1)` entries, so :math:`\mathbb E\|g_r - \nabla f(X_r)\|_F^2 = \sigma_r^2` exactly (the law of
    ``problems.noise``'s Gaussian model at batch size 1).  Every other member is the base problem's, so a
    batch of :math:`R = n_\sigma S` runs (noise level on the leading axis) is one call of
    :func:`adago_theory.run`.

    Parameters
    ----------
    problem : Problem
        A problem built without noise (``constants.sigma2 == 0``), one parameter matrix.
    sigmas : array_like, shape (R,)
        :math:`\sigma_r \ge 0` per run, in the order of the ``seeds`` given to ``run``.
    """

    def __init__(self, problem, sigmas):
        if len(problem.shapes) != 1:
            raise ValueError(f"PerRunNoise needs a problem with one parameter matrix, got shapes {problem.shapes}")
        s = np.asarray(sigmas, dtype=np.float64)
        if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"sigmas must be a non-empty 1-D array of finite values >= 0, got {sigmas!r}")
        self.base = problem
        self.name = problem.name + "+per-run-noise"
        self.shapes = problem.shapes
        self.xp = problem.xp
        self.dtype = problem.dtype
        self.constants = problem.constants
        m, n = problem.shapes[0]
        self._scale_host = s / math.sqrt(m * n)
        self._scale = None
        self.sigmas = s

    def value(self, X):
        return self.base.value(X)

    def grad(self, X):
        return self.base.grad(X)

    def initial_point(self, rng, runs=1):
        return self.base.initial_point(rng, runs)

    def stochastic_grad(self, X, rng, batch_size=None):
        G = self.base.grad(X)
        if G.shape[0] != self._scale_host.size:
            raise ValueError(f"PerRunNoise has {self._scale_host.size} noise levels but X holds {G.shape[0]} runs")
        if self._scale is None:
            self._scale = self.xp.reshape(self.xp.asarray(self._scale_host, dtype=G.dtype), (-1, 1, 1))
        return G + self._scale * standard_normal(rng, tuple(G.shape), like=G)


def record_grid(T, max_records=1000):
    """Every step up to ``max_records``, else a uniform stride (the Riemann sum of the average stays unbiased)."""
    T = int(T)
    stride = max(1, -(-T // max_records))
    return np.arange(0, T + 1, stride, dtype=np.int64) if stride > 1 else "all"


def average_gradient_grid(make_opt, problem, horizons, seeds, *, stochastic, eps_of=None):
    r"""One batched run per horizon; per run the average and the minimum of :math:`\|\nabla f(\Theta_t)\|_*`, :math:`t < T`.

    Parameters
    ----------
    make_opt : callable
        ``T -> Optimizer``.
    problem : Problem or PerRunNoise
    horizons : sequence of int
    seeds : sequence of int
        One run per entry (repeats allowed: a noise sweep repeats the seeds once per noise level).
    stochastic : bool
    eps_of : callable, optional
        ``T -> floor``: when given, the fraction of steps whose recorded step size exceeds the floor by more
        than 0.1 % (AdaGO's adaptive branch) is returned too.

    Returns
    -------
    dict
        ``avg``, ``min`` (R, K) host arrays (``inf`` where a run diverged), ``adaptive_fraction`` (R, K) or
        None, ``diverged`` (K,) list of str (empty when the run finished).
    """
    R, K = len(seeds), len(horizons)
    avg = np.full((R, K), np.inf)
    mn = np.full((R, K), np.inf)
    frac = None if eps_of is None else np.full((R, K), np.nan)
    diverged = [""] * K
    for k, T in enumerate(horizons):
        T = int(T)
        try:
            tr = run(make_opt(T), problem, T, seeds=list(seeds), stochastic=stochastic, record=record_grid(T))
        except DivergedRunError as exc:   # a diverged run is a failed run, never a crash of the check
            diverged[k] = str(exc).splitlines()[0][:200]
            continue
        avg[:, k], mn[:, k], f = trace_summary(tr, T, None if frac is None else eps_of(T))
        if frac is not None:
            frac[:, k] = f
    return {"avg": avg, "min": mn, "adaptive_fraction": frac, "diverged": diverged}


def trace_summary(tr, T, eps=None):
    r"""Per run of a trace recorded on :func:`record_grid`: the average and the minimum of
    :math:`\|\nabla f(\Theta_t)\|_*` over :math:`t < T`, and (``eps`` given) the fraction of steps whose step size
    exceeds the floor ``eps`` by more than 0.1 % (AdaGO's adaptive branch; else None)."""
    g = tr.grad_nuc[tr.steps < T]
    frac = None
    if eps is not None:
        frac = np.mean(np.asarray(tr.alpha[1:], dtype=float) > eps * (1.0 + 1e-3), axis=0)
    return g.mean(axis=0), g.min(axis=0), frac


def host_mean_value(problem, seeds):
    """Seed-mean of :math:`f(\\Theta_0)` on the host."""
    return float(np.mean([float(np.asarray(to_numpy(problem.value(problem.initial_point(s, runs=1)))).ravel()[0])
                          for s in seeds]))


def host_grad_norm(problem, seeds):
    """Seed-mean of :math:`\\|\\nabla f(\\Theta_0)\\|_F` on the host (the scale of the noise levels)."""
    return float(np.mean([float(np.sqrt(np.sum(np.asarray(to_numpy(problem.grad(problem.initial_point(s, runs=1)))) ** 2)))
                          for s in seeds]))


class SkewedRankOneNoise(PerRunNoise):
    r"""Unbiased, variance-:math:`\sigma_r^2`, *skewed* rank-one noise: :math:`\xi_r = \sigma_r s_r Z_0`.

    :math:`Z_0 = uv^\top/(\|u\|\|v\|)` is one fixed rank-one direction (unit Frobenius norm, drawn from
    ``direction_seed``); :math:`s_r = (b_r - p)/\sqrt{p(1-p)}`, :math:`b_r \sim \mathrm{Bernoulli}(p)` per run and
    step, so :math:`\mathbb E s = 0`, :math:`\mathbb E s^2 = 1` and :math:`\mathbb E\|\xi_r\|_F^2 = \sigma_r^2`;
    for small :math:`p` the median of :math:`s` is :math:`-\sqrt{p/(1-p)} \ne 0` (the signSGD counterexample's
    shape).
    """

    def __init__(self, problem, sigmas, *, p=0.05, direction_seed=0):
        super().__init__(problem, sigmas)
        if not (0.0 < p < 1.0):
            raise ValueError(f"p must be in (0, 1), got {p!r}")
        m, n = problem.shapes[0]
        g = np.random.default_rng(direction_seed)
        u, v = g.standard_normal(m), g.standard_normal(n)
        self.Z0_host = np.outer(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
        self.p = float(p)
        self._Z0 = None

    def stochastic_grad(self, X, rng, batch_size=None):
        from problems.noise import draw

        G = self.base.grad(X)
        R = G.shape[0]
        if R != self.sigmas.size:
            raise ValueError(f"SkewedRankOneNoise has {self.sigmas.size} noise levels but X holds {R} runs")
        if self._Z0 is None:
            self._Z0 = self.xp.asarray(self.Z0_host, dtype=G.dtype)
            self._sig = self.xp.asarray(self.sigmas, dtype=G.dtype)
        b = self.xp.astype(draw(rng, "random", G, size=(R,)) < self.p, G.dtype)
        s = (b - self.p) / math.sqrt(self.p * (1.0 - self.p))
        return G + self.xp.reshape(self._sig * s, (-1, 1, 1)) * self._Z0


class RateInstance(NamedTuple):
    """The instance every rule check runs on: the problem, its run seeds, the bootstrap generator, the mean initial
    gap and the unit step :math:`\\eta_0` (:func:`eta_unit`)."""

    problem: Any
    seeds: list
    boot: Any
    Delta0: float
    eta0: float


def rate_instance(g, n_seeds):
    """Draw :class:`RateInstance` from the Generator ``g`` (problem, then seeds, then the bootstrap generator: the
    order the rule checks have always used, so their results do not change)."""
    from ._runs import draw_seeds

    problem = robust_problem(g)
    seeds = draw_seeds(g, n_seeds)
    boot = np.random.default_rng(g.integers(2**63 - 1))
    Delta0 = host_mean_value(problem, seeds)
    return RateInstance(problem, seeds, boot, Delta0, eta_unit(Delta0, problem.constants.L_op))
