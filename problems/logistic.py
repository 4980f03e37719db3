r"""Matrix logistic regression, stochastic through mini-batches of rows (PolarGrad §6.2)."""

from __future__ import annotations

import math

import numpy as np

from .base import (ProblemConstants, check_conditioning, check_int, check_real, check_rng, make_problem, mT,
                   sumsq)
from .bilinear import make_bilinear, sup_op
from .noise import gather_rows, minibatch_indices
from .spectra import singular_values

__all__ = ["make_matrix_logistic"]


def _sigmoid(xp, u):
    return 0.5 * (1.0 + xp.tanh(0.5 * u))


def _reg_value(P, X):
    lam = P.info["lam"]
    return 0.5 * lam * sumsq(P.xp, X) if lam else 0.0


def _value(P, Xs):
    xp, d = P.xp, P.data
    X = Xs[0]
    Z = d["A"] @ X @ d["B"]
    loss = xp.sum(xp.logaddexp(xp.zeros_like(Z), -d["C"] * Z), axis=(-2, -1)) / P.info["N"]
    return loss + _reg_value(P, X)


def _grad(P, Xs):
    xp, d = P.xp, P.data
    X = Xs[0]
    Z = d["A"] @ X @ d["B"]
    W = -d["C"] * _sigmoid(xp, -d["C"] * Z)
    G = mT(xp, d["A"]) @ W @ mT(xp, d["B"]) / P.info["N"]
    return (G + P.info["lam"] * X if P.info["lam"] else G,)


def _sgrad(P, Xs, rng, b):
    xp, d = P.xp, P.data
    X = Xs[0]
    R = X.shape[0]
    idx = minibatch_indices(rng, P.info["N"], R, b, d["A"])
    Ab = gather_rows(xp, d["A"], idx, R, b)            # (R, b, m)
    Cb = gather_rows(xp, d["C"], idx, R, b)            # (R, b, q)
    Z = Ab @ X @ d["B"]                                # (R, b, q)
    W = -Cb * _sigmoid(xp, -Cb * Z)
    G = mT(xp, Ab) @ (W @ mT(xp, d["B"])) / b
    return (G + P.info["lam"] * X if P.info["lam"] else G,)


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (rng.uniform(-1.0, 1.0, size=(runs, m, n)),)


def _solve_f_star(A, B, C, lam, N, X0):
    """float64 L-BFGS on the host; returns (X_hat, f(X_hat), ||grad f(X_hat)||_F)."""
    from scipy.optimize import minimize

    m, n = X0.shape

    def fg(x):
        X = x.reshape(m, n)
        Z = A @ X @ B
        f = np.sum(np.logaddexp(0.0, -C * Z)) / N + 0.5 * lam * np.sum(X * X)
        W = -C * (0.5 * (1.0 + np.tanh(-0.5 * C * Z)))
        G = A.T @ W @ B.T / N + lam * X
        return f, G.ravel()

    res = minimize(fg, X0.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 20000, "maxcor": 30, "gtol": 1e-13, "ftol": 1e-16})
    x = res.x
    for _ in range(3):  # Newton polish with the exact Hessian-vector products via CG
        from scipy.sparse.linalg import LinearOperator, cg

        X = x.reshape(m, n)
        Z = A @ X @ B
        s = 0.5 * (1.0 + np.tanh(0.5 * Z))
        w = s * (1.0 - s)

        def hv(v, w=w):
            D = v.reshape(m, n)
            return (A.T @ (w * (A @ D @ B)) @ B.T / N + lam * D).ravel()

        g = fg(x)[1]
        dx, _ = cg(LinearOperator((m * n, m * n), matvec=hv), -g, rtol=1e-14, maxiter=500)
        x = x + dx
    f, g = fg(x)
    return x.reshape(m, n), float(f), float(np.linalg.norm(g))


def make_matrix_logistic(m=20, n=10, *, n_samples=None, n_outputs=None, kappa_A=10.0, kappa_B=1.0, L=1.0,
                         spectrum="geometric", lam=0.0, label_threshold=0.5, batch_size=None, solve=True,
                         rng=None, backend="numpy", dtype="float64", device=None):
    r"""Matrix logistic regression with prescribed spectra; stochastic gradients from mini-batches of rows.

    .. math::

        f(X) = \frac1N\sum_{i=1}^N\sum_{j=1}^q \operatorname{softplus}\big(-C_{ij}(AXB)_{ij}\big)
        + \frac\lambda2\|X\|_F^2,

    :math:`A\in\mathbb R^{N\times m}` (rows = samples), :math:`B\in\mathbb R^{n\times q}`,
    labels :math:`C_{ij} = 2\cdot1[z_{ij} > \tau] - 1`, :math:`z_{ij}\sim N(0,1)`,
    :math:`\tau` = ``label_threshold`` (0.5 as in PolarGrad's ``mat_log_reg.py``,
    ``theory.md`` §3.4 [READ-CODE]).  PolarGrad sums the loss over the batch; here the
    full objective is the **mean over rows** (so a mini-batch mean is unbiased) — the
    same problem up to a scale of the learning rate.  Defaults
    :math:`N = 10m`, :math:`q = 4n` keep PolarGrad's ratios (:math:`10^4/10^3`,
    :math:`400/100`); :math:`A, B` have prescribed spectra (``problems.bilinear``) with
    :math:`a_1 = \sqrt N`, :math:`b_1 = 2\sqrt L`.

    **Smooth, convex** (strongly convex iff :math:`\lambda > 0`): the Hessian form is
    :math:`\frac1N\sum_{ij}\sigma'(Z_{ij})(ADB)_{ij}^2 + \lambda\|D\|_F^2` with
    :math:`0 < \sigma' = \sigma(1-\sigma) \le 1/4`, equality at :math:`Z = 0`.

    **Stochastic gradient:** :math:`b` rows drawn uniformly with replacement
    (PolarGrad [READ-CODE]),
    :math:`g = \frac1b\sum_k a_{i_k}\big(\ell'_{i_k}B^\top\big) + \lambda X`,
    :math:`\ell'_i = -C_i\odot\sigma(-C_i\odot z_i)`; unbiased.

    **Constants:**

    * :math:`L_{fro} = a_1^2b_1^2/(4N) + \lambda = L + \lambda` and
      :math:`L_{op} = \frac1{4N}\sum_{i\le\min(m,n)}a_i^2b_i^2 + \lambda\min(m,n)` —
      **exact**: upper bounds from :math:`\sigma'\le 1/4`, attained at :math:`X = 0`
      (where :math:`\sigma' = 1/4` everywhere) by the top singular pair, resp. by the
      partial isometry :math:`D^\star` of ``problems.bilinear``, which also maximizes
      :math:`\|D\|_F^2 = \min(m,n)` on the spectral ball [DERIVED];
    * :math:`\mu = \lambda`: the infimum of the Hessian's smallest eigenvalue (not
      attained: :math:`\sigma'\to0` along :math:`X = tX_0`, :math:`t\to\infty`);
    * :math:`\sigma^2 = \frac{\|A\|_F^2}{N}\min\big(qb_1^2, (\sum_j\|B_{:,j}\|)^2\big)`
      — certified: the variance is at most the second moment
      :math:`\frac1N\sum_i\|\nabla f_i\|_F^2 = \frac1N\sum_i\|a_i\|^2\|B\ell_i'^\top\|^2` and
      :math:`\ell'_i\in[-1,1]^q`;
    * :math:`f^\star`: for :math:`\lambda > 0` computed by float64 L-BFGS plus Newton–CG
      polish (``solve=True``), reported as :math:`f(\hat X) \ge f^\star`; the gap is
      certified by strong convexity, :math:`f(\hat X) - f^\star \le \|\nabla f(\hat X)\|_F^2/(2\lambda)`
      (``info["f_star_gap"]``).  None for :math:`\lambda = 0`.

    Parameters
    ----------
    m, n : int
        Shape of :math:`X`.
    n_samples : int, optional
        :math:`N \ge m` rows (default :math:`10m`).
    n_outputs : int, optional
        :math:`q \ge n` columns of :math:`B` and :math:`C` (default :math:`4n`).
    kappa_A, kappa_B : float
        :math:`\ge 1`.
    L : float
        :math:`> 0`, the smoothness of the data term.
    spectrum : {"geometric", "linear", "clustered"}
    lam : float
        Ridge :math:`\lambda \ge 0`.
    label_threshold : float
        :math:`\tau` (finite).
    batch_size : int, optional
        Default mini-batch size :math:`b` of ``stochastic_grad`` (default
        :math:`\max(1, N/10)`, PolarGrad's 1000 of :math:`10^4`).
    solve : bool
        Compute :math:`f^\star` when :math:`\lambda > 0`.
    rng, backend, dtype, device
        Draw order: :math:`A`, :math:`B`, :math:`z`.

    Returns
    -------
    Problem
        ``data``: ``A``, ``B``, ``C`` (and ``X_hat`` when solved).

    Examples
    --------
    >>> P = make_matrix_logistic(4, 3, lam=0.1, rng=0)
    >>> round(P.constants.L_fro, 12), P.constants.mu
    (1.1, 0.1)
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    N = 10 * m if n_samples is None else check_int("n_samples", n_samples, lo=m)
    q = 4 * n if n_outputs is None else check_int("n_outputs", n_outputs, lo=n)
    kappa_A = check_real("kappa_A", kappa_A, lo=1.0)
    kappa_B = check_real("kappa_B", kappa_B, lo=1.0)
    L = check_real("L", L, lo=0.0, lo_open=True)
    lam = check_real("lam", lam, lo=0.0)
    tau = check_real("label_threshold", label_threshold)
    b_default = max(1, N // 10) if batch_size is None else check_int("batch_size", batch_size, lo=1)
    conditioning = (("(kappa_A*kappa_B)^2", (kappa_A * kappa_B) * (kappa_A * kappa_B)),)
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    bl = make_bilinear(m, n, N, q, kappa_A=kappa_A, kappa_B=kappa_B, a_max=math.sqrt(N),
                       b_max=2.0 * math.sqrt(L), kind=spectrum, rng=rng)
    A, B = bl.A, bl.B
    C = np.where(rng.standard_normal((N, q)) > tau, 1.0, -1.0)
    a, b = singular_values(A), singular_values(B)           # realized spectra of the built A, B
    r = min(m, n)
    beta_B = min(q * b[0] ** 2, float(np.sum(np.linalg.norm(B, axis=0))) ** 2)
    sigma2 = float(np.sum(A * A) / N * beta_B)

    host = {"A": A, "B": B, "C": C}
    info = {"N": N, "q": q, "lam": lam, "label_threshold": tau, "spectrum": spectrum, "conditioning": conditioning}
    f_star, keys = None, None
    f_note = "None: not computed (lam = 0: the infimum need not be attained)"
    if lam > 0 and solve:
        X_hat, f_hat, gnorm = _solve_f_star(A, B, C, lam, N, np.zeros((m, n)))
        gap = gnorm ** 2 / (2.0 * lam)
        f_star, keys = f_hat, ("X_hat",)
        host["X_hat"] = X_hat
        info.update(f_star_gap=gap, grad_norm_at_X_hat=gnorm)
        f_note = (f"f(X_hat) from float64 L-BFGS + Newton-CG; certified f(X_hat) - f* <= ||grad||^2/(2 lam) "
                  f"= {gap:.3g}")
    elif lam > 0:
        f_note = "None: not computed (solve=False)"

    consts = ProblemConstants(
        L_fro=float(a[0] ** 2 * b[0] ** 2 / (4.0 * N) + lam),
        L_op=sup_op(a, b) / (4.0 * N) + lam * r,
        mu=lam,
        sigma2=sigma2,
        f_star=f_star,
        kappa={"A": float(a[0] / a[-1]), "B": float(b[0] / b[-1])},
        notes={
            "L_fro": "exact: a_1^2 b_1^2/(4N) + lam (sigma' <= 1/4, equality at X = 0)",
            "L_op": "exact: sum_{i<=min(m,n)} a_i^2 b_i^2/(4N) + lam min(m,n), attained at X = 0 by "
                    "D* = V_A[:, :r] U_B[:, :r]^T [DERIVED]",
            "mu": "exact infimum lam of the Hessian's smallest eigenvalue (0: convex, not strongly convex)",
            "sigma2": "certified: second moment (1/N) sum ||a_i||^2 ||B l_i||^2 <= ||A||_F^2/N "
                      "min(q b_1^2, (sum_j ||B_:j||)^2), l_i in [-1,1]^q; with-replacement rows",
            "f_star": f_note,
            "kappa": "realized, from numpy SVD of the built A and B",
        },
    )
    return make_problem("matrix_logistic", ((m, n),), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=b_default, info=info, minimizer_keys=keys)
