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


from .backend import is_half, is_numpy_namespace, namespace, on_gpu, pow2_scale
from .checks import check_matrix
from .parallel import batch_parallel, use_batch_parallel

__all__ = ["nuclear_norm", "spectral_norm", "frobenius_norm", "matrix_norms", "GRAM_TOL"]


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


#: The relative error that :func:`matrix_norms`'s ``method="gram"`` guarantees (first-order bound, per matrix).
GRAM_TOL = 1e-10


def matrix_norms(M, *, method="svd"):
    r"""The Frobenius, nuclear and spectral norms of each matrix in ``M``, from one factorization.

    Equal to ``(frobenius_norm(M), nuclear_norm(M), spectral_norm(M))`` up to
    rounding, but on the CPU the singular values are computed once for all three
    (:math:`\|M\|_F = (\sum_i\sigma_i^2)^{1/2}`; this is the cost of recording a
    run's gradient norms); on a GPU the routes of :func:`nuclear_norm` and
    :func:`spectral_norm` are used.

    Parameters
    ----------
    M : array, shape ``(..., m, n)``
    method : {"svd", "gram"}, default "svd"
        ``"svd"``: LAPACK singular values (relative error of order :math:`k u`,
        :math:`k = \min(m, n)`, :math:`u` the unit roundoff).  ``"gram"`` (NumPy,
        floating input; elsewhere the same as ``"svd"``): the eigenvalues
        :math:`\hat\lambda_i` of the smaller Gram matrix :math:`H = \mathrm{fl}(M^\top M)`,
        :math:`\hat\sigma_i = \max(\hat\lambda_i, 0)^{1/2}`, about 1.5–2x cheaper for
        small matrices, and kept only where a first-order error bound is at most
        :data:`GRAM_TOL` relative; the other matrices go the SVD route.  The bound:
        forming :math:`H` and a backward-stable symmetric eigensolver perturb every
        eigenvalue by at most :math:`\delta = (\max(m,n) + 4k)\,u\,\|M\|_F^2`
        (Weyl; :math:`\|\,|M^\top||M|\,\|_2 \le \|M\|_F^2`), so
        :math:`|\hat\sigma_i - \sigma_i| \le e_i = \min(\delta^{1/2}, \delta/\hat\sigma_i)`
        (from :math:`|a^{1/2} - b^{1/2}| = |a - b|/(a^{1/2} + b^{1/2})`); a matrix is
        kept when :math:`\sum_i e_i \le \mathrm{tol}\sum_i \hat\sigma_i` and
        :math:`\delta \le \mathrm{tol}\,\hat\sigma_1^2`.  The bound is loose: on the
        gradients of a least-squares run (condition numbers 50–2,000) it accepted every
        matrix while the measured errors were 1e-15–2e-14.  The matrix is scaled by a
        power of two first, so the squares neither overflow nor underflow.

    Returns
    -------
    fro, nuc, op : arrays of shape ``M.shape[:-2]``
        In ``M``'s dtype and backend.

    Examples
    --------
    >>> import numpy as np
    >>> [float(v) for v in matrix_norms(np.array([[3.0, 0.0], [0.0, 4.0]]))]
    [5.0, 7.0, 4.0]
    >>> [round(float(v), 12) for v in matrix_norms(np.array([[3.0, 0.0], [0.0, 4.0]]), method="gram")]
    [5.0, 7.0, 4.0]
    """
    xp = namespace(M)
    check_matrix("M", M, floating=False)
    if method not in ("svd", "gram"):
        raise ValueError(f"method must be 'svd' or 'gram', got {method!r}")
    if on_gpu(M) or M.shape[-1] == 0 or M.shape[-2] == 0:
        return frobenius_norm(M), nuclear_norm(M), spectral_norm(M)
    od = _out_dtype(xp, M)
    if method == "gram" and is_numpy_namespace(xp) and xp.isdtype(M.dtype, "real floating") and not is_half(xp, M.dtype):
        fro, nuc, op = _gram_norms_numpy(M)
    else:
        s, dt = _svdvals(M, xp)
        fro, nuc, op = _from_svdvals(xp, s)
    cast = (lambda a: a) if fro.dtype == od else (lambda a: xp.astype(a, od))  # noqa: E731
    return cast(fro), cast(nuc), cast(op)


def _from_svdvals(xp, s):
    op = s[..., 0]
    # ||M||_F = (sum_i sigma_i^2)^(1/2), scaled by sigma_1 (no overflow, no underflow)
    s1 = xp.where(op > 0, op, xp.ones_like(op))
    r = s / s1[..., None]
    fro = s1 * xp.sqrt(xp.sum(r * r, axis=-1))
    nuc = xp.sum(s, axis=-1)
    return fro, nuc, op


def _gram_norms_numpy(M):
    """``method="gram"`` of :func:`matrix_norms` on a NumPy float array (see there for the bound)."""
    import numpy as np

    shape = M.shape[:-2]
    m, n = M.shape[-2:]
    k = min(m, n)
    W = np.reshape(M, (-1, m, n))
    if W.shape[0] == 0:
        z = np.zeros(shape, dtype=M.dtype)
        return z, z, z
    c = pow2_scale(np, W)                                    # (B, 1, 1), a power of two
    W = W * c
    H = np.swapaxes(W, -1, -2) @ W if m >= n else W @ np.swapaxes(W, -1, -2)
    if use_batch_parallel(np, W, svd=True):
        lam = batch_parallel(np.linalg.eigvalsh, H, tail=(k,))
    else:
        lam = np.linalg.eigvalsh(H)
    s = np.sqrt(np.maximum(lam[:, ::-1], 0))
    fro2 = np.einsum("bij,bij->b", W, W)
    u = np.finfo(W.dtype).eps / 2
    delta = (max(m, n) + 4 * k) * u * fro2
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.minimum(np.sqrt(delta)[:, None], delta[:, None] / s)
    nuc = np.sum(s, axis=-1)
    op = s[:, 0]
    ok = (np.sum(e, axis=-1) <= GRAM_TOL * nuc) & (delta <= GRAM_TOL * op * op) & np.isfinite(nuc)
    fro = np.sqrt(fro2)
    if not ok.all():
        bad = ~ok
        sb, _ = _svdvals(M.reshape(-1, m, n)[bad], np)
        fb, nb, ob = _from_svdvals(np, sb)
        fro[bad], nuc[bad], op[bad] = fb * c[bad, 0, 0], nb * c[bad, 0, 0], ob * c[bad, 0, 0]
    c = c[:, 0, 0]
    return np.reshape(fro / c, shape), np.reshape(nuc / c, shape), np.reshape(op / c, shape)
