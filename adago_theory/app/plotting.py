r"""The project's matplotlib style and figure helpers.

Importing :mod:`adago_theory` never imports matplotlib; this module imports it
only inside its functions, so ``import adago_theory.app.plotting`` is cheap too.

* :func:`style_context` applies the packaged style file ``adago.mplstyle``
  (Okabe–Ito colour-blind-safe cycle, small serif-free fonts, light grid).
* :func:`new_figure` builds a :class:`matplotlib.figure.Figure` directly, without
  :mod:`matplotlib.pyplot`: no global figure manager, no GUI backend; saving
  goes through the Agg (PNG) and PDF canvases.
* :func:`save_figure` writes PNG and PDF atomically with stable metadata, so the
  same figure gives the same bytes (``toolkits.md`` §7: ``Software``/``Creator``/
  ``Producer``/``CreationDate`` removed).
* :func:`median_band`, :func:`reference_line`, :func:`fit_line` draw the
  standard rate-plot elements: median over seeds with a quantile band, a
  dashed theory line anchored at a point, the fitted line with slope and CI.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from pathlib import Path

import numpy as np

__all__ = [
    "STYLE_FILE",
    "OKABE_ITO",
    "style_context",
    "styled",
    "new_figure",
    "save_figure",
    "median_band",
    "reference_line",
    "fit_line",
    "panel_label",
]

STYLE_FILE = Path(__file__).with_name("adago.mplstyle")

#: Okabe & Ito (2008) colour-blind-safe palette: blue, vermillion, bluish green,
#: reddish purple, orange, sky blue, yellow, black.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


def style_context():
    """Context manager applying the project style (``adago.mplstyle``) to the figures made inside it."""
    import matplotlib.style

    return matplotlib.style.context(str(STYLE_FILE))


def styled(fn):
    """Decorator: run a plotting function inside :func:`style_context`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style_context():
            return fn(*args, **kwargs)

    return wrapper


def new_figure(nrows=1, ncols=1, *, width=None, height=None, squeeze=False, **subplot_kw):
    """A styled Figure with a grid of axes, made without pyplot.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    width, height : float, optional
        Size in inches (default: 3.2 in per column, 2.9 in per row, capped at 7.2 in wide).
    squeeze : bool, default False
        As in :func:`matplotlib.pyplot.subplots`; by default ``axes`` is always 2-D.
    **subplot_kw
        Passed to :meth:`Figure.subplots` (``sharex``, ``sharey``, ``gridspec_kw``, …).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes
    """
    from matplotlib.figure import Figure

    with style_context():
        w = width if width is not None else min(3.2 * ncols, 7.2) if ncols > 1 else 4.2
        h = height if height is not None else 2.9 * nrows
        fig = Figure(figsize=(w, h), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=squeeze, **subplot_kw)
    return fig, axes


def _atomic_savefig(fig, path: Path, fmt: str, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:  # honours the umask, unlike mkstemp's 0600
            fig.savefig(fh, format=fmt, **kw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_figure(fig, path_stem, *, formats=("png", "pdf"), dpi=None):
    """Write ``fig`` as ``<path_stem>.png`` and ``<path_stem>.pdf``, atomically and reproducibly.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path_stem : str or Path
        Target path without extension (an extension, if given, is replaced).
    formats : sequence of {"png", "pdf", "svg"}
        Which files to write.
    dpi : float, optional
        Raster resolution (default: the style's ``savefig.dpi``, 200).

    Returns
    -------
    list of Path
        The files written.

    Notes
    -----
    Each file is written to a temporary file in the target directory and moved into
    place with :func:`os.replace`, so readers never see a partial figure.  The
    metadata that would change between runs (software version, creation date) is
    removed; the PDF date also honours ``SOURCE_DATE_EPOCH``.
    """
    allowed = ("png", "pdf", "svg")
    if isinstance(formats, str):
        formats = (formats,)
    bad = [f for f in formats if f not in allowed]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {allowed}, got {formats!r}")
    stem = Path(path_stem)
    if stem.suffix.lower() in (".png", ".pdf", ".svg"):
        stem = stem.with_suffix("")
    written = []
    with style_context():
        import matplotlib

        for fmt in formats:
            kw = {}
            if dpi is not None:
                kw["dpi"] = dpi
            if fmt == "png":
                kw["metadata"] = dict(_PNG_METADATA)
            elif fmt == "pdf":
                kw["metadata"] = dict(_PDF_METADATA)
            else:
                kw["metadata"] = {"Date": None, "Creator": None}
            with matplotlib.rc_context({"svg.hashsalt": "adago-theory"}):
                target = stem.with_name(stem.name + "." + fmt)
                _atomic_savefig(fig, target, fmt, **kw)
            written.append(target)
    return written


def median_band(ax, x, Y, *, q=(0.25, 0.75), label=None, color=None, marker="o", alpha=0.2, **plot_kw):
    """Plot the median of ``Y`` over seeds against ``x`` with a quantile band.

    Parameters
    ----------
    ax : Axes
    x : array_like, shape (K,)
    Y : array_like, shape (S, K) or (K,)
        One row per seed.
    q : (float, float)
        Quantiles of the band (default the inter-quartile range); no band for one seed.
    label, color, marker, alpha
        Line label, colour, marker and band transparency.

    Returns
    -------
    Line2D
    """
    x = np.asarray(x, dtype=float)
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    med = np.nanmedian(Y, axis=0)
    (line,) = ax.plot(x, med, marker=marker, label=label, color=color, **plot_kw)
    if Y.shape[0] > 1:
        lo, hi = np.nanquantile(Y, q, axis=0)
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=alpha, linewidth=0)
    return line


def reference_line(ax, x, slope, *, anchor, label=None, color="0.35", linestyle="--", **plot_kw):
    r"""Dashed line :math:`y = y_0 (x/x_0)^{\text{slope}}` through ``anchor = (x0, y0)`` (log-log).

    Returns
    -------
    Line2D
    """
    x = np.asarray(x, dtype=float)
    x0, y0 = anchor
    (line,) = ax.plot(x, y0 * (x / x0) ** slope, linestyle=linestyle, color=color, label=label,
                      linewidth=1.0, **plot_kw)
    return line


def fit_line(ax, fit, *, label=None, color=None, **plot_kw):
    r"""The fitted power law of a :class:`verify.fit.RateFit` (``exp(intercept) x^slope``) over its fitted range.

    The default label is ``fit.label()``: the slope with its confidence interval.
    """
    x = np.asarray(fit.x, dtype=float)[np.asarray(fit.fitted)]
    xx = np.geomspace(x.min(), x.max(), 50)
    (line,) = ax.plot(xx, np.exp(fit.intercept) * xx ** fit.slope, linestyle=":", color=color,
                      label=fit.label() if label is None else label, linewidth=1.3, **plot_kw)
    return line


def panel_label(ax, letter):
    """Prefix the axes' title with a bold panel letter and align it left (call after ``set_title``)."""
    title = ax.get_title()
    ax.set_title("")
    ax.set_title(rf"$\bf{{{letter}}}$  {title}", loc="left")
