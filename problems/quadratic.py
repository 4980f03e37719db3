r"""An ill-conditioned quadratic in matrix form with a bulk + outlier eigenvalue mixture, after DeepOBS ``quadratic_deep``."""

from __future__ import annotations

import math

import numpy as np

from adago_theory.orthogonalize import orthogonalize

from .base import ProblemConstants, check_conditioning, check_int, check_real, check_rng, make_problem
from .noise import gather_rows, minibatch_indices
from .spectra import haar_orthogonal

__all__ = ["make_ill_conditioned_quadratic"]


def _flat(xp, X):
    return xp.reshape(X, (X.shape[0], X.shape[1] * X.shape[2]))


def _value(P, Xs):
    xp, d = P.xp, P.data
    Dx = _flat(xp, Xs[0]) - d["xi_bar"]
    return 0.5 * xp.sum((Dx @ d["Q"]) * Dx, axis=-1) + P.info["c"]


def _grad(P, Xs):
    xp, d = P.xp, P.data
    X = Xs[0]
    G = (_flat(xp, X) - d["xi_bar"]) @ d["Q"]
    return (xp.reshape(G, X.shape),)


def _sgrad(P, Xs, rng, b):
    xp, d = P.xp, P.data
    X = Xs[0]
    R = X.shape[0]
    idx = minibatch_indices(rng, P.info["N"], R, b, d["Xi"])
    xb = xp.mean(gather_rows(xp, d["Xi"], idx, R, b), axis=1)      # (R, mn)
    G = (_flat(xp, X) - xb) @ d["Q"]
    return (xp.reshape(G, X.shape),)


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (rng.standard_normal((runs, m, n)),)


def _L_op_lower(Q, m, n, iters=200):
    r"""A lower bound on :math:`\sup_{\|D\|_{op}\le1} \mathrm{vec}(D)^\top Q\,\mathrm{vec}(D)`: ascent
    :math:`D \leftarrow \mathrm{Orth}(\mathrm{mat}(Q\,\mathrm{vec}D))` from the top eigenvector (monotone for a
    convex form, since :math:`\mathrm{Orth}(G)` maximizes the linearization on the spectral ball)."""
    w, V = np.linalg.eigh(Q)
    D = orthogonalize(V[:, -1].reshape(m, n), "svd")
    best = -np.inf
    for _ in range(iters):
        v = D.reshape(-1)
        val = float(v @ Q @ v)
        if val <= best * (1.0 + 1e-13):
            break
        best = val
        D = orthogonalize((Q @ v).reshape(m, n), "svd")
    return best


def make_ill_conditioned_quadratic(m=10, n=10, *, kappa=1e4, L=1.0, outlier_fraction=0.1, bulk_ratio=60.0,
                                   n_samples=1000, noise_level=0.6, sigma2=None, batch_size=None,
                                   rng=None, backend="numpy", dtype="float64", device=None):
    r"""An ill-conditioned quadratic on :math:`m\times n` matrices, noise from mini-batching a finite data set.

    .. math::

        f(X) = \frac1N\sum_{i=1}^N \tfrac12\,(x - \xi_i)^\top Q\,(x - \xi_i)
             = \tfrac12 (x - \bar\xi)^\top Q (x - \bar\xi) + c,\qquad x = \mathrm{vec}(X),

    after DeepOBS ``quadratic_deep`` (``toolkits.md`` §4 [CODE]): there
    :math:`Q = R^\top\operatorname{diag}(\lambda)R` on :math:`\mathbb R^{100}`, 90 % of the
    :math:`\lambda` in U(0, 1), 10 % in U(30, 60) ("the deep-learning eigenspectrum"),
    :math:`R` Haar, and :math:`\xi_i\sim N(0, 0.6^2 I)`, 1000 fixed draws.  Here the
    parameter is a matrix (:math:`d = mn`, default 10 × 10 = DeepOBS's 100), and to
    realize the conditioning **exactly**:

    * outliers (``round(outlier_fraction*d)``) U(L/2, L) (DeepOBS 30..60 with L = 60),
      bulk U(:math:`\lambda_{min}`, :math:`\min(L, \lambda_{min} + L/\text{bulk\_ratio})`)
      (DeepOBS U(0, 1) = U(0, 60/60) shifted by :math:`\lambda_{min} = L/\kappa`),
      then the smallest eigenvalue is set to :math:`L/\kappa` and the largest to :math:`L`;
    * :math:`Q = R\operatorname{diag}(\lambda)R^\top`, :math:`R` Haar on :math:`O(d)` — a
      generic (not Kronecker-structured) Hessian;
    * the deviations :math:`\xi_i - \bar\xi` are rescaled when ``sigma2`` is given so
      that the realized noise level is exactly ``sigma2``.

    **Smooth, strongly convex**, constant Hessian :math:`Q`.

    **Constants:**

    * :math:`L_{fro} = L`, :math:`\mu = L/\kappa` (exact; ``kappa["H"]`` is the realized
      ratio from ``eigvalsh``);
    * :math:`L_{op} = \min(m, n)\,L` — certified upper bound
      (:math:`\|D\|_F^2 \le \min(m,n)\|D\|_{op}^2`); for a generic :math:`Q` the exact
      value is a nonconvex maximization, so ``info["L_op_lower"]`` reports a lower
      bound from Orth-ascent on the spectral ball;
    * :math:`\sigma^2 = \frac1N\sum_i\|Q(\xi_i - \bar\xi)\|^2` — **exact** and
      :math:`X`-independent: a with-replacement batch mean gives
      :math:`g - \nabla f = Q(\bar\xi - \bar\xi_b)`, :math:`E\|g-\nabla f\|^2 = \sigma^2/b`;
    * :math:`f^\star = c = \frac1{2N}\sum_i(\xi_i-\bar\xi)^\top Q(\xi_i-\bar\xi)` (exact), at
      :math:`X^\star = \mathrm{mat}(\bar\xi)`.

    Parameters
    ----------
    m, n : int
        Shape of :math:`X` (:math:`mn \ge 2` when :math:`\kappa > 1`).
    kappa : float
        :math:`\kappa(Q) \ge 1`.
    L : float
        :math:`\lambda_{max}(Q) > 0`.
    outlier_fraction : float
        In :math:`[0, 1]`.
    bulk_ratio : float
        :math:`\ge 1`: :math:`L` over the width of the bulk band (DeepOBS: 60).
    n_samples : int
        :math:`N \ge 1` data points (DeepOBS: 1000).
    noise_level : float
        Standard deviation of the :math:`\xi_i` entries, :math:`\ge 0` (DeepOBS: 0.6).
    sigma2 : float, optional
        If given (:math:`\ge 0`), the realized :math:`\sigma^2`; overrides the scale of ``noise_level``.
    batch_size : int, optional
        Default mini-batch size (default :math:`\min(N, 128)`, DeepOBS's 128).
    rng, backend, dtype, device
        Draw order: eigenvalues (bulk, outliers), :math:`R`, :math:`\xi`.

    Returns
    -------
    Problem
        ``data``: ``Q`` (:math:`d\times d`), ``Xi`` (:math:`N\times d`), ``xi_bar``, ``X_star``.
        Initial points: iid N(0, 1) entries.

    Examples
    --------
    >>> P = make_ill_conditioned_quadratic(4, 3, kappa=100.0, sigma2=2.0, rng=0)
    >>> round(P.constants.kappa["H"], 8), round(P.constants.sigma2, 12)
    (100.0, 2.0)
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    d = m * n
    kappa = check_real("kappa", kappa, lo=1.0)
    L = check_real("L", L, lo=0.0, lo_open=True)
    outlier_fraction = check_real("outlier_fraction", outlier_fraction, lo=0.0, hi=1.0)
    bulk_ratio = check_real("bulk_ratio", bulk_ratio, lo=1.0)
    N = check_int("n_samples", n_samples, lo=1)
    noise_level = check_real("noise_level", noise_level, lo=0.0)
    if sigma2 is not None:
        sigma2 = check_real("sigma2", sigma2, lo=0.0)
    b_default = min(N, 128) if batch_size is None else check_int("batch_size", batch_size, lo=1)
    if d == 1 and kappa != 1.0:
        raise ValueError(f"kappa must be 1 for a 1 x 1 parameter (one eigenvalue), got {kappa}")
    conditioning = (("kappa", kappa),)
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    lam_min = L / kappa
    n_out = int(round(outlier_fraction * d))
    bulk = rng.uniform(lam_min, min(L, lam_min + L / bulk_ratio), size=d - n_out)
    out = rng.uniform(max(L / 2.0, lam_min), L, size=n_out)
    lam = np.concatenate([bulk, out])
    lam[np.argmin(lam)] = lam_min
    lam[np.argmax(lam)] = L
    Rm = haar_orthogonal(d, rng=rng)
    Q = (Rm * lam) @ Rm.T
    Q = 0.5 * (Q + Q.T)
    Xi = noise_level * rng.standard_normal((N, d))
    xi_bar = Xi.mean(axis=0)
    Dev = Xi - xi_bar
    s2 = float(np.mean(np.sum((Dev @ Q) ** 2, axis=1)))
    if sigma2 is not None:
        if sigma2 > 0 and s2 == 0.0:
            raise ValueError("sigma2 > 0 needs noise_level > 0 and n_samples >= 2 (the data have no spread)")
        Dev = Dev * (math.sqrt(sigma2 / s2) if s2 > 0 else 0.0)
        Xi = xi_bar + Dev
        s2 = float(np.mean(np.sum((Dev @ Q) ** 2, axis=1)))
    c = float(0.5 * np.mean(np.sum((Dev @ Q) * Dev, axis=1)))
    ev = np.linalg.eigvalsh(Q)
    L_op_lower = _L_op_lower(Q, m, n)

    consts = ProblemConstants(
        L_fro=float(ev[-1]),
        L_op=float(min(m, n) * ev[-1]),
        mu=float(ev[0]),
        sigma2=s2,
        f_star=c,
        kappa={"H": float(ev[-1] / ev[0])},
        notes={
            "L_fro": "exact: lambda_max of the built Q (numpy eigvalsh; = L up to rounding)",
            "L_op": f"certified upper bound min(m,n) L (||D||_F^2 <= min(m,n)||D||_op^2); "
                    f"a lower bound from Orth-ascent is {L_op_lower:.6g} (info['L_op_lower'])",
            "mu": "exact: lambda_min of the built Q (numpy eigvalsh; = L/kappa up to rounding)",
            "sigma2": "exact: (1/N) sum ||Q(xi_i - xi_bar)||^2, X-independent; with-replacement mini-batches",
            "f_star": "exact: (1/2N) sum (xi_i - xi_bar)^T Q (xi_i - xi_bar) at X* = mat(xi_bar)",
            "kappa": "realized lambda_max/lambda_min of the built Q (numpy eigvalsh)",
        },
    )
    host = {"Q": Q, "Xi": Xi, "xi_bar": xi_bar, "X_star": xi_bar.reshape(m, n)}
    info = {"N": N, "c": c, "eigenvalues": np.sort(lam), "n_outliers": n_out, "L_op_lower": L_op_lower,
            "conditioning": conditioning}
    return make_problem("ill_conditioned_quadratic", ((m, n),), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=b_default, info=info, minimizer_keys=("X_star",))
