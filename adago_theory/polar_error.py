r"""How far an approximate orthogonalization is from the exact polar factor."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .backend import namespace, pow2_scale, to_numpy

__all__ = ["PolarError", "polar_error"]


class PolarError(NamedTuple):
    r"""Errors of an approximation :math:`O` of :math:`\mathrm{Orth}(M) = U_rV_r^\top`.

    Every field is a host NumPy float64 array of shape ``M.shape[:-2]`` (0-d for a
    single matrix).  All quantities are computed in float64 on the host.

    Attributes
    ----------
    rel_fro : array
        :math:`\|O - U_rV_r^\top\|_F / \|U_rV_r^\top\|_F` (:math:`=\|\cdot\|_F/\sqrt r`).
    spectral : array
        :math:`\|O - U_rV_r^\top\|_{op}`.
    sigma_dev : array
        :math:`\max_{i \le r} |\sigma_i(O) - 1|` over the nonzero spectrum
        (the :math:`r = \operatorname{rank} M` largest singular values of :math:`O`).
    orth_residual : array
        :math:`\|W^\top O O^\top W - I_r\|_{op}` with :math:`W = U_r` when
        :math:`m \le n` and :math:`\|V_r^\top O^\top O V_r - I_r\|_{op}` otherwise:
        departure from orthonormality on the column (resp. row) space.
    alignment : array
        :math:`\langle M, O\rangle / \|M\|_*`; exactly 1 for the polar factor, and
        the fraction of the steepest-descent decrease that :math:`O` achieves.
    rank : array of int
        The numerical rank :math:`r` used (threshold ``max(m, n) * eps64 * sigma_1``).
    """

    rel_fro: np.ndarray
    spectral: np.ndarray
    sigma_dev: np.ndarray
    orth_residual: np.ndarray
    alignment: np.ndarray
    rank: np.ndarray


def polar_error(M, O) -> PolarError:
    r"""Measure an approximate polar factor ``O`` of ``M`` against the exact one.

    Parameters
    ----------
    M : array, shape (..., m, n)
        The matrix (or batch) that was orthogonalized; any backend.
    O : array, shape (..., m, n)
        Its approximate orthogonalization, same backend.

    Returns
    -------
    PolarError
        See :class:`PolarError`.  The reference :math:`U_rV_r^\top` comes from a
        float64 LAPACK SVD of ``M`` on the host.

    Raises
    ------
    ValueError
        If the shapes differ or are not matrices.
    TypeError
        If ``M`` and ``O`` come from different backends.

    Examples
    --------
    >>> import numpy as np
    >>> from adago_theory import orthogonalize
    >>> M = np.random.default_rng(0).standard_normal((20, 10))
    >>> err = polar_error(M, orthogonalize(M, "newton-schulz", coeffs="jordan"))
    >>> 0.05 < float(err.rel_fro) < 0.5      # Jordan's quintic is not the polar factor
    True
    """
    namespace(M, O)
    Mh = to_numpy(M).astype(np.float64)
    Oh = to_numpy(O).astype(np.float64)
    if Mh.ndim < 2:
        raise ValueError(f"M must have at least 2 dimensions, got ndim={Mh.ndim}")
    if Mh.shape != Oh.shape:
        raise ValueError(f"M and O must have the same shape, got {Mh.shape} and {Oh.shape}")
    if not np.all(np.isfinite(Oh)):
        raise ValueError("O contains NaN or Inf entries")
    m, n = Mh.shape[-2:]
    if Mh.size:
        import array_api_compat.numpy as xnp


        Mh = Mh * pow2_scale(xnp, Mh)      # exact; every quantity below is invariant to it
    U, s, Vh = np.linalg.svd(Mh, full_matrices=False)
    tol = max(m, n) * np.finfo(np.float64).eps * s[..., :1]
    keep = s > tol
    r = keep.sum(axis=-1)
    P = (U * keep[..., None, :]) @ Vh
    D = Oh - P
    rel_fro = np.linalg.norm(D, axis=(-2, -1)) / np.sqrt(np.maximum(r, 1))
    spectral = np.linalg.norm(D, ord=2, axis=(-2, -1))
    so = np.linalg.svd(Oh, compute_uv=False)
    k = np.arange(so.shape[-1])
    sigma_dev = np.max(np.where(k < r[..., None], np.abs(so - 1.0), 0.0), axis=-1)
    if m <= n:
        W = U * keep[..., None, :]
        G = np.swapaxes(W, -1, -2) @ Oh @ np.swapaxes(Oh, -1, -2) @ W
    else:
        W = np.swapaxes(Vh, -1, -2) * keep[..., None, :]
        G = np.swapaxes(W, -1, -2) @ np.swapaxes(Oh, -1, -2) @ Oh @ W
    eye = np.eye(G.shape[-1]) * keep[..., None, :]
    orth_residual = np.linalg.norm(G - eye, ord=2, axis=(-2, -1))
    nuc = s.sum(axis=-1)
    inner = np.sum(Mh * Oh, axis=(-2, -1))
    alignment = np.where(nuc > 0, inner / np.where(nuc > 0, nuc, 1.0), 1.0)
    return PolarError(rel_fro, spectral, sigma_dev, orth_residual, alignment, r)
