r"""PolarSGD: :math:`\mathbb E f(W_K) - f^\star = O(1/K)` with bounded-variance noise on a strongly convex problem (issue 12, item 6).

PolarSGD is PolarGrad with stochastic gradients (:func:`adago_theory.optim.polargrad`, :math:`\beta = 0`):
:math:`W_{k+1} = W_k - \gamma_k D(G_k)`, :math:`D(G) = \|G\|_*\,\mathrm{Orth}(G)`.  The seed slides state
"Assume unbiased stochastic gradients with bounded variance :math:`\varsigma^2`, then
:math:`f(W_K) - f^\star \le O(1/K)`" (seed 002, "Convergence analysis") with no step schedule and no constants.
The schedule, the constants and the proof below are **ours** (``docs/derivations/polarsgd.md``).

**The bound (derived here).**  :math:`f` is :math:`\mu`-strongly convex and :math:`L_{op}`-smooth in the spectral
norm, :math:`G = \nabla f + \xi`, :math:`\mathbb E\xi = 0`, :math:`\mathbb E\|\xi\|_F^2 = \sigma^2`,
:math:`r = \min(m, n)`, :math:`e_k = \mathbb E f(W_k) - f^\star`.  With :math:`\|D(G)\|_{op} = \|G\|_*
\le \sqrt r\|G\|_F` and the assumption

(A) :math:`\mathbb E_\xi\langle\nabla f, D(\nabla f + \xi)\rangle \ge c_1\|\nabla f\|_F^2`

(exact with :math:`c_1 = 1` at :math:`\sigma = 0` since :math:`\|g\|_* \ge \|g\|_F`; measured here for the noise
model: :func:`assumption_A`), one step gives
:math:`e_{k+1} \le e_k - \gamma_kc_1\|\nabla f\|_F^2 + \tfrac{L_{op}r}{2}\gamma_k^2(\|\nabla f\|_F^2 + \sigma^2)`, and
with :math:`\gamma_k \le c_1/(L_{op}r)` and :math:`\|\nabla f\|_F^2 \ge 2\mu(f - f^\star)`,

.. math:: e_{k+1} \le (1 - \mu c_1\gamma_k)\,e_k + \tfrac{L_{op}r\sigma^2}{2}\gamma_k^2 .

For :math:`\gamma_k = \beta/(k + k_0)` with :math:`\beta\mu c_1 > 1` and :math:`k_0 \ge \beta L_{op}r/c_1`,
induction gives (Bottou, Curtis & Nocedal 2018, Thm 4.7, in this geometry)

.. math:: e_k \le \frac{\nu}{k + k_0},\qquad
    \nu = \max\Big(\frac{\beta^2L_{op}r\sigma^2}{2(\beta\mu c_1 - 1)},\ k_0e_0\Big).

**The schedule (ours, a priori).**  :math:`c_1 = 1`, :math:`\beta = 2/\mu`, :math:`k_0 = \lceil 2L_{op}r/\mu\rceil`.
**The control.**  The step :math:`\gamma_k = 1/(L(k + k_0))` — the textbook ":math:`1/(Lk)`" without :math:`\mu` —
has :math:`\beta\mu = 1/\kappa_H`; in the noise-dominated regime (:math:`\mathbb E D(\nabla f + \xi) \approx
p\nabla f`, :func:`assumption_A`) the slowest mode decays like :math:`k^{-2p/\kappa_H}`, slower than
:math:`1/k` when :math:`\kappa_H > 2p`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from adago_theory import DivergedRunError, default_rng, run

from ._factories import resolve, uses
from ._runs import draw_seeds, negative_control, no_minor_labels
from .fit import fit_rate, rate_verdict
from .result import CheckResult

__all__ = ["check_polarsgd_rate", "plot_polarsgd_rate", "polarsgd_schedule", "polarsgd_bound", "assumption_A",
           "PREREGISTERED"]

#: Fixed before any run (2026-12-01).
PREREGISTERED = dict(
    problem=dict(m=4, n=2, kappa_A=3.0, kappa_B=1.0, sigma2=1.0),
    c1=1.0,
    beta_times_mu=2.0,
    rate=-1.0,
    delta=0.1,
    window=(10, 100),            # fit over k0 * 10 <= K <= k0 * 100
    num_records=60,
    seeds={"full": 128, "quick": 64},
    fit_variable="K + k0",
    control_beta_times_L=1.0,
    statistic="mean",
    confidence=0.95,
    n_resamples=2000,
    assumption_A=dict(samples={"full": 40000, "quick": 8000}, ratios=(0.0, 0.1, 0.3, 1.0, 3.0, 10.0),
                      directions=3, c1_min=1.0),
)


def polarsgd_schedule(mu, L_op, r, *, c1=1.0, beta_times_mu=2.0):
    r"""The step :math:`\gamma_k = \beta/(k + k_0)` (``k`` = 0, 1, ...) with :math:`\beta = (\beta\mu)/\mu` and
    :math:`k_0 = \lceil\beta L_{op}r/c_1\rceil`.

    Returns
    -------
    dict
        ``beta``, ``k0`` and ``gamma`` (a schedule ``t -> gamma_{t-1}`` for the optimizer's 1-based clock).

    Examples
    --------
    >>> s = polarsgd_schedule(0.5, 2.0, 3)
    >>> s["beta"], s["k0"], s["gamma"](1)
    (4.0, 24, 0.16666666666666666)
    """
    for name, v in (("mu", mu), ("L_op", L_op), ("c1", c1), ("beta_times_mu", beta_times_mu)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if not (isinstance(r, int) and r >= 1):
        raise ValueError(f"r must be an integer >= 1, got {r!r}")
    beta = beta_times_mu / mu
    k0 = int(math.ceil(beta * L_op * r / c1 - 1e-9))
    return {"beta": beta, "k0": k0, "gamma": lambda t: beta / (t - 1 + k0)}


def polarsgd_bound(K, *, e0, mu, L_op, r, sigma2, beta, k0, c1=1.0):
    r""":math:`\nu/(K + k_0)` (module docstring); requires :math:`\beta\mu c_1 > 1` and :math:`k_0 \ge \beta L_{op}r/c_1`."""
    if not beta * mu * c1 > 1:
        raise ValueError(f"the bound needs beta mu c1 > 1, got {beta * mu * c1:g}")
    if k0 < beta * L_op * r / c1 - 1e-9:
        raise ValueError(f"the bound needs k0 >= beta L_op r / c1 = {beta * L_op * r / c1:g}, got {k0}")
    nu = max(beta**2 * L_op * r * sigma2 / (2.0 * (beta * mu * c1 - 1.0)), k0 * e0)
    return nu / (np.asarray(K, dtype=float) + k0)


def assumption_A(shape, *, ratios=(0.0, 0.1, 1.0, 10.0), directions=3, samples=20000, rng=None):
    r"""Monte Carlo :math:`c_1(g) = \mathbb E\langle g, D(g + \xi)\rangle/\|g\|_F^2` for isotropic Gaussian :math:`\xi`.

    :math:`\|\xi\|` has unit scale (:math:`\mathbb E\|\xi\|_F^2 = mn`); :math:`g` is a random direction with
    :math:`\|g\|_F = \rho\sqrt{mn}` for each ratio :math:`\rho` (:math:`\rho = 0`: the limit
    :math:`\|g\| \ll \sigma`, estimated at :math:`\rho = 10^{-4}`).  Antithetic: the symmetric law of
    :math:`\xi` gives :math:`\mathbb E\langle g, D(g+\xi)\rangle = \tfrac12\mathbb E\langle g, D(g+\xi) + D(g-\xi)\rangle`.
    ``ratios = (inf,)`` is the noiseless :math:`\|g\|_*^2/\|g\|_F^2`.

    Returns
    -------
    ndarray (len(ratios), directions)
    """
    g = np.random.default_rng(rng)
    m, n = shape
    xi = g.standard_normal((int(samples), m, n))

    def D(G):
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        return s.sum(axis=-1)[..., None, None] * (U @ Vt)

    out = np.empty((len(ratios), directions))
    for j in range(directions):
        d = g.standard_normal((m, n))
        d /= np.linalg.norm(d)
        for i, rho in enumerate(ratios):
            gg = max(rho, 1e-4) * math.sqrt(m * n) * d
            val = 0.5 * np.mean(np.sum(gg * (D(gg + xi) + D(gg - xi)), axis=(-2, -1)))
            out[i, j] = val / np.sum(gg * gg)
    return out


@uses("polargrad")
def check_polarsgd_rate(*, quick=False, rng=None, factories=None):
    r"""PolarSGD with :math:`\gamma_k = \beta/(k + k_0)`, :math:`\beta = 2/\mu`, reaches :math:`\mathbb E f(W_K) - f^\star = O(1/K)`.

    **Claim.** On a :math:`\mu`-strongly convex, :math:`L_{op}`-smooth problem with unbiased gradients of
    variance :math:`\sigma^2`, PolarSGD :math:`W_{k+1} = W_k - \gamma_k\|G_k\|_*\mathrm{Orth}(G_k)` with
    :math:`\gamma_k = \beta/(k + k_0)`, :math:`\beta = 2/\mu`, :math:`k_0 = \lceil 2L_{op}r/\mu\rceil` has
    :math:`e_K = \mathbb E f(W_K) - f^\star \le \nu/(K + k_0) = O(1/K)` (upper bound).

    **Source.** Seed 002 slides, "Convergence analysis": "Assume unbiased stochastic gradients with bounded
    variance :math:`\varsigma^2`, then :math:`f(W_K) - f^\star \le O(1/K)`" [seed text]; the update:
    timlautk/polargrad ``polar_grad.py`` [official code]; the schedule, :math:`\nu`, the proof, assumption (A)
    [derived here, ``docs/derivations/polarsgd.md``]; the induction: Bottou, Curtis & Nocedal 2018, Thm 4.7
    [secondary source].

    **Provenance.** Seed text (the claim, no schedule), official code (the update), derived here (schedule,
    constant, proof, assumption (A)), secondary source (the induction).

    **Setting.** Matrix least squares :math:`\tfrac12\|AWB - C\|_F^2`, :math:`4\times2`, :math:`\kappa(A) = 3`
    (:math:`\kappa_H = 9`, :math:`f^\star = 0` exact), additive isotropic Gaussian noise :math:`\sigma^2 = 1`
    (``problems.make_matrix_least_squares``); exact polar factor; 128 seeds (quick 64) as one batch; :math:`K`
    up to :math:`100k_0` recorded on a log grid.

    **Pass criterion** (``PREREGISTERED``).  (i) The seed-bootstrap CI of the slope of
    :math:`\log\operatorname{mean}_s(f(W_K) - f^\star)` against :math:`\log(K + k_0)` (the bound's variable) over
    :math:`10k_0 \le K \le 100k_0` has upper end :math:`\le -1 + 0.1`; (ii) the seed mean is below
    :math:`\nu/(K + k_0)` at every recorded :math:`K`; (iii) assumption (A) holds for the noise model:
    the Monte Carlo :math:`c_1 \ge 1` (minus three standard errors) on a grid of
    :math:`\|\nabla f\|/\sigma` ratios.  *Negative control*: :math:`\gamma_k = 1/(L(k + k_0))` (the rate's
    condition :math:`\beta\mu c_1 > 1` violated in the noise regime, :math:`2p/\kappa_H < 1`) must fail (i).
    """
    t0 = time.perf_counter()
    P = PREREGISTERED
    F = resolve(factories)
    g = default_rng(rng)
    mode = "quick" if quick else "full"
    from problems import make_matrix_least_squares

    pp = P["problem"]
    prob = make_matrix_least_squares(pp["m"], pp["n"], kappa_A=pp["kappa_A"], kappa_B=pp["kappa_B"],
                                     sigma2=pp["sigma2"], rng=g)
    c = prob.constants
    r = min(prob.shapes[0])
    seeds = draw_seeds(g, P["seeds"][mode])
    boot = np.random.default_rng(g.integers(2**63 - 1))
    mc_seed = int(g.integers(2**31 - 1))
    sch = polarsgd_schedule(c.mu, c.L_op, r, c1=P["c1"], beta_times_mu=P["beta_times_mu"])
    beta, k0 = sch["beta"], sch["k0"]
    lo, hi = P["window"]
    K = hi * k0

    def gaps(gamma):
        try:
            tr = run(F["polargrad"](gamma, orth="svd"), prob, K, seeds=seeds, stochastic=True, record="log",
                     num_records=P["num_records"])
        except DivergedRunError as exc:
            return None, str(exc).splitlines()[0][:200]
        return (tr.steps, tr.gap), ""

    main, why = gaps(sch["gamma"])
    beta_c = P["control_beta_times_L"] / c.L_fro
    ctrl, why_c = gaps(lambda t: beta_c / (t - 1 + k0))

    def judge(res, why_):
        if res is None:
            return False, f"diverged: {why_}", None
        steps, gap = res
        sel = (steps >= lo * k0) & (steps <= hi * k0)
        if np.any(gap[sel] <= 0) or not np.all(np.isfinite(gap)):
            return False, "non-positive or non-finite gap", None
        fit = fit_rate(steps[sel] + k0, gap[sel].T, statistic=P["statistic"], confidence=P["confidence"],
                       n_resamples=P["n_resamples"], rng=boot)
        ok, text = rate_verdict(fit, P["rate"], P["delta"], direction="at least")
        return ok, text, fit

    ok_rate, text_rate, fit = judge(main, why)
    ok_c, text_c, fit_c = judge(ctrl, why_c)
    e0 = float(np.mean(main[1][0])) if main is not None else math.nan
    if main is not None:
        steps, gap = main
        bound = polarsgd_bound(steps, e0=e0, mu=c.mu, L_op=c.L_op, r=r, sigma2=c.sigma2, beta=beta, k0=k0,
                               c1=P["c1"])
        mean_gap = gap.mean(axis=1)
        ok_bound = bool(np.all(mean_gap <= bound))
        ratio = mean_gap / bound
    else:
        steps = gap = bound = mean_gap = ratio = np.array([np.nan])
        ok_bound = False
    A = P["assumption_A"]
    cA = assumption_A(prob.shapes[0], ratios=A["ratios"], directions=A["directions"], samples=A["samples"][mode],
                      rng=mc_seed)
    ok_A = bool(np.min(cA) >= A["c1_min"])
    p_noise = float(np.mean(cA[0]))
    verdict = ok_rate and ok_bound and ok_A
    text = (f"(i) {text_rate}; (ii) seed-mean gap / bound nu/(K+k0): max {float(np.nanmax(ratio)):.3g} "
            f"{'<=' if ok_bound else '>'} 1; (iii) assumption (A): min Monte Carlo c1 = {float(np.min(cA)):.3f} "
            f"{'>=' if ok_A else '<'} {A['c1_min']:g} (noise limit p = {p_noise:.3f})")
    neg = negative_control(
        "gamma_k = 1/(L (k + k0)): beta mu = 1/kappa_H, so beta mu p = p/kappa_H < 1/2 (the rate's condition fails)",
        ok_c, f"control: (i) {text_c}" + (" -> passes (unexpected)" if ok_c else " -> fails, as expected"),
        measured={"gap": None if ctrl is None else ctrl[1], "steps": None if ctrl is None else ctrl[0],
                  "slope": None if fit_c is None else fit_c.slope, "ci": None if fit_c is None else fit_c.ci},
        predicted={"asymptotic_slope": -min(1.0, 2.0 * beta_c * p_noise * c.mu), "slope_upper_end_at_most": -1 + P["delta"]})
    return CheckResult(
        name="polarsgd_rate",
        claim=("PolarSGD (PolarGrad with stochastic gradients) with gamma_k = beta/(k+k0), beta = 2/mu, "
               "k0 = ceil(2 L_op r / mu), reaches E f(W_K) - f* <= nu/(K+k0) = O(1/K) on a strongly convex problem "
               "with bounded-variance noise"),
        claim_math=r"\mathbb E f(W_K) - f^\star \le \frac{\nu}{K + k_0} = O(1/K)",
        source=("seed 002 slides 'Convergence analysis' (O(1/K), no schedule); timlautk/polargrad polar_grad.py "
                "(update); schedule, nu, proof and assumption (A): docs/derivations/polarsgd.md; induction: Bottou, "
                "Curtis & Nocedal 2018 Thm 4.7"),
        provenance=("seed text", "official code", "derived here", "secondary source"),
        kind="upper bound",
        measured={"steps": steps, "gap": gap, "mean_gap": mean_gap, "ratio_to_bound": ratio,
                  "slope": None if fit is None else fit.slope, "ci": None if fit is None else fit.ci,
                  "eoc": None if fit is None else fit.eoc, "assumption_A_c1": cA, "p_noise_limit": p_noise,
                  "seconds": time.perf_counter() - t0},
        predicted={"rate": P["rate"], "slope_upper_end_at_most": P["rate"] + P["delta"], "bound": bound,
                   "c1_at_least": A["c1_min"]},
        fit={"main": fit, **({"control": fit_c} if fit_c is not None else {})},
        verdict=bool(verdict),
        verdict_text=text,
        negative_control=neg,
        params={"preregistered": P, "quick": bool(quick), "seeds": seeds, "mc_seed": mc_seed, "beta": beta, "k0": k0,
                "K": K, "window": (lo * k0, hi * k0), "control_beta": beta_c,
                "constants": {"mu": c.mu, "L_fro": c.L_fro, "L_op": c.L_op, "sigma2": c.sigma2, "f_star": c.f_star,
                              "r": r, "kappa_H": c.L_fro / c.mu}},
        quick=bool(quick),
        notes=("Assumption (A) is proved at sigma = 0 (c1 = ||g||_*^2/||g||_F^2 >= 1) and measured by Monte Carlo for "
               "the isotropic Gaussian noise in between; the bound nu/(K+k0) is a worst-case constant (loose by about "
               "two orders here), checked, not fitted. One problem instance."),
    )


def plot_polarsgd_rate(result):
    r"""Two panels: the mean gap against :math:`K` (PolarSGD, control, bound :math:`\nu/(K+k_0)`, :math:`1/K`) with
    the fit window; :math:`(K + k_0)\,e_K` (flat for :math:`O(1/K)`)."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    m, p, prm = result.measured, result.predicted, result.params
    nc = result.negative_control or {}
    steps = np.asarray(m["steps"], dtype=float)
    k0 = prm["k0"]
    lo, hi = prm["window"]
    with style_context():
        fig, ax = new_figure(1, 2, width=7.2, height=3.3)
        a, b = ax[0]
        pos = steps > 0
        gap = np.asarray(m["gap"], dtype=float)
        median_band(a, steps[pos], gap[pos].T, color=OKABE_ITO[0], marker="", label=r"PolarSGD, $\beta = 2/\mu$")
        cg = nc.get("measured", {}).get("gap")
        if cg is not None:
            cg = np.asarray(cg, dtype=float)
            cs = np.asarray(nc["measured"]["steps"], dtype=float)
            median_band(a, cs[cs > 0], cg[cs > 0].T, color=OKABE_ITO[1], marker="", linestyle="--",
                        label=r"control $\gamma_k = 1/(L(k+k_0))$")
        a.plot(steps[pos], np.asarray(p["bound"], dtype=float)[pos], color="0.3", linestyle="-.", linewidth=1.0,
               label=r"bound $\nu/(K+k_0)$")
        mg = np.asarray(m["mean_gap"], dtype=float)
        k_ref = steps[np.argmin(np.abs(steps - hi))]
        a.plot(steps[pos], mg[steps == k_ref][0] * k_ref / steps[pos], color="0.6", linestyle=":", linewidth=1.0,
               label=r"$\propto 1/K$")
        a.axvspan(lo, hi, color=OKABE_ITO[2], alpha=0.1, linewidth=0, label="fit window")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("step $K$")
        a.set_ylabel(r"$f(W_K) - f^\star$ (median, IQR)")
        a.set_title(r"gap: $O(1/K)$ needs $\beta\mu c_1 > 1$")
        a.legend(fontsize=6, loc="lower left")
        panel_label(a, "a")
        b.plot(steps[pos], (steps[pos] + k0) * mg[pos], color=OKABE_ITO[0], label="PolarSGD")
        if cg is not None:
            b.plot(cs[cs > 0], (cs[cs > 0] + k0) * cg[cs > 0].mean(axis=1), color=OKABE_ITO[1], linestyle="--",
                   label="control")
        b.axvspan(lo, hi, color=OKABE_ITO[2], alpha=0.1, linewidth=0)
        b.set_xscale("log")
        b.set_yscale("log")
        b.set_xlabel("step $K$")
        b.set_ylabel(r"$(K + k_0)\,\mathbb{E}[f(W_K) - f^\star]$")
        b.set_title(r"flat for $O(1/K)$")
        b.legend(fontsize=6)
        panel_label(b, "b")
        slope = "" if m.get("slope") is None else f"  (slope {float(m['slope']):.2f})"
        fig.suptitle(f"{result.status.upper()}: PolarSGD " + r"$\mathbb{E}f(W_K)-f^\star = O(1/K)$" + slope,
                     fontsize=10)
    return no_minor_labels(fig)
