r"""Matrix least squares :math:`f(X) = \tfrac12\|AXB - C\|_F^2` with exactly prescribed conditioning (PolarGrad §6.1)."""

from __future__ import annotations

import math

import numpy as np

from .base import ProblemConstants, check_conditioning, check_int, check_real, check_rng, make_problem
from .bilinear import make_bilinear, sup_op
from .noise import additive_noise, make_noise
from .spectra import singular_values

__all__ = ["make_matrix_least_squares"]


def _gram_apply(P, X):
    r""":math:`A^\top A\,(X - X^\star)\,BB^\top` for every run: two products with the precomputed Grams.

    Equal to :math:`A^\top(AXB - C)B^\top` because :math:`C = AX^\star B + E` with
    :math:`A^\top E B^\top = 0`; it costs :math:`R\,mn(m + n)` multiply-adds instead of
    :math:`R\,(pq(m + n) + mn(p + q))` (the residual form), 6× fewer at 64 × 50×30.
    """
    d = P.data
    D = X - d["X_star"]
    return D, d["GA"] @ D @ d["GB"]


def _value(P, Xs):
    r""":math:`f(X) = \tfrac12\langle D, A^\top A\,D\,BB^\top\rangle + f^\star`, :math:`D = X - X^\star`
    (:math:`=\tfrac12\|ADB\|_F^2 + \tfrac12\|E\|_F^2`; no cancellation near the minimizer)."""
    D, HD = _gram_apply(P, Xs[0])
    return 0.5 * P.xp.sum(D * HD, axis=(-2, -1)) + P.info["f_star"]


def _grad(P, Xs):
    return (_gram_apply(P, Xs[0])[1],)


def _sgrad(P, Xs, rng, b):
    G = _grad(P, Xs)
    xi = additive_noise(P.info["noise"], rng, G, b)
    return G if xi is None else tuple(g + z for g, z in zip(G, xi))


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (rng.uniform(-1.0, 1.0, size=(runs, m, n)),)


def make_matrix_least_squares(m=20, n=10, *, p=None, q=None, kappa_A=10.0, kappa_B=1.0, L=1.0,
                              spectrum="geometric", f_star=0.0, sigma2=0.0, noise="gaussian", nu=5.0,
                              rng=None, backend="numpy", dtype="float64", device=None):
    r"""Matrix least squares with prescribed singular spectra of :math:`A` and :math:`B`.

    .. math::

        f(X) = \tfrac12\|AXB - C\|_F^2,\qquad X\in\mathbb R^{m\times n},\;
        A\in\mathbb R^{p\times m},\; B\in\mathbb R^{n\times q},\; C = AX^\star B + E .

    The problem of PolarGrad §6.1 (``mat_quad_reg.py``, ``theory.md`` §3.4 [READ-CODE]),
    with Gaussian :math:`A, B` replaced by matrices of prescribed spectrum so that
    the conditioning is exact.

    **Smooth, strongly convex.** :math:`\nabla f(X) = A^\top(AXB - C)B^\top`; the
    Hessian :math:`D \mapsto A^\top A D B B^\top` is constant, with eigenvalues
    :math:`a_i^2 b_j^2` (``problems.bilinear``).  With :math:`p \ge m`, :math:`q \ge n`
    it is positive definite.

    **Constants (all exact):**

    * :math:`L_{fro} = a_1^2 b_1^2 = L`, :math:`\mu = a_m^2 b_n^2`,
      :math:`\kappa_H = L_{fro}/\mu = \kappa(A)^2\kappa(B)^2` (PolarGrad prints the
      same :math:`\kappa(A)^2\kappa(B)^2` [READ-CODE]);
    * :math:`L_{op} = \sum_{i\le\min(m,n)} a_i^2 b_i^2` (exact maximum of the
      quadratic form on the spectral unit ball, ``problems.bilinear`` [DERIVED]);
    * :math:`f^\star = \tfrac12\|E\|_F^2` = ``f_star`` with minimizer :math:`X^\star`:
      :math:`E` is Gaussian projected onto the complement of
      :math:`\{P_A M P_B\}` (:math:`P_A = U_AU_A^\top`, :math:`P_B = V_BV_B^\top`), so
      :math:`A^\top E B^\top = 0` and :math:`\nabla f(X^\star) = 0` [DERIVED];
    * :math:`\sigma^2` = ``sigma2`` exactly (additive noise, ``problems.noise``).

    Parameters
    ----------
    m, n : int
        Shape of :math:`X`.
    p, q : int, optional
        :math:`p \ge m` rows of :math:`A` (default :math:`2m`), :math:`q \ge n` columns
        of :math:`B` (default :math:`2n`).
    kappa_A, kappa_B : float
        :math:`\kappa(A), \kappa(B) \ge 1`.
    L : float
        :math:`L_{fro} > 0`: :math:`a_1 = \sqrt L`, :math:`b_1 = 1`.
    spectrum : {"geometric", "linear", "clustered"}
        Shape of both spectra (``problems.spectra.spectrum``).
    f_star : float
        :math:`f^\star \ge 0`; :math:`f^\star > 0` needs :math:`p > m` or :math:`q > n`.
    sigma2 : float
        Variance of the additive noise at :math:`b = 1`, :math:`\ge 0`.
    noise : {"gaussian", "student_t"}
    nu : float
        Student-t degrees of freedom, :math:`> 2`.
    rng : None, int or numpy.random.Generator
        Draw order: :math:`A`, :math:`B`, :math:`X^\star`, :math:`E`.
    backend, dtype, device
        Where the problem lives (built in float64 on the host, then moved).

    Returns
    -------
    Problem
        ``data``: ``A``, ``B``, ``C``, ``X_star``; ``minimizer`` is :math:`X^\star`.
        Initial points: iid Uniform(−1, 1) entries (PolarGrad's init [READ-CODE]).

    Examples
    --------
    >>> P = make_matrix_least_squares(6, 4, kappa_A=10.0, kappa_B=2.0, rng=0)
    >>> round(P.constants.kappa["H"], 6)
    400.0
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    p = 2 * m if p is None else check_int("p", p, lo=m)
    q = 2 * n if q is None else check_int("q", q, lo=n)
    kappa_A = check_real("kappa_A", kappa_A, lo=1.0)
    kappa_B = check_real("kappa_B", kappa_B, lo=1.0)
    L = check_real("L", L, lo=0.0, lo_open=True)
    f_star = check_real("f_star", f_star, lo=0.0)
    nm = make_noise(noise, sigma2, nu)
    if f_star > 0 and p == m and q == n:
        raise ValueError("f_star > 0 needs p > m or q > n (with square A and B every C is fitted exactly)")
    conditioning = (("(kappa_A*kappa_B)^2", (kappa_A * kappa_B) * (kappa_A * kappa_B)),)
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    bl = make_bilinear(m, n, p, q, kappa_A=kappa_A, kappa_B=kappa_B, a_max=math.sqrt(L), b_max=1.0,
                       kind=spectrum, rng=rng)
    X_star = rng.standard_normal((m, n))
    E = rng.standard_normal((p, q))
    E = E - bl.UA @ (bl.UA.T @ E @ bl.VB) @ bl.VB.T
    nE = np.linalg.norm(E)
    E = E * (math.sqrt(2.0 * f_star) / nE) if f_star > 0 else np.zeros_like(E)
    C = bl.A @ X_star @ bl.B + E

    # constants of the instance built: its realized singular values and residual
    a, b = singular_values(bl.A), singular_values(bl.B)
    kA, kB = float(a[0] / a[-1]), float(b[0] / b[-1])
    f_real = float(0.5 * np.sum((C - bl.A @ X_star @ bl.B) ** 2))
    consts = ProblemConstants(
        L_fro=float(a[0] ** 2 * b[0] ** 2),
        L_op=sup_op(a, b),
        mu=float(a[-1] ** 2 * b[-1] ** 2),
        sigma2=nm.sigma2,
        f_star=f_real,
        kappa={"A": kA, "B": kB, "H": float(a[0] ** 2 * b[0] ** 2 / (a[-1] ** 2 * b[-1] ** 2))},
        notes={
            "L_fro": "exact: largest Hessian eigenvalue a_1^2 b_1^2 (Hessian = (BB^T) kron (A^T A))",
            "L_op": "exact: sum_{i<=min(m,n)} a_i^2 b_i^2 = max of ||ADB||_F^2 over ||D||_op<=1 "
                    "(Horn's inequality; attained by V_A[:, :r] U_B[:, :r]^T) [DERIVED]",
            "mu": "exact: smallest Hessian eigenvalue a_m^2 b_n^2",
            "sigma2": f"exact: additive {nm.kind} noise with E||xi||_F^2 = sigma2/b",
            "f_star": "exact: 0.5||E||_F^2 with A^T E B^T = 0 by construction, minimizer X_star",
            "kappa": "realized, from numpy SVD of the built A and B; H = L_fro/mu = (kappa_A kappa_B)^2",
            "realized": "L_fro, L_op, mu, kappa from the singular values of the built A and B (numpy SVD), "
                        "f_star = 0.5||C - A X_star B||_F^2 of the built C",
        },
    )
    host = {"A": bl.A, "B": bl.B, "C": C, "X_star": X_star, "GA": bl.A.T @ bl.A, "GB": bl.B @ bl.B.T}
    return make_problem("matrix_least_squares", ((m, n),), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=1,
                        info={"noise": nm, "p": p, "q": q, "spectrum": spectrum, "f_star": f_real,
                              "conditioning": conditioning},
                        minimizer_keys=("X_star",))
