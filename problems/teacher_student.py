r"""Teacher–student regression with a two-layer tanh network: the AdaGO "function regression" task, reconstructed."""

from __future__ import annotations

import math

import numpy as np

from adago_theory.norms import spectral_norm

from .base import ProblemConstants, check_conditioning, check_int, check_real, check_rng, make_problem, mT, sumsq
from .noise import gather_rows, minibatch_indices
from .spectra import matrix_with_spectrum, singular_values, spectrum as make_spectrum

__all__ = ["make_teacher_student", "TANH_CURVATURE"]

#: :math:`\sup|\tanh''| = 4/(3\sqrt3)`, at :math:`\tanh = 1/\sqrt3` (:math:`\tanh'' = -2\tanh(1-\tanh^2)`) [DERIVED].
TANH_CURVATURE = 4.0 / (3.0 * math.sqrt(3.0))


def _forward(P, W1, W2, Xin):
    """Xin: (N, d) shared or (R, b, d) per run -> hidden H (R, h, ·), prediction (R, k, ·)."""
    xp = P.xp
    H = xp.tanh(W1 @ mT(xp, Xin))
    return H, W2 @ H


def _value(P, Xs):
    W1, W2 = Xs
    d = P.data
    _, Pred = _forward(P, W1, W2, d["Xin"])
    E = Pred - mT(P.xp, d["Y"])
    return sumsq(P.xp, E) / (2.0 * P.info["N"])


def _grads(P, W1, W2, Xin, Yt, count):
    xp = P.xp
    H, Pred = _forward(P, W1, W2, Xin)
    E = Pred - Yt                                     # (R, k, N)
    G2 = E @ mT(xp, H) / count                        # (R, k, h)
    G1 = ((mT(xp, W2) @ E) * (1.0 - H * H)) @ Xin / count   # (R, h, d)
    return G1, G2


def _grad(P, Xs):
    d = P.data
    return _grads(P, Xs[0], Xs[1], d["Xin"], mT(P.xp, d["Y"]), P.info["N"])


def _sgrad(P, Xs, rng, b):
    xp, d = P.xp, P.data
    R = Xs[0].shape[0]
    idx = minibatch_indices(rng, P.info["N"], R, b, d["Xin"])
    Xb = gather_rows(xp, d["Xin"], idx, R, b)          # (R, b, d)
    Yb = gather_rows(xp, d["Y"], idx, R, b)            # (R, b, k)
    return _grads(P, Xs[0], Xs[1], Xb, mT(xp, Yb), b)


def _init(P, rng, runs):
    (h, din), (k, _) = P.shapes
    W1 = rng.standard_normal((runs, h, din)) / math.sqrt(din)
    W2 = rng.standard_normal((runs, k, h)) / math.sqrt(h)
    return W1, W2


def _region(P, Xs):
    return spectral_norm(Xs[1]) <= P.info["radius"]


def _curvature_bound(rho, h, s, r_max, r_bar):
    r"""λmax of the 2×2 majorant M(s) of the Hessian form in (‖D1‖, ‖D2‖) (see the docstring)."""
    c2 = TANH_CURVATURE
    m11 = rho ** 2 * s + rho * c2 * r_max * s
    m12 = rho * math.sqrt(s * h) + r_bar * math.sqrt(s)
    m22 = float(h)
    return float(np.linalg.eigvalsh(np.array([[m11, m12], [m12, m22]]))[-1])


def make_teacher_student(d=10, h=8, k=1, *, n_samples=512, hidden=None, kappa_1=10.0, kappa_2=1.0,
                         spectrum="geometric", label_noise=0.0, radius=None, batch_size=None,
                         rng=None, backend="numpy", dtype="float64", device=None):
    r"""Regression of a two-layer tanh teacher by a two-layer tanh student, teacher spectra prescribed.

    .. math::

        f(W_1, W_2) = \frac{1}{2N}\sum_{i=1}^N \big\|W_2\tanh(W_1x_i) - y_i\big\|^2,
        \qquad y_i = W_2^\star\tanh(W_1^\star x_i) + \epsilon_i,

    :math:`x_i\sim N(0, I_d)` (N fixed draws), :math:`W_1\in\mathbb R^{h_s\times d}`,
    :math:`W_2\in\mathbb R^{k\times h_s}`.  The teacher's :math:`W_1^\star` (:math:`h\times d`)
    and :math:`W_2^\star` (:math:`k\times h`) have Haar factors and spectra of condition
    numbers ``kappa_1``, ``kappa_2``, scaled to :math:`\|W_1^\star\|_F^2 = h` (unit
    rows on average, pre-activations of unit scale) and :math:`\|W_2^\star\|_F^2 = k`.

    **Provenance.** The AdaGO abstract reports experiments on "function regression"
    (``theory.md`` §1.4 [READ-PAPER]); the task itself was **not found**
    [UNVERIFIED]; this teacher–student regression is our reconstruction.

    **Smooth (on a region), nonconvex.** :math:`\tanh` is bounded with
    :math:`|\tanh'| \le 1`, :math:`|\tanh''| \le c_2 = 4/(3\sqrt3)`.  The Hessian grows with
    :math:`\|W_2\|` (the :math:`W_1`-block carries :math:`W_2^\top W_2`), so :math:`f` is not
    globally smooth; its constants are certified on
    :math:`\mathcal R_\rho = \{\|W_2\|_{op}\le\rho\}` (:math:`W_1` free; convex).
    Nonconvex: permuting hidden units maps minimizers to minimizers, and
    :math:`(W_1, W_2) = 0` is a critical point with :math:`f(0) > f^\star` when
    :math:`y \ne 0`.

    **Constants** [DERIVED].  For one sample, with :math:`a = \tanh(W_1x)`,
    :math:`u = D_1x`, :math:`r = W_2a - y`, the second derivative of
    :math:`\tfrac12\|r\|^2` along :math:`(D_1, D_2)` is
    :math:`\|D_2a + W_2(\tanh'\odot u)\|^2 + r^\top[2D_2(\tanh'\odot u) + W_2(\tanh''\odot u\odot u)]`.
    Averaging over samples (Minkowski and Cauchy–Schwarz over :math:`i`),
    :math:`\|a_i\|^2\le h_s`, :math:`\|r_i\| \le \rho\sqrt{h_s} + \|y_i\|`, and
    :math:`\frac1N\sum_i\|D_1x_i\|^2 \le s\,\|D_1\|^2` give
    :math:`|\partial^2 f[D,D]| \le [\alpha\;\beta]\,M(s)\,[\alpha\;\beta]^\top \le \lambda_{max}(M(s))\,(\alpha^2+\beta^2)`
    with :math:`\alpha = \|D_1\|`, :math:`\beta = \|D_2\|` and

    .. math::

        M(s) = \begin{pmatrix} \rho^2 s + \rho c_2 r_{max} s & \rho\sqrt{s h_s} + \bar r\sqrt s\\
        \rho\sqrt{s h_s} + \bar r\sqrt s & h_s\end{pmatrix},\quad
        r_{max} = \rho\sqrt{h_s} + \max_i\|y_i\|,\;
        \bar r^2 = \tfrac1N\textstyle\sum_i(\rho\sqrt{h_s} + \|y_i\|)^2 .

    * :math:`L_{fro} = \lambda_{max}(M(s_F))`, :math:`s_F = \lambda_{max}(\hat\Sigma)`,
      :math:`\hat\Sigma = \frac1N\sum_i x_ix_i^\top` (norms :math:`\|\cdot\|_F`);
    * :math:`L_{op} = \lambda_{max}(M(s_{op}))`,
      :math:`s_{op} = \min(\operatorname{tr}\hat\Sigma, \min(h_s, d)\lambda_{max}(\hat\Sigma))`
      (norms :math:`\|\cdot\|_{op}`; :math:`\frac1N\sum\|D_2a_i\|^2 \le \|D_2\|_{op}^2 h_s`);
    * :math:`\sigma^2 = \frac1N\sum_i(\rho\sqrt{h_s} + \|y_i\|)^2(h_s + \rho^2\|x_i\|^2)` —
      the second moment bound of the per-sample gradients
      (:math:`\|\nabla_{W_2}\| \le \|r_i\|\sqrt{h_s}`, :math:`\|\nabla_{W_1}\| \le \rho\|r_i\|\|x_i\|`),
      mini-batches drawn with replacement;
    * :math:`f^\star = 0` exactly when ``label_noise == 0`` and :math:`h_s \ge h` (the
      teacher, zero-padded, is a minimizer); None otherwise.  :math:`\mu` = None.

    Parameters
    ----------
    d, h, k : int
        Input dimension, teacher width, output dimension (all :math:`\ge 1`).
    n_samples : int
        :math:`N \ge 1`.
    hidden : int, optional
        Student width :math:`h_s \ge 1` (default :math:`h`).
    kappa_1, kappa_2 : float
        :math:`\kappa(W_1^\star)`, :math:`\kappa(W_2^\star) \ge 1` (1 when the matrix has one singular value).
    spectrum : {"geometric", "linear", "clustered"}
    label_noise : float
        Standard deviation of :math:`\epsilon_i`, :math:`\ge 0`.
    radius : float, optional
        :math:`\rho > 0` (default :math:`2\max(\|W_2^\star\|_{op}, 1 + \sqrt{k/h_s})`; the second
        term is the typical spectral norm of the :math:`N(0, 1/h_s)` initial :math:`W_2`).
    batch_size : int, optional
        Default mini-batch size (default :math:`\min(N, 32)`).
    rng, backend, dtype, device
        Draw order: :math:`W_1^\star`, :math:`W_2^\star`, inputs, label noise.

    Returns
    -------
    Problem
        ``shapes = ((h_s, d), (k, h_s))``; parameters are the tuple ``(W1, W2)``.
        ``data``: ``Xin`` (N × d), ``Y`` (N × k), ``W1_star``, ``W2_star``.
        Initial points: :math:`W_1 \sim N(0, 1/d)`, :math:`W_2 \sim N(0, 1/h_s)` entries (LeCun).

    Examples
    --------
    >>> P = make_teacher_student(6, 4, 1, n_samples=64, kappa_1=5.0, rng=0)
    >>> P.shapes, round(P.constants.kappa["W1"], 9), P.constants.f_star
    (((4, 6), (1, 4)), 5.0, 0.0)
    """
    din = check_int("d", d, lo=1)
    h = check_int("h", h, lo=1)
    k = check_int("k", k, lo=1)
    N = check_int("n_samples", n_samples, lo=1)
    hs = h if hidden is None else check_int("hidden", hidden, lo=1)
    kappa_1 = check_real("kappa_1", kappa_1, lo=1.0)
    kappa_2 = check_real("kappa_2", kappa_2, lo=1.0)
    if min(h, din) == 1 and kappa_1 != 1.0:
        raise ValueError(f"kappa_1 must be 1 when W1* has one singular value (min(h, d) = 1), got {kappa_1}")
    if min(k, h) == 1 and kappa_2 != 1.0:
        raise ValueError(f"kappa_2 must be 1 when W2* has one singular value (min(k, h) = 1), got {kappa_2}")
    label_noise = check_real("label_noise", label_noise, lo=0.0)
    b_default = min(N, 32) if batch_size is None else check_int("batch_size", batch_size, lo=1)
    conditioning = (("kappa_1", kappa_1), ("kappa_2", kappa_2))
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    s1 = make_spectrum(min(h, din), kappa_1, spectrum)
    s1 = s1 * math.sqrt(h / np.sum(s1 * s1))
    s2 = make_spectrum(min(k, h), kappa_2, spectrum)
    s2 = s2 * math.sqrt(k / np.sum(s2 * s2))
    W1s = matrix_with_spectrum(h, din, s1, rng=rng)
    W2s = matrix_with_spectrum(k, h, s2, rng=rng)
    Xin = rng.standard_normal((N, din))
    Y = np.tanh(Xin @ W1s.M.T) @ W2s.M.T
    if label_noise > 0:
        Y = Y + label_noise * rng.standard_normal((N, k))

    sv1, sv2 = singular_values(W1s.M, s1.size), singular_values(W2s.M, s2.size)   # realized spectra
    rho = (2.0 * max(float(sv2[0]), 1.0 + math.sqrt(k / hs)) if radius is None
           else check_real("radius", radius, lo=0.0, lo_open=True))
    Sigma = Xin.T @ Xin / N
    lam_max = float(np.linalg.eigvalsh(Sigma)[-1])
    s_F = lam_max
    s_op = min(float(np.trace(Sigma)), min(hs, din) * lam_max)
    ynorm = np.linalg.norm(Y, axis=1)
    r_i = rho * math.sqrt(hs) + ynorm
    r_max, r_bar = float(np.max(r_i)), float(math.sqrt(np.mean(r_i ** 2)))
    xnorm2 = np.sum(Xin * Xin, axis=1)
    sigma2 = float(np.mean(r_i ** 2 * (hs + rho ** 2 * xnorm2)))

    realizable = label_noise == 0.0 and hs >= h
    host = {"Xin": Xin, "Y": Y, "W1_star": W1s.M, "W2_star": W2s.M}
    keys = None
    if realizable:
        W1p = np.zeros((hs, din))
        W1p[:h] = W1s.M
        W2p = np.zeros((k, hs))
        W2p[:, :h] = W2s.M
        host.update(W1_opt=W1p, W2_opt=W2p)
        keys = ("W1_opt", "W2_opt")
    region = f"{{||W2||_op <= rho}}, rho = {rho:.6g} (problem.contains)"
    consts = ProblemConstants(
        L_fro=_curvature_bound(rho, hs, s_F, r_max, r_bar),
        L_op=_curvature_bound(rho, hs, s_op, r_max, r_bar),
        mu=None,
        sigma2=sigma2,
        f_star=0.0 if realizable else None,
        kappa={"W1": float(sv1[0] / sv1[-1]), "W2": float(sv2[0] / sv2[-1])},
        notes={
            "region": f"L_fro, L_op and sigma2 hold on {region}; W1 is unrestricted (tanh is bounded)",
            "L_fro": "certified on the region: lambda_max(M(s_F)), s_F = lambda_max(X^T X/N) [DERIVED]",
            "L_op": "certified on the region: lambda_max(M(s_op)), s_op = min(tr, min(h_s,d) lambda_max) "
                    "of X^T X/N [DERIVED]",
            "mu": "None: nonconvex (hidden-unit permutations; critical point at 0)",
            "sigma2": "certified on the region: (1/N) sum (rho sqrt(h_s) + ||y_i||)^2 (h_s + rho^2 ||x_i||^2), "
                      "second moment of the per-sample gradients; with-replacement mini-batches",
            "f_star": ("exact: 0, the zero-padded teacher interpolates" if realizable
                       else "unknown (label noise or a student narrower than the teacher)"),
            "kappa": "realized, numpy SVD of the teacher's W1*, W2*",
        },
    )
    info = {"N": N, "radius": rho, "label_noise": label_noise, "teacher_width": h, "spectrum": spectrum,
            "conditioning": conditioning}
    return make_problem("teacher_student", ((hs, din), (k, hs)), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=b_default, info=info, region_fn=_region, minimizer_keys=keys)
