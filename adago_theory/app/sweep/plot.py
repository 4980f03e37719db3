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
state), in the project style of :mod:`adago_theory.app.plotting` when that module is present.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["config_columns", "metric_columns", "run_groups", "fit_rates", "plot_curves", "plot_rates",
           "plot_store", "save_figure"]

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
        ``theil_low``, ``theil_high`` (95 % Theil–Sen).  Groups with non-positive
        values cannot be fitted in log–log and get NaN.

    Raises
    ------
    ValueError
        Unknown metric or statistic.
    """
    import pandas as pd
    from scipy import stats

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
            x, y = np.log(yT.index.values.astype(float)), np.log(yT.values)
            lr = stats.linregress(x, y) if len(yT) >= 3 else None
            if lr is None:
                slope = (y[1] - y[0]) / (x[1] - x[0])
                row.update(slope=slope, stderr=np.nan, intercept=y[0] - slope * x[0])
            else:
                row.update(slope=lr.slope, stderr=lr.stderr, intercept=lr.intercept)
            ts = stats.theilslopes(y, x, alpha=0.95)
            row.update(theil_slope=ts.slope, theil_low=ts.low_slope, theil_high=ts.high_slope)
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


def _style():
    """The project's matplotlib style (``adago_theory.app.plotting``) when present, else matplotlib's."""
    import contextlib

    try:
        from adago_theory.app.plotting import style_context
    except ImportError:
        return contextlib.nullcontext()
    return style_context()


def _figure(n_panels: int, *, legend_right=False):
    """A Figure with one panel per problem, built without pyplot (no GUI, no global state)."""
    ncols = min(n_panels, 3 if not legend_right else 2)
    nrows = -(-n_panels // ncols)
    per = 4.6 + (3.8 if legend_right else 0.0)
    try:
        from adago_theory.app.plotting import new_figure
    except ImportError:
        new_figure = None
    if new_figure is not None:
        fig, axes = new_figure(nrows, ncols, width=min(per * ncols, 16.8), height=3.6 * nrows)
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(min(per * ncols, 16.8), 3.6 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(np.asarray(axes).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


_LEGEND_INSIDE = 4  # more legend entries than this go to the right of the axes


def _n_colors(ax) -> int:
    import matplotlib

    return max(1, len(matplotlib.rcParams["axes.prop_cycle"].by_key().get("color", [None] * 10)))


def _linestyle(i, ax):
    """Solid for the first colour cycle, then dashed, dotted, dash-dot: lines stay distinct."""
    return ("-", "--", ":", "-.")[(i // _n_colors(ax)) % 4]


def _legend(ax):
    """A small legend inside the axes, or to their right when it has many entries."""
    n = len(ax.get_legend_handles_labels()[0])
    if n == 0:
        return
    if n <= _LEGEND_INSIDE:
        ax.legend(fontsize=6, frameon=False)
    else:
        ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _panels(df, ax, n_entries=0):
    problems = list(dict.fromkeys(df["problem"])) if "problem" in df.columns else [None]
    if ax is not None:
        return ax.figure, [(None, ax)]
    fig, axes = _figure(len(problems), legend_right=n_entries > _LEGEND_INSIDE)
    return fig, list(zip(problems, axes))


def plot_curves(df, metric: str, *, ax=None, logy: bool | None = None, max_lines: int = 40):
    """Plot ``metric`` against the step: median over seeds with the inter-quartile band, per run.

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
    if metric not in df.columns:
        raise ValueError(f"metric must be one of {', '.join(metric_columns(df))}, got {metric!r}")
    with _style():
        runs = run_groups(df)
        per_panel = runs.groupby("problem").size().max() if "problem" in runs else len(runs)
        fig, panels = _panels(df, ax, min(int(per_panel), max_lines))
        vals = df[metric].to_numpy(dtype=float)
        if logy is None:
            logy = bool(np.all(vals[np.isfinite(vals)] > 0))
        n_seeds = int(df.groupby("run_id").seed.nunique().max())
        for problem, a in panels:
            sel = runs if problem is None else runs[runs.problem == problem]
            for i, (_, r) in enumerate(sel.head(max_lines).iterrows()):
                sub = df[df.run_id == r.run_id]
                q = sub.groupby("step")[metric].quantile([0.25, 0.5, 0.75]).unstack()
                line, = a.plot(q.index, q[0.5], label=r.label, lw=1.3, ls=_linestyle(i, a))
                if sub.seed.nunique() > 1:
                    a.fill_between(q.index, q[0.25], q[0.75], color=line.get_color(), alpha=0.2, lw=0)
            if logy:
                a.set_yscale("log")
            steps = df.step[df.step > 0]
            if len(steps) and steps.max() > 10 * steps.min():
                a.set_xscale("log")
            a.set_xlabel("step t")
            a.set_ylabel(metric)
            a.set_title(f"{problem + ': ' if problem else ''}median over {n_seeds} seed(s), band 25-75 %",
                        fontsize=8)
            _legend(a)
    return fig


def plot_rates(df, metric: str, *, statistic: str = "final", ax=None, fits=None):
    r"""Log–log plot of :math:`y_T` against the horizon with the fitted power law per group.

    Markers: mean over seeds; band: 25–75 % quantiles over seeds; dashed line: the OLS
    fit of :func:`fit_rates`, its slope and the Theil–Sen interval in the legend.  One
    panel per problem unless ``ax`` is given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fits = fit_rates(df, metric, statistic=statistic) if fits is None else fits
    per = _per_seed(df, metric, statistic)
    runs = run_groups(df, across_T=True)
    per = per.merge(runs[["run_id", "group", "label", "T", "problem"]], on="run_id")
    by_group = {r.group: r for r in fits.itertuples()}
    with _style():
        per_panel = per.groupby("problem")["group"].nunique().max()
        fig, panels = _panels(df, ax, int(per_panel))
        for problem, a in panels:
            sel = per if problem is None else per[per.problem == problem]
            for g, sub in sel.groupby("group", sort=True):
                label = sub["label"].iloc[0]
                agg = sub.groupby("T")["y"]
                mean, lo, hi = agg.mean(), agg.quantile(0.25), agg.quantile(0.75)
                if len(mean) < 2:
                    continue
                f = by_group.get(g)
                txt = label
                if f is not None and np.isfinite(f.slope):
                    txt += f"  slope {f.slope:+.3f} [{f.theil_low:+.3f}, {f.theil_high:+.3f}]"
                line, = a.plot(mean.index, mean.values, "o", ms=4, label=txt)
                line.set_marker("osD^v<>"[(g // _n_colors(a)) % 7])
                a.fill_between(mean.index, lo.values, hi.values, color=line.get_color(), alpha=0.15, lw=0)
                if f is not None and np.isfinite(f.slope):
                    T = np.asarray(mean.index, dtype=float)
                    a.plot(T, np.exp(f.intercept) * T ** f.slope, "--", color=line.get_color(), lw=1)
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
            _legend(a)
    return fig


def save_figure(fig, stem, formats=("png", "pdf")) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf``, each atomically; returns the paths.

    Uses ``adago_theory.app.plotting.save_figure`` (the project's writer: atomic, stable
    metadata) when that module exists, else an equivalent writer here.
    """
    stem = Path(stem)
    try:
        from adago_theory.app.plotting import save_figure as _save
    except ImportError:
        _save = None
    if _save is not None:
        return [Path(p) for p in _save(fig, stem, formats=tuple(formats))]
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
            "svg": {"Date": None}}
    paths = []
    for f in formats:
        final = stem.parent / f"{stem.name}.{f}"
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fig.savefig(fh, format=f, metadata=meta.get(f), dpi=150)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(final)
    return paths


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
        ``{"files": [paths], "fits": DataFrame or None, "metric": str}``.  With ``rates``,
        ``rates_<metric>.csv`` holds the fits.

    Raises
    ------
    ValueError
        If the store holds no finished run, or the metric is unknown.
    """
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
        files += save_figure(plot_curves(df, metric), out / f"curves_{metric}")
    if "rates" in kinds:
        fits = fit_rates(df, metric, statistic=statistic)
        if len(fits):
            files += save_figure(plot_rates(df, metric, statistic=statistic, fits=fits), out / f"rates_{metric}")
        csv = out / f"rates_{metric}.csv"
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{csv.name}.", suffix=".tmp")
        os.close(fd)
        fits.to_csv(tmp, index=False)
        os.replace(tmp, csv)
        files.append(csv)
    return {"files": files, "fits": fits, "metric": metric}
