r"""AdaGO, Muon and Adam on an ill-conditioned regression: which effect dominates? (issue 5, item 6, second half)

The seed's third experiment (``seeds/000_*.txt``, "First 3 experiments", 3) [seed text]:
"Construct a regression task with deliberately ill-conditioned design matrix (singular value ratio
>100).  Compare AdaGO vs. Muon vs. Adam.  Hypothesis: AdaGO's adaptive scaling should handle the
varying gradient magnitudes better than fixed-η Muon, but orthogonalization may amplify
noise—observe which effect dominates."

The seed states a question, not a theorem.  This check measures both effects and reports which
dominates; its verdict rests only on statements that can be measured and fail (see
:func:`check_ill_conditioning`):

* *adaptive effect*: :math:`\log(g_{\rm Muon}/g_{\rm AdaGO})` of the final optimality gaps, each optimizer
  at its own best η (tuned on separate seeds), paired over held-out seeds;
* *orthogonalization effect*: :math:`\log(g_{\rm Adam}/g_{\rm AdaGO})`, the same way (Adam does not
  orthogonalize);
* *noise amplification*, measured directly: at the iterates, the relative error of the
  orthogonalized stochastic gradient over the relative error of the gradient,
  :math:`\frac{\|\mathrm{Orth}(g) - \mathrm{Orth}(\nabla f)\|_F/\sqrt r}{\|g - \nabla f\|_F/\|\nabla f\|_F}`,
  next to :math:`\kappa(\nabla f)` (the perturbation bound itself is
  :func:`verify.noise_amplification.polar_perturbation_bound`, item 6, first half).
"""

from __future__ import annotations

import time

import numpy as np

from adago_theory import default_rng, from_numpy, orthogonalize, run, to_numpy

from ._factories import resolve, uses
from ._grid import run_grid
from ._setup import outcome, with_reset_accumulator
from ._runs import check_backend, check_int, check_pos, draw_seeds
from ._runs import negative_control as _negative
from ._runs import no_minor_labels
from .result import CheckResult

__all__ = ["check_ill_conditioning", "plot_ill_conditioning", "amplification_at", "PREREGISTERED"]

GRIDS = {"AdaGO": (0.03, 0.1, 0.3, 1.0, 3.0), "Muon": (0.001, 0.003, 0.01, 0.03, 0.1),
         "Adam": (0.001, 0.003, 0.01, 0.03, 0.1)}
GRIDS_QUICK = {"AdaGO": (0.1, 0.3, 1.0), "Muon": (0.003, 0.01, 0.03, 0.1), "Adam": (0.003, 0.01, 0.03, 0.1)}
#: Fixed before the runs (issue 11 item 6).  ``better_factor``: the seed's hypothesis "AdaGO ... better than
#: fixed-eta Muon" as AdaGO's held-out median final gap <= better_factor x Muon's (1: the seed's statement, no
#: margin; see the dated note on the check's page); ``amplification_above``: criterion (i); ``dominance_margin``:
#: the reported "which effect dominates" (not judged).
PREREGISTERED = dict(kappa=300.0, twin_kappa=1.0, sigma2=1.0, steps=2000, steps_quick=400, seeds=8, seeds_quick=4,
                     better_factor=1.0, amplification_above=1.0, dominance_margin=1.25,
                     adago=dict(gamma=10.0, eps=1e-4, beta=0.95), muon=dict(beta=0.95, nesterov=False),
                     adam=dict(weight_decay=0.0), grids=GRIDS, grids_quick=GRIDS_QUICK)
MARGIN = PREREGISTERED["dominance_margin"]
BETTER = PREREGISTERED["better_factor"]


def _make(F, name, eta):
    if name == "AdaGO":
        return F["adago"](eta, orth="svd", **PREREGISTERED["adago"])
    if name == "Muon":
        return F["muon"](eta, orth="svd", **PREREGISTERED["muon"])
    return F["adamw"](eta, **PREREGISTERED["adam"])


def amplification_at(P, X, rng, draws=4):
    r"""Noise amplification of orthogonalization at the points ``X`` (host (R, m, n)).

    Returns
    -------
    amp : ndarray (draws, R)
        :math:`\frac{\|\mathrm{Orth}(g) - \mathrm{Orth}(\nabla f)\|_F/\sqrt r}{\|g - \nabla f\|_F/\|\nabla f\|_F}`.
    kappa : ndarray (R,)
        :math:`\kappa(\nabla f(X))`.
    """
    Xb = from_numpy(np.asarray(X), xp=P.xp, dtype=P.dtype)
    G = np.asarray(to_numpy(P.grad(Xb)), dtype=float)
    r = min(G.shape[-2:])
    O = orthogonalize(G, "svd")
    s = np.linalg.svd(G, compute_uv=False)
    amps = []
    for _ in range(draws):
        g = np.asarray(to_numpy(P.stochastic_grad(Xb, rng)), dtype=float)
        rel_in = np.linalg.norm(g - G, axis=(-2, -1)) / np.linalg.norm(G, axis=(-2, -1))
        rel_out = np.linalg.norm(orthogonalize(g, "svd") - O, axis=(-2, -1)) / np.sqrt(r)
        amps.append(rel_out / rel_in)
    return np.array(amps), s[..., 0] / s[..., -1]


def _boot_ci(x, rng, n=2000, level=0.95):
    """Percentile bootstrap CI of the mean of x (resampling the held-out seeds)."""
    x = np.asarray(x, dtype=float)
    idx = rng.integers(0, x.size, size=(n, x.size))
    means = x[idx].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def _study(F, P, seeds_tune, seeds_eval, T, grids):
    """Tune eta on seeds_tune (median final gap), evaluate at eta* on seeds_eval; one batch per optimizer (its eta
    grid x the seeds, ``verify._grid.run_grid``: each eta sees its separate run's noise)."""
    seeds_all = list(seeds_tune) + list(seeds_eval)
    S = len(seeds_tune)
    out = {}
    for name, grid in grids.items():
        tune, curves, finals = [], {}, {}
        traces = run_grid(lambda eta, name=name: _make(F, name, eta), [({"eta": e}, T) for e in grid], P, seeds_all,
                          stochastic=True, record="log", num_records=40)
        for eta, tr in zip(grid, traces):
            gap = tr.gap
            tune.append(float(np.median(gap[-1, :S])))
            curves[eta] = (tr.steps, gap[:, S:])
            finals[eta] = (gap[-1, S:], tr.X_final[S:])
        k = int(np.nanargmin(tune))
        eta = grid[k]
        out[name] = {"grid": np.array(grid), "tune_median": np.array(tune), "eta_star": eta,
                     "steps": curves[eta][0], "gap_curve": curves[eta][1], "final_gap": finals[eta][0],
                     "X_final": finals[eta][1], "edge": k in (0, len(grid) - 1)}
    return out


def _effects(study, rng):
    g = {n: study[n]["final_gap"] for n in study}
    eff = {}
    for other in ("Muon", "Adam"):
        lr = np.log(g[other] / g["AdaGO"])
        lo, hi = _boot_ci(lr, rng)
        eff[other] = {"log_ratio": lr, "mean": float(lr.mean()), "ci": (lo, hi),
                      "median_ratio": float(np.median(g[other]) / np.median(g["AdaGO"]))}
    return eff


def _dominant(e):
    lo, hi = e["ci"]
    if lo > 0 and e["median_ratio"] >= MARGIN:
        return "AdaGO better"
    if hi < 0 and e["median_ratio"] <= 1 / MARGIN:
        return "AdaGO worse"
    if lo > 0 or hi < 0:
        return f"small difference (significant, under {MARGIN:g}x)"
    return "no significant difference"


def _judge(studies, amp, ctrl_gap):
    """The criteria, each a bool: (i) amplification; (ii) AdaGO <= better_factor x Muon on each twin; the validity
    condition (best eta inside every grid); the control's (ii)."""
    gmed = {k: {n: float(np.median(st[n]["final_gap"])) for n in st} for k, st in studies.items()}
    return dict(
        amplification=float(np.median(amp["ill"]["initial"])) > PREREGISTERED["amplification_above"],
        better={k: g["AdaGO"] <= BETTER * g["Muon"] for k, g in gmed.items()},
        interior=not any(st[n]["edge"] for st in studies.values() for n in st),
        control_better=ctrl_gap <= BETTER * gmed["ill"]["Muon"],
        gmed=gmed)


@uses("adago", "muon", "adamw")
def check_ill_conditioning(*, steps=None, seeds=None, kappa=None, sigma2=None, backend="numpy", quick=False,
                           rng=None, factories=None):
    r"""AdaGO vs Muon vs Adam on a regression with an ill-conditioned design and its well-conditioned twin.

    **Claim** (the seed's hypothesis made measurable).  On :math:`f(X) = \tfrac12\|AXB - C\|_F^2` with
    noisy gradients, each optimizer at its best η: (i) orthogonalization amplifies gradient noise
    where the gradient signal dominates: on the ill-conditioned design, at the initial points
    (:math:`\kappa(\nabla f) \sim 10^3`) the median amplification factor exceeds 1 (an exactly
    conditioned gradient gives about 0.8 for 10 × 6, first order); (ii) "AdaGO's adaptive scaling
    should handle the varying gradient magnitudes better than fixed-η Muon": AdaGO's held-out median
    final gap is at most Muon's (factor 1, the seed's statement), on the ill-conditioned design
    (:math:`\kappa(A) = 300`) *and* on its well-conditioned twin (:math:`\kappa(A) = 1`, the contrast the
    seed's "which effect dominates" needs).  Adam and which effect *dominates* are reported, not
    judged ("AdaGO better" when the paired log-ratio's 95 % seed-bootstrap CI lies above 0 and the
    median ratio is at least 1.25, "AdaGO worse" in the mirror case).

    **Source.** Seed ``000_*.txt``, "First 3 experiments", 3, and Mechanism 1's break condition
    ("orthogonalization amplifies noise … when gradient matrices are ill-conditioned") [seed text];
    the amplification's bound: :mod:`verify.noise_amplification` [derived there].

    **Setting.** ``make_matrix_least_squares(10, 6, kappa_A=300, sigma2=1)`` and the same with
    ``kappa_A=1`` (:math:`A` 20 × 10, :math:`B` 6 × 12 with :math:`\kappa(B) = 1`, :math:`f^\star = 0`,
    additive Gaussian noise); AdaGO (:math:`\gamma = 10`, :math:`\varepsilon = 10^{-4}`, :math:`\beta = 0.95`),
    Muon (:math:`\beta = 0.95`, no Nesterov), AdamW (weight decay 0), exact orthogonalization; η
    from a 5-point grid (quick: 3 or 4 of its points) per optimizer, chosen by the median final gap on
    :math:`S` tuning seeds, then evaluated on :math:`S` held-out seeds (:math:`S` = 8, quick 4; one batch,
    common random numbers across optimizers and η values); :math:`T` = 2000 (quick 400) steps.  Everything in
    :data:`PREREGISTERED`.  Each optimizer's η grid is one batched run of η values × seeds
    (:func:`verify._grid.run_grid`, η as an array over the run axis; every η value draws its noise with its
    separate run's generator, so the common random numbers and the results are those of one run per η, and a
    factory that does not take arrays runs one η at a time; 2026-12-02, issue 13, quick verdict text at
    ``rng = 0`` identical before and after).

    **Measured quantity.** Final gaps :math:`f(X_T) - f^\star` on the held-out seeds; the paired
    log-ratios and their bootstrap CIs; the amplification factor (4 stochastic gradients per point)
    at the held-out initial points and at AdaGO's final iterates, with :math:`\kappa(\nabla f)` there.

    **Outcome.** "not judged" when some optimizer's best η lies on the edge of its grid (the comparison
    is then not at the best η); "fail" when (i) fails or the negative control passes (ii); "not
    reproduced" when (ii) fails on either twin (the seed's hypothesis is not confirmed); else "pass".
    *Negative control* (the closest wrong thing): AdaGO whose accumulator restarts every step (the
    adaptive scaling the hypothesis credits is lost; :func:`verify._setup.with_reset_accumulator`), at
    AdaGO's tuned η, on the ill-conditioned design, must fail (ii).

    *Dated note (2026-12-01).*  Until this date criterion (ii) read "at most 1.5× Muon's and Adam's"
    (non-inferiority), a margin set after pilot runs, and the well-conditioned twin was left out of the
    verdict.  The full run of ``docs/figures/results.json`` at commit 6fed424 (issue 11) measured, on
    the twin, AdaGO 0.0193, Muon 0.0122, Adam 0.0054: the old margin failed there unreported.  The
    criterion is now the seed's statement (factor 1, vs Muon), judged on both twins.

    Parameters
    ----------
    steps : int, optional
    seeds : int, optional
        :math:`S` tuning and :math:`S` held-out seeds.
    kappa : float, optional
        :math:`\kappa(A) \ge 1` of the ill-conditioned design (default 300).
    sigma2 : float, optional
        Noise variance :math:`> 0` (default 1).
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
    F = resolve(factories)
    g = default_rng(rng)
    backend = check_backend(backend)
    T = check_int("steps", (pre["steps_quick"] if quick else pre["steps"]) if steps is None else steps, lo=10)
    S = check_int("seeds", (pre["seeds_quick"] if quick else pre["seeds"]) if seeds is None else seeds, lo=2)
    kappa = check_pos("kappa", pre["kappa"] if kappa is None else kappa, lo=1.0, lo_open=False)
    sigma2 = check_pos("sigma2", pre["sigma2"] if sigma2 is None else sigma2)
    grids = pre["grids_quick"] if quick else pre["grids"]
    seeds_all = draw_seeds(g, 2 * S)
    tune, held = seeds_all[:S], seeds_all[S:]
    boot = np.random.default_rng(g.integers(2**63 - 1))
    noise_rng = default_rng(int(g.integers(2**31 - 1)))

    # measure
    problems = {"ill": make_matrix_least_squares(10, 6, kappa_A=kappa, sigma2=sigma2, rng=g, backend=backend),
                "well": make_matrix_least_squares(10, 6, kappa_A=pre["twin_kappa"], sigma2=sigma2, rng=g,
                                                  backend=backend)}
    studies, effects, amp = {}, {}, {}
    for key, P in problems.items():
        studies[key] = _study(F, P, tune, held, T, grids)
        effects[key] = _effects(studies[key], boot)
        X0 = np.concatenate([np.asarray(to_numpy(P.initial_point(s, runs=1)), dtype=float) for s in held])
        a0, k0 = amplification_at(P, X0, default_rng(noise_rng, P.xp))
        a1, k1 = amplification_at(P, studies[key]["AdaGO"]["X_final"], default_rng(noise_rng, P.xp))
        amp[key] = {"initial": a0, "final": a1, "kappa_initial": k0, "kappa_final": k1}
    st = studies["ill"]
    ctrl_fac = with_reset_accumulator(resolve()["adago"])
    tr = run(_make({"adago": ctrl_fac}, "AdaGO", st["AdaGO"]["eta_star"]), problems["ill"], T, seeds=held,
             stochastic=True, record="log", num_records=40)
    g_ctrl = float(np.median(tr.gap[-1]))

    # judge
    J = _judge(studies, amp, g_ctrl)
    gmed = J["gmed"]
    verdict = J["amplification"] and all(J["better"].values()) and J["interior"]
    status = outcome(judgeable=J["interior"], mechanism=J["amplification"] and not J["control_better"],
                     seed_claim=all(J["better"].values()))
    negative = _negative(
        f"AdaGO with its accumulator reset every step, at AdaGO's eta* = {st['AdaGO']['eta_star']:g}, "
        "ill-conditioned design; criterion (ii)", J["control_better"],
        f"median final gap {g_ctrl:.3g} vs Muon {gmed['ill']['Muon']:.3g} (better if <= {BETTER:g}x): "
        + ("better (unexpected)" if J["control_better"] else "worse, as expected"),
        measured={"final_gap": tr.gap[-1], "gap_curve": tr.gap, "steps": tr.steps}, predicted={"factor": BETTER})

    med_amp0, med_amp1 = float(np.median(amp["ill"]["initial"])), float(np.median(amp["ill"]["final"]))
    parts = []
    for k, lab in (("ill", f"kappa(A) = {kappa:g}"), ("well", f"twin kappa(A) = {pre['twin_kappa']:g}")):
        s_, e_ = studies[k], effects[k]
        parts.append(
            f"{lab}: held-out median final gap AdaGO {gmed[k]['AdaGO']:.3g} (eta* {s_['AdaGO']['eta_star']:g}), Muon "
            f"{gmed[k]['Muon']:.3g} (eta* {s_['Muon']['eta_star']:g}), Adam {gmed[k]['Adam']:.3g} (eta* "
            f"{s_['Adam']['eta_star']:g}); (ii) AdaGO <= Muon: "
            + ("ok" if J["better"][k] else f"NOT REPRODUCED (AdaGO/Muon = {gmed[k]['AdaGO'] / gmed[k]['Muon']:.3g})")
            + f"; dominates (reported): vs Muon {_dominant(e_['Muon'])} (ratio {e_['Muon']['median_ratio']:.3g}), "
            f"vs Adam {_dominant(e_['Adam'])} (ratio {e_['Adam']['median_ratio']:.3g})")
    text = ("; ".join(parts)
            + f". (i) noise amplification median {med_amp0:.3g} at the initial points (kappa(grad) "
            f"{float(np.median(amp['ill']['kappa_initial'])):.3g}; > 1 needed): {'ok' if J['amplification'] else 'FAIL'};"
            f" {med_amp1:.3g} at AdaGO's final iterates (noise-dominated, reported). Best eta inside every grid: "
            + ("ok" if J["interior"] else "NO (not judged)"))

    def pack(s):
        return {n: {k: v for k, v in d.items() if k != "X_final"} for n, d in s.items()}

    return CheckResult(
        name="ill_conditioning",
        claim=("With noisy gradients, orthogonalization amplifies the gradient noise where the gradient is "
               "ill-conditioned, and AdaGO at its best eta reaches a final gap no larger than fixed-eta Muon at "
               "its best eta, on an ill-conditioned design (kappa(A) = 300) and on its well-conditioned twin; "
               "Adam and which effect dominates are reported"),
        claim_math=(r"\frac{\|\mathrm{Orth}(g)-\mathrm{Orth}(\nabla f)\|_F/\sqrt r}"
                    r"{\|g-\nabla f\|_F/\|\nabla f\|_F} > 1;\quad \mathrm{med}\,g_{\rm AdaGO} \le "
                    r"\mathrm{med}\,g_{\rm Muon}\ (\kappa(A) = 300\ \text{and}\ 1)"),
        source=("seed 000 'First 3 experiments' (3) and Mechanism 1 break condition; perturbation bound in "
                "verify.noise_amplification (item 6, first half)"),
        provenance="seed text",
        kind="qualitative",
        measured={"studies": {k: pack(s) for k, s in studies.items()},
                  "effects": {k: {o: {kk: vv for kk, vv in e.items()} for o, e in ef_.items()}
                              for k, ef_ in effects.items()},
                  "dominance": {k: {o: _dominant(e) for o, e in ef_.items()} for k, ef_ in effects.items()},
                  "amplification": amp, "median_final_gap": gmed["ill"], "median_final_gap_by_twin": gmed,
                  "adago_better_than_muon": J["better"], "best_eta_interior": J["interior"],
                  "seconds": time.perf_counter() - t0},
        predicted={"amplification_above": pre["amplification_above"], "better_factor": BETTER,
                   "dominance_margin": MARGIN},
        fit=None,
        verdict=verdict,
        verdict_text=text,
        negative_control=negative,
        params=dict(preregistered=PREREGISTERED, seeds_tune=tune, seeds_heldout=held, S=S, steps=T, kappa_A=kappa,
                    sigma2=sigma2, grids={k: list(v) for k, v in grids.items()},
                    problem="make_matrix_least_squares(10, 6, kappa_A=kappa or 1, sigma2=sigma2)", orth="svd",
                    backend=backend, quick=bool(quick)),
        quick=bool(quick),
        outcome=status,
        notes=("The seed poses a hypothesis and a question; the outcome covers (i) and (ii) on both twins, "
               "reported as 'not reproduced' where AdaGO loses to Muon. Quick mode uses a subset of each eta "
               "grid; a best eta on the edge of the subset makes the outcome 'not judged'. Measured 2026-12-01 "
               "(rng 0): quick (T = 400) AdaGO beats Muon on both twins; full (T = 2000) AdaGO beats Muon on "
               "kappa(A) = 300 (0.0267 vs 0.0328) but not on the twin (0.0193 vs 0.0122): not reproduced."),
    )


def plot_ill_conditioning(result):
    """Three panels: gap curves at each optimizer's best eta; tuning curves; noise amplification vs kappa(grad)."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    with style_context():
        m = result.measured
        st = m["studies"]["ill"]
        cols = {"AdaGO": OKABE_ITO[0], "Muon": OKABE_ITO[1], "Adam": OKABE_ITO[2]}
        fig, ax = new_figure(1, 3, width=7.2, height=4.4)
        a, b, c = ax[0]
        for n, d in st.items():
            steps = np.asarray(d["steps"], dtype=float)
            gap = np.asarray(d["gap_curve"])
            median_band(a, steps[1:], gap[1:].T, color=cols[n], marker="",
                        label=f"{n} ($\\eta^\\star={d['eta_star']:g}$)")
        for n, d in (m["studies"].get("well") or {}).items():
            steps = np.asarray(d["steps"], dtype=float)
            a.plot(steps[1:], np.median(np.asarray(d["gap_curve"]), axis=1)[1:], color=cols[n], linewidth=0.9,
                   linestyle=(0, (1, 1.5)), label=f"{n}, twin $\\kappa(A)=1$")
        nc = (result.negative_control or {}).get("measured", {})
        if nc:
            a.plot(np.asarray(nc["steps"], dtype=float)[1:], np.median(np.asarray(nc["gap_curve"]), axis=1)[1:],
                   color="k", linestyle="--", linewidth=1.0, label="AdaGO, acc. reset (control)")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("step")
        a.set_ylabel(r"$f(X_t) - f^\star$ (held-out seeds)")
        a.set_title(f"$\\kappa(A) = {result.params['kappa_A']:g}$, $\\sigma^2 = {result.params['sigma2']:g}$")
        a.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
        panel_label(a, "a")
        for n, d in st.items():
            grid = np.asarray(d["grid"], dtype=float)
            b.plot(grid, d["tune_median"], marker="o", color=cols[n], label=n)
            b.plot([d["eta_star"]], [np.min(d["tune_median"])], marker="*", markersize=10, color=cols[n])
        b.set_xscale("log")
        b.set_yscale("log")
        b.set_xlabel(r"$\eta$")
        b.set_ylabel("median final gap (tuning seeds)")
        b.set_title(r"tuning ($\star$: chosen $\eta$)")
        b.legend(fontsize=6)
        panel_label(b, "b")
        for i, (key, am) in enumerate(m["amplification"].items()):
            for where, mk in (("initial", "o"), ("final", "s")):
                A = np.asarray(am[where])
                kap = np.asarray(am[f"kappa_{where}"])
                c.plot(np.broadcast_to(kap, A.shape).ravel(), A.ravel(), linestyle="none", marker=mk, alpha=0.6,
                       color=OKABE_ITO[3 + i], label=f"{key}-conditioned, {where} points")
        c.axhline(1.0, color="0.3", linestyle="--", linewidth=0.9, label="no amplification")
        c.set_xscale("log")
        c.set_yscale("log")
        c.set_xlabel(r"$\kappa(\nabla f)$ at the point")
        c.set_ylabel("relative error out / relative error in")
        c.set_title("noise amplification")
        c.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
        panel_label(c, "c")
        fig.suptitle(result.status.upper() + ": AdaGO vs Muon vs Adam, ill-conditioned design and its twin",
                     fontsize=10)
    return no_minor_labels(fig)
