r"""Rate fitting: power laws :math:`G(T) \approx C\,T^{\rho}` from runs at several horizons.

The recipe is ``toolkits.md`` §8 [secondary source, a synthesis of standard practice]:

1. one run per horizon :math:`T_k` (hyperparameters set from :math:`T_k`), the same
   seeds at every horizon (common random numbers);
2. per horizon, aggregate over the :math:`S` seeds:
   :math:`y_k = \log \operatorname{mean}_s G^{(s)}_k` (the expectation the theorems
   speak of; ``statistic="mean"``), the root mean square
   :math:`\tfrac12\log\operatorname{mean}_s (G^{(s)}_k)^2` (``"rms"``, for predictions of
   :math:`(\mathbb E G^2)^{1/2}`), or the mean of logs (``"geomean"``) or the median of
   logs (``"median"``);
3. fit :math:`y` against :math:`x = \log T` with OLS (:func:`scipy.stats.linregress`)
   and Theil–Sen (:func:`scipy.stats.theilslopes`);
4. a bootstrap CI for the OLS slope that resamples **whole seeds** (rows of the
   :math:`S\times K` matrix), keeping the pairing across horizons — never columns
   independently (the pitfall recorded in ``toolkits.md`` §8.4);
5. local slopes (empirical orders of convergence)
   :math:`\mathrm{EOC}_k = (y_{k+1}-y_k)/(x_{k+1}-x_k)` to see the regime;
6. verdict with a margin :math:`\delta` declared in advance
   (:func:`rate_verdict`).

Everything runs on host NumPy arrays: :math:`S\times K` numbers are tiny.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

import numpy as np

__all__ = ["RateFit", "fit_rate", "fit_rate_hierarchical", "hierarchical_resample", "local_slopes", "ols_slope",
           "loglog_fit", "rate_verdict"]

_STATISTICS = ("mean", "rms", "geomean", "median")
_BOOT_METHODS = ("percentile", "basic", "BCa")


class RateFit(NamedTuple):
    r"""A power-law fit :math:`y = \log G \approx \text{intercept} + \text{slope}\cdot\log x`.

    Attributes
    ----------
    slope, intercept, stderr, rvalue : float
        OLS (``scipy.stats.linregress``) on the points with ``x >= x_min``.
    ci_ols : tuple of float
        Student-t interval ``slope ± t_{(1+c)/2, K-2} · stderr`` (NaN for 2 points).
    theil_slope, theil_intercept : float
        Theil–Sen estimate (median of pairwise slopes).
    ci_theil : tuple of float
        Theil–Sen confidence interval of the slope.
    ci_boot : tuple of float
        Seed-bootstrap interval of the OLS slope (NaN when fewer than 2 seeds).
    boot_method : str
        ``"percentile"``, ``"basic"`` or ``"BCa"``, or ``"none"`` for a single seed.
    confidence : float
        Confidence level of all intervals.
    n_seeds : int
        Number of seeds :math:`S`.
    n_resamples : int
        Bootstrap resamples.
    statistic : str
        How seeds were aggregated per horizon.
    x : ndarray
        All horizons (not logged).
    y : ndarray
        The aggregated log-statistic at every horizon.
    fitted : ndarray of bool
        Which horizons entered the fit (``x >= x_min``).
    eoc : ndarray
        Local slopes between consecutive horizons (length ``K - 1``).
    """

    slope: float
    intercept: float
    stderr: float
    rvalue: float
    ci_ols: tuple
    theil_slope: float
    theil_intercept: float
    ci_theil: tuple
    ci_boot: tuple
    boot_method: str
    confidence: float
    n_seeds: int
    n_resamples: int
    statistic: str
    x: np.ndarray
    y: np.ndarray
    fitted: np.ndarray
    eoc: np.ndarray

    @property
    def ci(self) -> tuple:
        """The primary interval: the seed bootstrap when there are ≥ 2 seeds, else the OLS t-interval."""
        if self.n_seeds >= 2 and all(math.isfinite(v) for v in self.ci_boot):
            return self.ci_boot
        return self.ci_ols

    @property
    def ci_name(self) -> str:
        """Which interval :attr:`ci` is."""
        if self.n_seeds >= 2 and all(math.isfinite(v) for v in self.ci_boot):
            if self.boot_method.startswith("hierarchical"):
                return self.boot_method
            return f"seed bootstrap ({self.boot_method}, S={self.n_seeds})"
        return "OLS t-interval"

    def label(self, symbol: str = "slope") -> str:
        """Legend text, e.g. ``'slope −0.262 [−0.281, −0.244]'``."""
        lo, hi = self.ci
        return f"{symbol} {self.slope:.3f} [{lo:.3f}, {hi:.3f}]".replace("-", "\u2212")


def _as_1d_positive(x, name):
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must hold finite positive numbers (they are logged)")
    return a


def local_slopes(x, y):
    r"""Local slopes :math:`(y_{k+1}-y_k)/(\log x_{k+1}-\log x_k)` (empirical orders of convergence).

    Parameters
    ----------
    x : array_like, shape (K,)
        Positive, strictly increasing abscissae (not logged).
    y : array_like, shape (K,)
        Already-logged ordinates.

    Returns
    -------
    ndarray, shape (K - 1,)

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([10.0, 100.0, 1000.0])
    >>> local_slopes(T, np.log(T ** -0.5)).round(12).tolist()
    [-0.5, -0.5]
    """
    x = _as_1d_positive(x, "x")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"y must have the shape of x {x.shape}, got {y.shape}")
    lx = np.log(x)
    if np.any(np.diff(lx) <= 0):
        raise ValueError("x must be strictly increasing")
    return np.diff(y) / np.diff(lx)


def ols_slope(x, Y):
    r"""Least-squares slope of each row of ``Y`` against ``x`` (vectorized).

    .. math:: \hat\rho = \frac{\sum_k (x_k-\bar x)(y_k-\bar y)}{\sum_k (x_k-\bar x)^2}

    Parameters
    ----------
    x : array_like, shape (K,)
    Y : array_like, shape (..., K)

    Returns
    -------
    ndarray, shape (...)
    """
    x = np.asarray(x, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    xc = x - x.mean()
    yc = Y - Y.mean(axis=-1, keepdims=True)
    return (yc @ xc) / (xc @ xc)


def loglog_fit(x, y, *, confidence=0.95):
    r"""Fit :math:`y \approx C x^{b}` to one value per abscissa: OLS and Theil–Sen slopes in log–log.

    The recipe of ``toolkits.md`` §8 for a table of means (one :math:`y` per horizon); with seeds at every
    horizon use :func:`fit_rate` (bootstrap over seeds) instead.

    .. math:: \log y_k = \log C + b \log x_k

    Parameters
    ----------
    x, y : array_like, shape (K,)
        Positive abscissae (strictly increasing) and positive values, :math:`K \ge 2`.
    confidence : float
        Level of the Theil–Sen interval.

    Returns
    -------
    dict
        ``slope``, ``stderr``, ``intercept`` (OLS; with two points the slope through them and ``stderr`` NaN),
        ``theil_slope``, ``theil_low``, ``theil_high`` (Theil–Sen; the interval is NaN with two points, where
        none exists).

    Raises
    ------
    ValueError
        Shapes differ, fewer than two points, or a value that is not positive and finite.

    Examples
    --------
    >>> r = loglog_fit([10, 100, 1000], [1.0, 0.1, 0.01])
    >>> round(r["slope"], 12), round(r["theil_slope"], 12)
    (-1.0, -1.0)
    """
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-d of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("x and y must be positive and finite for a log-log fit")
    lx, ly = np.log(x), np.log(y)
    if x.size >= 3:
        lr = stats.linregress(lx, ly)
        out = {"slope": float(lr.slope), "stderr": float(lr.stderr), "intercept": float(lr.intercept)}
    else:
        b = float((ly[1] - ly[0]) / (lx[1] - lx[0]))
        out = {"slope": b, "stderr": math.nan, "intercept": float(ly[0] - b * lx[0])}
    ts = stats.theilslopes(ly, lx, alpha=confidence)
    out.update(theil_slope=float(ts.slope), theil_low=float(ts.low_slope), theil_high=float(ts.high_slope))
    if x.size < 3:
        out.update(theil_low=math.nan, theil_high=math.nan)
    return out


def _aggregate(G, statistic, axis=-2):
    if statistic == "mean":
        return np.log(np.mean(G, axis=axis))
    if statistic == "rms":
        return 0.5 * np.log(np.mean(G * G, axis=axis))
    if statistic == "geomean":
        return np.mean(np.log(G), axis=axis)
    return np.median(np.log(G), axis=axis)


def fit_rate(x, G, *, statistic="mean", x_min=None, confidence=0.95, n_resamples=2000,
             boot_method="percentile", rng=None):
    r"""Fit :math:`G \approx C x^{\rho}` over horizons (or any positive abscissa) ``x``.

    Parameters
    ----------
    x : array_like, shape (K,)
        Horizons :math:`T_k` (or condition numbers, noise levels, …): positive and
        strictly increasing.
    G : array_like, shape (S, K) or (K,)
        Positive measured values, one row per seed (common seeds across columns).
    statistic : {"mean", "rms", "geomean", "median"}
        How seeds are aggregated per column (see the module docstring).
    x_min : float, optional
        Fit only the columns with ``x >= x_min`` (declare it before looking at the
        slope).  Local slopes use all columns.
    confidence : float in (0, 1)
        Level of every interval.
    n_resamples : int
        Bootstrap resamples (≥ 100).
    boot_method : {"percentile", "basic", "BCa"}
        ``scipy.stats.bootstrap`` method; ``toolkits.md`` §8.4 advises "percentile"
        for fewer than 10 seeds.
    rng : None, int or numpy.random.Generator
        Randomness of the bootstrap (SPEC 7).

    Returns
    -------
    RateFit

    Raises
    ------
    ValueError
        Non-positive or non-finite entries, shape mismatch, fewer than 3 fitted
        columns, bad ``statistic``/``confidence``/``n_resamples``/``boot_method``.

    Notes
    -----
    The bootstrap resamples the seed *indices* and recomputes the aggregated
    statistic and the OLS slope of each resample, so the pairing of one seed's
    values across horizons is kept.  A resample that draws one seed several times
    is the usual nonparametric bootstrap.  When every resample gives the same slope
    (exact data), the interval collapses to that slope.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.geomspace(100, 10000, 5)
    >>> G = 3.0 * T ** -0.25 * np.exp(0.05 * np.random.default_rng(0).standard_normal((8, 5)))
    >>> f = fit_rate(T, G, rng=0)
    >>> bool(f.ci[0] < -0.25 < f.ci[1])
    True
    """
    from scipy import stats

    x = _as_1d_positive(x, "x")
    G = np.asarray(G, dtype=np.float64)
    if G.ndim == 1:
        G = G[None, :]
    if G.ndim != 2 or G.shape[1] != x.shape[0]:
        raise ValueError(f"G must have shape (S, K) or (K,) with K = len(x) = {x.shape[0]}, got {np.shape(G)}")
    if not np.all(np.isfinite(G)) or np.any(G <= 0):
        raise ValueError("G must hold finite positive values (it is logged); got zeros, negatives or NaN/Inf")
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer >= 100, got {n_resamples!r}")
    if boot_method not in _BOOT_METHODS:
        raise ValueError(f"boot_method must be one of {_BOOT_METHODS}, got {boot_method!r}")
    lx = np.log(x)
    if np.any(np.diff(lx) <= 0):
        raise ValueError("x must be strictly increasing")
    fitted = np.ones(x.shape, dtype=bool) if x_min is None else x >= float(x_min)
    if fitted.sum() < 3:
        raise ValueError(f"need at least 3 columns with x >= x_min to fit a slope, got {int(fitted.sum())}")

    S = G.shape[0]
    y = _aggregate(G, statistic)
    xf, yf = lx[fitted], y[fitted]
    reg = stats.linregress(xf, yf)
    K = xf.size
    tq = stats.t.ppf(0.5 + confidence / 2, K - 2)
    ci_ols = (float(reg.slope - tq * reg.stderr), float(reg.slope + tq * reg.stderr))
    ts = stats.theilslopes(yf, xf, alpha=confidence)
    ci_theil = (float(ts.low_slope), float(ts.high_slope))

    ci_boot, method = (math.nan, math.nan), "none"
    if S >= 2:
        Gf = G[:, fitted]

        def slope_of(idx, axis=-1):
            idx = np.moveaxis(np.asarray(idx), axis, -1).astype(np.intp)
            return ols_slope(xf, _aggregate(Gf[idx], statistic, axis=-2))

        from adago_theory.backend import default_rng

        with warnings.catch_warnings():
            # An exactly degenerate resampling distribution makes BCa undefined (handled below).
            warnings.simplefilter("ignore", category=stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            res = stats.bootstrap(
                (np.arange(S, dtype=np.float64),), slope_of, vectorized=True, n_resamples=int(n_resamples),
                confidence_level=confidence, method=boot_method, rng=default_rng(rng),
            )
        ci_boot = (float(res.confidence_interval.low), float(res.confidence_interval.high))
        method = boot_method
        if not all(math.isfinite(v) for v in ci_boot):  # BCa can fail on near-degenerate data
            dist = res.bootstrap_distribution
            a = (1 - confidence) / 2
            ci_boot = (float(np.quantile(dist, a)), float(np.quantile(dist, 1 - a)))
            method = "percentile (BCa undefined)"

    return RateFit(
        slope=float(reg.slope), intercept=float(reg.intercept), stderr=float(reg.stderr), rvalue=float(reg.rvalue),
        ci_ols=ci_ols, theil_slope=float(ts.slope), theil_intercept=float(ts.intercept), ci_theil=ci_theil,
        ci_boot=ci_boot, boot_method=method, confidence=float(confidence), n_seeds=int(S),
        n_resamples=int(n_resamples), statistic=statistic, x=x, y=y, fitted=fitted, eoc=local_slopes(x, y),
    )


def hierarchical_resample(G, n_resamples, rng):
    r"""Two-stage bootstrap draws of the pooled mean of ``G`` (shape ``(I, S, K)``): instances, then seeds.

    Each resample draws ``I`` instances with replacement and, inside every drawn instance, ``S`` of its seeds
    with replacement (a fresh draw each time an instance is drawn), then averages over all ``I S`` drawn
    runs per column.

    Parameters
    ----------
    G : array_like, shape (I, S, K)
    n_resamples : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_resamples, K)
        The resampled column means.
    """
    G = np.asarray(G, dtype=np.float64)
    I, S, _ = G.shape
    ii = rng.integers(0, I, size=(n_resamples, I))
    ss = rng.integers(0, S, size=(n_resamples, I, S))
    return G[ii[:, :, None], ss].mean(axis=(1, 2))


def fit_rate_hierarchical(x, G, *, x_min=None, confidence=0.95, n_resamples=2000, rng=None):
    r"""Fit :math:`\operatorname{mean} G \approx C x^{\rho}` with uncertainty over problem draws *and* seeds.

    The point estimates (OLS and Theil–Sen slopes, local slopes) are those of :func:`fit_rate` on the
    pooled runs, :math:`y_k = \log\operatorname{mean}_{i,s}G_{isk}`.  The interval ``ci_boot`` is a
    **hierarchical** percentile bootstrap (:func:`hierarchical_resample`): resample instances, then seeds
    inside each drawn instance, keep the pairing of one run across horizons, refit the OLS slope on the fit
    window.  Seed-only resampling understates the spread when instances differ (issue 12: seed-only
    intervals of width 0.013 did not overlap across four problem draws).

    Parameters
    ----------
    x : array_like, shape (K,)
        Positive, strictly increasing horizons.
    G : array_like, shape (I, S, K)
        Positive values: instance ``i``, seed ``s``, horizon ``k``.  :math:`I \ge 2`, :math:`S \ge 1`.
    x_min : float, optional
        The fit window's left end, fixed in advance.
    confidence : float in (0, 1)
    n_resamples : int, >= 100
    rng : None, int or numpy.random.Generator

    Returns
    -------
    RateFit
        ``ci_boot`` hierarchical; ``boot_method`` names it; ``n_seeds`` is :math:`IS`.  The resampled
        intercepts' interval is not stored; use :func:`hierarchical_resample` for other statistics.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.random.default_rng(0)
    >>> T = np.geomspace(100, 10000, 5)
    >>> rho = -0.25 + 0.03 * g.standard_normal((6, 1, 1))       # instances differ in their exponent
    >>> G = T ** rho * np.exp(0.02 * g.standard_normal((6, 4, 5)))
    >>> f = fit_rate_hierarchical(T, G, rng=1)
    >>> bool(f.ci[0] < -0.25 < f.ci[1]), f.boot_method.startswith("hierarchical")
    (True, True)
    >>> s = fit_rate(T, G.reshape(24, 5), rng=1)                 # seeds only: a narrower interval
    >>> bool(s.ci[1] - s.ci[0] < f.ci[1] - f.ci[0])
    True
    """
    from adago_theory.backend import default_rng

    G = np.asarray(G, dtype=np.float64)
    if G.ndim != 3:
        raise ValueError(f"G must have shape (I, S, K) (instances, seeds, horizons), got shape {G.shape}")
    I, S, K = G.shape
    if I < 2:
        raise ValueError(f"G must hold at least 2 instances for a hierarchical bootstrap, got I = {I}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer >= 100, got {n_resamples!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    base = fit_rate(x, G.reshape(I * S, K), statistic="mean", x_min=x_min, confidence=confidence,
                    n_resamples=100, rng=0)
    g = default_rng(rng)
    means = hierarchical_resample(G, int(n_resamples), g)
    lx = np.log(base.x)[base.fitted]
    slopes = ols_slope(lx, np.log(means[:, base.fitted]))
    a = (1.0 - confidence) / 2.0
    ci = (float(np.quantile(slopes, a)), float(np.quantile(slopes, 1.0 - a)))
    return base._replace(ci_boot=ci, boot_method=f"hierarchical bootstrap (instances then seeds, I={I}, S={S})",
                         n_resamples=int(n_resamples))


def rate_verdict(fit: RateFit, rate: float, delta: float, *, direction="at least"):
    r"""Verdict on a fitted exponent against a predicted one, with a margin declared in advance.

    Parameters
    ----------
    fit : RateFit
    rate : float
        The predicted exponent :math:`\rho` (e.g. ``-0.25`` for :math:`O(T^{-1/4})`).
    delta : float
        Margin :math:`\delta \ge 0`.
    direction : {"at least", "at most", "matches"}
        ``"at least"`` (decay at least as fast, an upper bound): upper CI end
        :math:`\le \rho + \delta` (``toolkits.md`` §8.6); ``"at most"`` (growth at most
        as fast): the same test, as growth exponents are bounded above;
        ``"matches"`` (a tight rate): the CI lies inside
        :math:`[\rho-\delta, \rho+\delta]`.

    Returns
    -------
    ok : bool
    text : str
        The verdict with the numbers, and whether :math:`\rho` lies inside the CI.
    """
    if not (isinstance(delta, numbers.Real) and delta >= 0 and math.isfinite(delta)):
        raise ValueError(f"delta must be a finite number >= 0, got {delta!r}")
    if direction not in ("at least", "at most", "matches"):
        raise ValueError(f"direction must be 'at least', 'at most' or 'matches', got {direction!r}")
    lo, hi = fit.ci
    inside = lo <= rate <= hi
    if direction in ("at least", "at most"):
        ok = hi <= rate + delta
        rel = "<=" if ok else ">"
        text = (f"slope {fit.slope:.3f}, {fit.ci_name} CI [{lo:.3f}, {hi:.3f}]; upper end {hi:.3f} {rel} "
                f"{rate:.3f} + {delta:g}")
    else:
        ok = (rate - delta) <= lo and hi <= (rate + delta)
        text = (f"slope {fit.slope:.3f}, {fit.ci_name} CI [{lo:.3f}, {hi:.3f}] "
                f"{'inside' if ok else 'not inside'} [{rate - delta:.3f}, {rate + delta:.3f}]")
    text += f"; predicted {rate:.3f} {'inside' if inside else 'outside'} the CI"
    return bool(ok), text
