r"""Low-rank matrix completion :math:`f(X,Y) = \|(XY^\top - M^\star)_\Omega\|_F^2/|\Omega|` (PolarGrad §6.3)."""

from __future__ import annotations

import math

import numpy as np

from adago_theory.norms import spectral_norm

from .base import ProblemConstants, check_conditioning, check_int, check_real, check_rng, make_problem, mT, sumsq
from .noise import additive_noise, make_noise
from .spectra import matrix_with_spectrum, singular_values, spectrum as make_spectrum

__all__ = ["make_matrix_completion"]


def _masked_residual(P, X, Y):
    d = P.data
    return d["mask"] * (X @ mT(P.xp, Y) - d["M"])


def _value(P, Xs):
    E = _masked_residual(P, *Xs)
    return sumsq(P.xp, E) / P.info["n_obs"]


def _grad(P, Xs):
    X, Y = Xs
    E = _masked_residual(P, X, Y)
    c = 2.0 / P.info["n_obs"]
    return (c * (E @ Y), c * (mT(P.xp, E) @ X))


def _sgrad(P, Xs, rng, b):
    G = _grad(P, Xs)
    xi = additive_noise(P.info["noise"], rng, G, b)
    return G if xi is None else tuple(g + z for g, z in zip(G, xi))


def _init(P, rng, runs):
    (m, k), (n, _) = P.shapes
    return (rng.uniform(-1.0, 1.0, size=(runs, m, k)), rng.uniform(-1.0, 1.0, size=(runs, n, k)))


def _region(P, Xs):
    rho = P.info["radius"]
    return (spectral_norm(Xs[0]) <= rho) & (spectral_norm(Xs[1]) <= rho)


def make_matrix_completion(m=50, n=30, rank=3, *, kappa=1.0, observed_fraction=0.3, factor_rank=None,
                           spectrum="geometric", radius=None, sigma2=0.0, noise="gaussian", nu=5.0,
                           rng=None, backend="numpy", dtype="float64", device=None):
    r"""Low-rank matrix completion in factored form with a prescribed rank, :math:`\kappa(M^\star)` and observed fraction.

    .. math::

        f(X, Y) = \frac{1}{|\Omega|}\,\big\|\mathcal P_\Omega(XY^\top - M^\star)\big\|_F^2,
        \qquad X\in\mathbb R^{m\times k},\; Y\in\mathbb R^{n\times k},

    the masked loss of PolarGrad's ``low_rank_mat_comp.py`` (``theory.md`` §3.4
    [READ-CODE]; the unmasked variant of the older code is not reproduced).
    :math:`M^\star = U\operatorname{diag}(s)V^\top` has rank ``rank``, Haar factors and
    a spectrum of condition number ``kappa``, scaled so that
    :math:`\|M^\star\|_F^2 = mn` (entries of RMS 1).  :math:`\Omega` holds exactly
    ``round(observed_fraction*m*n)`` entries drawn uniformly without replacement
    (PolarGrad draws a Bernoulli mask; an exact count realizes the fraction to
    :math:`1/(2mn)`).

    **Smooth on bounded sets, nonconvex.** :math:`f` is a quartic polynomial, so it
    is not globally :math:`L`-smooth; :math:`\nabla_X f = \tfrac{2}{|\Omega|}EY`,
    :math:`\nabla_Y f = \tfrac{2}{|\Omega|}E^\top X` with
    :math:`E = \mathcal P_\Omega(XY^\top - M^\star)`, and the Hessian quadratic form
    along :math:`D = (D_X, D_Y)` is
    :math:`\tfrac{2}{|\Omega|}\big[\|\mathcal P_\Omega(D_XY^\top + XD_Y^\top)\|_F^2 + 2\langle E, D_XD_Y^\top\rangle\big]`.
    At :math:`(0, 0)` it is :math:`-\tfrac{4}{|\Omega|}\langle \mathcal P_\Omega M^\star, D_XD_Y^\top\rangle`,
    indefinite: a strict saddle, so :math:`f` is nonconvex.

    **Constants, certified on the region** :math:`\mathcal B_\rho = \{\|X\|_{op}\le\rho,\;\|Y\|_{op}\le\rho\}`
    (convex, so the descent inequality holds between any two of its points;
    ``problem.contains(X)`` tells whether a point is inside) [DERIVED]:
    with :math:`e_F = \sqrt k\,\rho^2 + \|\mathcal P_\Omega M^\star\|_F \ge \|E\|_F`,

    * :math:`L_{fro} = \tfrac{2}{|\Omega|}(2\rho^2 + e_F)` — from
      :math:`\|D_XY^\top + XD_Y^\top\|_F^2 \le 2\rho^2\|D\|_F^2` and
      :math:`|2\langle E, D_XD_Y^\top\rangle| \le \|E\|_{op}\|D\|_F^2`;
    * :math:`L_{op} = \tfrac{2}{|\Omega|}\big(2k\rho^2 + \min(k, \sqrt{\min(m,n)})\,e_F\big)` — from
      :math:`\|D_XY^\top + XD_Y^\top\|_F^2 \le 2k\rho^2\|D\|_{op}^2` (:math:`\|Y\|_F\le\sqrt k\rho`) and
      :math:`|2\langle E, D_XD_Y^\top\rangle| \le \|E\|_*\|D\|_{op}^2` or
      :math:`\le k\,\|E\|_{op}\|D\|_{op}^2`, with
      :math:`\|D\|_{op}^2 = \|D_X\|_{op}^2 + \|D_Y\|_{op}^2`;
    * :math:`f^\star = 0` (exact), attained at :math:`X^\star = U S^{1/2}`,
      :math:`Y^\star = V S^{1/2}` (zero-padded to :math:`k` columns); :math:`\mu` = None;
    * :math:`\sigma^2` = ``sigma2`` exactly (additive noise; the paper's problem is
      deterministic, ``sigma2=0``).

    Parameters
    ----------
    m, n : int
        Shape of :math:`M^\star`.
    rank : int
        :math:`1 \le r \le \min(m, n)`.
    kappa : float
        :math:`\kappa(M^\star) = s_1/s_r \ge 1` (:math:`r = 1` needs 1).
    observed_fraction : float
        In :math:`(0, 1]`; at least one entry must be observed.
    factor_rank : int, optional
        :math:`k \ge r` columns of :math:`X, Y` (default :math:`r`).
    spectrum : {"geometric", "linear", "clustered"}
    radius : float, optional
        :math:`\rho > 0` of the region (default
        :math:`2\max(\sqrt{s_1}, (\sqrt{\max(m,n)}+\sqrt k)/\sqrt3)`: twice the larger of the
        balanced minimizer's spectral norm and the typical spectral norm of a
        Uniform(−1, 1) initial point).
    sigma2, noise, nu
        Additive noise (``problems.noise``).
    rng, backend, dtype, device
        Draw order: :math:`U`, :math:`V`, :math:`\Omega`.

    Returns
    -------
    Problem
        ``shapes = ((m, k), (n, k))``; X is a tuple ``(X, Y)``.  ``data``: ``M``,
        ``mask`` (0/1), ``X_star``, ``Y_star``.  Initial points: iid Uniform(−1, 1)
        (PolarGrad [READ-CODE]).

    Examples
    --------
    >>> P = make_matrix_completion(20, 15, 2, kappa=5.0, observed_fraction=0.5, rng=0)
    >>> P.shapes, round(P.constants.kappa["M"], 9), P.constants.f_star
    (((20, 2), (15, 2)), 5.0, 0.0)
    """
    m = check_int("m", m, lo=1)
    n = check_int("n", n, lo=1)
    rank = check_int("rank", rank, lo=1, hi=min(m, n))
    kappa = check_real("kappa", kappa, lo=1.0)
    observed_fraction = check_real("observed_fraction", observed_fraction, lo=0.0, hi=1.0, lo_open=True)
    k = rank if factor_rank is None else check_int("factor_rank", factor_rank, lo=rank)
    n_obs = int(round(observed_fraction * m * n))
    if n_obs < 1:
        raise ValueError(f"observed_fraction must be in (0, 1] and observe at least one of the {m * n} entries, "
                         f"got {observed_fraction}")
    if rank == 1 and kappa != 1.0:
        raise ValueError(f"kappa must be 1 for rank=1, got {kappa}")
    nm = make_noise(noise, sigma2, nu)
    conditioning = (("kappa", kappa),)
    check_conditioning(conditioning, dtype, backend)
    rng = check_rng(rng)

    s = make_spectrum(rank, kappa, spectrum)
    s = s * math.sqrt(m * n / np.sum(s * s))
    SM = matrix_with_spectrum(m, n, s, rng=rng)
    mask = np.zeros(m * n)
    mask[rng.choice(m * n, size=n_obs, replace=False)] = 1.0
    mask = mask.reshape(m, n)
    s_real = singular_values(SM.M, rank)                     # realized spectrum of the built M*
    X_star = np.zeros((m, k))
    Y_star = np.zeros((n, k))
    X_star[:, :rank] = SM.U * np.sqrt(s)
    Y_star[:, :rank] = SM.V * np.sqrt(s)

    if radius is None:
        rho = 2.0 * max(math.sqrt(s_real[0]), (math.sqrt(max(m, n)) + math.sqrt(k)) / math.sqrt(3.0))
    else:
        rho = check_real("radius", radius, lo=0.0, lo_open=True)
    F_obs = float(np.linalg.norm(mask * SM.M))
    e_F = math.sqrt(k) * rho ** 2 + F_obs
    c = 2.0 / n_obs
    consts = ProblemConstants(
        L_fro=c * (2.0 * rho ** 2 + e_F),
        L_op=c * (2.0 * k * rho ** 2 + min(k, math.sqrt(min(m, n))) * e_F),
        mu=None,
        sigma2=nm.sigma2,
        f_star=0.0,
        kappa={"M": float(s_real[0] / s_real[-1])},
        notes={
            "region": f"L_fro and L_op hold on {{||X||_op <= rho, ||Y||_op <= rho}}, rho = {rho:.6g} "
                      "(problem.contains); f is quartic, not globally smooth",
            "L_fro": "certified on the region: (2/|Omega|)(2 rho^2 + e_F), e_F = sqrt(k) rho^2 + ||P_Omega M*||_F "
                     ">= ||E||_F [DERIVED]",
            "L_op": "certified on the region: (2/|Omega|)(2 k rho^2 + min(k, sqrt(min(m,n))) e_F) [DERIVED]",
            "mu": "None: nonconvex (strict saddle at (0, 0))",
            "sigma2": f"exact: additive {nm.kind} noise with E||xi||_F^2 = sigma2/b (0: deterministic)",
            "f_star": "exact: 0, attained at the balanced factors of M* (factor_rank >= rank)",
            "kappa": "realized s_1/s_r of the built M*, numpy SVD",
        },
    )
    host = {"M": SM.M, "mask": mask, "X_star": X_star, "Y_star": Y_star}
    info = {"noise": nm, "n_obs": n_obs, "observed_fraction": n_obs / (m * n), "radius": rho, "rank": rank,
            "spectrum": spectrum, "conditioning": conditioning}
    return make_problem("matrix_completion", ((m, k), (n, k)), host, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=1, info=info, region_fn=_region, minimizer_keys=("X_star", "Y_star"))
