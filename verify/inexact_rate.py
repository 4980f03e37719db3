r"""Does AdaGO's stochastic rate survive inexact orthogonalization?  (issue 12, item 7; the seed's open question)

The theory (``adago_rate``, ``docs/derivations/adago_stochastic.md``) assumes the exact polar factor
:math:`O_t = \mathrm{Orth}(M_t)`; in practice :math:`O_t = p_k(M_t/\|M_t\|_F)` for a Newton–Schulz polynomial
(``theory.md`` §5).  Where :math:`p_k` maps the singular values of :math:`M_t/\|M_t\|_F` into
:math:`[\ell, u]` with :math:`\ell > 0` (``ns_error``), the one-step inequality of the derivation becomes
:math:`\langle\nabla, O_t\rangle \ge \ell\|M_t\|_* - \dots` and :math:`\|O_t\|_{op} \le u`, so the bound keeps
its order with constants scaled by :math:`1/\ell` and :math:`u^2` [derived here, on the page]; where
:math:`\ell` is tiny (few steps of the cubic from small singular values) nothing is guaranteed.  This check
measures, it does not assume: the fitted exponent and constant of
:math:`\mathbb E\frac1T\sum_t\|\nabla f\|_*` with each orthogonalizer, against the exact one, with
``adago_rate``'s schedule, problems and fit window.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ._factories import uses
from ._runs import draw_seeds, negative_control, no_minor_labels
from .adago_rate import PREREGISTERED as _RATE_PRE
from .adago_rate import adago_schedule, measure_adago, rate_setup
from .fit import fit_rate_hierarchical, hierarchical_resample, rate_verdict
from .result import CheckResult

__all__ = ["check_inexact_rate", "plot_inexact_rate", "ORTHS", "PREREGISTERED"]

#: The orthogonalizers compared (``adago_theory.orthogonalize``).
ORTHS = {
    "exact (SVD)": "svd",
    "Jordan NS, 5 steps": ("newton-schulz", {"coeffs": "jordan", "steps": 5}),
    "Polar Express, 5 steps": ("newton-schulz", {"coeffs": "polar-express", "steps": 5}),
    "Polar Express, 8 steps": ("newton-schulz", {"coeffs": "polar-express", "steps": 8}),
    "cubic NS, 5 steps": ("newton-schulz", {"coeffs": "cubic", "steps": 5}),
}

#: Fixed before any run.
PREREGISTERED = {
    "rate": -0.25,
    "delta": 0.05,
    "fit_T_min": _RATE_PRE["fit_T_min"],
    "constant_band": [0.5, 2.0],   # "survives": the fitted constant within a factor 2 of the exact one's ...
    "constant_at_T": 1000,         # ... compared at T = 1000 (the pooled fit evaluated there)
    "instances": _RATE_PRE["instances"],
    "seeds": _RATE_PRE["seeds"],
    "horizons": _RATE_PRE["horizons"],
    "orths": {k: str(v) for k, v in ORTHS.items()},
    "schedule": _RATE_PRE["schedule"],
    "confidence": 0.95,
    "n_resamples": 2000,
    "deterministic": {"rate": -0.5, "rule": "adago (beta = 0) of verify._rate_rules (H4's deterministic_rate)",
                      "horizons": {"quick": [100, 316, 1000], "full": [100, 316, 1000, 3162, 10000]},
                      "problem": "verify._rate_rules.robust_problem (robust regression 8x5, sigma = 0)"},
}


def _deterministic(F, g, boot, mode):
    """Deterministic part: H4's AdaGO rule (beta = 0) at sigma = 0 with each orthogonalizer; rate and constant."""
    from ._rate_rules import eta_unit, host_mean_value, robust_problem
    from .deterministic_rate import measure_rule
    from .fit import fit_rate

    D = PREREGISTERED["deterministic"]
    Ts = np.array(D["horizons"][mode], dtype=np.int64)
    problem = robust_problem(g)
    seeds = draw_seeds(g, PREREGISTERED["seeds"][mode])
    eta0 = eta_unit(host_mean_value(problem, seeds), problem.constants.L_op)
    out, logs, texts, ok = {"horizons": Ts}, {}, [], True
    for label, orth in ORTHS.items():
        def adago_with(*a, _orth=orth, **k):
            k["orth"] = _orth
            return F["adago"](*a, **k)

        Fo = dict(F)
        Fo["adago"] = adago_with
        m = measure_rule("adago", problem, Ts, seeds, eta0, Fo, eps_floor=False)
        G = m["avg"]
        fit = fit_rate(Ts, G, x_min=Ts[0], rng=boot, n_resamples=PREREGISTERED["n_resamples"]) \
            if np.all(np.isfinite(G)) and np.all(G > 0) else None
        if fit is None:
            out[label] = {"mean_grad_nuc": G, "slope": None, "survives": False}
            texts.append(f"{label}: diverged")
            ok = False
            continue
        logs[label] = fit.intercept + fit.slope * math.log(PREREGISTERED["constant_at_T"])
        rate_ok, _ = rate_verdict(fit, D["rate"], PREREGISTERED["delta"])
        out[label] = {"mean_grad_nuc": G, "slope": fit.slope, "ci": fit.ci, "rate_ok": rate_ok}
    ex = "exact (SVD)"
    for label, d in out.items():
        if label == "horizons" or d.get("slope") is None or ex not in logs:
            continue
        ratio = float(math.exp(logs[label] - logs[ex]))
        const_ok = PREREGISTERED["constant_band"][0] <= ratio <= PREREGISTERED["constant_band"][1]
        d.update(constant_ratio=ratio, survives=bool(d["rate_ok"] and const_ok))
        ok &= d["survives"]
        texts.append(f"{label}: slope {d['slope']:.3f} CI [{d['ci'][0]:.3f}, {d['ci'][1]:.3f}], value at T=1000 / "
                     f"exact {ratio:.3f}" + ("" if d["survives"] else " (NOT kept)"))
    return out, bool(ok), texts


@uses("adago", "muon")
def check_inexact_rate(*, quick=False, rng=None, factories=None):
    r"""AdaGO's :math:`O(T^{-1/4})` survives Newton–Schulz (Jordan 5, Polar Express 5 and 8, cubic 5 steps).

    **Claim** (the seed's open question, asked as a claim).  With ``adago_rate``'s schedule, problems and fit
    window, replacing the exact polar factor by each Newton–Schulz variant keeps the rate
    (:math:`\mathbb E\frac1T\sum_t\|\nabla f\|_* = O(T^{-1/4})`) and keeps the constant within a factor 2 of the
    exact one (the fitted line at :math:`T = 1000`).

    **Source.**  Seed 000 (Newton–Schulz "in practice"; whether the rates survive is open); ``theory.md`` §5
    (coefficients) [secondary source / official code]; the perturbation argument: derived here
    (``docs/derivations/inexact_orthogonalization.md``).

    **Pass criterion** (``PREREGISTERED``).  For every variant: the hierarchical CI upper end of the slope
    :math:`\le -1/4 + 0.05`, and the ratio of its fitted value at :math:`T = 1000` to the exact one's in
    :math:`[1/2, 2]` (hierarchical bootstrap, the CI of the ratio inside the band).  The same with exact
    gradients (``deterministic_rate``'s AdaGO rule, :math:`\beta = 0`, on its robust-regression problem): the
    seed-bootstrap CI upper end :math:`\le -1/2 + 0.05` and the fitted value at :math:`T = 1000` within a factor
    2 of exact orthogonalization's.  Reported per variant,
    with the exponent and constant against exact orthogonalization.

    **Negative control.**  Muon on AdaGO's horizon schedule with Jordan's Newton–Schulz (the practical
    look-alike): it must fail the same rate criterion.
    """
    t_start = time.perf_counter()
    Pre = PREREGISTERED
    su = rate_setup(Pre, quick, rng, factories)
    F, g, mode, Ts, seeds = su.F, su.g, su.mode, su.Ts, su.seeds
    noise_seed, boot, oracle, L_op, sigma, Delta = su.noise_seed, su.boot, su.oracle, su.L_op, su.sigma, su.Delta

    def sched(T):
        return adago_schedule(T, Delta=Delta, L_op=L_op, sigma=sigma)

    per, fits, ok_all, texts = {}, {}, True, []
    x0 = math.log(Pre["constant_at_T"])
    fitted = Ts >= Pre["fit_T_min"]
    lx = np.log(Ts[fitted].astype(float))
    draws = {}
    for label, orth in ORTHS.items():
        def make(T, h, orth=orth):
            return F["adago"](h["eta"], gamma=_RATE_PRE["gamma"], eps=h["eps"], beta=h["beta"], v0=_RATE_PRE["v0"],
                              nesterov=False, orth=orth)

        meas = measure_adago(make, oracle, Ts, sched, noise_seed=noise_seed)
        G = meas["avg"]
        finite = bool(np.all(np.isfinite(G)) and np.all(G > 0))
        fit = fit_rate_hierarchical(Ts, G, x_min=Pre["fit_T_min"], rng=boot, n_resamples=Pre["n_resamples"],
                                    confidence=Pre["confidence"]) if finite else None
        fits[label] = fit
        if finite:   # the same bootstrap draws for every variant (common runs): paired ratios
            rs = np.random.default_rng(noise_seed)
            means = np.log(hierarchical_resample(G, Pre["n_resamples"], rs)[:, fitted])
            xc = lx - lx.mean()
            slope = (means - means.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
            draws[label] = means.mean(axis=1) + slope * (x0 - lx.mean())     # log of the fitted value at T0
        per[label] = {"mean_grad_nuc": G, "slope": None if fit is None else fit.slope,
                      "ci": None if fit is None else fit.ci, "eoc": None if fit is None else fit.eoc,
                      "log_value_at_T0": None if fit is None else fit.intercept + fit.slope * x0}
    ex = "exact (SVD)"
    for label, fit in fits.items():
        if fit is None or ex not in draws or label not in draws:
            per[label]["survives"] = False
            texts.append(f"{label}: diverged or no fit")
            ok_all = False
            continue
        rate_ok, rtxt = rate_verdict(fit, Pre["rate"], Pre["delta"])
        ratio_draws = np.exp(draws[label] - draws[ex])
        a = (1 - Pre["confidence"]) / 2
        rlo, rhi = float(np.quantile(ratio_draws, a)), float(np.quantile(ratio_draws, 1 - a))
        ratio = float(math.exp(per[label]["log_value_at_T0"] - per[ex]["log_value_at_T0"]))
        const_ok = Pre["constant_band"][0] <= rlo and rhi <= Pre["constant_band"][1]
        per[label].update(constant_ratio=ratio, constant_ratio_ci=(rlo, rhi), survives=bool(rate_ok and const_ok))
        ok_all &= bool(rate_ok and const_ok)
        texts.append(f"{label}: slope {fit.slope:.3f} CI [{fit.ci[0]:.3f}, {fit.ci[1]:.3f}] "
                     f"({'rate kept' if rate_ok else 'RATE LOST'}), value at T=1000 / exact {ratio:.3f} "
                     f"[{rlo:.3f}, {rhi:.3f}] ({'within' if const_ok else 'OUTSIDE'} [1/2, 2])")

    def make_muon(T, h):
        return F["muon"](h["eta"], beta=h["beta"], nesterov=False,
                         orth=("newton-schulz", {"coeffs": "jordan", "steps": 5}))

    det, det_ok, det_texts = _deterministic(F, g, boot, mode)
    ok_all &= det_ok
    texts.append("deterministic (sigma = 0, T^-1/2): " + "; ".join(det_texts))

    M = measure_adago(make_muon, oracle, Ts, sched, noise_seed=noise_seed)
    fitM = fit_rate_hierarchical(Ts, M["avg"], x_min=Pre["fit_T_min"], rng=boot, n_resamples=Pre["n_resamples"]) \
        if np.all(np.isfinite(M["avg"])) and np.all(M["avg"] > 0) else None
    okM, txtM = rate_verdict(fitM, Pre["rate"], Pre["delta"]) if fitM else (False, "diverged")
    neg = negative_control("Muon on AdaGO's horizon schedule with Jordan's Newton-Schulz (5 steps)", okM,
                           "Muon + Jordan NS: " + txtM
                           + (" -> passes (unexpected)" if okM else " -> fails, as expected"),
                           measured={"mean_grad_nuc": M["avg"], "slope": None if fitM is None else fitM.slope})
    return CheckResult(
        name="inexact_rate",
        claim=("AdaGO's stochastic O(T^-1/4) (adago_rate's schedule) survives Newton-Schulz orthogonalization "
               "(Jordan 5 steps, Polar Express 5 and 8, cubic 5): exponent kept, constant within a factor 2"),
        claim_math=r"O_t = p_k(M_t/\|M_t\|_F):\ \mathbb E\frac1T\sum_t\|\nabla f(\Theta_{t-1})\|_* = O(T^{-1/4})",
        source=("seed 000 (Newton-Schulz in practice; open question); theory.md §5 (coefficients); perturbation "
                "argument: docs/derivations/inexact_orthogonalization.md"),
        provenance=("seed text", "derived here"),
        kind="upper bound",
        measured={"horizons": Ts, "variants": per, "deterministic": det,
                  "seconds": time.perf_counter() - t_start},
        predicted={"rate": Pre["rate"], "slope_upper_end_at_most": Pre["rate"] + Pre["delta"],
                   "constant_band": Pre["constant_band"]},
        fit={k: v for k, v in fits.items() if v is not None},
        verdict=bool(ok_all),
        verdict_text="; ".join(texts),
        negative_control=neg,
        params={"preregistered": Pre, "quick": bool(quick), "seeds": seeds, "noise_seed": noise_seed,
                "constants": {"Delta": Delta, "L_op": L_op, "sigma": sigma}},
        quick=bool(quick),
        notes=("Newton-Schulz in float64 here (the practical bf16 is not modeled). With inexact orthogonalization "
               "the step ||X_t - X_{t-1}||_op is alpha_t times the largest singular value of p_k, so adago_rate's "
               "adaptive-fraction and lemma criteria do not apply; only the rate and the constant are judged."),
    )


def plot_inexact_rate(result):
    r"""Mean nuclear gradient norm against :math:`T` per orthogonalizer (with the fitted slopes), stochastic and
    deterministic, and the fitted values at :math:`T = 1000` relative to the exact one."""
    from adago_theory.app.plotting import OKABE_ITO, new_figure, panel_label, style_context

    with style_context():
        Ts = np.asarray(result.measured["horizons"], dtype=float)
        V = result.measured["variants"]
        fig, ax = new_figure(1, 3, width=7.2, height=3.0)
        a, d, b = ax[0]
        labels = list(V)
        for i, lab in enumerate(labels):
            G = np.asarray(V[lab]["mean_grad_nuc"], dtype=float)
            s = V[lab].get("slope")
            a.plot(Ts, G.mean(axis=(0, 1)), marker="o", color=OKABE_ITO[i % len(OKABE_ITO)],
                   label=f"{lab} ({'—' if s is None else f'{s:.3f}'})")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("horizon $T$")
        a.set_ylabel(r"$\frac{1}{T}\sum_t\|\nabla f\|_*$")
        a.legend(fontsize=5)
        a.set_title(r"stochastic, $T^{-1/4}$", fontsize=7)
        panel_label(a, "a")
        det = result.measured.get("deterministic") or {}
        Td = np.asarray(det.get("horizons", []), dtype=float)
        for i, lab in enumerate(labels):
            if lab not in det:
                continue
            Gd = np.asarray(det[lab]["mean_grad_nuc"], dtype=float)
            s = det[lab].get("slope")
            d.plot(Td, Gd.mean(axis=0), marker="o", color=OKABE_ITO[i % len(OKABE_ITO)],
                   label=f"{'—' if s is None else f'{s:.3f}'}")
        d.set_xscale("log")
        d.set_yscale("log")
        d.set_xlabel("horizon $T$")
        d.set_title(r"deterministic, $T^{-1/2}$", fontsize=7)
        d.legend(fontsize=5)
        panel_label(d, "b")
        for i, lab in enumerate(labels):
            r = V[lab].get("constant_ratio")
            ci = V[lab].get("constant_ratio_ci")
            if r is None:
                continue
            lo, hi = ci
            b.errorbar([i], [r], yerr=[[r - lo], [hi - r]], fmt="o", color=OKABE_ITO[i % len(OKABE_ITO)])
            rd = (det.get(lab) or {}).get("constant_ratio")
            if rd is not None:
                b.plot([i + 0.2], [rd], marker="s", color=OKABE_ITO[i % len(OKABE_ITO)], alpha=0.6)
        b.axhspan(0.5, 2.0, color=OKABE_ITO[2], alpha=0.1)
        b.axhline(1.0, color="0.4", linewidth=0.8)
        b.set_xticks(range(len(labels)))
        short = {"exact (SVD)": "SVD", "Jordan NS, 5 steps": "J5", "Polar Express, 5 steps": "PE5",
                 "Polar Express, 8 steps": "PE8", "cubic NS, 5 steps": "C5"}
        b.set_xticklabels([short.get(lab, lab) for lab in labels], fontsize=6)
        b.set_ylabel("value at $T=1000$ / exact")
        b.set_title("circles stochastic, squares det.", fontsize=6)
        panel_label(b, "c")
        fig.suptitle(result.status.upper() + ": AdaGO's rate with inexact orthogonalization", fontsize=9)
    return no_minor_labels(fig)
