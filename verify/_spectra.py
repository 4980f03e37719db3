r"""Test matrices with a prescribed singular spectrum (host NumPy, float64).

:math:`M = U\,\mathrm{diag}(s)\,V^\top` with :math:`U, V` Haar-distributed (QR of a
Gaussian matrix with the signs of :math:`\mathrm{diag}(R)` fixed, Mezzadri 2007),
so the realized singular values are ``s`` up to rounding and the exact polar
factor is :math:`UV^\top`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["haar_orthonormal", "matrices_with_spectrum", "geometric_spectrum"]


def haar_orthonormal(rng, shape):
    """Haar-distributed matrices with orthonormal columns, shape ``(..., m, k)``, ``m >= k``."""
    Z = rng.standard_normal(shape)
    Q, R = np.linalg.qr(Z)
    d = np.sign(np.diagonal(R, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1.0, d)
    return Q * d[..., None, :]


def geometric_spectrum(kappa, k):
    r"""``k`` singular values from 1 down to :math:`1/\kappa`, geometrically spaced.

    Parameters
    ----------
    kappa : float or array_like
        Condition number(s) :math:`\ge 1`.
    k : int
        Number of singular values.

    Returns
    -------
    ndarray, shape ``kappa.shape + (k,)``
    """
    kappa = np.asarray(kappa, dtype=np.float64)
    if np.any(~np.isfinite(kappa)) or np.any(kappa < 1):
        raise ValueError(f"kappa must be finite and >= 1, got {kappa}")
    t = np.linspace(0.0, 1.0, k) if k > 1 else np.zeros(1)
    return np.exp(-np.log(kappa)[..., None] * t)


def matrices_with_spectrum(rng, s, m, n):
    r"""Random :math:`m\times n` matrices with singular values ``s`` (batched over ``s``'s leading axes).

    Parameters
    ----------
    rng : numpy.random.Generator
    s : array_like, shape (..., min(m, n))
        Singular values (any order, non-negative).
    m, n : int

    Returns
    -------
    M : ndarray, shape (..., m, n)
    P : ndarray, shape (..., m, n)
        The exact polar factor :math:`UV^\top` of the exact product (before rounding).
    """
    s = np.asarray(s, dtype=np.float64)
    k = min(m, n)
    if s.shape[-1] != k:
        raise ValueError(f"s must have min(m, n) = {k} entries in its last axis, got {s.shape[-1]}")
    lead = s.shape[:-1]
    U = haar_orthonormal(rng, lead + (m, k))
    V = haar_orthonormal(rng, lead + (n, k))
    Vt = np.swapaxes(V, -1, -2)
    return (U * s[..., None, :]) @ Vt, U @ Vt
