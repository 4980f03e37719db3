r"""Matrices with a prescribed singular spectrum: Haar factors times a chosen spectrum.

.. math::

    M = U \operatorname{diag}(s) V^\top, \qquad U^\top U = V^\top V = I_r,
    \qquad \kappa(M) = s_1 / s_r .

:math:`U` and :math:`V` are Haar-distributed (uniform on the Stiefel manifold):
the Q factor of the QR decomposition of a Gaussian matrix, with the signs of its
columns fixed by the signs of :math:`\operatorname{diag}(R)` (Mezzadri, "How to
generate random matrices from the classical compact groups", Notices AMS 54(5),
2007 — without the sign fix the distribution is not Haar).  Since the factors are
exactly orthonormal up to rounding, the singular values of :math:`M` are the
requested :math:`s` to within a few units of roundoff times :math:`s_1`; so the
realized condition number equals the requested one to a relative error of order
:math:`\kappa\,u` (:math:`u = 2^{-53}`), i.e. :math:`\le 10^{-10}` for
:math:`\kappa \le 10^5` [DERIVED, and measured in ``tests/test_problems_spectra.py``].

Everything here is host NumPy float64: problem construction draws on the host
(``style.md`` §6 item 4), then moves.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import check_choice, check_int, check_real

__all__ = ["SPECTRA", "haar_orthogonal", "spectrum", "SpectralMatrix", "matrix_with_spectrum",
           "condition_number", "singular_values"]

#: Spectrum kinds accepted by :func:`spectrum`.
SPECTRA = ("geometric", "linear", "clustered")


def haar_orthogonal(n, k=None, *, rng=None) -> np.ndarray:
    r"""An ``n × k`` matrix with Haar-distributed orthonormal columns (``k = n``: a Haar orthogonal matrix).

    Parameters
    ----------
    n : int
        Number of rows, :math:`n \ge 1`.
    k : int, optional
        Number of columns, :math:`1 \le k \le n` (default ``n``).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    Q : ndarray, shape (n, k), float64
        :math:`Q^\top Q = I_k`; the distribution is invariant under
        :math:`Q \mapsto O Q` for every orthogonal :math:`O`.

    Examples
    --------
    >>> Q = haar_orthogonal(5, 3, rng=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(3)))
    True
    """
    n = check_int("n", n, lo=1)
    k = n if k is None else check_int("k", k, lo=1, hi=n)
    rng = np.random.default_rng(rng)
    Z = rng.standard_normal((n, k))
    Q, R = np.linalg.qr(Z)
    d = np.sign(np.diag(R))
    d[d == 0] = 1.0
    return Q * d


def spectrum(r, kappa, kind="geometric", *, s_max=1.0, n_clusters=2) -> np.ndarray:
    r"""``r`` singular values in decreasing order with :math:`s_1 = s_{max}` and :math:`s_1/s_r = \kappa` exactly.

    Parameters
    ----------
    r : int
        Number of values, :math:`r \ge 1` (:math:`r = 1` needs :math:`\kappa = 1`).
    kappa : float
        Condition number, :math:`\kappa \ge 1`.
    kind : {"geometric", "linear", "clustered"}
        * ``"geometric"``: :math:`s_i = s_{max}\,\kappa^{-(i-1)/(r-1)}` (log-uniform).
        * ``"linear"``: equally spaced from :math:`s_{max}` to :math:`s_{max}/\kappa`.
        * ``"clustered"``: ``n_clusters`` levels, geometrically spaced from
          :math:`s_{max}` to :math:`s_{max}/\kappa`; the values are split over the
          levels as evenly as possible (the top level gets the extra ones).
    s_max : float
        Largest value, :math:`s_{max} > 0`.
    n_clusters : int
        Number of levels for ``"clustered"``, :math:`2 \le n_{clusters} \le r`.

    Returns
    -------
    s : ndarray, shape (r,), float64

    Examples
    --------
    >>> spectrum(3, 100.0)
    array([1.  , 0.1 , 0.01])
    """
    r = check_int("r", r, lo=1)
    kappa = check_real("kappa", kappa, lo=1.0)
    s_max = check_real("s_max", s_max, lo=0.0, lo_open=True)
    check_choice("spectrum", kind, SPECTRA)
    if r == 1:
        if kappa != 1.0:
            raise ValueError(f"kappa must be 1 for a single singular value (r=1), got {kappa}")
        return np.array([s_max])
    s_min = s_max / kappa
    if kind == "geometric":
        s = s_max * kappa ** (-np.arange(r) / (r - 1))
    elif kind == "linear":
        s = np.linspace(s_max, s_min, r)
    else:
        c = check_int("n_clusters", n_clusters, lo=2, hi=r)
        levels = s_max * kappa ** (-np.arange(c) / (c - 1))
        levels[0], levels[-1] = s_max, s_min
        counts = np.full(c, r // c)
        counts[: r % c] += 1
        s = np.repeat(levels, counts)
    s[0], s[-1] = s_max, s_min  # exact endpoints
    return s


class SpectralMatrix(NamedTuple):
    r"""``M = U diag(s) V^T`` with its factors (host float64)."""

    M: np.ndarray
    U: np.ndarray
    s: np.ndarray
    V: np.ndarray


def matrix_with_spectrum(m, n, s, *, rng=None) -> SpectralMatrix:
    r"""An ``m × n`` matrix :math:`U \operatorname{diag}(s) V^\top` with Haar ``U`` (m × r), ``V`` (n × r).

    Parameters
    ----------
    m, n : int
        Shape.
    s : array_like, shape (r,)
        Positive singular values, :math:`r \le \min(m, n)` (the rank of the result).
    rng : None, int or numpy.random.Generator
        ``U`` is drawn before ``V``.

    Returns
    -------
    SpectralMatrix

    Examples
    --------
    >>> A = matrix_with_spectrum(6, 4, spectrum(4, 10.0), rng=1)
    >>> round(float(np.linalg.cond(A.M)), 8)
    10.0
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 1:
        raise ValueError(f"s must be a non-empty 1-D array, got shape {s.shape}")
    r = s.size
    if r > min(m, n):
        raise ValueError(f"rank (the number of singular values) must be <= min(m, n) = {min(m, n)}, got {r}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("s must hold positive finite singular values")
    rng = np.random.default_rng(rng)
    U = haar_orthogonal(m, r, rng=rng)
    V = haar_orthogonal(n, r, rng=rng)
    return SpectralMatrix(M=(U * s) @ V.T, U=U, s=s.copy(), V=V)


def singular_values(M, rank=None) -> np.ndarray:
    r"""The ``rank`` largest singular values of a host matrix, decreasing (default all): the *realized* spectrum.

    The problems compute their constants from these, not from the requested spectrum,
    so that :math:`L`, :math:`\mu` and :math:`\kappa` describe the matrices actually built.
    """
    sv = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    return sv if rank is None else sv[: int(rank)]


def condition_number(M, rank=None) -> float:
    r""":math:`\sigma_1/\sigma_r` of a host matrix, over its ``rank`` largest singular values (default all)."""
    sv = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    r = sv.size if rank is None else int(rank)
    return float(sv[0] / sv[r - 1])
