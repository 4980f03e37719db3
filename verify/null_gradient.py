r"""Null-gradient consistency: AdaGO's and PolarGrad's steps vanish with the gradient, Muon's do not (issue 5, item 5).

*Definition* (seed slides ``002_*.txt``, "However, curvature information is (completely) missing"):
"an optimization algorithm exhibits null-gradient consistency if the magnitude of its update step
tends to zero as the effective gradient term approaches zero"; the slides note that Muon's
fixed-length steps "oscillate even if :math:`G_k \to 0`" and that PolarGrad "satisfies the
null-gradient consistency".  Seed ``000_*.txt`` (Mechanism 3) claims it for AdaGO: the step
"decays to zero as AdaGO converges to a stationary point", provided the floor
:math:`\varepsilon` decays too ("break condition: ε too large").

**The bound (derived here).**  AdaGO's accumulator only grows, :math:`v_t \ge v_1 =
(v_0^2 + \min(\|G_1\|_F^2, \gamma^2))^{1/2}`, so

.. math::

    \alpha_t = \max\Big(\varepsilon_t, \eta\frac{\min(\|G_t\|_F, \gamma)}{v_t}\Big)
    \le \varepsilon_t + \frac{\eta\,\|G_t\|_F}{v_1} \xrightarrow[\ \varepsilon_t\to0,\ G_t\to0\ ]{} 0,

and the update norm is :math:`\alpha_t\|\mathrm{Orth}(M_t)\|_F = \alpha_t\sqrt{r}`.  PolarGrad's is
:math:`\eta\|G_t\|_*\sqrt r \le \eta\sqrt{r\,\mathrm{rank}}\,\|G_t\|_F`.  Muon's is :math:`\eta\sqrt r` at every
step with a nonzero gradient.
"""

from __future__ import annotations

import time

import numpy as np

from adago_theory import default_rng, run

from ._factories import resolve, uses
from ._runs import check_backend, check_int, draw_seeds
from ._runs import negative_control as _negative
from ._runs import no_minor_labels
from .result import CheckResult

__all__ = ["check_null_gradient", "plot_null_gradient"]

#: Declared thresholds: the run counts as "gradient -> 0" when ||G_K||/||G_0|| <= GRAD_DROP and the method as
#: null-gradient consistent when its last step and update are <= STEP_DROP times its first.
GRAD_DROP, STEP_DROP = 1e-2, 1e-2
ETA, GAMMA, BETA, EPS0 = 0.5, 10.0, 0.9, 1e-3
MUON_ETA = 0.05


def _eps_schedule(t):
    return EPS0 / t


def _setups(F, L_fro, r):
    return {
        "AdaGO": F["adago"](ETA, gamma=GAMMA, eps=_eps_schedule, beta=BETA, orth="svd"),
        "PolarGrad": F["polargrad"](1.0 / (L_fro * r), orth="svd"),
    }


def _controls(F):
    return {
        "Muon (control)": F["muon"](MUON_ETA, beta=BETA, nesterov=False, orth="svd"),
        "AdaGO, eps = eta^2 (control)": F["adago"](ETA, gamma=GAMMA, eps=ETA**2, beta=BETA, orth="svd"),
    }


def _summ(tr):
    g, a, u = tr.grad_fro, tr.alpha, tr.update_norm
    last = slice(g.shape[0] // 2, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        lg, la = np.log(g[:-1][last]), np.log(a[1:][last])
        lg_c, la_c = lg - lg.mean(0), la - la.mean(0)
        slope = np.sum(lg_c * la_c, 0) / np.sum(lg_c * lg_c, 0)
    return {"grad_fro": g, "alpha": a, "update_norm": u, "grad_ratio": g[-1] / g[0], "alpha_ratio": a[-1] / a[1],
            "update_ratio": u[-1] / u[1], "loglog_slope": slope, "gap": tr.gap}


def _criterion(s):
    return bool(np.all(s["grad_ratio"] <= GRAD_DROP) and np.all(s["alpha_ratio"] <= STEP_DROP)
                and np.all(s["update_ratio"] <= STEP_DROP))


@uses("adago", "polargrad", "muon")
def check_null_gradient(*, steps=None, seeds=None, backend="numpy", quick=False, rng=None, factories=None):
    r"""AdaGO (with :math:`\varepsilon_t \to 0`) and PolarGrad are null-gradient consistent; Muon is not.

    **Claim.** On a run that converges to a stationary point (:math:`\|G_t\|_F \to 0`), AdaGO with a
    decaying floor has :math:`\alpha_t \le \varepsilon_t + \eta\|G_t\|_F/v_1 \to 0` at every step and its
    update norm :math:`\|X_t - X_{t-1}\|_F \to 0`; so does PolarGrad's.  Muon's update norm stays at
    :math:`\eta\sqrt r`.  (Qualitative limit, tested with declared thresholds, plus an upper bound at
    every step.)

    **Source.** Seed ``002_*.txt`` (definition; "Muon … oscillate even if :math:`G_k\to0`"; PolarGrad
    "satisfies the null-gradient consistency") and seed ``000_*.txt`` Mechanism 3 (AdaGO, with
    :math:`\varepsilon` decaying) [seed text]; the bound on :math:`\alpha_t` [derived here].

    **Setting.** Deterministic matrix least squares (10 × 6, :math:`\kappa(A) = 5`, minimizer
    :math:`X^\star`, :math:`f^\star = 0`); :math:`S = 8` initial points in one batch; :math:`K` = 800
    (quick) or 3000 steps.  AdaGO :math:`\eta = 0.5`, :math:`\gamma = 10`, :math:`\beta = 0.9`,
    :math:`\varepsilon_t = 10^{-3}/t`; PolarGrad :math:`\gamma = 1/(L r)`; Muon :math:`\eta = 0.05`,
    :math:`\beta = 0.9`; exact orthogonalization.

    **Measured quantity.** :math:`\|G_t\|_F`, :math:`\alpha_t` (``state.alpha``) and
    :math:`\|X_t - X_{t-1}\|_F` at every step (:func:`adago_theory.run`); their ratios last/first and
    the log-log slope of :math:`\alpha_t` against :math:`\|G_t\|_F` over the second half (reported).

    **Pass criterion.** For AdaGO and PolarGrad on every run: :math:`\|G_K\|_F \le 10^{-2}\|G_0\|_F`
    (the run reaches the regime), :math:`\alpha_K \le 10^{-2}\alpha_1` and
    :math:`\|X_K - X_{K-1}\|_F \le 10^{-2}\|X_1 - X_0\|_F`; and AdaGO's bound on :math:`\alpha_t` at every
    step.  *Negative controls*: Muon, and AdaGO with a constant floor :math:`\varepsilon = \eta^2` (at
    the seed's :math:`\varepsilon < \eta^2` limit, not decaying), must fail the same criterion.

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
    K = check_int("steps", (800 if quick else 3000) if steps is None else steps, lo=10)
    S = check_int("seeds", 8 if seeds is None else seeds, lo=1)
    P = make_matrix_least_squares(10, 6, kappa_A=5.0, rng=g, backend=backend)
    seeds_ = draw_seeds(g, S)
    r = min(P.shapes[0])
    res, ok = {}, True
    for name, opt in _setups(F, P.constants.L_fro, r).items():
        tr = run(opt, P, K, seeds=seeds_, record="all")
        res[name] = _summ(tr)
        ok &= _criterion(res[name])
    a = res["AdaGO"]
    v1 = np.sqrt(1e-12 + np.minimum(a["grad_fro"][0] ** 2, GAMMA**2))
    t = np.arange(1, K + 1)[:, None]
    bound = _eps_schedule(t) + ETA * np.minimum(a["grad_fro"][:-1], GAMMA) / v1
    bound_ok = bool(np.all(a["alpha"][1:] <= bound * (1 + 1e-12)))
    a["alpha_bound"] = bound
    verdict = ok and bound_ok

    ctrl = {}
    for name, opt in _controls(F).items():
        tr = run(opt, P, K, seeds=seeds_, record="all")
        ctrl[name] = _summ(tr)
    ctrl_ok = {n: _criterion(s) for n, s in ctrl.items()}
    negative = _negative(
        "Muon (eta = %g) and AdaGO with a constant floor eps = eta^2 = %g; same criterion" % (MUON_ETA, ETA**2),
        any(ctrl_ok.values()),
        "; ".join(f"{n}: alpha_K/alpha_1 = {float(np.median(s['alpha_ratio'])):.3g}, update ratio "
                  f"{float(np.median(s['update_ratio'])):.3g} (median), gradient ratio "
                  f"{float(np.median(s['grad_ratio'])):.3g}: "
                  + ("consistent (unexpected)" if ctrl_ok[n] else "not consistent")
                  for n, s in ctrl.items()),
        measured={n: {k: s[k] for k in ("grad_fro", "alpha", "update_norm", "alpha_ratio", "update_ratio",
                                         "grad_ratio", "loglog_slope")} for n, s in ctrl.items()},
        predicted={"Muon update norm": MUON_ETA * np.sqrt(r), "AdaGO alpha floor": ETA**2})
    text = "; ".join(
        f"{n}: ||G_K||/||G_0|| <= {float(np.max(s['grad_ratio'])):.2g}, alpha_K/alpha_1 <= "
        f"{float(np.max(s['alpha_ratio'])):.2g}, update ratio <= {float(np.max(s['update_ratio'])):.2g} "
        f"(thresholds {GRAD_DROP:g}, {STEP_DROP:g}), log-log slope alpha vs ||G|| "
        f"{float(np.median(s['loglog_slope'])):.2f}"
        for n, s in res.items()) + f"; AdaGO alpha_t <= eps_t + eta ||G_t||/v_1 at every step: {bound_ok}"
    return CheckResult(
        name="null_gradient",
        claim=("AdaGO with a decaying floor and PolarGrad take steps that vanish as the gradient vanishes "
               "(null-gradient consistency); Muon's step length does not"),
        claim_math=(r"\alpha_t \le \varepsilon_t + \eta\|G_t\|_F/v_1 \to 0\ \text{as}\ \|G_t\|_F\to0,\ "
                    r"\varepsilon_t\to0;\quad \|X_t-X_{t-1}\|_F = \eta\sqrt r\ \text{(Muon)}"),
        source=("seed 002 slides (definition, Muon oscillates, PolarGrad consistent); seed 000 Mechanism 3 (AdaGO, "
                "eps decaying); bound derived here"),
        provenance=("seed text", "derived here"),
        kind="qualitative",
        measured={n: {k: s[k] for k in ("grad_fro", "alpha", "update_norm", "grad_ratio", "alpha_ratio",
                                         "update_ratio", "loglog_slope")} for n, s in res.items()}
        | {"alpha_bound_holds": bound_ok, "seconds": time.perf_counter() - t0},
        predicted={"AdaGO alpha bound": a["alpha_bound"], "grad_drop": GRAD_DROP, "step_drop": STEP_DROP,
                   "loglog_slope": 1.0},
        fit=None,
        verdict=verdict,
        verdict_text=text,
        negative_control=negative,
        params=dict(seeds=seeds_, S=S, steps=K, problem="make_matrix_least_squares(10, 6, kappa_A=5)",
                    adago={"eta": ETA, "gamma": GAMMA, "beta": BETA, "eps": f"{EPS0:g}/t", "v0": 1e-6},
                    polargrad={"eta": "1/(L_fro r)"}, muon={"eta": MUON_ETA, "beta": BETA},
                    control_eps=ETA**2, grad_drop=GRAD_DROP, step_drop=STEP_DROP, orth="svd", backend=backend,
                    quick=bool(quick)),
        quick=bool(quick),
        notes=("A limit cannot be measured; the declared thresholds (1e-2 for gradient and step) turn it into a "
               "finite test. The floor eps_t = 1e-3/t is our choice of 'eps -> 0'."),
    )


def plot_null_gradient(result):
    """Two panels: step size and gradient over the run; update norm against gradient norm (all methods)."""
    from adago_theory.app.plotting import OKABE_ITO, median_band, new_figure, panel_label, style_context

    with style_context():
        m = result.measured
        nc = (result.negative_control or {}).get("measured", {})
        series = [(n, m[n], OKABE_ITO[i]) for i, n in enumerate(("AdaGO", "PolarGrad"))]
        series += [(n, s, OKABE_ITO[3 + i]) for i, (n, s) in enumerate(nc.items())]
        fig, ax = new_figure(1, 2, width=7.2, height=3.6)
        a, b = ax[0]
        def thin(n):
            """At most 300 log-spaced row indices of a curve of length n (the figure only)."""
            return np.unique(np.geomspace(1, n, 300).astype(int)) - 1

        for n, s, col in series:
            al = np.asarray(s["alpha"])[1:]
            k = thin(al.shape[0])
            median_band(a, k + 1, (al[k] / al[0]).T, color=col, marker="", label=n)
        gr = np.asarray(m["AdaGO"]["grad_fro"])
        k = thin(gr.shape[0])
        median_band(a, k + 1, (gr[k] / gr[0]).T, color="0.4", marker="", linestyle=":",
                    label=r"AdaGO: $\|G_t\|_F/\|G_0\|_F$")
        a.axhline(result.predicted["step_drop"], color="0.3", linestyle="--", linewidth=0.9, label="threshold")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("step $t$")
        a.set_ylabel("step size / first step size")
        a.set_title("step sizes over the run")
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6, ncol=2)
        panel_label(a, "a")
        for n, s, col in series:
            gg = np.asarray(s["grad_fro"])[:-1]
            uu = np.asarray(s["update_norm"])[1:]
            k = thin(gg.shape[0])
            b.plot(np.median(gg[k], axis=1), np.median(uu[k], axis=1), color=col, label=n)
        b.set_xscale("log")
        b.set_yscale("log")
        b.invert_xaxis()
        b.set_xlabel(r"gradient norm $\|G_t\|_F$ (median over runs)")
        b.set_ylabel(r"update norm $\|X_t - X_{t-1}\|_F$")
        b.set_title("update vs gradient (as it decreases →)")
        b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6, ncol=2)
        panel_label(b, "b")
        fig.suptitle(("PASS" if result.passed else "FAIL") + ": null-gradient consistency", fontsize=10)
    return no_minor_labels(fig)
