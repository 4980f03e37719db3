r"""Small helpers shared by the checks that run optimizers on problems (issue 5, items 1, 2, 4, 5, 6b, 7, 10).

Nothing here is a claim: seeds drawn from one ``rng`` (SPEC 7), geometric horizon grids,
host copies of initial points, argument checks (re-exported from their one home,
:mod:`adago_theory.checks`, with its contract) and the dict form of a negative control.
"""

from __future__ import annotations

import numpy as np

from adago_theory import default_rng, to_numpy
from adago_theory.backend import BACKENDS
from adago_theory.checks import check_choice, check_int, check_real

__all__ = ["draw_seeds", "horizon_grid", "initial_points", "check_int", "check_pos", "negative_control",
           "BACKENDS", "check_backend", "no_minor_labels"]


def check_pos(name, value, lo=0.0, lo_open=True, hi=None):
    """A finite real in ``(lo, hi]`` (or ``[lo, hi]``): :func:`adago_theory.checks.check_real` with this
    module's defaults (TypeError for a non-real, ValueError out of range, naming ``name``)."""
    return check_real(name, value, lo=lo, lo_open=lo_open, hi=hi)


def check_backend(backend):
    """One of :data:`adago_theory.backend.BACKENDS` (ValueError otherwise)."""
    return check_choice("backend", backend, BACKENDS)


def draw_seeds(rng, S):
    """``S`` distinct non-negative run seeds drawn once from ``rng`` (common to every horizon and optimizer)."""
    S = check_int("seeds", S, lo=1)
    g = default_rng(rng)
    return [int(s) for s in g.choice(2**31 - 1, size=S, replace=False)]


def horizon_grid(lo, hi, num):
    r"""``num`` integer horizons, geometrically spaced from ``lo`` to ``hi`` (rounded, unique, increasing).

    Examples
    --------
    >>> horizon_grid(10, 1000, 5).tolist()
    [10, 32, 100, 316, 1000]
    """
    lo = check_int("horizon lo", lo, lo=1)
    hi = check_int("horizon hi", hi, lo=lo + 1)
    num = check_int("number of horizons", num, lo=3)
    T = np.unique(np.rint(np.geomspace(lo, hi, num)).astype(np.int64))
    if T.size < 3:
        raise ValueError(f"the grid {lo}..{hi} with {num} points has fewer than 3 distinct horizons")
    return T


def as_horizons(horizons, name="horizons"):
    """Validate a user grid: at least 3 strictly increasing integers >= 1."""
    T = np.asarray(horizons)
    if T.ndim != 1 or T.size < 3 or not np.issubdtype(T.dtype, np.integer) or np.any(T < 1) or np.any(np.diff(T) <= 0):
        raise ValueError(f"{name} must be at least 3 strictly increasing integers >= 1, got {horizons!r}")
    return T.astype(np.int64)


def initial_points(problem, seeds):
    """Host float64 copies of the initial points :func:`adago_theory.run` uses for ``seeds`` (one matrix)."""
    return np.concatenate([np.asarray(to_numpy(problem.initial_point(s, runs=1)), dtype=np.float64) for s in seeds])


def negative_control(setting, verdict, verdict_text, measured=None, predicted=None, **extra):
    """The dict form of a negative control (``CheckResult.negative_control``): the claim's criterion in a
    setting where it must not hold; ``verdict`` is whether the criterion held there."""
    out = {"setting": setting, "verdict": bool(verdict), "verdict_text": verdict_text,
           "measured": measured or {}, "predicted": predicted or {}}
    out.update(extra)
    return out


def no_minor_labels(fig):
    """Drop the minor tick labels of every axes of ``fig`` (cleaner log axes, and much faster to draw)."""
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    return fig
