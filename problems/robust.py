r"""Robust matrix regression: a bounded-curvature nonconvex loss on :math:`AXB - C` with outliers."""

from __future__ import annotations

import math

import numpy as np

from .base import (ProblemConstants, check_choice, check_conditioning, check_int, check_real, check_rng,
                   make_problem, mT)
from .bilinear import make_bilinear, sup_op
from .noise import additive_noise, make_noise
from .spectra import singular_values

__all__ = ["make_robust_regression", "ROBUST_LOSSES", "LOSS_CURVATURE"]

#: Robust losses :math:`\rho_\delta` (both :math:`\approx r^2/2` near 0).
ROBUST_LOSSES = ("cauchy", "geman_mcclure")

#: :math:`(\inf \rho'', \sup \rho'')` of each loss, :math:`\delta`-free [DERIVED, sympy in the tests]:
#: Cauchy :math:`\rho'' = (1-t)/(1+t)^2`, :math:`t = r^2/\delta^2`, minimum :math:`-1/8` at :math:`t = 3`;
#: Geman–McClure :math:`\rho'' = (1-3t)/(1+t)^3`, minimum :math:`-1/4` at :math:`t = 1`; both maxima 1 at 0.
LOSS_CURVATURE = {"cauchy": (-1.0 / 8.0, 1.0), "geman_mcclure": (-1.0 / 4.0, 1.0)}


def _rho(xp, R, delta, loss):
    t = (R * R) / (delta * delta)
    if loss == "cauchy":
        return 0.5 * delta * delta * xp.log1p(t)
    return 0.5 * (R * R) / (1.0 + t)


def _rho1(xp, R, delta, loss):
    t = (R * R) / (delta * delta)
    if loss == "cauchy":
        return R / (1.0 + t)
    return R / ((1.0 + t) * (1.0 + t))


def _residual(P, X):
    d = P.data
    return d["A"] @ X @ d["B"] - d["C"]


def _value(P, Xs):
    xp = P.xp
    r = _rho(xp, _residual(P, Xs[0]), P.info["delta"], P.info["loss"])
    return xp.sum(r, axis=(-2, -1))


def _grad(P, Xs):
    xp = P.xp
    W = _rho1(xp, _residual(P, Xs[0]), P.info["delta"], P.info["loss"])
    return (mT(xp, P.data["A"]) @ W @ mT(xp, P.data["B"]),)


def _sgrad(P, Xs, rng, b):
    G = _grad(P, Xs)
    xi = additive_noise(P.info["noise"], rng, G, b)
    return G if xi is None else tuple(g + z for g, z in zip(G, xi))


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (rng.uniform(-1.0, 1.0, size=(runs, m, n)),)


def make_robust_regression(m=20, n=10, *, p=None, q=None, kappa_A=10.0, kappa_B=1.0, L=1.0,
                           spectrum="geometric", loss="cauchy", delta=1.0, outlier_fraction=0.1,
                           outlier_scale=10.0, sigma2=0.0, noise="gaussian", nu=5.0,
                           rng=None, backend="numpy", dtype="float64", device=None):
    r"""Robust regression with a smooth nonconvex loss on the residual :math:`AXB - C`.

    .. math::

        f(X) = \sum_{i,j} \rho_\delta\big((AXB - C)_{ij}\big),\qquad
        C = AX^\natural B + S,

    with :math:`S` sparse (a fraction ``outlier_fraction`` of the entries, exactly
    ``round(outlier_fraction*p*q)`` of them, set to ``outlier_scale`` times a standard
    normal) and

    * Cauchy: :math:`\rho_\delta(r) = \tfrac{\delta^2}{2}\log(1 + r^2/\delta^2)`,
      :math:`\rho'' = (1-t)/(1+t)^2 \in [-1/8, 1]`, :math:`t = r^2/\delta^2`;
    * Geman–McClure: :math:`\rho_\delta(r) = \tfrac{\delta^2}{2}\,\dfrac{r^2}{\delta^2+r^2}`,
      :math:`\rho'' = (1-3t)/(1+t)^3 \in [-1/4, 1]`.

    Both behave like :math:`r^2/2` near zero, so :math:`\delta\to\infty` recovers
    :func:`~problems.make_matrix_least_squares` (without the :math:`\tfrac12` offset).
    :math:`A, B` have prescribed spectra as there (``problems.bilinear``).

    **Smooth.** :math:`\nabla f = A^\top\rho'(R)B^\top`, and the Hessian quadratic
    form is :math:`\sum_{ij}\rho''(R_{ij})(ADB)_{ij}^2` with :math:`|\rho''| \le 1`.

    **Nonconvex (every instance).** Along any line :math:`X + tD` with
    :math:`ADB \ne 0`, :math:`g(t) = f(X+tD)` grows at most like :math:`\log|t|`
    (Cauchy) or stays bounded (Geman–McClure) and is not constant; a convex function
    on :math:`\mathbb R` with sublinear growth in both directions is constant, so
    :math:`g` — hence :math:`f` — is not convex [DERIVED].  Concretely the curvature
    along :math:`D` at :math:`X + tD` tends to :math:`-\delta^2 \cdot \#\{(ADB)_{ij}\ne0\}/t^2 < 0`
    (Cauchy); the tests exhibit such a negative second difference.

    **Constants** (certified upper bounds, from :math:`|\rho''| \le 1`):

    * :math:`L_{fro} = a_1^2 b_1^2 = L`; tight when :math:`C` can be fitted exactly
      (then :math:`\rho'' = 1` at the fit), an upper bound otherwise;
    * :math:`L_{op} = \sum_{i\le\min(m,n)} a_i^2 b_i^2` (``problems.bilinear``);
    * :math:`\mu` = None (nonconvex), :math:`f^\star` = None (unknown; :math:`f \ge 0`);
    * :math:`\sigma^2` = ``sigma2`` exactly (additive noise).

    Parameters
    ----------
    m, n, p, q, kappa_A, kappa_B, L, spectrum
        As in :func:`~problems.make_matrix_least_squares` (:math:`p \ge m`, :math:`q \ge n`).
    loss : {"cauchy", "geman_mcclure"}
    delta : float
        Scale :math:`\delta > 0` of the loss.
    outlier_fraction : float
        In :math:`[0, 1)`.
    outlier_scale : float
        :math:`\ge 0`.
    sigma2, noise, nu
        Additive noise (``problems.noise``).
    rng, backend, dtype, device
        Draw order: :math:`A`, :math:`B`, :math:`X^\natural`, outlier positions, outlier values.

    Returns
    -------
    Problem
        ``data``: ``A``, ``B``, ``C``, ``X_true`` (:math:`X^\natural`, not a minimizer).

    Examples
    --------
    >>> P = make_robust_regression(6, 4, rng=0)
    >>> P.constants.mu is None and P.constants.f_star is None
    True
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    p = 2 * m if p is None else check_int("p", p, lo=m)
    q = 2 * n if q is None else check_int("q", q, lo=n)
    kappa_A = check_real("kappa_A", kappa_A, lo=1.0)
    kappa_B = check_real("kappa_B", kappa_B, lo=1.0)
    L = check_real("L", L, lo=0.0, lo_open=True)
    check_choice("loss", loss, ROBUST_LOSSES)
    delta = check_real("delta", delta, lo=0.0, lo_open=True)
    outlier_fraction = check_real("outlier_fraction", outlier_fraction, lo=0.0, hi=1.0, hi_open=True)
    outlier_scale = check_real("outlier_scale", outlier_scale, lo=0.0)
    nm = make_noise(noise, sigma2, nu)
    conditioning = (("(kappa_A*kappa_B)^2", (kappa_A * kappa_B) * (kappa_A * kappa_B)),)
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    bl = make_bilinear(m, n, p, q, kappa_A=kappa_A, kappa_B=kappa_B, a_max=math.sqrt(L), b_max=1.0,
                       kind=spectrum, rng=rng)
    X_true = rng.standard_normal((m, n))
    k = int(round(outlier_fraction * p * q))
    S = np.zeros(p * q)
    pos = rng.choice(p * q, size=k, replace=False)
    S[pos] = outlier_scale * rng.standard_normal(k)
    C = bl.A @ X_true @ bl.B + S.reshape(p, q)

    a, b = singular_values(bl.A), singular_values(bl.B)      # realized spectra of the built A, B
    lo, hi = LOSS_CURVATURE[loss]
    consts = ProblemConstants(
        L_fro=float(max(-lo, hi) * a[0] ** 2 * b[0] ** 2),
        L_op=hi * sup_op(a, b),
        mu=None,
        sigma2=nm.sigma2,
        f_star=None,
        kappa={"A": float(a[0] / a[-1]), "B": float(b[0] / b[-1])},
        notes={
            "L_fro": f"certified: max|rho''| * a_1^2 b_1^2 with rho'' in [{lo}, {hi}] ({loss}, sympy-derived); "
                     "tight only if C is exactly fittable",
            "L_op": "certified: sup rho'' * sum_{i<=min(m,n)} a_i^2 b_i^2 (exact max of ||ADB||_F^2 "
                    "on the spectral ball, Horn's inequality) [DERIVED]",
            "mu": "None: nonconvex (sublinear growth along every line; negative curvature far out)",
            "sigma2": f"exact: additive {nm.kind} noise with E||xi||_F^2 = sigma2/b",
            "f_star": "unknown (f >= 0 is a lower bound)",
            "kappa": "realized, from numpy SVD of the built A and B",
            "realized": "L_fro, L_op and kappa from the singular values of the built A and B (numpy SVD)",
        },
    )
    host = {"A": bl.A, "B": bl.B, "C": C, "X_true": X_true}
    info = {"noise": nm, "loss": loss, "delta": delta, "n_outliers": k, "p": p, "q": q,
            "curvature": (lo, hi), "spectrum": spectrum, "conditioning": conditioning}
    return make_problem("robust_regression", ((m, n),), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=1, info=info)
