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

import math

from .backend import is_half, is_numpy_namespace, namespace, on_gpu, pow2_scale
from .checks import check_matrix
from .parallel import batch_parallel, use_batch_parallel

__all__ = ["nuclear_norm", "spectral_norm", "frobenius_norm", "matrix_norms"]


def _compute_dtype(xp, M):
    # LAPACK has no half-precision routines: work in float32 and cast back; integers in float64.
    if not xp.isdtype(M.dtype, "real floating"):
        return xp.float64
    return xp.float32 if is_half(xp, M.dtype) else M.dtype


def _out_dtype(xp, M):
    """The dtype of a norm of ``M``: ``M``'s floating dtype, float64 for integer input."""
    return M.dtype if xp.isdtype(M.dtype, "real floating") else xp.float64


def _svdvals(M, xp):
    r"""Singular values in the compute dtype, scale-safely: :math:`\sigma(cW)/c` (``c`` a power of two).

    A NumPy batch of small matrices is split over threads (:mod:`adago_theory.parallel`):
    LAPACK runs matrix by matrix.
    """
    dt = _compute_dtype(xp, M)
    W = M if dt == M.dtype else xp.astype(M, dt)
    c = pow2_scale(xp, W)
    W = W * c
    if use_batch_parallel(xp, W, svd=True):
        import numpy as np

        s = batch_parallel(lambda Wc: np.linalg.svd(Wc, compute_uv=False), W, tail=(min(W.shape[-2:]),))
    else:
        s = xp.linalg.svdvals(W)
    return s / c[..., 0], dt


def _fro(xp, W, keepdims=False):
    """Scale-safe ``sqrt(sum(W**2))`` over the last two axes (dtype of ``W``; no half handling).

    NumPy: the plain sum of squares (one ``einsum`` pass), then the scaled route for the
    matrices where it overflowed or fell below ``tiny / eps``; elsewhere always scaled.
    """
    if is_numpy_namespace(xp) and W.ndim >= 2 and W.size:
        import numpy as np

        flat = np.reshape(W, (-1,) + tuple(W.shape[-2:]))
        ss = np.einsum("bij,bij->b", flat, flat)
        fi = np.finfo(W.dtype)
        out = np.sqrt(ss)
        bad = ~(np.isfinite(ss) & (ss >= fi.tiny / fi.eps))
        if bad.any():
            Wb = flat[bad]
            c = pow2_scale(xp, Wb)
            V = Wb * c
            out[bad] = np.sqrt(np.sum(V * V, axis=(-2, -1))) / c[:, 0, 0]
        out = np.reshape(out, tuple(W.shape[:-2]) + ((1, 1) if keepdims else ()))
        return out
    c = pow2_scale(xp, W)
    V = W * c
    out = xp.sqrt(xp.sum(V * V, axis=(-2, -1), keepdims=True)) / c
    return out if keepdims else out[..., 0, 0]


def frobenius_norm(M):
    r"""Frobenius norm :math:`\|M\|_F` of each matrix in ``M`` (shape ``(..., m, n)``).

    Computed scale-safely as :math:`c^{-1}\|cM\|_F` with the power of two
    :math:`c` of :func:`~adago_theory.backend.pow2_scale`: no overflow or underflow for any finite
    input whose norm is representable.

    Examples
    --------
    >>> import numpy as np
    >>> float(frobenius_norm(np.array([[3.0, 0.0], [0.0, 4.0]])))
    5.0
    """
    xp = namespace(M)
    check_matrix("M", M, floating=False)
    dt = _compute_dtype(xp, M)
    W = M if dt == M.dtype else xp.astype(M, dt)
    out = _fro(xp, W)
    return out if out.dtype == _out_dtype(xp, M) else xp.astype(out, _out_dtype(xp, M))


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
    check_matrix("M", M, floating=False)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        return xp.zeros(M.shape[:-2], dtype=_out_dtype(xp, M))
    if on_gpu(M):
        dt = _compute_dtype(xp, M)
        W = M if dt == M.dtype else xp.astype(M, dt)
        c = pow2_scale(xp, W)                      # scale first: the Gram matrix squares the range
        W = W * c
        Wt = xp.matrix_transpose(W)
        gram = Wt @ W if M.shape[-1] <= M.shape[-2] else W @ Wt
        lam = xp.linalg.eigvalsh(gram)[..., -1]
        out = xp.sqrt(xp.clip(lam, 0, None)) / c[..., 0, 0]
    else:
        s, dt = _svdvals(M, xp)
        out = s[..., 0]
    return out if out.dtype == _out_dtype(xp, M) else xp.astype(out, _out_dtype(xp, M))


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
    check_matrix("M", M, floating=False)
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        return xp.zeros(M.shape[:-2], dtype=_out_dtype(xp, M))
    if on_gpu(M):
        from .orthogonalize import orthogonalize

        dt = _compute_dtype(xp, M)
        W = M if dt == M.dtype else xp.astype(M, dt)
        O = orthogonalize(W, "polar", check_finite=False)
        out = xp.sum(W * O, axis=(-2, -1))
    else:
        s, dt = _svdvals(M, xp)
        out = xp.sum(s, axis=-1)
    return out if out.dtype == _out_dtype(xp, M) else xp.astype(out, _out_dtype(xp, M))


def matrix_norms(M):
    r"""The Frobenius, nuclear and spectral norms of each matrix in ``M``, from one factorization.

    Equal to ``(frobenius_norm(M), nuclear_norm(M), spectral_norm(M))`` up to
    rounding, but on the CPU the singular values are computed once for all three
    (:math:`\|M\|_F = (\sum_i\sigma_i^2)^{1/2}`; this is the cost of recording a
    run's gradient norms); on a GPU the routes of :func:`nuclear_norm` and
    :func:`spectral_norm` are used.

    Returns
    -------
    fro, nuc, op : arrays of shape ``M.shape[:-2]``
        In ``M``'s dtype and backend.

    Examples
    --------
    >>> import numpy as np
    >>> [float(v) for v in matrix_norms(np.array([[3.0, 0.0], [0.0, 4.0]]))]
    [5.0, 7.0, 4.0]
    """
    xp = namespace(M)
    check_matrix("M", M, floating=False)
    if on_gpu(M) or M.shape[-1] == 0 or M.shape[-2] == 0:
        return frobenius_norm(M), nuclear_norm(M), spectral_norm(M)
    s, dt = _svdvals(M, xp)
    op = s[..., 0]
    # ||M||_F = (sum_i sigma_i^2)^(1/2), scaled by sigma_1 (no overflow, no underflow)
    s1 = xp.where(op > 0, op, xp.ones_like(op))
    r = s / s1[..., None]
    fro = s1 * xp.sqrt(xp.sum(r * r, axis=-1))
    nuc = xp.sum(s, axis=-1)
    od = _out_dtype(xp, M)
    cast = (lambda a: a) if dt == od else (lambda a: xp.astype(a, od))  # noqa: E731
    return cast(fro), cast(nuc), cast(op)
