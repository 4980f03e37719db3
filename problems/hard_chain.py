r"""``r`` probability-:math:`p` zero chains on ``r`` rows: the stochastic lower-bound instance with matrix geometry.

See :func:`make_hard_chain`; ``r = 1`` is :func:`problems.make_noise_dominated` (same design, same values).
"""

from __future__ import annotations

import math

import numpy as np

from .base import ProblemConstants, check_int, check_real, make_problem
from .noise import draw
from .noise_dominated import CHAIN_CONSTANTS, chain_design, chain_phi, chain_psi, delta_bar

__all__ = ["make_hard_chain"]


def _rows(P, X):
    """u (R, r, K): row i of X on its column block i, over lambda."""
    xp = P.xp
    r, K, lam = P.info["r"], P.info["K"], P.info["lam"]
    return xp.stack([X[:, i, i * K:(i + 1) * K] for i in range(r)], axis=1) / lam


def _prev(xp, u):
    return xp.concat([xp.ones_like(u[..., :1]), u[..., :-1]], axis=-1)


def _value(P, Xs):
    xp = P.xp
    u = _rows(P, Xs[0])
    prev = _prev(xp, u)
    psp, _ = chain_psi(xp, prev)
    psm, _ = chain_psi(xp, -prev)
    php, _ = chain_phi(xp, u)
    phm, _ = chain_phi(xp, -u)
    return P.info["scale_f"] * xp.sum(psm * phm - psp * php, axis=(-2, -1))


def _grad_rows(P, X):
    xp = P.xp
    u = _rows(P, X)
    prev = _prev(xp, u)
    psp, _ = chain_psi(xp, prev)
    psm, _ = chain_psi(xp, -prev)
    _, d_php = chain_phi(xp, u)
    _, d_phm = chain_phi(xp, -u)
    a = psm * d_phm + psp * d_php
    _, d_psp = chain_psi(xp, u[..., :-1])
    _, d_psm = chain_psi(xp, -u[..., :-1])
    php, _ = chain_phi(xp, u[..., 1:])
    phm, _ = chain_phi(xp, -u[..., 1:])
    bb = xp.concat([d_psm * phm + d_psp * php, xp.zeros_like(u[..., :1])], axis=-1)
    return -P.info["scale_g"] * (a + bb), u


def _embed(P, rows, X):
    """Place row i (R, K) at X[:, i, iK:(i+1)K]; zeros elsewhere."""
    xp = P.xp
    R, m, n = X.shape
    r, K = P.info["r"], P.info["K"]
    z = xp.zeros_like(X[:, 0, :])
    full = [xp.concat([z[:, :i * K], rows[:, i, :], z[:, (i + 1) * K:]], axis=-1) for i in range(r)]
    full += [z] * (m - r)
    return xp.stack(full, axis=1)


def _grad(P, Xs):
    rows, _ = _grad_rows(P, Xs[0])
    return (_embed(P, rows, Xs[0]),)


def _sgrad(P, Xs, rng, b):
    xp = P.xp
    X = Xs[0]
    rows, u = _grad_rows(P, X)
    R, r, K = u.shape
    p = P.info["p"]
    j = xp.astype(xp.arange(1, K + 1), X.dtype)
    prog = xp.max(xp.where(xp.abs(u) > 0.25, j, xp.zeros_like(u)), axis=-1)          # (R, r)
    zbar = xp.astype(draw(rng, "binomial", X, b, p, size=(R, r)), X.dtype) / b
    mult = 1.0 + xp.where(j > prog[..., None], zbar[..., None] / p - 1.0, xp.zeros_like(u))
    return (_embed(P, rows * mult, X),)


def _init(P, rng, runs):
    m, n = P.shapes[0]
    return (np.zeros((runs, m, n)),)


def make_hard_chain(T=10_000, *, r=2, sigma2=1.0, L=1.0, Delta=1.0, m=None, backend="numpy", dtype="float64",
                    device=None, rng=None):
    r"""``r`` independent probability-:math:`p` zero chains: chain :math:`i` on row :math:`i`, column block :math:`i`.

    **Source.**  The chain and the probability-:math:`p` oracle are those of
    :func:`problems.make_noise_dominated` (Arjevani, Carmon, Duchi, Foster, Srebro & Woodworth 2019/2023,
    built on Carmon, Duchi, Hinder & Sidford 2017/2020; ``rates.md`` [SEC]).  ``rates.md`` names the matrix
    analogue ("several chains on different singular directions").  The placement on rows with disjoint
    column blocks, the split of the budgets and every constant below are **ours** [DERIVED], checked in
    ``tests/test_problems_hard_chain.py``.

    **The instance.**  Each chain is designed by :func:`make_noise_dominated`'s rule for the horizon
    :math:`T` with budgets :math:`(\Delta/r,\ \sigma^2/r,\ L_c = L/r)`, giving :math:`(K, p, \epsilon)`
    and :math:`\lambda = \ell_1\epsilon/L_c`:

    .. math::

        f(X) = \frac{L_c\lambda^2}{\ell_1}\sum_{i=1}^r \bar F_K\big(X_{i,\,B_i}/\lambda\big),
        \qquad B_i = \{(i-1)K+1, \dots, iK\},\quad X \in \mathbb R^{m\times rK}.

    **Matrix geometry.**  :math:`\nabla f` has its rows :math:`g_i` supported on disjoint column blocks, so
    :math:`\nabla f\nabla f^\top` is diagonal and the singular values of :math:`\nabla f` are the row norms:
    :math:`\|\nabla f\|_* = \sum_i\|g_i\|`, :math:`\|\nabla f\|_F = (\sum_i\|g_i\|^2)^{1/2}`; with equal rows the
    ratio is :math:`\sqrt r`.  Smoothness: :math:`f(X+D) - f(X) - \langle\nabla f, D\rangle \le
    \tfrac{L_c}2\sum_i\|D_{i,B_i}\|^2 \le \tfrac{L_c}{2}\,r\,\|D\|_{op}^2` (each row norm is
    :math:`\le\|D\|_{op}`), so :math:`L_{op} = rL_c = L` and :math:`L_{fro} = L_c = L/r`.  The oracle draws
    an independent :math:`\mathrm{Binomial}(b, p)/b` per row; the variance is the sum of the rows',
    :math:`\le r\cdot\sigma^2/r = \sigma^2`; :math:`f(0) - \inf f \le r\cdot\Delta/r = \Delta`.

    **Lower bound.**  The methods of the toolkit are zero-respecting here: :math:`\mathrm{Orth}` of a
    matrix with rows on disjoint blocks normalizes each row (:math:`MM^\top` is diagonal), and so do
    Newton–Schulz polynomials and NAMO-D's column scaling [DERIVED].  Row :math:`i` discovers a coordinate
    only through a :math:`z = 1` draw of its own oracle, so (Chernoff, :math:`p = K/(2T)`) chain :math:`i` is
    complete after :math:`T` calls with probability :math:`\le (e/4)^{K/2}`, and every incomplete row has
    :math:`\|g_i\| > \epsilon`.  Since :math:`\min_t\sum_i \ge \sum_i\min_t`,

    .. math::

        \mathbb E\min_{t\le T}\|\nabla f(X_t)\|_* \ge r\,\epsilon\,\big(1 - (e/4)^{K/2}\big), \qquad
        \mathbb E\min_{t\le T}\|\nabla f(X_t)\|_F \ge \sqrt r\,\epsilon\,\big(1 - (e/4)^{K/2}\big)

    (the second by the same argument with :math:`\sqrt{\#\text{incomplete}}` and Jensen on the event).
    With :math:`\epsilon = \Theta\big((\Delta L\sigma^2/(r^3T))^{1/4}\big)` the nuclear lower bound is
    :math:`\Theta(r^{1/4}(\Delta L_{op}\sigma^2/T)^{1/4})`.

    Parameters
    ----------
    T : int
        Horizon (oracle calls at batch size 1), :math:`\ge 1`.
    r : int
        Number of chains (the rank of the gradient), :math:`\ge 1`.
    sigma2, L, Delta : float
        Budgets :math:`\sigma^2 > 0`, :math:`L = L_{op} > 0`, :math:`\Delta > 0`.
    m : int, optional
        Rows of :math:`X`, :math:`\ge r` (default :math:`\max(r, 4)`).
    backend, dtype, device
    rng
        Unused (the instance is deterministic); accepted for a uniform signature.

    Returns
    -------
    Problem
        ``info``: ``r``, ``K``, ``p``, ``eps``, ``lam``, ``Delta`` (realized), ``lower_bound`` (nuclear),
        ``lower_bound_fro``, ``T``.  Initial point 0.

    Raises
    ------
    ValueError
        Bad budgets, or :math:`p > 1/2` for a chain (raise ``T`` or ``sigma2``).

    Examples
    --------
    >>> P = make_hard_chain(10_000, r=2)
    >>> P.shapes, P.constants.L_op, P.constants.L_fro
    (((4, 112),), 1.0, 0.5)
    """
    T = check_int("T", T, lo=1)
    r = check_int("r", r, lo=1)
    sigma2 = check_real("sigma2", sigma2, lo=0.0, lo_open=True)
    L = check_real("L", L, lo=0.0, lo_open=True)
    Delta = check_real("Delta", Delta, lo=0.0, lo_open=True)
    m = max(r, 4) if m is None else check_int("m", m, lo=r)
    Lc = L / r
    K, p, eps = chain_design(T, sigma2 / r, Lc, Delta / r)
    if p > 0.5:
        raise ValueError(f"T={T} with sigma2={sigma2}, L={L}, Delta={Delta}, r={r} is not noise-dominated "
                         f"(p = {p:.3g} > 1/2); raise T or sigma2")
    l1, g = CHAIN_CONSTANTS["ell1"], CHAIN_CONSTANTS["gamma_inf"]
    lam = l1 * eps / Lc
    sig2_real = r * (eps * g) ** 2 * (1.0 - p) / p
    Delta_real = r * l1 * eps * eps * delta_bar(K) / Lc
    miss = 1.0 - (math.e / 4.0) ** (K / 2.0)
    consts = ProblemConstants(
        L_fro=float(Lc), L_op=float(L), mu=None, sigma2=float(sig2_real), f_star=None, kappa={},
        notes={
            "L_fro": "certified: L/r, each chain's Gershgorin bound (make_noise_dominated) [DERIVED]",
            "L_op": "certified: r * L/r = L; sum_i ||D_{i,B_i}||^2 <= r ||D||_op^2 [DERIVED]",
            "mu": "None: nonconvex",
            "sigma2": "certified: sum over the r rows of (eps gamma_inf)^2 (1-p)/p <= requested sigma2",
            "f_star": f"unknown; f(0) - inf f <= Delta = {Delta_real:.6g} (info['Delta'])",
            "kappa": "no matrices with a prescribed spectrum",
        },
    )
    info = {"r": r, "K": K, "p": p, "eps": eps, "lam": lam, "T": T, "Delta": Delta_real,
            "lower_bound": r * eps * miss, "lower_bound_fro": math.sqrt(r) * eps * miss,
            "scale_f": Lc * lam * lam / l1, "scale_g": Lc * lam / l1}
    return make_problem("hard_chain", ((m, r * K),), {}, consts, value_fn=_value, grad_fn=_grad, sgrad_fn=_sgrad,
                        init_fn=_init, backend=backend, dtype=dtype, device=device, default_batch_size=1, info=info)
