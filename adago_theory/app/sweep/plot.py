r"""Figures and rate fits from a results store.

* :func:`plot_curves`: a metric against the step, one line per run (the median over
  seeds) with the inter-quartile band over seeds (``toolkits.md`` §2.7 item 1 and §7:
  users want uncertainty on the y axis; median + IQR is our choice).
* :func:`fit_rates` / :func:`plot_rates`: for runs that differ only in the horizon
  :math:`T`, fit :math:`\log y_T = a + b \log T` where :math:`y_T` is the mean over seeds
  of a per-run statistic (final value, minimum or mean over the recorded steps).  The
  slope :math:`b` comes from ordinary least squares (``scipy.stats.linregress``) with a
  Theil–Sen interval (``scipy.stats.theilslopes``, 95 %), the recipe of ``toolkits.md``
  §8 steps 3–4 [DOC scipy].  Horizon rules (``scaling``) keep runs of one rule together.

Matplotlib is imported inside the functions; figures are built without pyplot (no GUI, no global
state), in the project style of :mod:`adago_theory.app.plotting`, and saved by its
:func:`~adago_theory.app.plotting.save_figure` (the one atomic writer).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["config_columns", "metric_columns", "run_groups", "fit_rates", "plot_curves", "plot_rates",
           "plot_store", "group_colors", "interval_text", "left_out"]

_CONFIG = ("problem", "optimizer", "T", "problem_seed", "stochastic", "batch_size", "record", "backend",
           "dtype", "device", "scaling", "runner")


def config_columns(df) -> list[str]:
    """The config columns of a results table (fixed names plus ``prob_*`` / ``opt_*``)."""
    return [c for c in df.columns if c in _CONFIG or c.startswith(("prob_", "opt_"))]


def metric_columns(df) -> list[str]:
    """The metric columns of a results table: numeric columns that are not config, run_id, seed or step."""
    skip = set(config_columns(df)) | {"run_id", "seed", "step"}
    return [c for c in df.columns if c not in skip and np.issubdtype(df[c].dtype, np.number)]


def _label(row: dict, varying: list[str]) -> str:
    parts = [str(row["optimizer"])] if "optimizer" in row else []
    for c in varying:
        if c in ("optimizer",):
            continue
        v = row[c]
        if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
            continue
        if c == "scaling":  # "eta=0.5*T^-0.5;eps=..." is already name=value
            parts.append(str(v).replace(";", " "))
            continue
        name = c[4:] if c.startswith("opt_") else c[5:] if c.startswith("prob_") else c
        parts.append(f"{name}={v:g}" if isinstance(v, float) else f"{name}={v}")
    return " ".join(parts)


def run_groups(df, *, across_T: bool = False):
    """One row per run with a ``label`` column (and ``group`` when ``across_T``).

    Parameters
    ----------
    df : pandas.DataFrame
        A results table (:func:`~adago_theory.app.sweep.store.load_results`).
    across_T : bool
        When True, ``group`` is the same for runs that differ only in ``T`` and in
        the hyperparameters that a horizon rule (``scaling``) sets from ``T``.

    Returns
    -------
    pandas.DataFrame
        Indexed like the runs (``run_id`` column), with the config columns, ``label``
        (the config columns that vary among the runs) and optionally ``group``.
    """
    cfg = config_columns(df)
    runs = df.drop_duplicates("run_id")[["run_id"] + cfg]
    try:
        runs = runs.sort_values(cfg, kind="stable", na_position="first")
    except TypeError:  # columns mixing None and numbers: keep the run_id order
        pass
    runs = runs.reset_index(drop=True)
    varying = [c for c in cfg if runs[c].astype(str).nunique() > 1 and not (across_T and c == "T")]
    keys, labels = [], []
    for _, row in runs.iterrows():
        row = dict(row)
        scaled = {f"opt_{s.split('=')[0]}" for s in str(row.get("scaling") or "").split(";") if s}
        drop = ({"T"} | scaled) if across_T else set()
        keys.append(tuple((c, _hashable(row[c])) for c in cfg if c not in drop))
        labels.append(_label(row, [c for c in varying if c not in drop]) or str(row["run_id"]))
    runs["label"] = labels
    if across_T:
        codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        runs["group"] = [codes[k] for k in keys]
    return runs


def _hashable(v):
    if isinstance(v, float) and np.isnan(v):
        return "nan"
    return v


def fit_rates(df, metric: str, *, statistic: str = "final"):
    r"""Fit :math:`y_T \propto T^{b}` for every group of runs that differ only in the horizon.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.
    metric : str
        The metric column.
    statistic : {"final", "min", "mean"}
        Per run and seed: the metric at the last recorded step, its minimum, or its mean
        over the recorded steps.  :math:`y_T` is the mean of it over seeds (the
        expectation the theorems speak of, ``toolkits.md`` §8 step 3).

    Returns
    -------
    pandas.DataFrame
        One row per group with at least two horizons: ``group``, ``label``, ``n_T``, ``n_seeds``,
        ``T_min``, ``T_max``,
        ``slope``, ``stderr``, ``intercept`` (OLS in log–log), ``theil_slope``,
        ``theil_low``, ``theil_high`` (95 % Theil–Sen; NaN with two horizons, where no
        interval exists).  Groups with non-positive values cannot be fitted in log–log and
        get NaN.

    Raises
    ------
    ValueError
        Unknown metric or statistic.
    """
    import pandas as pd

    from verify.fit import loglog_fit

    if metric not in df.columns:
        raise ValueError(f"metric must be one of {', '.join(metric_columns(df))}, got {metric!r}")
    if statistic not in ("final", "min", "mean"):
        raise ValueError(f"statistic must be 'final', 'min' or 'mean', got {statistic!r}")
    per = _per_seed(df, metric, statistic)
    runs = run_groups(df, across_T=True)
    per = per.merge(runs[["run_id", "group", "label", "T"]], on="run_id")
    rows = []
    for g, sub in per.groupby("group", sort=True):
        yT = sub.groupby("T")["y"].mean()
        n_seeds = int(sub.groupby("T")["y"].size().min())
        row = {"group": int(g), "label": sub["label"].iloc[0], "n_T": len(yT), "n_seeds": n_seeds,
               "T_min": int(yT.index.min()),
               "T_max": int(yT.index.max())}
        if len(yT) >= 2 and np.all(yT.values > 0) and np.all(np.isfinite(yT.values)):
            row.update(loglog_fit(yT.index.values.astype(float), yT.values))
        elif len(yT) >= 2:
            row.update(slope=np.nan, stderr=np.nan, intercept=np.nan, theil_slope=np.nan, theil_low=np.nan,
                       theil_high=np.nan)
        else:
            continue
        rows.append(row)
    cols = ["group", "label", "n_T", "n_seeds", "T_min", "T_max", "slope", "stderr", "intercept", "theil_slope",
            "theil_low", "theil_high"]
    return pd.DataFrame(rows, columns=cols)


def _per_seed(df, metric, statistic):
    g = df.sort_values("step").groupby(["run_id", "seed"])[metric]
    y = {"final": g.last, "min": g.min, "mean": g.mean}[statistic]()
    return y.rename("y").reset_index()


def group_colors(n: int) -> list:
    """``n`` distinct colours, one per group: Okabe–Ito up to 8, then ``tab20``, then evenly spaced hues."""
    from ..plotting import OKABE_ITO

    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    import matplotlib

    if n <= 20:
        return [matplotlib.colormaps["tab20"](i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](i / (n - 1)) for i in range(n)]


def _legend_cols(n):
    return 1 if n <= 2 else 2 if n <= 8 else 3


def _figure(n_panels: int, n_entries: int):
    """A Figure with one panel per problem and room below the axes for a legend of ``n_entries``."""
    from ..plotting import new_figure

    ncols = min(n_panels, 3)
    nrows = -(-n_panels // ncols)
    legend_rows = -(-n_entries // _legend_cols(n_entries)) if n_entries else 0
    fig, axes = new_figure(nrows, ncols, width=min(4.6 * ncols + (2.0 if ncols == 1 else 0.0), 14.0),
                           height=3.4 * nrows + 0.17 * legend_rows + 0.3)
    axes = list(np.asarray(axes).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def _legend(fig, handles, labels, title=None):
    """One legend for the whole figure, below the axes (never over the data)."""
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=_legend_cols(len(labels)), fontsize=6.5,
                   frameon=False, title=title, title_fontsize=7)


def _panels(df, ax, n_entries=0):
    problems = list(dict.fromkeys(df["problem"])) if "problem" in df.columns else [None]
    if ax is not None:
        return ax.figure, [(None, ax)]
    fig, axes = _figure(len(problems), n_entries)
    return fig, list(zip(problems, axes))


def plot_curves(df, metric: str, *, ax=None, logy: bool | None = None, max_lines: int = 200):
    """Plot ``metric`` against the step: median over seeds with the inter-quartile band, per run.

    Runs that differ only in the horizon :math:`T` (and the hyperparameters a horizon rule sets
    from it) form a group: a group has one colour, never shared with another group, and its
    horizons are told apart by line width and lightness (longer = darker).  The legend, one
    entry per group, sits below the axes, so that 24 runs or more stay readable.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.
    metric : str
        The metric column.
    ax : matplotlib Axes, optional
        Draw every run there; default: a new figure with one panel per problem.
    logy : bool, optional
        Log scale on y; default: when all values are positive.
    max_lines : int
        At most this many runs per panel are drawn (in config order).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..plotting import style_context

    if metric not in df.columns:
        raise ValueError(f"metric must be one of {', '.join(metric_columns(df))}, got {metric!r}")
    with style_context():
        runs = run_groups(df, across_T=True)
        groups = list(dict.fromkeys(runs["group"]))
        colors = dict(zip(groups, group_colors(len(groups))))
        fig, panels = _panels(df, ax, len(groups))
        vals = df[metric].to_numpy(dtype=float)
        if logy is None:
            logy = bool(np.all(vals[np.isfinite(vals)] > 0))
        n_seeds = int(df.groupby("run_id").seed.nunique().max())
        Ts = sorted(set(runs["T"]))
        shade = {T: 0.45 + 0.55 * i / max(len(Ts) - 1, 1) for i, T in enumerate(Ts)}
        handles = {}
        for problem, a in panels:
            sel = runs if problem is None else runs[runs.problem == problem]
            for _, r in sel.head(max_lines).iterrows():
                sub = df[df.run_id == r.run_id]
                q = sub.groupby("step")[metric].quantile([0.25, 0.5, 0.75]).unstack()
                w = shade[r["T"]]
                line, = a.plot(q.index, q[0.5], color=colors[r.group], lw=0.6 + 1.0 * w, alpha=w)
                handles.setdefault(r.group, (line, r.label))
                if sub.seed.nunique() > 1:
                    a.fill_between(q.index, q[0.25], q[0.75], color=colors[r.group], alpha=0.12, lw=0)
            if logy:
                a.set_yscale("log")
            steps = df.step[df.step > 0]
            if len(steps) and steps.max() > 10 * steps.min():
                a.set_xscale("log")
            a.set_xlabel("step t")
            a.set_ylabel(metric)
            a.set_title(f"{problem + ': ' if problem else ''}median over {n_seeds} seed(s), band 25-75 %",
                        fontsize=8)
        title = f"T = {', '.join(map(str, Ts))} (longer = darker)" if len(Ts) > 1 else None
        from matplotlib.lines import Line2D

        proxies = [Line2D([], [], color=colors[g], lw=1.6) for g in handles]  # the group's full colour
        _legend(fig, proxies, [lab for _, lab in handles.values()], title)
    return fig


def interval_text(fit) -> str:
    """The Theil–Sen interval of a fit row as text; ``n/a (2 horizons)`` where no interval exists."""
    if fit.n_T < 3 or not (np.isfinite(fit.theil_low) and np.isfinite(fit.theil_high)):
        return f"n/a ({fit.n_T} horizons)"
    return f"[{fit.theil_low:+.3f}, {fit.theil_high:+.3f}]"


def plot_rates(df, metric: str, *, statistic: str = "final", ax=None, fits=None):
    r"""Log–log plot of :math:`y_T` against the horizon with the fitted power law per group.

    Markers: mean over seeds; band: 25–75 % quantiles over seeds; dashed line: the OLS
    fit of :func:`fit_rates`, its slope and the Theil–Sen interval in the legend (below the
    axes, one colour per group).  One panel per problem unless ``ax`` is given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..plotting import style_context

    fits = fit_rates(df, metric, statistic=statistic) if fits is None else fits
    per = _per_seed(df, metric, statistic)
    runs = run_groups(df, across_T=True)
    per = per.merge(runs[["run_id", "group", "label", "T", "problem"]], on="run_id")
    by_group = {r.group: r for r in fits.itertuples()}
    with style_context():
        groups = [g for g, sub in per.groupby("group", sort=True) if sub["T"].nunique() >= 2]
        colors = dict(zip(groups, group_colors(len(groups))))
        fig, panels = _panels(df, ax, len(groups))
        handles, labels = [], []
        for problem, a in panels:
            sel = per if problem is None else per[per.problem == problem]
            for g, sub in sel.groupby("group", sort=True):
                if g not in colors:
                    continue
                agg = sub.groupby("T")["y"]
                mean, lo, hi = agg.mean(), agg.quantile(0.25), agg.quantile(0.75)
                f = by_group.get(g)
                ok = f is not None and np.isfinite(f.slope)
                txt = sub["label"].iloc[0]
                if ok:
                    txt += f"  slope {f.slope:+.3f}, Theil-Sen {interval_text(f)}"
                line, = a.plot(mean.index, mean.values, "o", ms=4, color=colors[g])
                a.fill_between(mean.index, lo.values, hi.values, color=colors[g], alpha=0.15, lw=0)
                if ok:
                    T = np.asarray(mean.index, dtype=float)
                    a.plot(T, np.exp(f.intercept) * T ** f.slope, "--", color=colors[g], lw=1)
                handles.append(line)
                labels.append(txt)
            a.set_xscale("log")
            a.set_yscale("log")
            Ts = sorted(set(sel["T"]))
            if len(Ts) <= 12:
                from matplotlib.ticker import NullFormatter

                a.set_xticks(Ts, [str(T) for T in Ts])
                a.xaxis.set_minor_formatter(NullFormatter())
            a.set_xlabel("horizon T")
            a.set_ylabel(f"{statistic} {metric} (mean over seeds)")
            if problem:
                a.set_title(str(problem), fontsize=8)
        _legend(fig, handles, labels)
    return fig


def left_out(path, df, metric: str, fits) -> list[tuple[str, str]]:
    """What the figures and fits of a store leave out, and why: ``[(what, reason), ...]``.

    Failed runs (from their error records: a diverged run names its step), and groups that
    :func:`fit_rates` could not fit (one horizon, or values not positive and finite).
    """
    import json

    from .store import load_errors

    out = []
    for e in load_errors(path).itertuples():
        cfg = json.loads(e.config) if isinstance(e.config, str) and e.config else {}
        what = f"run {e.run_id} ({cfg.get('optimizer', '?')}, T={cfg.get('T', '?')})"
        out.append((what, f"failed: {e.type}: {e.message}"))
    if fits is not None:
        runs = run_groups(df, across_T=True)
        slopes = fits["slope"].to_numpy(dtype=float) if len(fits) else np.array([])
        fitted = set(fits["group"][np.isfinite(slopes)]) if len(fits) else set()
        for g, sub in runs.groupby("group", sort=True):
            if g in fitted:
                continue
            label = sub["label"].iloc[0]
            if sub["T"].nunique() < 2:
                out.append((f"group {label}", "one horizon T: no rate fit"))
            else:
                out.append((f"group {label}", f"{metric} is not positive and finite at every horizon: "
                                              "no log-log fit"))
    return out


def plot_store(path, *, metric: str | None = None, kinds=("curves", "rates"), out=None, statistic: str = "final"):
    """Draw the figures of a results store and write the rate fits.

    Parameters
    ----------
    path : path-like
        The store directory.
    metric : str, optional
        Default: ``grad_nuc`` when recorded, else the first metric column.
    kinds : sequence of {"curves", "rates"}
    out : path-like, optional
        Where to write (default ``<path>/figures``).
    statistic : {"final", "min", "mean"}
        The per-run statistic of the rate fit.

    Returns
    -------
    dict
        ``{"files": [paths], "fits": DataFrame or None, "metric": str, "left_out": [(what, why)]}``
        (:func:`left_out`).  With ``rates``, ``rates_<metric>.csv`` holds the fits.

    Raises
    ------
    ValueError
        If the store holds no finished run, or the metric is unknown.
    """
    from ..plotting import save_figure
    from .store import load_results

    df = load_results(path)
    if df.empty:
        raise ValueError(f"the results store {path} holds no finished run yet")
    metrics = metric_columns(df)
    if metric is None:
        metric = "grad_nuc" if "grad_nuc" in metrics else (metrics[0] if metrics else None)
    if metric not in metrics:
        raise ValueError(f"metric must be one of {', '.join(metrics)}, got {metric!r}")
    for k in kinds:
        if k not in ("curves", "rates"):
            raise ValueError(f"kind must be 'curves' or 'rates', got {k!r}")
    out = Path(out) if out is not None else Path(path) / "figures"
    files, fits = [], None
    if "curves" in kinds:
        files += [Path(p) for p in save_figure(plot_curves(df, metric), out / f"curves_{metric}")]
    if "rates" in kinds:
        fits = fit_rates(df, metric, statistic=statistic)
        if len(fits):
            fig = plot_rates(df, metric, statistic=statistic, fits=fits)
            files += [Path(p) for p in save_figure(fig, out / f"rates_{metric}")]
        csv = out / f"rates_{metric}.csv"
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{csv.name}.", suffix=".tmp")
        os.close(fd)
        fits.to_csv(tmp, index=False)
        os.replace(tmp, csv)
        files.append(csv)
    return {"files": files, "fits": fits, "metric": metric, "left_out": left_out(path, df, metric, fits)}
