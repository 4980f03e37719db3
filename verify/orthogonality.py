r"""Orthogonality of the update directions of AdaGO, Muon, NAMO, PolarGrad and NAMO-D (issue 5, item 4).

Every one of AdaGO, Muon, NAMO and PolarGrad moves along :math:`\mathrm{Orth}(U_t)` times one
scalar: :math:`X_t = X_{t-1} - a_t\,\mathrm{Orth}(U_t)` with :math:`a_t` = ``state.alpha`` (AdaGO's
:math:`\alpha_t`, Muon's :math:`\eta s(m,n)`, NAMO's :math:`s_t`, PolarGrad's :math:`\eta\nu_t`) and
:math:`U_t` the orthogonalized input (the momentum, its Nesterov mix, or the gradient).  So with
exact orthogonalization the singular values of the realized update
:math:`\Delta_t = X_{t-1} - X_t` are :math:`a_t` on the rank of :math:`U_t` (the seed's
"preserves the orthogonality of the update direction", ``seeds/000_*.txt`` abstract and
Mechanism 1 [seed text]).

With :math:`k` Newton–Schulz steps the direction is :math:`U\varphi_k(\hat\Sigma)V^\top`, so
:math:`\sigma_i(\Delta_t)/a_t = \varphi_k(\hat\sigma_i)` with
:math:`\hat\sigma_i = \sigma_i(U_t)/(s\|U_t\|_F)` and :math:`\varphi_k` the composed scalar
polynomials (``adago_theory/orthogonalize.py`` docstring [derived]): that is how far from
orthogonal those directions are, predicted.

NAMO-D right-multiplies the direction by :math:`D_t = \mathrm{diag}(u_{t,j})`
(minxin-zhg/namo ``NAMO_D`` [official code], ``theory.md`` §2.3).  For :math:`m \ge n`,
:math:`O = \mathrm{Orth}(U_t)` has orthonormal columns, so
:math:`(OD)^\top(OD) = D^2` and the singular values of :math:`\Delta_t` are exactly the
:math:`u_{t,j}` [derived here]; the clamp :math:`d_j \in [c\bar d, \bar d/c]` (then
:math:`\min(\cdot, 1)`) bounds the departure from orthogonality:
:math:`\kappa(\Delta_t) = \max_j u_j/\min_j u_j \le 1/c^2` [derived here].
"""

from __future__ import annotations

import time

import numpy as np

from adago_theory import NS_PRESETS, ns_scalar_map, ns_schedule

from ._factories import resolve, uses
from ._runs import check_int
from ._runs import negative_control as _negative
from ._runs import no_minor_labels
from ._setup import (adago_alpha, drive, momentum_inputs, namo_d_columns, namo_scale, outcome, setup,
                     with_reset_accumulator)
from .result import CheckResult

__all__ = ["check_orthogonality", "plot_orthogonality", "composed_singular_values", "PREREGISTERED"]

#: Thresholds and settings, fixed before the runs (issue 11 item 6).  ``tol``: relative tolerance of every
#: equality (the update X_{t-1} - X_t loses about u ||X|| / a_t to cancellation, ~1e-14 here).
PREREGISTERED = dict(
    tol=1e-8,
    steps=20, steps_quick=5, seeds=8,
    sigma2=1.0,                                            # additive gradient noise (column SNRs differ)
    adago=dict(eta=0.05, gamma=1.5, eps=0.03, beta=0.95, v0=1e-6),  # gamma, eps inside the ranges of ||G_t||_F
    #                                                       (1..2.2) and of the adaptive term: both act
    muon=dict(eta=0.02, beta=0.95, nesterov=True),         # scale "none": a_t = eta
    namo=dict(eta=0.01, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True),      # scale "rms"
    namo_d=dict(eta=0.01, c=0.75, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True),
    polargrad=dict(eta=1e-3),                              # beta 0: U_t = G_t, a_t = eta <U_t, Orth(U_t)>
)
TOL_EXACT = PREREGISTERED["tol"]
NAMO_D_C = PREREGISTERED["namo_d"]["c"]
#: Methods compared: exact, Jordan's 5-step quintic (Muon's default), Polar Express (8 steps).
ORTHS = {"svd": "svd", "jordan": ("newton-schulz", {"coeffs": "jordan"}),
         "polar-express": ("newton-schulz", {"coeffs": "polar-express"})}
#: The truncated orthogonalizer of the negative control: one cubic Newton–Schulz step.
TRUNCATED = ("newton-schulz", {"coeffs": "cubic", "steps": 1})


def composed_singular_values(U, coeffs, steps=None):
    r"""Predicted singular values of an NS direction: :math:`\varphi_k(\sigma_i(U)/(s\|U\|_F))`, sorted decreasingly.

    Parameters
    ----------
    U : ndarray (..., m, n)
        Host float64 inputs of the orthogonalizer.
    coeffs, steps
        As for :func:`adago_theory.orthogonalize` (a preset name or triples).

    Returns
    -------
    ndarray (..., min(m, n))
    """
    sched, scale = ns_schedule(coeffs, steps)
    s = np.linalg.svd(np.asarray(U, dtype=np.float64), compute_uv=False)
    x = ns_scalar_map(s / (scale * np.linalg.norm(U, axis=(-2, -1))[..., None]), sched)
    return -np.sort(-x, axis=-1)


# --- measure ---------------------------------------------------------------------------------------

def _make(F, name, orth):
    p = dict(PREREGISTERED[name])
    eta = p.pop("eta")
    if name == "polargrad":
        return F["polargrad"](eta, orth=orth)
    return F[name](eta, orth=orth, **p)


def measure(P, X0, opt, K, noise_seed):
    """The realized updates X_{t-1} - X_t (K, R, m, n) and the gradients the optimizer saw (K, R, m, n)."""
    X, G = drive(P, X0, opt, K, noise_seed=noise_seed)
    return X[:-1] - X[1:], G


# --- predict (hand-written, from the gradients alone) ----------------------------------------------

def predict(name, G, orth):
    r"""The update the rule prescribes, from ``G`` alone: :math:`a_t\,P_t\varphi_k(\hat\Sigma_t)Q_t^\top` with
    :math:`U_t = P_t\Sigma_tQ_t^\top` the recomputed momentum (:math:`\varphi \equiv 1` for exact
    orthogonalization), or :math:`P_tQ_t^\top\mathrm{diag}(u_t)` for NAMO-D.  Returns (K, R, m, n)."""
    m, n = G.shape[-2:]
    p = PREREGISTERED[name]
    U = G if name == "polargrad" else momentum_inputs(G, p["beta"], p.get("nesterov", False))
    Pu, s, Qt = np.linalg.svd(U, full_matrices=False)
    phi = np.ones_like(s)
    if orth != "svd":                                     # phi_k at sigma_i(U) / (scale ||U||_F)
        sched, scale = ns_schedule(orth[1]["coeffs"], None)
        phi = ns_scalar_map(s / (scale * np.linalg.norm(U, axis=(-2, -1))[..., None]), sched)
    if name == "namo_d":
        u = namo_d_columns(G, U, eta=p["eta"], c=p["c"], beta=p["beta"], beta2=p["beta2"], eps=p["eps"],
                           shape_factor=0.2 * np.sqrt(max(m, n)))
        return (Pu @ Qt) * u[..., None, :]
    if name == "adago":
        a, _ = adago_alpha(np.linalg.norm(G, axis=(-2, -1)), eta=p["eta"], gamma=p["gamma"], eps=p["eps"], v0=p["v0"])
    elif name == "muon":
        a = np.full(G.shape[:-2], p["eta"])
    elif name == "namo":
        a = namo_scale(G, U, eta=p["eta"], beta=p["beta"], beta2=p["beta2"], eps=p["eps"],
                       shape_factor=0.2 * np.sqrt(max(m, n)))
    else:                                                 # PolarGrad: a_t = eta <U, D> = eta sum_i sigma_i phi_i
        a = p["eta"] * np.sum(s * phi, axis=-1)
    return (Pu * (a[..., None] * phi)[..., None, :]) @ Qt


# --- judge -----------------------------------------------------------------------------------------

def _sv(D):
    return np.linalg.svd(D, compute_uv=False)


def judge(D, D_pred):
    """Relative distance ``||D - D_pred||_F / ||D_pred||_F`` per step and run (the equality criterion)."""
    return np.linalg.norm(D - D_pred, axis=(-2, -1)) / np.linalg.norm(D_pred, axis=(-2, -1))


def orthogonal_distance(D, D_scale):
    """``max_i |sigma_i(D) / a_t - 1|`` with ``a_t = sigma_1(D_scale)`` (the exact-orthogonalization update)."""
    return np.max(np.abs(_sv(D) / _sv(D_scale)[..., :1] - 1.0), axis=-1)


@uses("adago", "muon", "namo", "namo_d", "polargrad")
def check_orthogonality(*, steps=None, seeds=None, backend="numpy", quick=False, rng=None, factories=None):
    r"""The realized updates are scaled orthogonal matrices, with the step size the update rule gives.

    **Claim.** (i) For AdaGO, Muon, NAMO and PolarGrad with exact orthogonalization the realized
    update :math:`\Delta_t = X_{t-1} - X_t` *is* :math:`a_t\,\mathrm{Orth}(U_t)` — a scaled orthogonal
    matrix along the momentum — with the step factor :math:`a_t` and the momentum :math:`U_t` of the
    update rule *recomputed by hand from the gradients the optimizer saw* (AdaGO:
    :math:`\alpha_t = \max(\varepsilon, \eta\min(\|G_t\|_F,\gamma)/v_t)`; Muon: :math:`\eta`; NAMO: its
    bias-corrected, noise-adapted :math:`s_t`; PolarGrad: :math:`\eta\|G_t\|_*`):
    :math:`\|\Delta_t - a_t\mathrm{Orth}(U_t)\|_F \le 10^{-8}\|a_t\mathrm{Orth}(U_t)\|_F`; so every
    singular value of :math:`\Delta_t` is :math:`a_t`.  (ii) With Newton–Schulz (Jordan's 5 steps;
    Polar Express, 8 steps) :math:`\Delta_t = a_tP_t\varphi_k(\hat\Sigma_t)Q_t^\top`
    (:math:`U_t = P_t\Sigma_tQ_t^\top`) to the same tolerance; the distance to orthogonal,
    :math:`\max_i|\sigma_i(\Delta_t)/a_t - 1|`, is reported ("how far").  (iii) NAMO-D
    (:math:`m \ge n`): :math:`\Delta_t = \mathrm{Orth}(U_t)\operatorname{diag}(u_t)` with its clamped
    column factors :math:`u_{t,j}` (recomputed), so its singular values are the :math:`u_{t,j}` and
    :math:`\kappa(\Delta_t) \le 1/c^2`.

    **Source.** Seed ``000_*.txt`` abstract and Mechanism 1 ("preserves the orthogonality of the
    update direction"), AdaGO's rule: "Method Summary" [seed text]; NAMO/NAMO-D: minxin-zhg/namo
    ``src/namo.py`` [official code]; PolarGrad: timlautk/polargrad [official code]; NS singular values:
    the ``orthogonalize.py`` docstring [derived]; NAMO-D's singular values and :math:`1/c^2` [derived
    here, module docstring].

    **Setting.** Matrix least squares (12 × 6, :math:`\kappa(A) = \kappa(B) = 10`), stochastic gradients
    (additive Gaussian noise, :math:`\sigma^2 = 1`), :math:`S = 8` initial points as one batch, :math:`K`
    = 5 (quick) or 20 steps; the optimizers' settings are in :data:`PREREGISTERED`.  Only the iterates
    and the gradients are recorded (:func:`verify._setup.drive`); nothing is read from the optimizers'
    states.  Singular values by NumPy's SVD on the host.

    **Pass criterion.** (i), (ii) and (iii) at every step of every run (tolerance
    ``PREREGISTERED["tol"]``).  *Negative controls* (plausible implementation slips): AdaGO with a
    truncated orthogonalizer (one cubic Newton–Schulz step: the direction is wrong) and AdaGO whose
    accumulator restarts every step (the direction is right, the step size is not AdaGO's) must each fail
    criterion (i).  Quick mode judges the same criteria on fewer steps.  The clamp :math:`\gamma` sits
    inside the range of the gradient norms and the floor :math:`\varepsilon` inside the range of the
    adaptive term, so that both act.

    Parameters
    ----------
    steps : int, optional
    seeds : int, optional
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
    su = setup(rng, backend, seeds, pre["seeds"], factories)
    K = check_int("steps", (pre["steps_quick"] if quick else pre["steps"]) if steps is None else steps, lo=1)
    P = make_matrix_least_squares(12, 6, kappa_A=10.0, kappa_B=10.0, sigma2=pre["sigma2"], rng=su.g,
                                  backend=su.backend)
    noise_seed = int(su.g.integers(2**31 - 1))
    X0 = P.xp.concat([P.initial_point(s, runs=1) for s in su.seeds], axis=0)
    names = {"adago": "AdaGO", "muon": "Muon", "namo": "NAMO", "polargrad": "PolarGrad"}

    dev, pred_dev, eq_err = {}, {}, {}
    for oname, orth in ORTHS.items():
        dev[oname], pred_dev[oname], eq_err[oname] = {}, {}, {}
        for key, label in names.items():
            D, G = measure(P, X0, _make(su.F, key, orth), K, noise_seed)
            D_pred, D_exact = predict(key, G, orth), predict(key, G, "svd")
            eq_err[oname][label] = judge(D, D_pred)
            dev[oname][label] = orthogonal_distance(D, D_exact)           # how far from orthogonal (reported)
            pred_dev[oname][label] = orthogonal_distance(D_pred, D_exact)
    ok_exact = all(bool(np.all(v <= TOL_EXACT)) for v in eq_err["svd"].values())
    ok_ns = all(bool(np.all(v <= TOL_EXACT)) for o in ORTHS if o != "svd" for v in eq_err[o].values())

    D, G = measure(P, X0, _make(su.F, "namo_d", "svd"), K, noise_seed)
    D_pred = predict("namo_d", G, "svd")
    sD = _sv(D)
    u_sorted = _sv(D_pred)
    namod_err = judge(D, D_pred)
    kappa = sD[..., 0] / sD[..., -1]
    namod_dev = np.max(np.abs(u_sorted / u_sorted.mean(-1, keepdims=True) - 1.0), axis=-1)
    ok_namod = bool(np.all(namod_err <= TOL_EXACT)) and bool(np.all(kappa <= 1.0 / NAMO_D_C**2 * (1 + 1e-12)))
    verdict = ok_exact and ok_ns and ok_namod

    own = resolve()["adago"]                              # controls: the project's AdaGO with one slip each
    controls = {"AdaGO, one cubic NS step": (own, TRUNCATED),
                "AdaGO, accumulator reset every step": (with_reset_accumulator(own), "svd")}
    ctrl_dev = {}
    for cname, (fac, orth) in controls.items():
        D, G = measure(P, X0, _make({"adago": fac}, "adago", orth), K, noise_seed)
        ctrl_dev[cname] = judge(D, predict("adago", G, "svd"))
    ctrl_hold = {c: bool(np.all(v <= TOL_EXACT)) for c, v in ctrl_dev.items()}
    negative = _negative(
        "AdaGO with one cubic Newton–Schulz step; AdaGO with its accumulator reset every step; criterion (i)",
        any(ctrl_hold.values()),
        "; ".join(f"{c}: ||Delta_t - alpha_t Orth(M_t)||_F/||alpha_t Orth(M_t)||_F up to {float(v.max()):.3g} (tolerance {TOL_EXACT:g}) -> "
                  + ("holds (unexpected)" if ctrl_hold[c] else "fails, as expected") for c, v in ctrl_dev.items()),
        measured={"max_deviation": max(float(v.max()) for v in ctrl_dev.values()),
                  "per_control": {c: v for c, v in ctrl_dev.items()}},
        predicted={"max_deviation": TOL_EXACT})

    worst = {o: max(float(np.max(v)) for v in d.values()) for o, d in dev.items()}
    text = (f"(i) exact: ||Delta_t - a_t Orth(U_t)||_F / ||a_t Orth(U_t)||_F <= {max(float(np.max(v)) for v in eq_err['svd'].values()):.2g}"
            f" over AdaGO, Muon, NAMO, PolarGrad, a_t recomputed from the gradients (tol {TOL_EXACT:g}): "
            f"{'ok' if ok_exact else 'FAIL'}; (ii) NS: Delta_t = a_t P phi_k(Sigma) Q^T to "
            f"{max(float(np.max(v)) for o, d in eq_err.items() if o != 'svd' for v in d.values()):.2g}: "
            f"{'ok' if ok_ns else 'FAIL'}; distance to orthogonal: Jordan up to {worst['jordan']:.3f}, Polar Express up "
            f"to {worst['polar-express']:.2g}; (iii) NAMO-D Delta_t = Orth(U_t) diag(u_t) (recomputed) to {float(namod_err.max()):.2g}, "
            f"kappa(Delta) in [{float(kappa.min()):.3f}, {float(kappa.max()):.3f}] <= 1/c^2 = {1 / NAMO_D_C**2:.3f}, "
            f"max_j |u_j/mean - 1| up to {float(namod_dev.max()):.3f}: {'ok' if ok_namod else 'FAIL'}")
    return CheckResult(
        name="orthogonality",
        claim=("AdaGO, Muon, NAMO and PolarGrad move along a scaled orthogonal matrix whose scale is the step size "
               "their update rule gives (recomputed from the gradients) with exact orthogonalization; with "
               "Newton–Schulz the singular values are that step size times the composed scalar polynomials; "
               "NAMO-D's singular values are its clamped column factors u_j, condition number at most 1/c^2"),
        claim_math=(r"\sigma_i(X_{t-1}-X_t) = a_t(G_{1..t})\ (\text{exact});\ = a_t\varphi_k(\hat\sigma_i)\ "
                    r"(\text{NS});\ \sigma(X_{t-1}-X_t) = \{u_{t,j}\},\ \kappa \le c^{-2}\ (\text{NAMO-D})"),
        source=("seed 000 abstract, Mechanism 1 (orthogonality preserved) and Method Summary (AdaGO's alpha_t); "
                "minxin-zhg/namo src/namo.py (NAMO, NAMO-D); timlautk/polargrad polar_grad.py; orthogonalize.py "
                "docstring (NS singular values); NAMO-D spectrum and 1/c^2 derived here"),
        provenance=("seed text", "official code", "derived here"),
        kind="equality",
        measured={"max_deviation": dev, "equality_error": eq_err, "namo_d": {
            "sv_vs_u_rel_error": namod_err, "kappa": kappa, "max_rel_spread": namod_dev,
            "singular_values_last": sD[-1], "u_last": u_sorted[-1]}, "seconds": time.perf_counter() - t0},
        predicted={"max_deviation_exact": 0.0, "tolerance": TOL_EXACT, "max_deviation_ns": pred_dev,
                   "namo_d": {"kappa_max": 1.0 / NAMO_D_C**2}},
        fit=None,
        verdict=verdict,
        verdict_text=text,
        negative_control=negative,
        params=dict(seeds=su.seeds, S=su.S, steps=K, noise_seed=noise_seed, preregistered=PREREGISTERED,
                    problem=f"make_matrix_least_squares(12, 6, kappa_A=10, kappa_B=10, sigma2={pre['sigma2']})",
                    orths={k: str(v) for k, v in ORTHS.items()}, truncated=str(TRUNCATED),
                    ns_steps={"jordan": NS_PRESETS["jordan"].steps, "polar-express": NS_PRESETS["polar-express"].steps},
                    backend=su.backend, quick=bool(quick)),
        quick=bool(quick),
        outcome=outcome(mechanism=verdict and not any(ctrl_hold.values())),
        notes=("The update is measured from the iterates alone (X_{t-1} - X_t) and compared with step sizes and "
               "momenta recomputed by hand from the gradients the optimizer saw (verify._setup); nothing is read "
               "from the optimizer's state. NAMO-D's equality needs m >= n (orthonormal columns)."),
    )


def plot_orthogonality(result):
    """Three panels: update vs the rule per optimizer, method and control; NAMO-D's kappa; NAMO-D's sigma vs u."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    with style_context():
        m, p = result.measured, result.predicted
        fig, ax = new_figure(1, 3, width=7.2, height=3.6)
        a, b, c = ax[0]
        eq, dev = m["equality_error"], m["max_deviation"]
        methods = list(eq)
        names = list(eq[methods[0]])
        w = 0.8 / (len(methods) + 1)
        floor = 1e-17
        for j, o in enumerate(methods):
            vals = [max(float(np.max(eq[o][n])), floor) for n in names]
            a.bar(np.arange(len(names)) + (j - 1) * w, vals, width=w, color=OKABE_ITO[j], label=o)
        nc = result.negative_control or {}
        ticks = list(names)
        per = (nc.get("measured") or {}).get("per_control") or {}
        for i, (cn, v) in enumerate(per.items()):
            a.bar(len(names) + i, float(np.max(v)), width=2 * w, color=OKABE_ITO[4 + i], hatch="//",
                  edgecolor="white", label=cn.replace("AdaGO, ", "control: "))
            ticks.append(["ctrl: 1 NS step", "ctrl: reset acc."][i] if i < 2 else cn)
        a.axhline(p["tolerance"], color="0.3", linestyle="--", linewidth=1.0, label="tolerance")
        a.set_yscale("log")
        a.set_ylim(floor, 30)
        a.set_xticks(np.arange(len(ticks)), ticks, rotation=40, fontsize=6.5, ha="right", rotation_mode="anchor")
        a.set_ylabel(r"$\max_t\|\Delta_t - \hat\Delta_t\|_F/\|\hat\Delta_t\|_F$")
        a.set_title("update = rule (recomputed)", fontsize=9)
        if "jordan" in dev:
            jd = max(float(np.max(v)) for v in dev["jordan"].values())
            a.text(0.03, 0.80, f"Jordan: $\\max|\\sigma_i/a_t-1|$ = {jd:.2f}\n(reported: not orthogonal)",
                   transform=a.transAxes, va="top", fontsize=6)
        h, l = a.get_legend_handles_labels()
        fig.legend(h, l, loc="outside lower center", ncol=3, fontsize=6.5)
        panel_label(a, "a")

        nd = m["namo_d"]
        kap = np.asarray(nd["kappa"])
        median_band(b, np.arange(1, kap.shape[0] + 1), kap.T, color=OKABE_ITO[3], label=r"$\kappa(\Delta_t)$")
        b.axhline(p["namo_d"]["kappa_max"], color="0.3", linestyle="--", linewidth=1.0, label=r"bound $1/c^2$")
        b.axhline(1.0, color=OKABE_ITO[2], linewidth=1.0, label="orthogonal")
        b.set_xlabel("step $t$")
        b.set_ylabel("condition number of the update")
        b.set_title(r"NAMO-D: $\kappa$ of the update")
        b.legend(loc="center right", fontsize=6)
        panel_label(b, "b")

        sv, u = np.asarray(nd["singular_values_last"]).ravel(), np.asarray(nd["u_last"]).ravel()
        c.plot(u, sv, linestyle="none", marker="o", color=OKABE_ITO[3], label="last step, all runs")
        lim = [min(u.min(), sv.min()) * 0.98, max(u.max(), sv.max()) * 1.02]
        c.plot(lim, lim, color="0.3", linestyle="--", linewidth=1.0, label="$y = x$")
        c.set_xlabel("$u_{t,j}$ (recomputed)")
        c.set_ylabel(r"$\sigma_j(\Delta_t)$ (measured)")
        c.set_title(r"NAMO-D: $\sigma_j = u_j$")
        c.legend(loc="lower right", fontsize=6)
        panel_label(c, "c")
        fig.suptitle(result.status.upper() + ": orthogonality of the update directions", fontsize=10)
    return no_minor_labels(fig)
