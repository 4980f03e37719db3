r"""Argument checks: the one home, with one contract, for every module of the kernel.

Contract.  ``check_*(name, value, ...)`` returns the normalised value or raises

* :class:`TypeError` when ``value`` has the wrong type (bools are never numbers), and
* :class:`ValueError` when it has the right type but is NaN, infinite or outside the
  allowed range,

with a one-line message that names the parameter and the allowed range, e.g.
``"beta must be in [0.0, 1.0), got 1.5"``.  The parameter's name always comes first.

Hyperparameters may be arrays (:func:`check_hyper`): every entry is checked with the
rule of a scalar, and the message names the parameter, the rule and the first bad
entry's index.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import cached, from_numpy, namespace, to_numpy

__all__ = [
    "check_real",
    "check_int",
    "check_bool",
    "check_choice",
    "check_beta",
    "check_hyper",
    "on_runs",
    "check_matrix",
    "interval",
]


def interval(lo=None, hi=None, lo_open=False, hi_open=False):
    """The interval ``[lo, hi)`` etc. as text (``-inf``/``inf`` for missing ends)."""
    lo_s = "-inf" if lo is None else repr(lo)
    hi_s = "inf" if hi is None else repr(hi)
    return f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"


def check_real(name, value, *, lo=None, hi=None, lo_open=False, hi_open=False, allow_inf=False):
    """Return ``value`` as a Python float after checking it lies in the stated interval.

    Raises
    ------
    TypeError
        ``value`` is not a real number (bools are rejected).
    ValueError
        ``value`` is NaN, infinite (unless ``allow_inf``) or outside the interval; the
        message names the parameter and the interval.
    """
    if type(value) is not float and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number in {interval(lo, hi, lo_open, hi_open)}, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number in {interval(lo, hi, lo_open, hi_open)}, "
                         f"got {value!r}")
    bad = (
        (lo is not None and (v < lo or (lo_open and v == lo)))
        or (hi is not None and (v > hi or (hi_open and v == hi)))
    )
    if bad:
        raise ValueError(f"{name} must be in {interval(lo, hi, lo_open, hi_open)}, got {value!r}")
    return v


def check_int(name, value, *, lo=None, hi=None):
    """Return ``value`` as a Python int after checking ``lo <= value <= hi``.

    Messages: ``"T must be an integer >= 0, got -1"``, ``"steps must be an integer in
    [1, 100], got 1000"``.
    """
    rule = ("" if lo is None and hi is None else f" >= {lo}" if hi is None else f" <= {hi}" if lo is None
            else f" in [{lo}, {hi}]")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer{rule}, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer{rule}, got {value}")
    return int(value)


def check_bool(name, value):
    """Return ``value`` after checking it is a bool (TypeError otherwise)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name, value, choices):
    """Return ``value`` after checking it is one of ``choices`` (ValueError otherwise)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_beta(name, value):
    r"""A momentum / EMA coefficient: a real number in :math:`[0, 1)` (or an array of them)."""
    return check_hyper(name, value, lo=0.0, hi=1.0, hi_open=True)


def check_matrix(name, M, *, floating=True):
    """Return the array-API namespace of ``M`` after checking it is a matrix or a batch ``(..., m, n)``.

    Raises
    ------
    ValueError
        ``M`` has fewer than 2 dimensions (or is not an array).
    TypeError
        ``M`` is not of a real floating dtype (when ``floating``), or of no array-API library.
    """
    ndim = getattr(M, "ndim", None)
    if ndim is None or ndim < 2:
        raise ValueError(f"{name} must be a matrix (m, n) or a batch of matrices (..., m, n) with at least "
                         f"2 dimensions; got ndim={ndim}")
    def facts():
        xp = namespace(M)
        return xp, bool(xp.isdtype(M.dtype, "real floating"))

    xp, ok = cached(_REAL_FLOATING, (type(M), M.dtype), facts)
    if floating and not ok:
        raise TypeError(f"{name} must have a real floating dtype (float16, bfloat16, float32 or float64), "
                        f"got {M.dtype}")
    return xp


#: (array type, dtype) -> (namespace, is it a real floating dtype): array-api-compat's namespace and
#: isdtype cost several microseconds a call, and a step checks two matrices.
_REAL_FLOATING: dict = {}


def _host_array(value):
    """A host NumPy view of an array-like hyperparameter (NumPy, CuPy, PyTorch, array-API), or None."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, (numbers.Number, np.generic)):
        return to_numpy(value)
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return None


def check_hyper(name, value, *, lo=None, hi=None, lo_open=False, hi_open=False):
    r"""A scalar hyperparameter or an array of them, one per run.

    Parameters
    ----------
    name : str
    value : real number or array_like of real numbers
        A Python/NumPy real number (returned as a Python ``float``, so that a
        float32 run stays float32, NEP 50), or an array (NumPy, CuPy, PyTorch,
        any array-API array, or a nested list) broadcastable to the run axes
        ``X.shape[:-2]`` of the parameter it will be used with (checked by
        :func:`on_runs` at the step).
    lo, hi, lo_open, hi_open
        The allowed interval, as in :func:`check_real`; every entry must lie in it.

    Returns
    -------
    float or numpy.ndarray
        A float, or a host float64 array (a copy) of ``value``'s shape.

    Raises
    ------
    TypeError
        A non-real scalar, or an array of a non-real (bool, complex, object) dtype.
    ValueError
        A NaN, infinite or out-of-range value or entry (the message gives the index
        of the first bad entry).
    """
    if type(value) is float:            # the common case, a Python float: check_real's rule
        return check_real(name, value, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
    arr = _host_array(value)
    if arr is None or arr.ndim == 0 and not hasattr(value, "shape"):
        return check_real(name, value, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
    iv = interval(lo, hi, lo_open, hi_open)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real number or an array of real numbers in {iv}, "
                        f"got an array of dtype {arr.dtype}")
    a = np.array(arr, dtype=np.float64)
    bad = ~np.isfinite(a)
    if lo is not None:
        bad |= (a < lo) | ((a == lo) if lo_open else False)
    if hi is not None:
        bad |= (a > hi) | ((a == hi) if hi_open else False)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must hold finite real numbers in {iv}, got {float(a[idx])!r} at index "
                         f"{list(idx)} (of an array of shape {a.shape})")
    return a


def on_runs(name, value, X):
    r"""A checked hyperparameter as used by a step on ``X`` (shape ``(..., m, n)``).

    A float is returned as it is.  An array is checked to broadcast to the run axes
    ``X.shape[:-2]`` and returned on ``X``'s backend and device in ``X``'s dtype,
    with its own shape (which broadcasts against per-run arrays of shape
    ``X.shape[:-2]``).

    Raises
    ------
    ValueError
        The array does not broadcast to ``X.shape[:-2]`` (the message names it).
    """
    if not isinstance(value, np.ndarray):
        return value
    runs = tuple(X.shape[:-2])
    key = (id(value), type(X), str(X.dtype), str(getattr(X, "device", "")), runs)
    hit = _ON_RUNS.get(key)
    if hit is not None and hit[0] is value:
        return hit[1]
    try:
        ok = np.broadcast_shapes(value.shape, runs) == runs
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} has shape {value.shape}, which does not broadcast to the run axes "
                         f"X.shape[:-2] = {runs}")
    # leading singleton axes: the array aligns with the run axes from the right, as it broadcasts
    full = np.reshape(value, (1,) * (len(runs) - value.ndim) + value.shape)
    out = from_numpy(full, like=X, dtype=X.dtype)
    if len(_ON_RUNS) > 512:
        _ON_RUNS.clear()
    _ON_RUNS[key] = (value, out)
    return out


#: Converted constant hyperparameter arrays, keyed by the host array's id (the array is kept
#: alive with its conversion, so an id is never reused while its entry exists).
_ON_RUNS: dict = {}
