r"""Batched matrix norms: nuclear, spectral and Frobenius.

All three act on the last two axes of an array of shape ``(..., m, n)`` and
return an array of shape ``(...)`` (0-d for a single matrix) on the input's
backend and in its dtype.

.. math::

    \|M\|_* = \sum_i \sigma_i(M), \qquad
    \|M\|_{op} = \sigma_1(M), \qquad
    \|M\|_F = \Big(\sum_{ij} M_{ij}^2\Big)^{1/2} = \Big(\sum_i \sigma_i^2\Big)^{1/2}.

The nuclear and spectral norms are dual to each other,
:math:`\|G\|_* = \max_{\|O\|_{op} \le 1} \langle G, O\rangle`, attained at
:math:`O = \mathrm{Orth}(G)`: this is why orthogonalized updates are steepest
descent in the spectral norm.
"""

from __future__ import annotations

from .backend import namespace, on_gpu

__all__ = ["nuclear_norm", "spectral_norm", "frobenius_norm"]


def _check_matrix(M, name="M"):
    if getattr(M, "ndim", 0) < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., m, n), got ndim={getattr(M, 'ndim', 0)}")


def _compute_dtype(xp, M):
    # LAPACK has no half-precision routines: work in float32 and cast back.
    if M.dtype in (xp.float16,) or str(M.dtype).endswith("bfloat16"):
        return xp.float32
    return M.dtype


def _svdvals(M, xp):
    dt = _compute_dtype(xp, M)
    W = M if dt == M.dtype else xp.astype(M, dt)
    return xp.linalg.svdvals(W), dt


def frobenius_norm(M):
    r"""Frobenius norm :math:`\|M\|_F` of each matrix in ``M`` (shape ``(..., m, n)``).

    Examples
    --------
    >>> import numpy as np
    >>> float(frobenius_norm(np.array([[3.0, 0.0], [0.0, 4.0]])))
    5.0
    """
    xp = namespace(M)
    _check_matrix(M)
    dt = _compute_dtype(xp, M)
    W = M if dt == M.dtype else xp.astype(M, dt)
    out = xp.sqrt(xp.sum(W * W, axis=(-2, -1)))
    return out if dt == M.dtype else xp.astype(out, M.dtype)


def spectral_norm(M):
    r"""Spectral (operator 2-) norm :math:`\sigma_1(M)` of each matrix in ``M``.

    On the CPU it is the largest singular value from LAPACK.  On a GPU, where
    batched SVD runs matrix by matrix, it is :math:`\lambda_{max}(M^\top M)^{1/2}`
    from a symmetric eigensolver on the smaller Gram matrix; the largest
    eigenvalue of the Gram matrix carries a relative error of order the unit
    roundoff, so :math:`\sigma_1` does too.

    Examples
    --------
    >>> import numpy as np
    >>> float(spectral_norm(np.array([[3.0, 0.0], [0.0, 4.0]])))
    4.0
    """
    xp = namespace(M)
    _check_matrix(M)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        return xp.zeros(M.shape[:-2], dtype=M.dtype)
    if on_gpu(M):
        dt = _compute_dtype(xp, M)
        W = M if dt == M.dtype else xp.astype(M, dt)
        Wt = xp.matrix_transpose(W)
        gram = Wt @ W if M.shape[-1] <= M.shape[-2] else W @ Wt
        lam = xp.linalg.eigvalsh(gram)[..., -1]
        out = xp.sqrt(xp.clip(lam, 0, None))
    else:
        s, dt = _svdvals(M, xp)
        out = s[..., 0]
    return out if out.dtype == M.dtype else xp.astype(out, M.dtype)


def nuclear_norm(M):
    r"""Nuclear norm :math:`\|M\|_* = \sum_i \sigma_i(M)` of each matrix in ``M``.

    On the CPU it sums the LAPACK singular values.  On a GPU it is computed as
    :math:`\langle M, \mathrm{Orth}(M)\rangle` with the matrix-product polar
    factor (``orthogonalize(M, "polar")``), since
    :math:`\langle U\Sigma V^\top, UV^\top\rangle = \operatorname{tr}\Sigma`.

    Examples
    --------
    >>> import numpy as np
    >>> float(nuclear_norm(np.array([[3.0, 0.0], [0.0, 4.0]])))
    7.0
    """
    xp = namespace(M)
    _check_matrix(M)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        return xp.zeros(M.shape[:-2], dtype=M.dtype)
    if on_gpu(M):
        from .orthogonalize import orthogonalize

        dt = _compute_dtype(xp, M)
        W = M if dt == M.dtype else xp.astype(M, dt)
        O = orthogonalize(W, "polar", check_finite=False)
        out = xp.sum(W * O, axis=(-2, -1))
    else:
        s, dt = _svdvals(M, xp)
        out = xp.sum(s, axis=-1)
    return out if out.dtype == M.dtype else xp.astype(out, M.dtype)
