r"""Deterministic rates as verdicts: AdaGO (:math:`\beta = 0` and :math:`\beta > 0`), NAMO and NAMO-D at :math:`\sigma = 0` (issue 12, item 3).

The seeds claim "optimal convergence rates … in the deterministic setting" for AdaGO (seed 001, abstract;
seed 000 "Key Results", which writes :math:`O(T^{-1/4})` "in both stochastic and deterministic settings") and for
NAMO/NAMO-D (seed 003, abstract).  The optimal deterministic rate for smooth nonconvex problems is
:math:`T^{-1/2}`: a first-order method with exact gradients needs :math:`\Omega(\epsilon^{-2})` gradient
evaluations to find :math:`\|\nabla f\| \le \epsilon` in the worst case (Carmon, Duchi, Hinder & Sidford, "Lower
bounds for finding stationary points I", Math. Program. 2020; ``rates.md``), i.e.
:math:`\min_{t<T}\|\nabla f(\Theta_t)\| = \Omega(T^{-1/2})` on the worst instance, and gradient descent attains it.
The seed summary's :math:`T^{-1/4}` is the stochastic rate: at :math:`\sigma = 0` it is a weaker statement,
implied by the :math:`T^{-1/2}` that this check measures.

**What is measured.**  The average nuclear norm of the exact gradient over the run,
:math:`\bar G_T = \frac1T\sum_{t=0}^{T-1}\|\nabla f(\Theta_t)\|_*` (the nuclear norm is the dual of the spectral
norm in which the orthogonalized step has length :math:`\alpha_t`; every bound of the family is stated in it).
:math:`\bar G_T \ge \min_{t<T}\|\nabla f(\Theta_t)\|_*`, so a :math:`T^{-1/2}` upper bound on :math:`\bar G_T`
implies the one on the minimum that the lower bound speaks of.  We use the average because the minimum, on a
fixed instance, is set by the last step size alone (a normalized method ends oscillating at
:math:`\|\nabla f\|_* \approx L_{op}\alpha_T`), while the average also counts the steps spent getting there
(:math:`\Delta/(\sum_t\alpha_t)`): it is the quantity that tells a step schedule that is too short from an
optimal one.  The minimum is reported too.

**The setting.**  Cauchy robust regression (``problems.make_robust_regression``, :math:`8\times5`,
:math:`\kappa(A) = 5`; smooth, nonconvex on every instance, :math:`L_{op}` certified), exact gradients; the
hyperparameter rules of :mod:`verify._rate_rules`, fixed from :math:`\Delta_0` and :math:`L_{op}` before any
run; all seeds of a horizon as one batch, and the rules that differ only in numbers (AdaGO with
:math:`\beta = 0` and :math:`\beta = 0.9`; the two Muon rules) share that batch (:func:`measure_rules`, through
:func:`verify._grid.run_grid`; exact gradients, so each rule's values are those of its own run up to
rounding, 2026-12-02, issue 13).  The rounding is not the same: with :math:`\beta` an array, AdaGO's
:math:`\beta = 0` runs take the momentum as the lerp :math:`M + (G - M)` instead of the exact copy of :math:`G`
the scalar :math:`\beta = 0` takes (``adago_theory.optim.base.ema``), and a normalized method near its
minimizer amplifies that: about :math:`10^{-11}` relative on the averages at :math:`T \le 1000` (the quick
verdict text at ``rng = 0`` is identical before and after), and in full mode (:math:`T = 10^4`) the fitted
slope of rule ``adago`` read -0.756, CI [-0.777, -0.731] instead of -0.757, CI [-0.777, -0.732]; verdict
unchanged (pass), every other rule's text identical.  Derivations: ``docs/derivations/deterministic_rate.md``.
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from adago_theory import default_rng

from ._factories import NAMES, resolve, uses
from ._grid import run_grid
from ._rate_rules import (rate_instance, RULE_CONSTANTS, RULE_FACTORY, RULE_TEXT, average_gradient_grid, make_rule,
                          record_grid, trace_summary)
from ._runs import negative_control, no_minor_labels
from .fit import fit_rate, rate_verdict
from .result import CheckResult

__all__ = ["check_deterministic_rate", "plot_deterministic_rate", "measure_rule", "measure_rules", "PREREGISTERED"]

#: Fixed before any run (2026-12-01).  ``rules`` are judged; ``control`` must fail; ``reference`` is reported.
PREREGISTERED = dict(
    rate=-0.5,
    delta=0.05,
    statistic="mean",
    fit_T_min=100,
    horizons={"full": (100, 316, 1000, 3162, 10000), "quick": (100, 316, 1000)},
    seeds={"full": 8, "quick": 4},
    rules=("adago", "adago_momentum", "namo", "namo_d"),
    control="muon_stochastic",
    reference="muon_deterministic",
    confidence=0.95,
    n_resamples=2000,
    rule_constants=RULE_CONSTANTS,
)


def measure_rule(rule, problem, horizons, seeds, eta0, factories, *, stochastic=False, eps_floor=True):
    r"""Run one rule at every horizon (one batch per horizon); return avg/min :math:`\|\nabla f\|_*` (R, K).

    ``eps_floor``: for the AdaGO rules, also the fraction of steps on the adaptive branch
    (step size above the floor :math:`\varepsilon_T = \eta_0T^{-3/4}`).
    """
    eps_of = None
    if eps_floor and rule in ("adago", "adago_momentum"):
        def eps_of(T):
            return eta0 * T ** RULE_CONSTANTS["eps_exponent"]
    return average_gradient_grid(lambda T: make_rule(rule, T, eta0, factories), problem, horizons, seeds,
                                 stochastic=stochastic, eps_of=eps_of)


def _rule_call(rule, T, eta0):
    """``(factory name, args, kwargs)`` of the call :func:`verify._rate_rules.make_rule` makes for ``rule`` at
    ``T``, read by handing it recording factories (the rules' formulas stay in one place)."""
    def recorder(name):
        return lambda *a, **k: (name, a, k)

    return make_rule(rule, T, eta0, {n: recorder(n) for n in NAMES})


def measure_rules(rules, problem, horizons, seeds, eta0, factories):
    r""":func:`measure_rule` for several rules; rules that call one factory with the same non-numeric keywords
    (AdaGO with :math:`\beta = 0` and :math:`\beta = 0.9`; the two Muon rules) run as one batch per horizon,
    their numeric hyperparameters as arrays (:func:`verify._grid.run_grid`; one run per rule for a factory that
    does not take arrays).  Exact gradients: the same values as one run per rule and horizon."""
    T0 = int(horizons[0])
    groups = {}
    for rule in rules:
        name, a, k = _rule_call(rule, T0, eta0)
        fixed = {kk: v for kk, v in k.items() if not _is_num(v)}
        key = (name, len(a), repr(sorted(fixed.items())), tuple(sorted(kk for kk in k if _is_num(k[kk]))))
        groups.setdefault(key, []).append(rule)
    out = {}
    for (name, n_args, _, _), members in groups.items():
        if len(members) == 1 or n_args != 1:
            for rule in members:
                out[rule] = measure_rule(rule, problem, horizons, seeds, eta0, factories)
            continue
        configs, who = [], []
        for rule in members:
            for k_, T in enumerate(horizons):
                _, a, kw = _rule_call(rule, int(T), eta0)
                configs.append(({"eta": a[0], **{kk: v for kk, v in kw.items() if _is_num(v)}}, int(T)))
                who.append((rule, k_))
        fixed = {kk: v for kk, v in _rule_call(members[0], T0, eta0)[2].items() if not _is_num(v)}
        fac = factories[name]

        def make(eta, **kw):
            return fac(eta, **fixed, **kw)

        traces = run_grid(make, configs, problem, seeds, record=record_grid, errors="return")
        R, K = len(seeds), len(horizons)
        for rule in members:
            floor = rule in ("adago", "adago_momentum")
            out[rule] = {"avg": np.full((R, K), np.inf), "min": np.full((R, K), np.inf),
                         "adaptive_fraction": np.full((R, K), np.nan) if floor else None, "diverged": [""] * K}
        for (rule, k_), (params, T), tr in zip(who, configs, traces):
            d = out[rule]
            if not hasattr(tr, "grad_nuc"):                # its own DivergedRunError: a failed run, not a crash
                d["diverged"][k_] = str(tr).splitlines()[0][:200]
                continue
            floor = None if d["adaptive_fraction"] is None else params["eps"]
            d["avg"][:, k_], d["min"][:, k_], frac = trace_summary(tr, T, floor)
            if frac is not None:
                d["adaptive_fraction"][:, k_] = frac
    return out


def _is_num(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _fit(Ts, G, boot, P):
    """The rate fit, or None when a run diverged (the criterion then fails)."""
    if not np.all(np.isfinite(G)) or np.any(G <= 0):
        return None
    return fit_rate(Ts, G, statistic=P["statistic"], x_min=P["fit_T_min"], confidence=P["confidence"],
                    n_resamples=P["n_resamples"], rng=boot)


def _judge(fit, P, diverged=()):
    if fit is None:
        why = "; ".join(d for d in diverged if d) or "non-positive statistic"
        return False, f"not fitted: {why}"
    return rate_verdict(fit, P["rate"], P["delta"], direction="at least")


@uses("adago", "namo", "namo_d", "muon")
def check_deterministic_rate(*, quick=False, rng=None, factories=None):
    r"""AdaGO (:math:`\beta = 0`, :math:`\beta = 0.9`), NAMO and NAMO-D reach the optimal deterministic rate :math:`T^{-1/2}`.

    **Claim.** With exact gradients, on a smooth nonconvex problem, each of AdaGO (:math:`\beta = 0` and
    :math:`\beta = 0.9`, horizon-free :math:`\eta`), NAMO and NAMO-D (:math:`\eta \propto T^{-1/2}`) reaches
    :math:`\frac1T\sum_{t<T}\|\nabla f(\Theta_t)\|_* = O(T^{-1/2})`, the optimal deterministic first-order rate
    (upper bound: at least as fast).

    **Source.** Seed 001 (AdaGO abstract: "optimal … deterministic settings"), seed 000 "Key Results" (which
    writes :math:`O(T^{-1/4})` for both settings), seed 003 (NAMO abstract: "optimal convergence rates … in the
    deterministic setting") [seed text]; the lower bound :math:`\Omega(T^{-1/2})`: Carmon, Duchi, Hinder &
    Sidford 2020 (``rates.md``) [secondary source]; the hyperparameter rules and the choice of statistic
    [derived here, ``docs/derivations/deterministic_rate.md``].

    **Provenance.** Seed text (the claim), secondary source (the lower bound), derived here (rules, bound,
    statistic).

    **Setting.** ``verify._rate_rules``: robust regression :math:`8\times5`, :math:`\sigma = 0`,
    :math:`\eta_0 = \sqrt{2\Delta_0/L_{op}}`; horizons 100 … 10⁴ (quick: 100 … 1000), 8 seeds (quick: 4) as
    one batch per horizon; exact orthogonalization.

    **Pass criterion** (``PREREGISTERED``).  For each of the four rules, the seed-bootstrap CI of the OLS
    slope of :math:`\log\operatorname{mean}_s\bar G_T` against :math:`\log T` over :math:`T \ge 100` has its
    upper end :math:`\le -1/2 + \delta`, :math:`\delta = 0.05`.  *Negative control* (the closest wrong thing):
    Muon with the schedule that is optimal in the *stochastic* setting (:math:`\eta = \eta_0T^{-3/4}`,
    :math:`1-\beta = T^{-1/2}`, Cutkosky & Mehta 2020) must fail the same criterion: its steps are too short
    to reach the deterministic rate (:math:`\Delta/(\eta T) \propto T^{-1/4}`).  Muon tuned for
    :math:`\sigma = 0` (:math:`\eta = \eta_0T^{-1/2}`) is reported as a reference (full mode only).
    """
    t0 = time.perf_counter()
    P = PREREGISTERED
    F = resolve(factories)
    g = default_rng(rng)
    mode = "quick" if quick else "full"
    Ts = np.array(P["horizons"][mode], dtype=np.int64)
    problem, seeds, boot, Delta0, eta0 = rate_instance(g, P["seeds"][mode])

    per, fits, texts, oks = {}, {}, {}, {}
    names = list(P["rules"]) + [P["control"]] + ([] if quick else [P["reference"]])
    per = measure_rules(names, problem, Ts, seeds, eta0, F)
    for rule in names:
        fits[rule] = _fit(Ts, per[rule]["avg"], boot, P)
        oks[rule], texts[rule] = _judge(fits[rule], P, per[rule]["diverged"])
    verdict = all(oks[r] for r in P["rules"])
    ctl = P["control"]
    neg = negative_control(
        "Muon with the stochastic-optimal schedule (eta = eta0 T^-3/4, 1-beta = T^-1/2) at sigma = 0",
        oks[ctl], f"{ctl}: {texts[ctl]}" + (" -> passes (unexpected)" if oks[ctl] else " -> fails, as expected"),
        measured={"mean_grad_nuc": per[ctl]["avg"], "min_grad_nuc": per[ctl]["min"],
                  "slope": None if fits[ctl] is None else fits[ctl].slope,
                  "ci": None if fits[ctl] is None else fits[ctl].ci},
        predicted={"slope_upper_end_at_most": P["rate"] + P["delta"]})
    text = "; ".join(f"{r}: {texts[r]}" for r in P["rules"])
    if not quick:
        text += f". Reference {P['reference']}: {texts[P['reference']]}"
    frac = {r: per[r]["adaptive_fraction"] for r in names if per[r]["adaptive_fraction"] is not None}
    return CheckResult(
        name="deterministic_rate",
        claim=("With exact gradients on a smooth nonconvex problem, AdaGO (beta = 0 and beta = 0.9, horizon-free "
               "eta), NAMO and NAMO-D (eta ~ T^-1/2) reach (1/T) sum_{t<T} ||grad f(Theta_t)||_* = O(T^-1/2), the "
               "optimal deterministic first-order rate (Carmon et al. lower bound)"),
        claim_math=r"\frac1T\sum_{t<T}\|\nabla f(\Theta_t)\|_* = O(T^{-1/2}) \quad(\sigma = 0)",
        source=("seed 001 abstract and seed 000 'Key Results' (AdaGO); seed 003 abstract (NAMO/NAMO-D); lower bound "
                "Carmon, Duchi, Hinder & Sidford 2020 via rates.md; rules and statistic: "
                "docs/derivations/deterministic_rate.md"),
        provenance=("seed text", "secondary source", "derived here"),
        kind="upper bound",
        measured={"horizons": Ts, **{f"mean_grad_nuc_{r}": per[r]["avg"] for r in names},
                  **{f"min_grad_nuc_{r}": per[r]["min"] for r in names},
                  **{f"slope_{r}": (None if fits[r] is None else fits[r].slope) for r in names},
                  **{f"adaptive_fraction_{r}": v for r, v in frac.items()},
                  "seconds": time.perf_counter() - t0},
        predicted={"rate": P["rate"], "slope_upper_end_at_most": P["rate"] + P["delta"],
                   "control_slope_bound": -0.25},
        fit={r: fits[r] for r in names if fits[r] is not None},
        verdict=bool(verdict),
        verdict_text=text,
        negative_control=neg,
        params={"preregistered": P, "quick": bool(quick), "seeds": seeds, "eta0": eta0, "Delta0": Delta0,
                "L_op": problem.constants.L_op, "rules": {r: RULE_TEXT[r] for r in names},
                "factories": {r: RULE_FACTORY[r] for r in names}, "problem": "make_robust_regression(8, 5, kappa_A=5)"},
        quick=bool(quick),
        notes=("One problem instance (drawn from rng); seeds resample the initial point only. On this instance the "
               "adaptive methods are faster than T^-1/2 (AdaGO's step shrinks with the gradient, a GD-like "
               "method); the claim is an upper bound. AdaGO's adaptive fraction is reported, not gated: at "
               "sigma = 0 the adaptive step vanishes with the gradient (null-gradient consistency) and the floor "
               "eps_T takes over late in long runs."),
    )


def plot_deterministic_rate(result):
    r"""Two panels: :math:`\bar G_T` against :math:`T` per rule with :math:`T^{-1/2}`; local slopes with the pass zone."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    m, P = result.measured, result.params["preregistered"]
    Ts = np.asarray(m["horizons"], dtype=float)
    names = list(P["rules"]) + [P["control"]] + ([P["reference"]] if f"mean_grad_nuc_{P['reference']}" in m else [])
    style = {"adago": (OKABE_ITO[0], "o", "-"), "adago_momentum": (OKABE_ITO[5], "s", "-"),
             "namo": (OKABE_ITO[2], "D", "-"), "namo_d": (OKABE_ITO[3], "v", "-"),
             "muon_stochastic": (OKABE_ITO[1], "^", "--"), "muon_deterministic": ("0.45", "x", ":")}
    label = {"adago": r"AdaGO $\beta=0$", "adago_momentum": r"AdaGO $\beta=0.9$", "namo": "NAMO",
             "namo_d": "NAMO-D", "muon_stochastic": r"Muon, $\eta\propto T^{-3/4}$ (control)",
             "muon_deterministic": r"Muon, $\eta\propto T^{-1/2}$ (reference)"}
    with style_context():
        fig, ax = new_figure(1, 2, width=7.2, height=3.3)
        a, b = ax[0]
        anchor = None
        for r in names:
            G = np.asarray(m[f"mean_grad_nuc_{r}"], dtype=float)
            if not np.all(np.isfinite(G)):
                continue
            col, mk, ls = style[r]
            median_band(a, Ts, G, color=col, marker=mk, linestyle=ls, label=label[r], markersize=3.5)
            if r == "muon_deterministic" or anchor is None:
                anchor = (Ts[0], float(np.median(G[:, 0])))
            y = np.log(G.mean(axis=0))
            b.plot(np.sqrt(Ts[1:] * Ts[:-1]), np.diff(y) / np.diff(np.log(Ts)), color=col, marker=mk, linestyle=ls,
                   markersize=3.5)
        if anchor is not None:
            a.plot(Ts, anchor[1] * 2.0 * (Ts / Ts[0]) ** -0.5, color="0.3", linestyle="--", linewidth=1.0,
                   label=r"$\propto T^{-1/2}$ (optimal)")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("horizon $T$")
        a.set_ylabel(r"$\frac{1}{T}\sum_{t<T}\|\nabla f(\Theta_t)\|_*$")
        a.set_title(r"$\sigma = 0$: average gradient")
        a.legend(fontsize=6, loc="lower left")
        panel_label(a, "a")
        b.axhline(P["rate"], color="0.3", linestyle="--", linewidth=1.0)
        b.axhspan(-3.0, P["rate"] + P["delta"], color=OKABE_ITO[2], alpha=0.08, linewidth=0,
                  label=r"pass zone $\leq -1/2+\delta$")
        b.set_xscale("log")
        mid = np.sqrt(Ts[1:] * Ts[:-1])
        b.set_xticks(mid, [f"{v:.0f}" for v in mid])
        b.set_ylim(-1.3, 0.1)
        b.set_xlabel("horizon $T$ (geometric midpoint)")
        b.set_ylabel("local slope")
        b.set_title("local slopes")
        b.legend(fontsize=6, loc="lower right")
        panel_label(b, "b")
        fig.suptitle(f"{result.status.upper()}: deterministic rate " + r"$O(T^{-1/2})$" + " (AdaGO, NAMO, NAMO-D)",
                     fontsize=10)
    return no_minor_labels(fig)
