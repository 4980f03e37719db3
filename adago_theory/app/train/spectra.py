r"""Conditioning of real gradient and momentum matrices, and the orthogonalizers' error on them.

For a matrix :math:`A` with singular values :math:`\sigma_1 \ge \dots \ge \sigma_r > 0` (float64 SVD
on the host; :math:`r` the numerical rank at the *training* precision, singular values below
:math:`\max(m, n)\,\epsilon_{\text{dtype}}\,\sigma_1` being rounding noise of the training dtype —
real gradients are rank-deficient: the output layer's gradient has rank at most 9 for 10 classes,
since softmax cross-entropy gradients sum to zero over the classes, and constant input pixels give
zero columns in the first layer's):

* condition number :math:`\kappa = \sigma_1/\sigma_r` (``inf`` when :math:`\sigma_r = 0`);
* effective rank :math:`\exp H(p)`, :math:`p_i = \sigma_i / \sum_j \sigma_j` (Roy & Vetterli, 2007);
* spectral-decay exponent :math:`\rho`: the least-squares slope of
  :math:`\log\sigma_i = c - \rho\log i` over :math:`i = 1..r` (the toolkit's power-law spectra
  :math:`\sigma_i \propto i^{-\rho}` have exactly this form);
* the error of Newton–Schulz (Jordan's 5 steps) and of Polar Express (8 steps), each run in the
  training dtype, as :func:`adago_theory.polar_error`'s ``rel_fro``;
* the *synthetic prediction* of those errors: the same measurement on
  :math:`U\,\mathrm{diag}(\sigma)\,V^\top` with Haar-random :math:`U, V` (the toolkit's synthetic
  construction for a given spectrum).  Newton–Schulz is a matrix function of the singular values
  (:math:`O = U p(\Sigma/\|A\|_F) V^\top`), so in exact arithmetic both numbers are equal; a
  difference measures rounding in the training dtype, or a property of the real matrices that the
  spectrum does not carry.  Both are measured on the rank-:math:`r` truncation
  :math:`U_r\Sigma_rV_r^\top` of :math:`A` (cast to the training dtype), so that rounding-noise
  directions do not count as directions to orthogonalize.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spectrum_stats", "haar", "METHODS"]

#: Orthogonalizers measured on the real matrices: name -> (method, options).
METHODS = {
    "ns": ("newton-schulz", {"coeffs": "jordan"}),
    "pe": ("newton-schulz", {"coeffs": "polar-express"}),
}


def haar(rng, m, k):
    """An ``(m, k)`` matrix with orthonormal columns, Haar-distributed (QR of a Gaussian, sign-fixed)."""
    Q, R = np.linalg.qr(rng.standard_normal((m, k)))
    return Q * np.sign(np.diag(R))


def _stats_of(sv):
    r = sv.size
    kappa = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
    p = sv / sv.sum() if sv.sum() > 0 else np.full(r, 1.0 / r)
    pz = p[p > 0]
    erank = float(np.exp(-(pz * np.log(pz)).sum()))
    pos = sv > 0
    i = np.arange(1, r + 1)[pos]
    rho = float(-np.polyfit(np.log(i), np.log(sv[pos]), 1)[0]) if pos.sum() >= 2 else float("nan")
    return kappa, erank, rho


def spectrum_stats(A, *, rng, dtype=None):
    """Statistics and orthogonalization errors of a batch of torch matrices ``A (S, m, n)``.

    Returns
    -------
    dict of lists
        ``rank``, ``kappa``, ``erank``, ``decay``, ``sv`` (the r singular values, descending), and for each
        method ``k`` in :data:`METHODS`: ``err_k`` (measured on ``A``) and ``syn_k`` (on the
        synthetic matrix of the same spectrum); one entry per matrix of the batch.
    """
    from ...backend import to_numpy
    from ...orthogonalize import orthogonalize
    from ...polar_error import polar_error

    import torch

    A64 = np.asarray(to_numpy(A), dtype=np.float64)
    S, m, n = A64.shape
    dtype = A.dtype if dtype is None else dtype
    eps = float(torch.finfo(dtype).eps)
    U, sv, Vh = np.linalg.svd(A64, full_matrices=False)
    out = {"rank": [], "kappa": [], "erank": [], "decay": [], "sv": []}
    for k in METHODS:
        out[f"err_{k}"] = []
        out[f"syn_{k}"] = []
    for s in range(S):
        r = int((sv[s] > max(m, n) * eps * sv[s, 0]).sum()) if sv[s, 0] > 0 else 0
        if r == 0:
            for key in out:
                out[key].append([] if key == "sv" else float("nan"))
            continue
        sr = sv[s, :r]
        real = (U[s, :, :r] * sr) @ Vh[s, :r]
        syn = (haar(rng, m, r) * sr) @ haar(rng, n, r).T
        for k, (method, opts) in METHODS.items():
            for key, M in ((f"err_{k}", real), (f"syn_{k}", syn)):
                O = orthogonalize(torch.as_tensor(M).to(dtype), method, **opts)
                out[key].append(float(polar_error(M, to_numpy(O).astype(np.float64)).rel_fro))
        kappa, erank, rho = _stats_of(sr)
        out["rank"].append(float(r))
        out["kappa"].append(kappa)
        out["erank"].append(erank)
        out["decay"].append(rho)
        out["sv"].append(sr.tolist())
    return out
