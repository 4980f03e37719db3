r"""A noise-dominated hard instance on which the stochastic :math:`T^{-1/4}` rate is tight (see :func:`make_noise_dominated`)."""

from __future__ import annotations

import math

import numpy as np

from array_api_compat import device as array_device

from adago_theory.backend import backend_name

from .base import ProblemConstants, check_int, check_real, check_rng, make_problem
from .noise import draw

__all__ = ["make_noise_dominated", "CHAIN_CONSTANTS", "chain_psi", "chain_phi", "chain_design", "delta_bar"]

_SQRT_E = math.sqrt(math.e)
_PHI_MAX = math.sqrt(2.0 * math.pi * math.e)
_U_STAR = (9.0 + math.sqrt(33.0)) / 4.0

#: Sup bounds of the chain's building blocks and the derived constants (see :func:`make_noise_dominated`).
CHAIN_CONSTANTS = {
    "psi_max": math.e,
    "psi1_max": math.sqrt(54.0 / math.e),
    "psi2_max": math.exp(1.0 - _U_STAR) * (16.0 * _U_STAR ** 3 - 24.0 * _U_STAR ** 2),
    "phi_max": _PHI_MAX,
    "phi1_max": _SQRT_E,
    "phi2_max": 1.0,
}
CHAIN_CONSTANTS["gamma_inf"] = (CHAIN_CONSTANTS["psi_max"] * CHAIN_CONSTANTS["phi1_max"]
                                + CHAIN_CONSTANTS["psi1_max"] * CHAIN_CONSTANTS["phi_max"])
CHAIN_CONSTANTS["ell1"] = (CHAIN_CONSTANTS["psi_max"] * CHAIN_CONSTANTS["phi2_max"]
                           + CHAIN_CONSTANTS["psi2_max"] * CHAIN_CONSTANTS["phi_max"]
                           + 2.0 * CHAIN_CONSTANTS["psi1_max"] * CHAIN_CONSTANTS["phi1_max"])


def delta_bar(K):
    r""":math:`\bar F_K(0) - \inf\bar F_K \le \sqrt{2\pi e}\,(e(K-1) + 1/2)`."""
    return _PHI_MAX * (math.e * (K - 1) + 0.5)


# ---------------------------------------------------------------------------
# backend pieces
# ---------------------------------------------------------------------------


def _erfc(x):
    name = backend_name(x)
    if name == "numpy":
        from scipy.special import erfc

        return erfc(x).astype(x.dtype, copy=False)   # scipy computes float16 in float64
    if name == "torch":
        import torch

        return torch.special.erfc(x)
    import cupyx.scipy.special

    return cupyx.scipy.special.erfc(x)


def chain_psi(xp, x):
    """(Psi, Psi') elementwise; exact zero where Psi underflows (2x-1 <= 0.03)."""
    t = 2.0 * x - 1.0
    pos = t > 0.03
    ts = xp.where(pos, t, xp.ones_like(t))
    e = xp.exp(1.0 - 1.0 / (ts * ts))
    zero = xp.zeros_like(t)
    return xp.where(pos, e, zero), xp.where(pos, 4.0 * e / (ts * ts * ts), zero)


def chain_phi(xp, x):
    """(Phi, Phi') elementwise."""
    return 0.5 * _PHI_MAX * _erfc(-x / math.sqrt(2.0)), _SQRT_E * xp.exp(-0.5 * x * x)


def _chain(P, X):
    """u = X[:, 0, :K]/lambda and u_prev = (1, u_1..u_{K-1})."""
    xp = P.xp
    K, lam = P.info["K"], P.info["lam"]
    u = X[:, 0, :K] / lam
    prev = xp.concat([xp.ones_like(u[:, :1]), u[:, :-1]], axis=-1)
    return u, prev


def _value(P, Xs):
    xp = P.xp
    u, prev = _chain(P, Xs[0])
    psp, _ = chain_psi(xp, prev)
    psm, _ = chain_psi(xp, -prev)
    php, _ = chain_phi(xp, u)
    phm, _ = chain_phi(xp, -u)
    return P.info["scale_f"] * xp.sum(psm * phm - psp * php, axis=-1)


def _grad_row(P, X):
    xp = P.xp
    u, prev = _chain(P, X)
    psp, _ = chain_psi(xp, prev)
    psm, _ = chain_psi(xp, -prev)
    _, d_php = chain_phi(xp, u)
    _, d_phm = chain_phi(xp, -u)
    a = psm * d_phm + psp * d_php
    _, d_psp = chain_psi(xp, u[:, :-1])
    _, d_psm = chain_psi(xp, -u[:, :-1])
    php, _ = chain_phi(xp, u[:, 1:])
    phm, _ = chain_phi(xp, -u[:, 1:])
    bb = xp.concat([d_psm * phm + d_psp * php, xp.zeros_like(u[:, :1])], axis=-1)
    return -P.info["scale_g"] * (a + bb), u


def _embed(P, row, X):
    xp = P.xp
    R, m, n = X.shape
    K = row.shape[-1]
    zeros = xp.zeros_like(X)
    full_row = xp.concat([row, zeros[:, 0, K:]], axis=-1)
    return xp.concat([full_row[:, None, :], zeros[:, 1:, :]], axis=1)


def _grad(P, Xs):
    row, _ = _grad_row(P, Xs[0])
    return (_embed(P, row, Xs[0]),)


def _sgrad(P, Xs, rng, b):
    xp = P.xp
    X = Xs[0]
    row, u = _grad_row(P, X)
    R, K = u.shape
    p = P.info["p"]
    j = xp.arange(1, K + 1, dtype=X.dtype, device=array_device(X))
    prog = xp.max(xp.where(xp.abs(u) > 0.25, j, xp.zeros_like(u)), axis=-1)
    zbar = xp.astype(draw(rng, "binomial", X, b, p, size=(R,)), X.dtype) / b
    mult = 1.0 + xp.where(j > prog[:, None], zbar[:, None] / p - 1.0, xp.zeros_like(u))
    return (_embed(P, row * mult, X),)


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (np.zeros((runs, m, n)),)


def chain_design(T, sigma2, L, Delta):
    """(K, p, eps): the largest gradient floor eps compatible with Delta, sigma2 and pT <= K/2."""
    g, l1 = CHAIN_CONSTANTS["gamma_inf"], CHAIN_CONSTANTS["ell1"]

    def K_max(eps):
        return math.floor((Delta * L / (l1 * eps * eps * _PHI_MAX) - 0.5) / math.e + 1.0)

    def feasible(eps):
        p_min = 1.0 / (1.0 + sigma2 / (eps * g) ** 2)
        return K_max(eps) >= 1 and 2.0 * T * p_min <= K_max(eps)

    hi = math.sqrt(2.0 * Delta * L / (l1 * _PHI_MAX))      # K_max(hi) = 1
    lo = hi
    while not feasible(lo):
        lo *= 0.5
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if feasible(mid) else (lo, mid)
    K = K_max(lo)
    p = min(1.0, K / (2.0 * T))
    eps = math.sqrt(Delta * L / (l1 * delta_bar(K)))
    if p < 1.0:
        eps = min(eps, math.sqrt(sigma2 * p / (1.0 - p)) / g)
    return K, p, eps * (1.0 - 1e-12)   # keep the realized budgets <= the requested ones despite rounding


def make_noise_dominated(T=10_000, *, sigma2=1.0, L=1.0, Delta=1.0, m=4, n=None,
                         rng=None, backend="numpy", dtype="float64", device=None):
    r"""The probability-:math:`p` zero-chain instance sized to a horizon of ``T`` oracle calls.

    The construction is the probability-:math:`p` zero-chain of Arjevani, Carmon, Duchi,
    Foster, Srebro & Woodworth, "Lower bounds for non-convex stochastic optimization"
    (Math. Program. 2023, arXiv:1912.02365) [SEC: construction and argument as
    summarized there and recalled here; their paper was not re-read], built on the
    chain function of Carmon, Duchi, Hinder & Sidford, "Lower bounds for finding
    stationary points I" (Math. Program. 2020, arXiv:1710.11606) [SEC].  Every constant
    below is re-derived on this page [DERIVED] and checked numerically in
    ``tests/test_problems_noise_dominated.py``.

    **The chain.** With :math:`\Psi(x) = 0` for :math:`x \le 1/2`,
    :math:`\Psi(x) = \exp(1 - (2x-1)^{-2})` for :math:`x > 1/2`, and
    :math:`\Phi(x) = \sqrt e\int_{-\infty}^x e^{-t^2/2}dt`,

    .. math::

        \bar F_K(u) = \sum_{i=1}^K \big[\Psi(-u_{i-1})\Phi(-u_i) - \Psi(u_{i-1})\Phi(u_i)\big],
        \qquad u_0 := 1 .

    (:math:`\Psi(-1) = 0`, :math:`\Psi(1) = 1`, so the :math:`i = 1` term is
    :math:`-\Phi(u_1)` as in Carmon et al.)  Derived properties:

    1. :math:`\partial_j\bar F = -\big[\Psi(-u_{j-1})\Phi'(-u_j) + \Psi(u_{j-1})\Phi'(u_j)
       + \Psi'(-u_j)\Phi(-u_{j+1}) + \Psi'(u_j)\Phi(u_{j+1})\big] \le 0`.
    2. *Zero chain:* :math:`\partial_j\bar F(u) = 0` whenever :math:`|u_{j-1}|, |u_j| \le 1/2`
       (:math:`\Psi, \Psi'` vanish on :math:`(-\infty, 1/2]`), so a gradient reveals at
       most one new coordinate beyond the last one with :math:`|u_i| > 1/2`.
    3. *Large gradient:* if :math:`|u_j| < 1` for some :math:`j \le K`, take the smallest
       such :math:`j`; then :math:`|u_{j-1}| \ge 1` (or :math:`j = 1`), so
       :math:`\Psi(\pm u_{j-1}) \ge \Psi(1) = 1` for the matching sign, and
       :math:`|\partial_j\bar F| \ge \Phi'(u_j) = \sqrt e\,e^{-u_j^2/2} > 1`.
    4. Sup bounds: :math:`0\le\Psi < e`, :math:`0 \le \Psi' \le \sqrt{54/e}` (at
       :math:`2x - 1 = \sqrt{2/3}`), :math:`|\Psi''| \le e^{1-u^\star}(16u^{\star3} - 24u^{\star2})
       \approx 32.39` with :math:`u^\star = (9+\sqrt{33})/4` (:math:`\Psi'' = \Psi(16w^3 - 24w^2)`,
       :math:`w = (2x-1)^{-2}`; critical points solve :math:`2w^2 - 9w + 6 = 0`),
       :math:`0 < \Phi < \sqrt{2\pi e}`, :math:`0 < \Phi' \le \sqrt e`, :math:`|\Phi''| \le 1`.
    5. Hence :math:`\|\nabla\bar F\|_\infty \le \gamma_\infty = e^{3/2} + \sqrt{108\pi} \approx 22.90`;
       the Hessian is tridiagonal and, by Gershgorin,
       :math:`\|\nabla^2\bar F\| \le \ell_1 = e + \sqrt{2\pi e}\,\sup|\Psi''| + 2\sqrt{54} \approx 151.3`;
       and :math:`\bar F(0) - \inf\bar F \le \sqrt{2\pi e}\,(e(K-1) + 1/2)`
       (:math:`\bar F(0) = -\Phi(0)`, every term :math:`\ge -e\sqrt{2\pi e}`).
       (The values 23, 152 and :math:`12K` usually quoted from Carmon et al. [SEC, recalled,
       not re-read] agree with these up to rounding.)

    **The instance.** :math:`f(X) = \frac{L\lambda^2}{\ell_1}\bar F_K\big(X_{1,1:K}/\lambda\big)` on
    :math:`m \times n` matrices (:math:`n \ge K`): only the first row matters.  Then
    :math:`\nabla f` is :math:`L`-Lipschitz, :math:`\|\nabla f\| > \epsilon := L\lambda/\ell_1`
    while some :math:`|X_{1j}| < \lambda`, and :math:`f(0) - \inf f \le \ell_1\epsilon^2\Delta_K/L`
    with :math:`\Delta_K = \sqrt{2\pi e}(e(K-1)+1/2)`.  Because :math:`f` depends on one
    row, :math:`f(X+D) - f(X) - \langle\nabla f, D\rangle \le \tfrac L2\|D_{1,:}\|^2 \le \tfrac L2\|D\|_{op}^2`
    and :math:`\nabla f` has rank one, so :math:`\|\nabla f\|_* = \|\nabla f\|_F` and
    :math:`L_{op} = L_{fro} = L`: the Euclidean lower bound transfers verbatim to the
    spectral/nuclear geometry of AdaGO's Assumption 3.1 (this embedding is our choice).

    **The oracle** (probability-:math:`p` zero chain):
    :math:`g = \nabla f \odot \big(1 + 1[j > \mathrm{prog}_{1/4}]\,(\bar z/p - 1)\big)`, with
    :math:`\mathrm{prog}_{1/4}(u) = \max\{j : |u_j| > 1/4\}` (0 if none) and
    :math:`\bar z = \mathrm{Binomial}(b, p)/b` (the mean of :math:`b` independent calls).  By
    property 2 only the coordinate :math:`j = \mathrm{prog}_{1/4}+1` can be affected, so
    :math:`g` is unbiased with :math:`E\|g - \nabla f\|^2 = (\partial_jf)^2\frac{1-p}{pb} \le
    \frac{(\epsilon\gamma_\infty)^2(1-p)}{p}\cdot\frac1b =: \sigma^2/b`.

    **Why** :math:`T^{-1/4}` **is tight here.** A *zero-respecting* method (its iterates lie
    in the span of the coordinates where it has seen nonzero gradient) started at
    :math:`X_0 = 0` discovers coordinate :math:`j+1` only through a call with :math:`z = 1`,
    probability :math:`p` per call; after :math:`T` calls the number of discoveries is at
    most :math:`\mathrm{Bin}(T, p)`.  With :math:`p = K/(2T)`, Chernoff gives
    :math:`P(\text{all } K \text{ found}) \le (e/4)^{K/2}`, and otherwise some coordinate is
    still 0, so by property 3 every iterate has :math:`\|\nabla f\|_F > \epsilon`:
    :math:`E\min_{t\le T}\|\nabla f(X_t)\|_* \ge \epsilon\,(1 - (e/4)^{K/2})`.  Muon, AdaGO,
    NAMO, NAMO-D and SGD (with momentum, weight decay, exact or Newton–Schulz
    orthogonalization) are zero-respecting on this instance: gradients are supported
    on the first row, :math:`\mathrm{Orth}(e_1g^\top) = e_1(g/\|g\|)^\top`, a Newton–Schulz
    polynomial maps :math:`e_1g^\top` to :math:`e_1(c\,g)^\top`, and NAMO-D's column scaling keeps
    supports [DERIVED].  The generator picks :math:`(K, p, \epsilon)` to make :math:`\epsilon`
    as large as the budget allows: :math:`f(0) - \inf f \le \Delta`, variance :math:`\le\sigma^2`,
    :math:`pT \le K/2`.  In the noise-dominated regime (:math:`p \ll 1`) this gives
    :math:`p \approx (\epsilon\gamma_\infty)^2/\sigma^2` and :math:`K \approx \Delta L/(\ell_1 e\sqrt{2\pi e}\,\epsilon^2)`,
    so :math:`\epsilon \approx \big(\Delta L\sigma^2/(2T\gamma_\infty^2\ell_1 e\sqrt{2\pi e})\big)^{1/4}
    = \Theta\big((\Delta L\sigma^2/T)^{1/4}\big)`, with :math:`K = \Theta(\sqrt T)`.  AdaGrad-norm
    stepsizes reach :math:`\tilde O\big((\Delta L\sigma^2/T)^{1/4}\big)` on every such function
    (Ward, Wu & Bottou, "AdaGrad stepsizes: sharp convergence over nonconvex
    landscapes", ICML 2019 [SEC]; AdaGO claims "optimal" rates, ``theory.md`` §1.3
    [READ-PAPER abstract; theorem UNVERIFIED]), so on this instance the upper and lower
    bounds meet up to constants and logarithms.  The instance depends on :math:`T`: a
    rate check builds one instance per horizon and fits :math:`\min_t\|\nabla f\|_*` against
    :math:`T` (expected slope :math:`-1/4`).

    **Summary of the constants** (certified): :math:`L_{fro} = L_{op}` ``= L``;
    :math:`\sigma^2 = (\epsilon\gamma_\infty)^2(1-p)/p \le` ``sigma2``; :math:`f^\star` None
    (``info["Delta"]`` certifies :math:`f(0) - \inf f \le \Delta_{real} \le` ``Delta``);
    :math:`\mu` None (nonconvex).

    Parameters
    ----------
    T : int
        Horizon: number of oracle calls at batch size 1 (a run of :math:`T_s` steps at
        batch size :math:`b` makes :math:`T = bT_s` calls), :math:`T \ge 1`.
    sigma2, L, Delta : float
        Budgets :math:`\sigma^2 > 0`, :math:`L > 0`, :math:`\Delta > 0`.
    m : int
        Rows of :math:`X` (:math:`\ge 1`; only the first row matters).
    n : int, optional
        Columns, :math:`n \ge K` (default :math:`K`, the chain length chosen here).
    rng
        Unused (the instance is deterministic); accepted for a uniform signature.
    backend, dtype, device

    Returns
    -------
    Problem
        ``info``: ``K``, ``p``, ``eps``, ``lam``, ``Delta`` (realized bound),
        ``lower_bound`` (:math:`\epsilon(1 - (e/4)^{K/2})`), ``T``.
        Initial point: 0 (required by the argument).  ``default_batch_size`` 1.

    Raises
    ------
    ValueError
        Bad budgets, or :math:`p > 1/2` (not noise-dominated: raise ``T`` or ``sigma2``).

    Examples
    --------
    >>> P = make_noise_dominated(10_000)
    >>> P.info["K"], round(P.info["p"], 5), P.constants.L_op == P.constants.L_fro == 1.0
    (79, 0.00395, True)
    """
    T = check_int("T", T, lo=1)
    sigma2 = check_real("sigma2", sigma2, lo=0.0, lo_open=True)
    L = check_real("L", L, lo=0.0, lo_open=True)
    Delta = check_real("Delta", Delta, lo=0.0, lo_open=True)
    m = check_int("m", m, lo=1)
    check_rng(rng)                     # unused (deterministic instance), but validated like everywhere
    K, p, eps = chain_design(T, sigma2, L, Delta)
    if p > 0.5:
        raise ValueError(f"T={T} with sigma2={sigma2}, L={L}, Delta={Delta} is not noise-dominated "
                         f"(p = {p:.3g} > 1/2); raise T or sigma2")
    n = K if n is None else check_int("n", n, lo=K)
    l1, g = CHAIN_CONSTANTS["ell1"], CHAIN_CONSTANTS["gamma_inf"]
    lam = l1 * eps / L
    sig2_real = (eps * g) ** 2 * (1.0 - p) / p
    Delta_real = l1 * eps * eps * delta_bar(K) / L
    lower = eps * (1.0 - (math.e / 4.0) ** (K / 2.0))
    consts = ProblemConstants(
        L_fro=float(L),
        L_op=float(L),
        mu=None,
        sigma2=float(sig2_real),
        f_star=None,
        kappa={},
        notes={
            "L_fro": "certified: (L/ell1) * Gershgorin bound ell1 on the tridiagonal chain Hessian [DERIVED]",
            "L_op": "certified: equal to L_fro, f depends on the first row only (||D_1,:|| <= ||D||_op)",
            "mu": "None: nonconvex",
            "sigma2": "certified: (eps gamma_inf)^2 (1-p)/p <= requested sigma2; the variance at X is "
                      "(d_j f)^2 (1-p)/(p b), j = prog_1/4 + 1",
            "f_star": f"unknown; f(0) - inf f <= Delta = {Delta_real:.6g} (info['Delta'])",
            "kappa": "no matrices with a prescribed spectrum",
        },
    )
    info = {"K": K, "p": p, "eps": eps, "lam": lam, "T": T, "Delta": Delta_real, "lower_bound": lower,
            "scale_f": L * lam * lam / l1, "scale_g": L * lam / l1}
    return make_problem("noise_dominated", ((m, n),), {}, consts, value_fn=_value, grad_fn=_grad,
                        sgrad_fn=_sgrad, init_fn=_init, backend=backend, dtype=dtype, device=device,
                        default_batch_size=1, info=info)
