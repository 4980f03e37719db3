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

from adago_theory import NS_PRESETS, default_rng, ns_schedule, to_numpy

from ._factories import resolve, uses
from ._runs import check_backend, check_int, draw_seeds
from ._runs import negative_control as _negative
from ._runs import no_minor_labels
from .result import CheckResult

__all__ = ["check_orthogonality", "plot_orthogonality", "composed_singular_values"]

#: Relative tolerance for "all singular values equal a_t" with exact orthogonalization.  The update is
#: measured as X_{t-1} - X_t, which loses about u ||X|| / a_t relative accuracy to cancellation.
TOL_EXACT = 1e-8
#: Variance of the additive gradient noise (stochastic gradients make NAMO-D's column SNRs differ).
SIGMA2 = 1.0
#: NAMO-D's clamp c (the class default, theory.md §2.3).
NAMO_D_C = 0.75
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
    x = s / (scale * np.linalg.norm(U, axis=(-2, -1))[..., None])
    for a, b, c in sched:
        x = a * x + b * x**3 + c * x**5
    return -np.sort(-x, axis=-1)


def _optimizers(F, orth):
    """(name, factory output, how to get the orthogonalized input U from (G, new state))."""
    beta = 0.95
    return {
        "AdaGO": (F["adago"](0.05, gamma=10.0, eps=1e-3, beta=beta, orth=orth), lambda G, s: s.M),
        "Muon": (F["muon"](0.02, beta=beta, nesterov=True, orth=orth), lambda G, s: (1 - beta) * G + beta * s.M),
        "NAMO": (F["namo"](0.01, beta=beta, orth=orth), lambda G, s: (1 - beta) * G + beta * s.M),
        "PolarGrad": (F["polargrad"](1e-3, orth=orth), lambda G, s: G),
    }


def _drive(P, X0, opt, get_U, K, noise_seed):
    """K stochastic steps; per step the host update, state.alpha, the orthogonalizer's input, alpha_cols."""
    X, state = X0, opt.init(X0)
    rng = default_rng(noise_seed, P.xp)
    D, A, Us, cols = [], [], [], []
    for _ in range(K):
        G = P.stochastic_grad(X, rng)
        Xn, state = opt.step(X, G, state)
        D.append(np.asarray(to_numpy(X), dtype=float) - np.asarray(to_numpy(Xn), dtype=float))
        A.append(np.asarray(to_numpy(state.alpha), dtype=float))
        Us.append(np.asarray(to_numpy(get_U(G, state)), dtype=float) if get_U is not None else None)
        if hasattr(state, "alpha_cols"):
            cols.append(np.asarray(to_numpy(state.alpha_cols), dtype=float))
        X = Xn
    return np.array(D), np.array(A), (np.array(Us) if get_U is not None else None), (np.array(cols) if cols else None)


def _sv(D):
    return np.linalg.svd(D, compute_uv=False)


@uses("adago", "muon", "namo", "namo_d", "polargrad")
def check_orthogonality(*, steps=None, seeds=None, backend="numpy", quick=False, rng=None, factories=None):
    r"""Update directions are orthogonal with exact orthogonalization; Newton–Schulz and NAMO-D depart as predicted.

    **Claim.** (i) For AdaGO, Muon, NAMO and PolarGrad with exact orthogonalization every nonzero
    singular value of the realized update :math:`\Delta_t = X_{t-1} - X_t` equals the step factor
    :math:`a_t`: :math:`\max_i|\sigma_i(\Delta_t)/a_t - 1| \le 10^{-8}` (equality).  (ii) With
    Newton–Schulz (Jordan's 5 steps; Polar Express, 8 steps), :math:`\sigma_i(\Delta_t)/a_t` equals the
    composed scalar polynomials :math:`\varphi_k(\hat\sigma_i(U_t))` to :math:`10^{-8}`; the distance
    :math:`\max_i|\sigma_i/a_t - 1|` is reported ("how far").  (iii) NAMO-D (:math:`m \ge n`): the
    singular values of :math:`\Delta_t` equal its column factors :math:`u_{t,j}` to :math:`10^{-8}`
    (relative), and :math:`\kappa(\Delta_t) \le 1/c^2`; its departure from an orthogonal direction,
    :math:`\kappa(\Delta_t)` and :math:`\max_j|u_j/\bar u - 1|`, is reported.

    **Source.** Seed ``000_*.txt`` abstract and Mechanism 1 ("preserves the orthogonality of the
    update direction") [seed text]; NAMO/NAMO-D update rules: minxin-zhg/namo ``src/namo.py``
    [official code]; PolarGrad: timlautk/polargrad [official code]; NS singular values: the
    ``orthogonalize.py`` docstring [derived]; NAMO-D's singular values and :math:`1/c^2` [derived
    here, module docstring].

    **Setting.** Matrix least squares (12 × 6, :math:`\kappa(A) = \kappa(B) = 10`, so the gradients
    are ill-conditioned), stochastic gradients (additive Gaussian noise, :math:`\sigma^2 = 1`: the
    columns' signal-to-noise ratios differ, which is what NAMO-D adapts to), :math:`S = 8` initial
    points as one batch, :math:`K` = 5
    (quick) or 20 steps per optimizer; AdaGO (:math:`\eta = 0.05`, :math:`\varepsilon = 10^{-3}`,
    :math:`\gamma = 10`, :math:`\beta = 0.95`), Muon (:math:`\eta = 0.02`, Nesterov), NAMO
    (:math:`\eta = 0.01`, official defaults otherwise), PolarGrad (:math:`\eta = 10^{-3}`), NAMO-D
    (:math:`\eta = 0.01`, :math:`c = 0.75`).  Singular values by NumPy's SVD on the host.

    **Pass criterion.** (i), (ii) and (iii) at every step of every run.  *Negative control*:
    AdaGO with a truncated orthogonalizer (one cubic Newton–Schulz step) must fail criterion (i).

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
    F = resolve(factories)
    g = default_rng(rng)
    backend = check_backend(backend)
    K = check_int("steps", (5 if quick else 20) if steps is None else steps, lo=1)
    S = check_int("seeds", 8 if seeds is None else seeds, lo=1)
    P = make_matrix_least_squares(12, 6, kappa_A=10.0, kappa_B=10.0, sigma2=SIGMA2, rng=g, backend=backend)
    seeds_ = draw_seeds(g, S)
    noise_seed = int(g.integers(2**31 - 1))
    X0 = P.xp.concat([P.initial_point(s, runs=1) for s in seeds_], axis=0)

    dev, pred_dev, eq_err = {}, {}, {}
    ok_exact = ok_ns = True
    for oname, orth in ORTHS.items():
        dev[oname], pred_dev[oname], eq_err[oname] = {}, {}, {}
        for name, (opt, get_U) in _optimizers(F, orth).items():
            D, A, U, _ = _drive(P, X0, opt, get_U, K, noise_seed)
            s = _sv(D) / A[..., None]                          # (K, S, r) sorted decreasingly
            dev[oname][name] = np.max(np.abs(s - 1.0), axis=-1)
            if oname == "svd":
                ok_exact &= bool(np.all(dev[oname][name] <= TOL_EXACT))
            else:
                phi = composed_singular_values(U, orth[1]["coeffs"])
                pred_dev[oname][name] = np.max(np.abs(phi - 1.0), axis=-1)
                eq_err[oname][name] = np.max(np.abs(s - phi), axis=-1)
                ok_ns &= bool(np.all(eq_err[oname][name] <= TOL_EXACT))

    # NAMO-D: singular values = column factors; kappa <= 1/c^2
    D, A, _, cols = _drive(P, X0, F["namo_d"](0.01, c=NAMO_D_C, orth="svd"), None, K, noise_seed)
    sD = _sv(D)
    u_sorted = -np.sort(-cols, axis=-1)
    namod_err = np.max(np.abs(sD - u_sorted), axis=-1) / u_sorted[..., 0]
    kappa = sD[..., 0] / sD[..., -1]
    namod_dev = np.max(np.abs(cols / cols.mean(-1, keepdims=True) - 1.0), axis=-1)
    ok_namod = bool(np.all(namod_err <= TOL_EXACT)) and bool(np.all(kappa <= 1.0 / NAMO_D_C**2 * (1 + 1e-12)))

    verdict = ok_exact and ok_ns and ok_namod

    Dc, Ac, _, _ = _drive(P, X0, F["adago"](0.05, gamma=10.0, eps=1e-3, beta=0.95, orth=TRUNCATED), None, K, noise_seed)
    ctrl_dev = np.max(np.abs(_sv(Dc) / Ac[..., None] - 1.0), axis=-1)
    ctrl_ok = bool(np.all(ctrl_dev <= TOL_EXACT))
    negative = _negative(
        "AdaGO with one cubic Newton–Schulz step as its orthogonalizer, criterion (i)", ctrl_ok,
        f"max_i |sigma_i/alpha_t - 1| up to {float(ctrl_dev.max()):.3g} (tolerance {TOL_EXACT:g}): "
        + ("all singular values 1 (unexpected)" if ctrl_ok else "not orthogonal, as expected"),
        measured={"max_deviation": ctrl_dev}, predicted={"max_deviation": TOL_EXACT})

    worst = {o: max(float(np.max(v)) for v in d.values()) for o, d in dev.items()}
    text = (f"(i) exact: max_i |sigma_i/a_t - 1| <= {worst['svd']:.2g} over AdaGO, Muon, NAMO, PolarGrad "
            f"(tol {TOL_EXACT:g}): {'ok' if ok_exact else 'FAIL'}; (ii) NS singular values = composed polynomials to "
            f"{max(float(np.max(v)) for d in eq_err.values() for v in d.values()):.2g}: {'ok' if ok_ns else 'FAIL'}; "
            f"distance to orthogonal: Jordan up to {worst['jordan']:.3f}, Polar Express up to "
            f"{worst['polar-express']:.2g}; (iii) NAMO-D sigma = u_j to {float(namod_err.max()):.2g}, "
            f"kappa(Delta) in [{float(kappa.min()):.3f}, {float(kappa.max()):.3f}] <= 1/c^2 = {1 / NAMO_D_C**2:.3f}, "
            f"max_j |u_j/mean - 1| up to {float(namod_dev.max()):.3f}: {'ok' if ok_namod else 'FAIL'}")
    return CheckResult(
        name="orthogonality",
        claim=("AdaGO, Muon, NAMO and PolarGrad update along a scaled orthogonal matrix (all nonzero singular values "
               "of the update equal) with exact orthogonalization; with Newton–Schulz the singular values are the "
               "composed scalar polynomials; NAMO-D's diagonal scaling gives singular values u_j with condition "
               "number at most 1/c^2"),
        claim_math=(r"\sigma_i(X_{t-1}-X_t) = a_t\ (\text{exact});\ = a_t\varphi_k(\hat\sigma_i)\ (\text{NS});\ "
                    r"\sigma(X_{t-1}-X_t) = \{u_{t,j}\},\ \kappa \le c^{-2}\ (\text{NAMO-D})"),
        source=("seed 000 abstract and Mechanism 1 (orthogonality preserved); minxin-zhg/namo src/namo.py (NAMO, "
                "NAMO-D); timlautk/polargrad polar_grad.py; orthogonalize.py docstring (NS singular values); NAMO-D "
                "spectrum and 1/c^2 derived here"),
        provenance=("seed text", "official code", "derived here"),
        kind="equality",
        measured={"max_deviation": dev, "ns_equality_error": eq_err, "namo_d": {
            "sv_vs_u_rel_error": namod_err, "kappa": kappa, "max_rel_spread": namod_dev,
            "singular_values_last": sD[-1], "u_last": u_sorted[-1]}, "seconds": time.perf_counter() - t0},
        predicted={"max_deviation_exact": 0.0, "tolerance": TOL_EXACT, "max_deviation_ns": pred_dev,
                   "namo_d": {"kappa_max": 1.0 / NAMO_D_C**2}},
        fit=None,
        verdict=verdict,
        verdict_text=text,
        negative_control=negative,
        params=dict(seeds=seeds_, S=S, steps=K, noise_seed=noise_seed,
                    problem=f"make_matrix_least_squares(12, 6, kappa_A=10, kappa_B=10, sigma2={SIGMA2})",
                    optimizers={"AdaGO": "eta 0.05, gamma 10, eps 1e-3, beta 0.95", "Muon": "eta 0.02, Nesterov",
                                "NAMO": "eta 0.01", "PolarGrad": "eta 1e-3", "NAMO-D": f"eta 0.01, c {NAMO_D_C}"},
                    orths={k: str(v) for k, v in ORTHS.items()}, truncated=str(TRUNCATED),
                    ns_steps={"jordan": NS_PRESETS["jordan"].steps, "polar-express": NS_PRESETS["polar-express"].steps},
                    backend=backend, quick=bool(quick)),
        quick=bool(quick),
        notes=("The update is measured as X_{t-1} - X_t (what the optimizer did), not from its internals; the "
               "optimizer's own state gives only a_t, U_t and NAMO-D's u_j. NAMO-D's equality needs m >= n "
               "(orthonormal columns); for m < n its singular values are not the u_j."),
    )


def plot_orthogonality(result):
    """Three panels: distance to orthogonal per optimizer and method; NAMO-D's kappa; NAMO-D's sigma vs u."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    with style_context():
        m, p = result.measured, result.predicted
        fig, ax = new_figure(1, 3, width=7.2, height=3.4)
        a, b, c = ax[0]
        dev = m["max_deviation"]
        methods = list(dev)
        names = list(dev[methods[0]])
        w = 0.8 / (len(methods) + 1)
        floor = 1e-17
        for j, o in enumerate(methods):
            vals = [max(float(np.max(dev[o][n])), floor) for n in names]
            a.bar(np.arange(len(names)) + (j - 1) * w, vals, width=w, color=OKABE_ITO[j], label=o)
            if p["max_deviation_ns"].get(o):
                pv = [max(float(np.max(p["max_deviation_ns"][o][n])), floor) for n in names]
                a.plot(np.arange(len(names)) + (j - 1) * w, pv, linestyle="none", marker="_", color="k",
                       markersize=9, label="predicted (composition)" if j == len(methods) - 1 else None)
        nc = result.negative_control or {}
        ticks = list(names)
        if nc:
            a.bar(len(names), float(np.max(nc["measured"]["max_deviation"])), width=w, color=OKABE_ITO[4],
                  label="1 cubic NS step (control)")
            ticks.append("AdaGO\n(control)")
        a.axhline(p["tolerance"], color="0.3", linestyle="--", linewidth=1.0, label="tolerance")
        a.set_yscale("log")
        a.set_xticks(np.arange(len(ticks)), ticks, rotation=30, fontsize=7)
        a.set_ylabel(r"$\max_{t,i}|\sigma_i(\Delta_t)/a_t - 1|$")
        a.set_title("distance to orthogonal")
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=6, ncol=2)
        panel_label(a, "a")

        nd = m["namo_d"]
        kap = np.asarray(nd["kappa"])
        median_band(b, np.arange(1, kap.shape[0] + 1), kap.T, color=OKABE_ITO[3], label=r"$\kappa(\Delta_t)$")
        b.axhline(p["namo_d"]["kappa_max"], color="0.3", linestyle="--", linewidth=1.0, label=r"bound $1/c^2$")
        b.axhline(1.0, color=OKABE_ITO[2], linewidth=1.0, label="orthogonal")
        b.set_xlabel("step $t$")
        b.set_ylabel("condition number of the update")
        b.set_title(r"NAMO-D: $\kappa$ of the update")
        b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=6)
        panel_label(b, "b")

        sv, u = np.asarray(nd["singular_values_last"]).ravel(), np.asarray(nd["u_last"]).ravel()
        c.plot(u, sv, linestyle="none", marker="o", color=OKABE_ITO[3], label="last step, all runs")
        lim = [min(u.min(), sv.min()) * 0.98, max(u.max(), sv.max()) * 1.02]
        c.plot(lim, lim, color="0.3", linestyle="--", linewidth=1.0, label="$y = x$")
        c.set_xlabel("column factor $u_{t,j}$ (state)")
        c.set_ylabel(r"$\sigma_j(\Delta_t)$ (measured)")
        c.set_title(r"NAMO-D: $\sigma_j = u_j$")
        c.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=6)
        panel_label(c, "c")
        fig.suptitle(("PASS" if result.passed else "FAIL") + ": orthogonality of the update directions", fontsize=10)
    return no_minor_labels(fig)
