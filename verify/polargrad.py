r"""PolarGrad on strongly convex least squares: linear contraction with :math:`\gamma_k = 1/(Lr_k)` (issue 5, item 7).

For :math:`X_{k+1} = X_k - \gamma_k\|G_k\|_*U_k` (:math:`G_k = \nabla f(X_k) = U_k H_k`,
:math:`\|U_k\|_F^2 = r_k = \operatorname{rank} G_k`, :math:`\langle G_k, U_k\rangle = \|G_k\|_*`) and an
:math:`L`-smooth, :math:`\mu`-strongly convex :math:`f` (Frobenius geometry,
:math:`\kappa_H = L/\mu`), ``theory.md`` §3.3 [DERIVED there, re-derived here]:

.. math::

    f_{k+1} \le f_k - \gamma_k\|G_k\|_*^2\big(1 - \tfrac{L\gamma_kr_k}{2}\big)
    \overset{\gamma_k = 1/(Lr_k)}{=} f_k - \frac{\|G_k\|_*^2}{2Lr_k},

and with :math:`\|G\|_F^2 \ge 2\mu(f - f^\star)` and either :math:`\|G\|_*^2 \ge \|G\|_F^2` or
:math:`\|G\|_*^2 \ge r\|G\|_F^2/\kappa_G` (:math:`\kappa_G = \sigma_1/\sigma_r`),

.. math::

    \frac{f_{k+1} - f^\star}{f_k - f^\star} \le 1 - \frac{1}{r_k\kappa_H}
    \quad\text{and}\quad \le 1 - \frac{1}{\kappa_{G_k}\kappa_H}.

The seed slides (``seeds/002_*.txt``, "Convergence analysis") state the weaker factors
:math:`1 - 1/(r_k^2\kappa_H)` and :math:`1 - 1/(\kappa_{G_k}^2\kappa_H)`; the sharper ones imply them
(:func:`verify.symbolic` checks the algebra), and they are the ones verified here.

**Unscaled Muon stalls (derived here).** :math:`X_{k+1} = X_k - \gamma\,\mathrm{Orth}(G_k)` moves by
exactly :math:`\gamma\sqrt{r}` in Frobenius norm at every step (full-rank gradients), so
:math:`\|X_k - X^\star\|_F + \|X_{k+1} - X^\star\|_F \ge \gamma\sqrt r` and, by strong convexity,

.. math:: \max(f_k, f_{k+1}) - f^\star \ge \frac{\mu}{2}\Big(\frac{\gamma\sqrt r}{2}\Big)^2 = \frac{\mu\gamma^2r}{8}

for every :math:`k`: a floor that no constant step removes (``theory.md`` §3.3 measured a stall;
the README of timlautk/polargrad: the nuclear-norm scaling "is necessary for the convergence"
[official code]).
"""

from __future__ import annotations

import time

import numpy as np

from adago_theory import to_numpy

from ._factories import resolve, uses
from ._runs import check_int, check_pos
from ._setup import setup
from ._runs import negative_control as _negative
from ._runs import no_minor_labels
from .result import CheckResult

__all__ = ["check_polargrad", "plot_polargrad", "polargrad_contraction_run", "muon_floor", "PREREGISTERED"]

#: Fixed before the runs (issue 11 item 6).  gap_floor: steps whose gap is below this fraction of the initial gap
#: are not compared (rounding level); stall: median gap over the last quarter / median over the second quarter
#: (>= stall: Muon stalls; <= stall: PolarGrad still converges); tol: absolute slack of rho <= bound.
PREREGISTERED = dict(gap_floor=1e-10, stall=0.5, tol=1e-12, step_tol=1e-8, steps=1000, steps_quick=300, seeds=8, muon_step=0.1,
                     problem="make_matrix_least_squares(10, 6, kappa_A=5, kappa_B=2)",
                     control="gamma_k = 1/L (the rank factor dropped)")
GAP_FLOOR = PREREGISTERED["gap_floor"]
STALL = PREREGISTERED["stall"]


def _quarter_ratio(gap):
    """median(gap over steps [3K/4, K]) / median(gap over [K/4, K/2)) per run."""
    K = gap.shape[0] - 1
    return np.median(gap[(3 * K) // 4:], axis=0) / np.median(gap[K // 4: K // 2], axis=0)


def muon_floor(mu, gamma, r):
    r"""The derived floor :math:`\mu\gamma^2 r/8` of :math:`\max(f_k, f_{k+1}) - f^\star` for unscaled Muon."""
    return mu * gamma * gamma * r / 8.0


def _rank_and_kappa(G):
    """Numerical rank and sigma_1/sigma_r of each host matrix (numpy.linalg.svd, independent of the optimizer)."""
    s = np.linalg.svd(G, compute_uv=False)
    tol = max(G.shape[-2:]) * np.finfo(np.float64).eps * s[..., :1]
    r = np.sum(s > tol, axis=-1)
    smin = np.take_along_axis(s, np.maximum(r - 1, 0)[..., None], axis=-1)[..., 0]
    return r, s[..., 0] / smin


def polargrad_contraction_run(P, X0, K, *, step_factor=1.0, factory=None):
    r"""Run PolarGrad (:func:`adago_theory.optim.polargrad`, exact polar factor) with :math:`\gamma_k = c/(Lr_k)`.

    Parameters
    ----------
    P : Problem
        Strongly convex, with ``constants.L_fro``, ``mu`` and ``f_star``.
    X0 : array (R, m, n)
        Initial points on the problem's backend.
    K : int
        Steps.
    step_factor : float
        :math:`c` (1 is the claim's step; the negative control uses :math:`c = r_k`).
    factory : callable, optional
        The PolarGrad factory (default the project's, :func:`adago_theory.optim.polargrad`).

    Returns
    -------
    dict of host arrays (K, R): ``gap`` (K+1, R), ``rho`` (realized contraction), ``bound_rank``,
    ``bound_kappa``, ``bound_rank_seed``, ``bound_kappa_seed``, ``rank``, ``kappa_G``, ``valid``
    (gap above the rounding level).

    Notes
    -----
    :math:`\gamma_k` is one number per step for the whole batch (the optimizer's schedule is a
    scalar), so the ranks must agree across runs; they do for generic full-rank gradients, and a
    ValueError is raised otherwise.
    """
    c = P.constants
    L, kH = c.L_fro, c.L_fro / c.mu
    cell = [0.0]
    opt = (factory or resolve()["polargrad"])(lambda t: cell[0], orth="svd")
    state = opt.init(X0)
    X = X0
    gaps = [np.asarray(to_numpy(P.value(X)), dtype=float) - c.f_star]
    out = {k: [] for k in ("rho", "bound_rank", "bound_kappa", "bound_rank_seed", "bound_kappa_seed", "rank",
                           "kappa_G", "step_error")}
    for _ in range(int(K)):
        G = P.grad(X)
        r, kG = _rank_and_kappa(np.asarray(to_numpy(G), dtype=float))
        if np.any(r != r[0]):
            raise ValueError(f"gradient ranks differ across runs ({sorted(set(r.tolist()))}); run them separately")
        cell[0] = step_factor / (L * float(r[0]))
        Xh, Gh = np.asarray(to_numpy(X), dtype=float), np.asarray(to_numpy(G), dtype=float)
        X, state = opt.step(X, G, state)
        # the rule, by hand: X_{k+1} = X_k - gamma_k ||G_k||_* U_k V_k^T (NumPy SVD of G_k)
        U_, s_, Vt_ = np.linalg.svd(Gh, full_matrices=False)
        want = cell[0] * s_.sum(-1)[..., None, None] * (U_ @ Vt_)
        got = Xh - np.asarray(to_numpy(X), dtype=float)
        out["step_error"].append(np.linalg.norm(got - want, axis=(-2, -1)) / np.linalg.norm(want, axis=(-2, -1)))
        gap = np.asarray(to_numpy(P.value(X)), dtype=float) - c.f_star
        with np.errstate(divide="ignore", invalid="ignore"):
            out["rho"].append(gap / gaps[-1])
        out["bound_rank"].append(1.0 - 1.0 / (r * kH))
        out["bound_kappa"].append(1.0 - 1.0 / (kG * kH))
        out["bound_rank_seed"].append(1.0 - 1.0 / (r * r * kH))
        out["bound_kappa_seed"].append(1.0 - 1.0 / (kG * kG * kH))
        out["rank"].append(r)
        out["kappa_G"].append(kG)
        gaps.append(gap)
        if not np.all(np.isfinite(gap)) or np.max(gap) > 1e30:
            break
    res = {k: np.array(v) for k, v in out.items()}
    res["gap"] = np.array(gaps)
    res["valid"] = res["gap"][:-1] > GAP_FLOOR * res["gap"][0]
    return res


def _muon_run(F, P, X0, K, gamma):
    c = P.constants
    opt = F["muon"](gamma, beta=0.0, nesterov=False, orth="svd")
    state = opt.init(X0)
    X = X0
    gaps = [np.asarray(to_numpy(P.value(X)), dtype=float) - c.f_star]
    for _ in range(int(K)):
        X, state = opt.step(X, P.grad(X), state)
        gaps.append(np.asarray(to_numpy(P.value(X)), dtype=float) - c.f_star)
    return np.array(gaps)


@uses("polargrad", "muon")
def check_polargrad(*, steps=None, seeds=None, muon_step=0.1, backend="numpy", quick=False, rng=None,
                    factories=None):
    r"""PolarGrad with :math:`\gamma_k = 1/(Lr_k)` contracts at the rank and gradient-condition rates; Muon stalls.

    **Claim.** On an :math:`L`-smooth, :math:`\mu`-strongly convex :math:`f`, PolarGrad
    :math:`X_{k+1} = X_k - \gamma_k\|G_k\|_*\mathrm{Orth}(G_k)` with :math:`\gamma_k = 1/(Lr_k)` has
    :math:`(f_{k+1} - f^\star)/(f_k - f^\star) \le \min\{1 - 1/(r_k\kappa_H),\ 1 - 1/(\kappa_{G_k}\kappa_H)\}`
    at every step (upper bound).  Muon with a constant step and no nuclear-norm scale keeps
    :math:`\max(f_k, f_{k+1}) - f^\star \ge \mu\gamma^2r/8` (a stall).

    **Source.** Seed slides ``002_*.txt`` "Convergence analysis" (with :math:`r_k^2` and
    :math:`\kappa_{G_k}^2`) and "PolarGrad" [seed text]; the sharper factors ``theory.md`` §3.3
    [derived there, re-derived in the module docstring]; the update: timlautk/polargrad
    ``polar_grad.py`` [official code]; the Muon floor [derived here].

    **Setting.** Deterministic matrix least squares :math:`\tfrac12\|AXB - C\|_F^2` (10 × 6,
    :math:`\kappa(A) = 5`, :math:`\kappa(B) = 2`, :math:`\kappa_H = 100`, :math:`f^\star = 0`,
    ``problems.make_matrix_least_squares``, all constants exact); :math:`S = 8` initial points as one
    batch; :math:`K` = 300 (quick) or 1000 steps; exact polar factors;
    :math:`r_k` and :math:`\kappa_{G_k}` from an independent NumPy SVD of :math:`G_k`.  Muon:
    :math:`\gamma = 0.1`, :math:`\beta = 0`.

    **Measured quantity.** :math:`\rho_k = (f_{k+1} - f^\star)/(f_k - f^\star)` at every step with
    :math:`f_k - f^\star > 10^{-10}(f_0 - f^\star)`; Muon's gap sequence.

    **Pass criterion.** (0) the step taken is PolarGrad's, :math:`X_k - X_{k+1} =
    \gamma_k\|G_k\|_*U_kV_k^\top` to :math:`10^{-8}` (relative; from the iterates and an independent NumPy
    SVD of :math:`G_k` — the contraction bounds alone cannot tell the nuclear-norm scale from a smaller
    one, e.g. :math:`\|G_k\|_F`, which satisfies them too); :math:`\rho_k \le 1 - 1/(r_k\kappa_H)` and :math:`\rho_k \le 1 - 1/(\kappa_{G_k}\kappa_H)`
    at every compared step of every run; Muon's :math:`\max(f_k, f_{k+1}) - f^\star \ge \mu\gamma^2r/8`
    for every :math:`k`, and on every run the median gap over the last quarter of the run is at
    least half the median over the second quarter for Muon (a stall) and at most half for
    PolarGrad (still converging).
    *Negative control*: :math:`\gamma_k = 1/L = r_k\cdot 1/(Lr_k)` (the rank factor dropped, a step
    above :math:`1/(Lr_k)`: the nearest wrong step) must violate the contraction bound at some step.
    Thresholds in :data:`PREREGISTERED`; quick mode: the same criteria on 300 steps.  The PolarGrad and
    Muon under test come from ``factories`` (the control uses the project's own PolarGrad).

    Parameters
    ----------
    steps : int, optional
    seeds : int, optional
        Runs :math:`S` (default 8).
    muon_step : float
        Muon's constant :math:`\gamma > 0`.
    backend : {"numpy", "torch", "cupy"}
    quick : bool
    rng : None, int or Generator
    factories : mapping, optional
        Optimizer substitutions (``verify._factories.resolve``); see ``check_fn.uses``.

    Returns
    -------
    CheckResult
    """
    from problems import make_matrix_least_squares

    t0 = time.perf_counter()
    pre = PREREGISTERED
    K = check_int("steps", (pre["steps_quick"] if quick else pre["steps"]) if steps is None else steps, lo=2)
    gamma = check_pos("muon_step", muon_step)
    su = setup(rng, backend, seeds, pre["seeds"], factories,
               make=lambda g, b: make_matrix_least_squares(10, 6, kappa_A=5.0, kappa_B=2.0, rng=g, backend=b))
    F, P, S, seeds_, backend = su.F, su.P, su.S, su.seeds, su.backend
    c = P.constants
    xp = P.xp
    X0 = xp.concat([P.initial_point(s, runs=1) for s in seeds_], axis=0)
    r = min(P.shapes[0])

    pg = polargrad_contraction_run(P, X0, K, factory=F["polargrad"])
    v = pg["valid"]
    tol = pre["tol"]
    ok_rank = bool(np.all((pg["rho"] <= pg["bound_rank"] + tol) | ~v))
    ok_kappa = bool(np.all((pg["rho"] <= pg["bound_kappa"] + tol) | ~v))
    ok_seed = bool(np.all((pg["rho"] <= np.minimum(pg["bound_rank_seed"], pg["bound_kappa_seed"]) + tol) | ~v))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_rank = np.where(v, pg["rho"] / pg["bound_rank"], np.nan)
        ratio_kappa = np.where(v, pg["rho"] / pg["bound_kappa"], np.nan)

    mg = _muon_run(F, P, X0, K, gamma)
    floor = muon_floor(c.mu, gamma, r)
    pair = np.maximum(mg[:-1], mg[1:])
    ok_floor = bool(np.all(pair >= floor))
    mu_ratio, pg_ratio = _quarter_ratio(mg), _quarter_ratio(pg["gap"])
    ok_stall = bool(np.all(mu_ratio >= STALL))
    ok_beats = bool(np.all(pg_ratio <= STALL))
    # (0) the step taken is PolarGrad's, on the compared steps (below the gap floor the update is at rounding level)
    ok_step = bool(np.all((pg["step_error"] <= pre["step_tol"]) | ~v))
    verdict = ok_step and ok_rank and ok_kappa and ok_floor and ok_stall and ok_beats

    ctrl = polargrad_contraction_run(P, X0, K, step_factor=float(r), factory=resolve()["polargrad"])
    cv = ctrl["valid"][: ctrl["rho"].shape[0]]
    ctrl_ok = bool(np.all((ctrl["rho"] <= np.minimum(ctrl["bound_rank"], ctrl["bound_kappa"]) + tol) | ~cv))
    n_viol = int(np.sum((ctrl["rho"] > np.minimum(ctrl["bound_rank"], ctrl["bound_kappa"]) + tol) & cv))
    negative = _negative(
        "gamma_k = 1/L (= r_k / (L r_k), the rank factor dropped), same contraction criterion", ctrl_ok,
        f"{n_viol} of {int(np.sum(cv))} compared steps exceed the bound, max rho {float(np.nanmax(ctrl['rho'])):.3g}: "
        + ("bound holds (unexpected)" if ctrl_ok else "the contraction bound fails, as expected"),
        measured={"rho": ctrl["rho"], "gap": ctrl["gap"], "n_violations": n_viol},
        predicted={"bound_rank": ctrl["bound_rank"], "bound_kappa": ctrl["bound_kappa"]})

    text = (f"PolarGrad: (0) step = gamma_k ||G_k||_* U_k V_k^T to {float(np.max(np.where(v, pg['step_error'], 0.0))):.1e} (<= "
            f"{pre['step_tol']:g}): {'ok' if ok_step else 'FAIL'}; max rho/(1-1/(r kH)) = {float(np.nanmax(ratio_rank)):.6f}, max rho/(1-1/(kG kH)) = "
            f"{float(np.nanmax(ratio_kappa)):.6f} over {int(v.sum())} compared steps (<= 1 needed): "
            f"{'ok' if ok_rank and ok_kappa else 'FAIL'}; the seed's weaker factors hold: {ok_seed}. "
            f"Muon (gamma={gamma:g}): min_k max(gap_k, gap_k+1) = {float(pair.min()):.3g} >= mu gamma^2 r/8 = "
            f"{floor:.3g}: {'ok' if ok_floor else 'FAIL'}; median gap last quarter / second quarter: Muon >= "
            f"{float(np.min(mu_ratio)):.3g} (>= {STALL}: stall) {'ok' if ok_stall else 'FAIL'}, PolarGrad <= "
            f"{float(np.max(pg_ratio)):.3g} (<= {STALL}: still converging) {'ok' if ok_beats else 'FAIL'}")
    return CheckResult(
        name="polargrad",
        claim=("PolarGrad with gamma_k = 1/(L r_k) contracts f - f* by at least 1 - 1/(r_k kappa_H) and "
               "1 - 1/(kappa_{G_k} kappa_H) at every step on a strongly convex least-squares problem; Muon without "
               "the nuclear-norm scale stalls above mu gamma^2 r / 8"),
        claim_math=(r"\frac{f_{k+1}-f^\star}{f_k-f^\star} \le \min\Big\{1-\frac{1}{r_k\kappa_H},\ "
                    r"1-\frac{1}{\kappa_{G_k}\kappa_H}\Big\};\quad "
                    r"\max(f_k,f_{k+1})-f^\star \ge \frac{\mu\gamma^2 r}{8}"
                    r"\ \text{(Muon)}"),
        source=("seed 002 slides 'Convergence analysis' (factors with r_k^2, kappa_G^2) and 'PolarGrad'; "
                "theory.md §3.3 (sharper factors, derived there); timlautk/polargrad polar_grad.py (update); "
                "Muon floor derived here"),
        provenance=("seed text", "derived here", "official code"),
        kind="upper bound",
        measured={"rho": pg["rho"], "gap": pg["gap"], "rank": pg["rank"], "kappa_G": pg["kappa_G"],
                  "ratio_to_bound_rank": ratio_rank, "ratio_to_bound_kappa": ratio_kappa, "compared": v,
                  "muon_gap": mg, "muon_min_pair": float(pair.min()), "muon_quarter_ratio": mu_ratio,
                  "polargrad_quarter_ratio": pg_ratio,
                  "seed_factors_hold": ok_seed, "seconds": time.perf_counter() - t0},
        predicted={"bound_rank": pg["bound_rank"], "bound_kappa": pg["bound_kappa"],
                   "bound_rank_seed": pg["bound_rank_seed"], "bound_kappa_seed": pg["bound_kappa_seed"],
                   "muon_floor": floor, "kappa_H": c.L_fro / c.mu},
        fit=None,
        verdict=verdict,
        verdict_text=text,
        negative_control=negative,
        outcome="pass" if verdict and not ctrl_ok else "fail",
        params=dict(preregistered=PREREGISTERED, seeds=seeds_, S=S, steps=K, muon_step=gamma, step="gamma_k = 1/(L_fro r_k)", orth="svd",
                    problem="make_matrix_least_squares(10, 6, kappa_A=5, kappa_B=2)",
                    constants={"L_fro": c.L_fro, "mu": c.mu, "f_star": c.f_star, "r": r},
                    gap_floor=GAP_FLOOR, tolerance=tol, backend=backend, quick=bool(quick)),
        quick=bool(quick),
        notes=("We verify theory.md's sharper factors (r_k, kappa_G), which imply the seed's (r_k^2, kappa_G^2). "
               "Steps with gap below 1e-10 of the initial gap are not compared (rounding). The Muon step 0.1 is "
               "our choice; the floor holds for every constant step."),
    )


def plot_polargrad(result):
    """Three panels: gaps (PolarGrad, Muon and its floor), 1 - rho against the bounds, the control's rho."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    with style_context():
        m, p = result.measured, result.predicted
        fig, ax = new_figure(1, 3, width=7.2, height=3.9)
        a, b, cc = ax[0]
        gap = np.asarray(m["gap"])
        k = np.arange(gap.shape[0])
        median_band(a, k, gap.T, color=OKABE_ITO[0], marker="", label=r"PolarGrad $\gamma_k = 1/(Lr_k)$")
        mg = np.asarray(m["muon_gap"])
        median_band(a, np.arange(mg.shape[0]), mg.T, color=OKABE_ITO[1], marker="",
                    label=f"Muon, $\\gamma={result.params['muon_step']:g}$")
        a.axhline(p["muon_floor"], color=OKABE_ITO[1], linestyle="--", linewidth=1.0,
                  label=r"floor $\mu\gamma^2 r/8$")
        a.set_yscale("log")
        a.set_xlabel("step $k$")
        a.set_ylabel(r"$f(X_k) - f^\star$")
        a.set_title("gap")
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6)
        panel_label(a, "a")

        rho = np.asarray(m["rho"])
        comp = np.asarray(m["compared"]).astype(bool)
        dec = np.where(comp, 1.0 - rho, np.nan)
        kk = np.arange(1, rho.shape[0] + 1)
        median_band(b, kk, dec.T, color=OKABE_ITO[0], marker="", label=r"measured $1-\rho_k$")
        b.plot(kk, np.median(1.0 - np.asarray(p["bound_rank"]), axis=1), color=OKABE_ITO[2], linestyle="--",
               label=r"$1/(r_k\kappa_H)$")
        b.plot(kk, np.median(1.0 - np.asarray(p["bound_kappa"]), axis=1), color=OKABE_ITO[3], linestyle="-.",
               label=r"$1/(\kappa_{G_k}\kappa_H)$")
        b.plot(kk, np.median(1.0 - np.asarray(p["bound_rank_seed"]), axis=1), color="0.5", linestyle=":",
               label=r"seed: $1/(r_k^2\kappa_H)$")
        b.set_yscale("log")
        b.set_xlabel("step $k$")
        b.set_ylabel("decrease fraction $1-\\rho_k$")
        b.set_title("measured above the bounds")
        b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6)
        panel_label(b, "b")

        nc = result.negative_control or {}
        cr = np.asarray(nc.get("measured", {}).get("rho", np.zeros((0, 1))), dtype=float)
        if cr.size:
            kc = np.arange(1, cr.shape[0] + 1)
            cc.plot(kc, np.nanmedian(cr, axis=1), color=OKABE_ITO[1], label=r"$\rho_k$, $\gamma_k = 1/L$")
            cc.plot(kc, np.median(np.asarray(nc["predicted"]["bound_rank"]), axis=1), color=OKABE_ITO[2],
                    linestyle="--", label=r"$1 - 1/(r_k\kappa_H)$")
        cc.axhline(1.0, color="0.4", linewidth=0.8)
        cc.set_xlabel("step $k$")
        cc.set_ylabel(r"contraction $\rho_k$")
        cc.set_title(r"control: $\gamma_k = 1/L$")
        cc.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6)
        panel_label(cc, "c")
        fig.suptitle(result.status.upper() + ": PolarGrad linear contraction; unscaled Muon stalls",
                     fontsize=10)
    return no_minor_labels(fig)
