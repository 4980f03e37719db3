r"""The measuring loop shared by the stochastic-rate checks (issue 12, items 1, 2, 5, 7).

Nothing here is a claim.  :func:`trajectories` runs an optimizer on a stochastic oracle for ``T`` steps, all
runs as one batch (leading axis), and records per step what the rate checks judge, **from the iterates and the
oracle's answers only** (never from the optimizer's state):

* ``gnuc[t-1]`` :math:`= \|\nabla f(\Theta_{t-1})\|_*` (exact gradient, before step :math:`t`);
* ``gfro_exact[t-1]`` :math:`= \|\nabla f(\Theta_{t-1})\|_F`;
* ``gfro[t-1]`` :math:`= \|G_t\|_F` (the stochastic gradient the optimizer was given at step :math:`t`);
* ``step_op[t-1]`` :math:`= \|\Theta_t - \Theta_{t-1}\|_{op}`, the measured step size (for an update
  :math:`\alpha_t\,\mathrm{Orth}(M_t)` with exact orthogonalization this is :math:`\alpha_t`);
* ``step_fro[t-1]`` :math:`= \|\Theta_t - \Theta_{t-1}\|_F`;
* ``inner[t-1]`` :math:`= \langle\nabla f(\Theta_{t-1}), \Theta_{t-1} - \Theta_t\rangle` (the first-order
  decrease; for :math:`\alpha_t\mathrm{Orth}(M_t)` it is :math:`\alpha_t\langle\nabla_{t-1}, O_t\rangle`).

:class:`StackedLeastSquares` stacks several draws of ``problems.make_matrix_least_squares`` along the run axis
(instances x seeds), so that problem draws and seeds run as one batch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["StackedLeastSquares", "ProblemOracle", "trajectories", "adagrad_log_lemma_rhs"]


def _nuc(G):
    return np.linalg.svd(G, compute_uv=False).sum(axis=-1)


def _op(D):
    return np.linalg.svd(D, compute_uv=False)[..., 0]


class StackedLeastSquares:
    r"""``I`` least-squares instances x ``S`` seeds as one batch of ``R = I S`` runs (host NumPy, float64).

    Run ``i S + s`` is instance ``i`` started at ``problems[i].initial_point(seeds[s])``.  The gradient is
    :math:`A^\top A(X - X^\star)BB^\top` (the Gram form, equal to :math:`A^\top(AXB - C)B^\top` because
    :math:`A^\top EB^\top = 0`, ``problems.least_squares``), the oracle adds Gaussian noise with
    :math:`\mathbb E\|\xi\|_F^2 = \sigma^2/b` (``problems.noise.additive_noise``, drawn here with the
    batch's own generator).
    """

    def __init__(self, problems, seeds):
        self.problems = list(problems)
        self.seeds = [int(s) for s in seeds]
        I, S = len(self.problems), len(self.seeds)
        def rep(k):
            return np.repeat(np.stack([np.asarray(P.data[k], dtype=np.float64) for P in self.problems]), S, axis=0)

        A, B = rep("A"), rep("B")
        self.GA = np.swapaxes(A, -1, -2) @ A             # A^T A
        self.GB = B @ np.swapaxes(B, -1, -2)             # B B^T
        self.X_star = rep("X_star")
        self.shape = tuple(self.problems[0].shapes[0])
        self.sigma2 = float(self.problems[0].constants.sigma2)
        self.I, self.S = I, S
        X0 = [np.concatenate([np.asarray(P.initial_point(s, runs=1), dtype=np.float64) for s in self.seeds])
              for P in self.problems]
        self.X0 = np.concatenate(X0)
        self.f_star = np.repeat(np.array([P.constants.f_star for P in self.problems], dtype=float), S)

    def value(self, X):
        D = X - self.X_star
        return 0.5 * np.sum(D * (self.GA @ D @ self.GB), axis=(-2, -1)) + self.f_star

    def grad(self, X):
        return self.GA @ (X - self.X_star) @ self.GB

    def sgrad(self, X, rng, G=None):
        G = self.grad(X) if G is None else G
        m, n = self.shape
        return G + math.sqrt(self.sigma2 / (m * n)) * rng.standard_normal(G.shape)


class ProblemOracle:
    """One ``problems`` instance (``value``, ``grad``, ``stochastic_grad``) as an oracle for ``S`` seeds."""

    def __init__(self, problem, seeds):
        self.problem = problem
        self.seeds = [int(s) for s in seeds]
        self.X0 = np.concatenate([np.asarray(problem.initial_point(s, runs=1), dtype=np.float64)
                                  for s in self.seeds])
        self.I, self.S = 1, len(self.seeds)

    def value(self, X):
        return np.asarray(self.problem.value(X), dtype=np.float64)

    def grad(self, X):
        return np.asarray(self.problem.grad(X), dtype=np.float64)

    def sgrad(self, X, rng, G=None):
        return np.asarray(self.problem.stochastic_grad(X, rng, batch_size=1), dtype=np.float64)


def trajectories(opt, oracle, T, *, seed):
    r"""Run ``opt`` for ``T`` stochastic steps from ``oracle.X0`` (all runs one batch); record per step.

    Parameters
    ----------
    opt : Optimizer
    oracle : StackedLeastSquares or ProblemOracle
    T : int
    seed : int or sequence of int
        Seeds the noise generator (``numpy.random.SeedSequence``).

    Returns
    -------
    dict of ndarray
        ``gnuc``, ``gfro``, ``step_op`` of shape ``(T, R)``; ``f0`` and ``grad0_fro`` of shape ``(R,)``.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    X = oracle.X0.copy()
    state = opt.init(X)
    R = X.shape[0]
    gnuc = np.empty((T, R))
    gfro = np.empty((T, R))
    gfx = np.empty((T, R))
    step = np.empty((T, R))
    stepf = np.empty((T, R))
    inner = np.empty((T, R))
    f0 = oracle.value(X)
    g0 = None
    for t in range(T):
        Gx = oracle.grad(X)
        if g0 is None:
            g0 = np.sqrt(np.sum(Gx * Gx, axis=(-2, -1)))
        gnuc[t] = _nuc(Gx)
        gfx[t] = np.sqrt(np.sum(Gx * Gx, axis=(-2, -1)))
        G = oracle.sgrad(X, rng, Gx)
        gfro[t] = np.sqrt(np.sum(G * G, axis=(-2, -1)))
        Xn, state = opt.step(X, G, state)
        Xn = np.asarray(Xn, dtype=np.float64)
        if not np.all(np.isfinite(Xn)):
            step[t:] = np.inf
            stepf[t:] = np.inf
            gnuc[t + 1:] = np.inf
            gfro[t + 1:] = np.inf
            inner[t:] = -np.inf
            gfx[t + 1:] = np.inf
            return {"gnuc": gnuc, "gfro": gfro, "step_op": step, "inner": inner, "gfro_exact": gfx,
                    "step_fro": stepf, "f0": f0,
                    "grad0_fro": g0, "diverged": True}
        D = Xn - X
        step[t] = _op(D)
        stepf[t] = np.sqrt(np.sum(D * D, axis=(-2, -1)))
        inner[t] = -np.sum(Gx * D, axis=(-2, -1))
        X = Xn
    return {"gnuc": gnuc, "gfro": gfro, "step_op": step, "inner": inner, "gfro_exact": gfx, "step_fro": stepf, "f0": f0,
            "grad0_fro": g0, "diverged": False}


def adagrad_log_lemma_rhs(gfro, *, eps, eta, gamma, v0):
    r"""Right-hand side of the AdaGrad-Norm lemma, :math:`\varepsilon^2T + \eta^2\log(v_T^2/v_0^2)`, per run.

    :math:`v_T^2 = v_0^2 + \sum_t\min(\|G_t\|_F^2, \gamma^2)` is recomputed here from the stochastic gradients
    the optimizer was given (``gfro``, shape ``(T, R)``), not read from its state.
    """
    gfro = np.asarray(gfro, dtype=np.float64)
    T = gfro.shape[0]
    vT2 = v0 * v0 + np.sum(np.minimum(gfro * gfro, gamma * gamma), axis=0)
    return eps * eps * T + eta * eta * np.log(vT2 / (v0 * v0))
