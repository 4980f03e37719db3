r"""The bilinear map :math:`X \mapsto AXB` with prescribed spectra, and its exact curvature constants.

Shared by the least-squares, robust-regression and logistic problems, whose
Hessians are :math:`D \mapsto A^\top (w \odot (ADB)) B^\top` with a weight
:math:`w` bounded by the loss's curvature.

With :math:`A = U_A \operatorname{diag}(a) V_A^\top` (:math:`p\times m`, :math:`p \ge m`,
:math:`a_1 \ge \dots \ge a_m > 0`) and :math:`B = U_B \operatorname{diag}(b) V_B^\top`
(:math:`n \times q`, :math:`q \ge n`), the quadratic form :math:`Q(D) = \|ADB\|_F^2` has

* **Frobenius** maximum :math:`\sup_{\|D\|_F\le1} Q(D) = a_1^2 b_1^2` and minimum
  :math:`a_m^2 b_n^2` (the Hessian :math:`(BB^\top)\otimes(A^\top A)` has eigenvalues
  :math:`a_i^2 b_j^2`);
* **spectral** maximum :math:`\sup_{\|D\|_{op}\le1} Q(D) = \sum_{i=1}^{r} a_i^2 b_i^2`,
  :math:`r = \min(m, n)` [DERIVED].  Upper bound: Horn's inequality
  :math:`\prod_{i\le k}\sigma_i(XY) \le \prod_{i\le k}\sigma_i(X)\sigma_i(Y)` (weak
  log-majorization) implies weak majorization of the squares, so
  :math:`\|A(DB)\|_F^2 \le \sum_i a_i^2\sigma_i(DB)^2 \le \|D\|_{op}^2\sum_{i\le r} a_i^2 b_i^2`
  (using :math:`\sigma_i(DB) \le \|D\|_{op}\,b_i`, and :math:`\sigma_i(DB) = 0` for
  :math:`i > r`).  Attained by the partial isometry
  :math:`D^\star = V_A[:, :r]\,U_B[:, :r]^\top` (:math:`\|D^\star\|_{op} = 1`), for which
  :math:`AD^\star B = U_A\operatorname{diag}(a)E_r\operatorname{diag}(b)V_B^\top`.
  Both facts are checked numerically in the tests.

A Frobenius constant alone would only give :math:`L_{op} \le \min(m,n)\,L_{fro}`
(``contracts``: :math:`\|D\|_F^2 \le \operatorname{rank}(D)\|D\|_{op}^2`); the formula
above is exact and usually much smaller when the spectra decay.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .spectra import matrix_with_spectrum, spectrum

__all__ = ["Bilinear", "make_bilinear", "sup_op", "worst_direction"]


class Bilinear(NamedTuple):
    r""":math:`A` (p × m) and :math:`B` (n × q) with their SVD factors (host float64)."""

    A: np.ndarray
    B: np.ndarray
    UA: np.ndarray
    a: np.ndarray
    VA: np.ndarray
    UB: np.ndarray
    b: np.ndarray
    VB: np.ndarray


def make_bilinear(m, n, p, q, *, kappa_A, kappa_B, a_max, b_max, kind, rng) -> Bilinear:
    r"""Draw :math:`A` (p × m) with singular values ``spectrum(m, kappa_A, kind, s_max=a_max)``
    and :math:`B` (n × q) with ``spectrum(n, kappa_B, kind, s_max=b_max)``, Haar factors.

    ``p >= m`` and ``q >= n`` (checked by the callers), so :math:`A^\top A` and
    :math:`BB^\top` are invertible.  :math:`A` is drawn before :math:`B`.
    """
    SA = matrix_with_spectrum(p, m, spectrum(m, kappa_A, kind, s_max=a_max), rng=rng)
    SB = matrix_with_spectrum(n, q, spectrum(n, kappa_B, kind, s_max=b_max), rng=rng)
    return Bilinear(A=SA.M, B=SB.M, UA=SA.U, a=SA.s, VA=SA.V, UB=SB.U, b=SB.s, VB=SB.V)


def sup_op(a, b):
    r""":math:`\sup_{\|D\|_{op}\le 1}\|ADB\|_F^2 = \sum_{i\le\min(m,n)} a_i^2 b_i^2` (both sorted decreasing)."""
    r = min(len(a), len(b))
    return float(np.sum((np.asarray(a[:r]) * np.asarray(b[:r])) ** 2))


def worst_direction(bl: Bilinear) -> np.ndarray:
    r"""The maximizer :math:`D^\star = V_A[:, :r] U_B[:, :r]^\top` of :math:`\|ADB\|_F^2` on the spectral unit ball."""
    r = min(bl.VA.shape[1], bl.UB.shape[1])
    return bl.VA[:, :r] @ bl.UB[:, :r].T
