r"""The optimizer shape and the helpers every factory shares.

An optimizer is a pair of pure functions built by a factory that closes over
the hyperparameters (the optax shape, ``style.md`` §1)::

    opt = adago(eta, gamma=1.0, eps=1e-6)
    state = opt.init(X)                   # X: (m, n) or (R, m, n)
    X_next, state = opt.step(X, G, state)  # never writes into X, G or state

Leading axes of ``X`` are independent runs: every per-matrix scalar of the
state (an accumulator, the step size) has shape ``X.shape[:-2]`` — ``(R,)``
for a batch, ``()`` for one matrix — and lives on ``X``'s backend in ``X``'s
dtype.  Hyperparameters are Python floats, so a float32 run stays float32
(NEP 50).  Every state carries

``count``
    the number of steps taken (a Python ``int``; it is the clock ``t`` of the
    schedules and bias corrections, shared by the runs of a batch),
``alpha``
    the step size actually used at the last step, shape ``X.shape[:-2]``; each
    factory says what it multiplies (zero before the first step and for a
    skipped run),
``skipped``
    how many steps each run skipped because its gradient was not finite
    (integer array, shape ``X.shape[:-2]``).

Non-finite gradients.  With ``nonfinite="raise"`` (the default) a step whose
``G`` holds NaN or Inf raises :class:`NonFiniteGradientError` (a
:class:`ValueError`), naming the runs.  With ``nonfinite="skip"`` the runs
whose gradient is not finite keep their ``X`` and state, get ``alpha = 0`` and
``skipped += 1``; the other runs of the batch step normally.  Either way no
NaN is ever written into the parameters.  ``"raise"`` costs one host
synchronisation per step (a boolean); ``"skip"`` costs none.

Multi-matrix problems (X and Y of a factorisation, W1 and W2 of a network) use
one state per matrix through :func:`init_all` / :func:`step_all`.

Purity.  A step writes only into arrays it has just allocated itself (in-place
arithmetic on fresh temporaries saves passes over memory, see :func:`ema`), never
into ``X``, ``G`` or the arrays of the state it was given; a test checks this for
every optimizer and backend.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any, Callable, NamedTuple

import numpy as np

from ..backend import Array, namespace, to_numpy
from ..orthogonalize import METHODS, orthogonalize

__all__ = [
    "Optimizer",
    "NonFiniteGradientError",
    "NonFiniteParameterError",
    "init_all",
    "step_all",
    "resolve_orth",
    "make_schedule",
    "shape_scale",
    "SCALES",
]

SCALES = ("none", "jordan", "rms")


class Optimizer(NamedTuple):
    r"""An optimizer: the pair ``(init, step)`` of pure functions.

    Attributes
    ----------
    init : callable
        ``init(X) -> state`` for ``X`` of shape ``(m, n)`` or ``(..., m, n)``.
    step : callable
        ``step(X, G, state) -> (X_next, state_next)``; pure: returns new arrays
        and a new state, never writes into its arguments.
    """

    init: Callable[[Array], Any]
    step: Callable[[Array, Array, Any], tuple]


class NonFiniteGradientError(ValueError):
    """A gradient holding NaN or Inf was passed to ``step`` with ``nonfinite="raise"``."""


class NonFiniteParameterError(ValueError):
    """A parameter ``X`` holding NaN or Inf was passed to ``step`` (whatever the non-finite mode)."""


# --------------------------------------------------------------------------- validation


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
    lo_s = "-inf" if lo is None else repr(lo)
    hi_s = "inf" if hi is None else repr(hi)
    interval = f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {interval}, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number in {interval}, got {value!r}")
    bad = (
        (lo is not None and (v < lo or (lo_open and v == lo)))
        or (hi is not None and (v > hi or (hi_open and v == hi)))
    )
    if bad:
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


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
    r"""A momentum / EMA coefficient: a real number in :math:`[0, 1)`."""
    return check_real(name, value, lo=0.0, hi=1.0, hi_open=True)


def make_schedule(name, value, *, lo=0.0, lo_open=False):
    r"""Normalise a hyperparameter that may follow a schedule into ``t -> float``.

    Parameters
    ----------
    name : str
        The parameter's name, used in error messages.
    value : float or callable
        A constant, or a schedule ``t -> float`` evaluated at the step number
        :math:`t = 1, 2, \dots` (the step being taken, 1-based).
    lo, lo_open : float, bool
        The allowed range is :math:`[lo, \infty)` (or :math:`(lo, \infty)`).

    Returns
    -------
    schedule : callable
        ``schedule(t) -> float``.  A constant is validated now; a callable is
        validated at every call (its value must be a finite real number in
        range, else ``ValueError`` naming ``name`` and ``t``).
    """
    if callable(value) and not isinstance(value, numbers.Real):
        fn = value

        def schedule(t):
            try:
                v = fn(t)
            except Exception as exc:  # noqa: BLE001 - re-raised with the parameter's name
                raise ValueError(f"the schedule {name}(t) failed at t={t}: {exc}") from exc
            return check_real(f"{name}(t={t})", v, lo=lo, lo_open=lo_open)

        schedule.is_constant = False
        return schedule
    c = check_real(name, value, lo=lo, lo_open=lo_open)

    def constant(t):
        return c

    constant.is_constant = True
    return constant


def resolve_orth(orth):
    r"""Turn an ``orth`` argument into a function ``M -> Orth(M)``, validating it now.

    Parameters
    ----------
    orth : str, tuple, dict or callable
        A method of :func:`~adago_theory.orthogonalize` (``"svd"``, ``"polar"``,
        ``"qdwh"``, ``"newton-schulz"``); a pair ``(method, options)`` such as
        ``("newton-schulz", {"coeffs": "polar-express", "steps": 8})``; a dict
        ``{"method": ..., **options}``; or any callable ``M -> O`` acting on the
        last two axes (used as it is).

    Returns
    -------
    orth_fn : callable
        For a method, ``orthogonalize(M, method, check_finite=False, **options)``:
        the optimizers check the gradient for non-finite entries themselves, once.

    Raises
    ------
    ValueError
        Unknown method or options that :func:`orthogonalize` rejects (tried on a
        2x3 matrix now, so the error comes at factory time).
    TypeError
        ``orth`` of another type.
    """
    if callable(orth) and not isinstance(orth, (str, tuple, dict)):
        return orth
    if isinstance(orth, str):
        method, opts = orth, {}
    elif isinstance(orth, tuple) and len(orth) == 2 and isinstance(orth[1], dict):
        method, opts = orth
    elif isinstance(orth, dict):
        opts = dict(orth)
        method = opts.pop("method", None)
    else:
        raise TypeError(
            "orth must be a method name, a (method, options) pair, a dict with a 'method' key, "
            f"or a callable M -> O; got {orth!r}"
        )
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"orth: unknown method {method!r}; choose one of {list(METHODS)} or pass a callable")
    if "check_finite" in opts:
        raise ValueError("orth: check_finite is set by the optimizer (it checks G itself); remove it")
    fn = functools.partial(orthogonalize, method=method, check_finite=False, **opts)
    try:
        fn(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"orth={orth!r} is not a valid orthogonalizer: {exc}") from exc
    return fn


def shape_scale(scale, m, n):
    r"""The shape factor :math:`s(m, n)` that multiplies an orthogonalized update.

    ``"none"``: :math:`1`.  ``"jordan"``: :math:`\sqrt{\max(1, m/n)}` with
    :math:`m` the number of rows (KellerJordan/Muon ``muon.py``; torch's
    ``adjust_lr_fn="original"``).  ``"rms"``: :math:`0.2\sqrt{\max(m, n)}`
    (Moonlight's "match RMS of AdamW"; torch ``match_rms_adamw``; NAMO's
    ``scale_coeff=0.2``).  Sources: ``optimizers.md`` §b3.
    """
    if scale == "none":
        return 1.0
    if scale == "jordan":
        return math.sqrt(max(1.0, m / n))
    if scale == "rms":
        return 0.2 * math.sqrt(max(m, n))
    raise ValueError(f"scale must be one of {list(SCALES)}, got {scale!r}")


# --------------------------------------------------------------------------- step helpers


def device_of(x):
    """The device of an array (array-api-compat)."""
    import array_api_compat

    return array_api_compat.device(x)


def check_param(X, name="X"):
    """Namespace of a parameter array after checking it is a real floating (.., m, n) array."""
    xp = namespace(X)
    ndim = getattr(X, "ndim", None)
    if ndim is None or ndim < 2:
        raise ValueError(f"{name} must be a matrix (m, n) or a batch (R, m, n), got ndim={ndim}")
    if not xp.isdtype(X.dtype, "real floating"):
        raise TypeError(f"{name} must have a real floating dtype, got {X.dtype}")
    return xp


def batch_zeros(xp, X, shape=(), dtype=None):
    """Zeros of shape ``X.shape[:-2] + shape`` on X's device (X's dtype unless given)."""
    return xp.zeros(tuple(X.shape[:-2]) + tuple(shape), dtype=X.dtype if dtype is None else dtype,
                    device=device_of(X))


def expand(xp, a, ndim):
    """Append singleton axes to ``a`` until it has ``ndim`` axes (per-run scalar -> broadcastable)."""
    return xp.reshape(a, tuple(a.shape) + (1,) * (ndim - a.ndim))


def prepare(X, G, state, nonfinite):
    r"""Validate ``(X, G)`` and screen ``G`` for non-finite entries.

    Returns
    -------
    xp : namespace
    G : array
        ``G`` itself, or in skip mode ``G`` with the non-finite runs zeroed (so
        that the arithmetic of the step stays finite; those runs are then reset by
        :func:`finish`).
    ok : array of bool or None
        Per-run mask of finite gradients in skip mode; ``None`` in raise mode.
    """
    xp = namespace(X, G)
    ndim = getattr(X, "ndim", None)
    if ndim is None or ndim < 2:
        raise ValueError(f"X must be a matrix (m, n) or a batch (R, m, n), got ndim={ndim}")
    if not xp.isdtype(X.dtype, "real floating"):
        raise TypeError(f"X must have a real floating dtype, got {X.dtype}")
    if tuple(G.shape) != tuple(X.shape):
        raise ValueError(f"G must have the shape of X, {tuple(X.shape)}, got {tuple(G.shape)}")
    if G.dtype != X.dtype:
        raise TypeError(f"G must have the dtype of X ({X.dtype}), got {G.dtype}")
    if "count" not in getattr(state, "_fields", ()):
        raise TypeError(f"state must be the state returned by init, got {type(state).__name__}")
    ok = xp.all(xp.isfinite(G), axis=(-2, -1))
    okX = xp.all(xp.isfinite(X), axis=(-2, -1))
    if not bool(xp.all(okX & ok) if nonfinite == "raise" else xp.all(okX)):   # one host sync
        if not bool(xp.all(okX)):
            raise NonFiniteParameterError(
                f"X contains NaN or Inf entries{_runs(okX)}; the step was not taken "
                "(the iterate has diverged or was initialised with non-finite values)"
            )
        raise NonFiniteGradientError(
            f"G contains NaN or Inf entries{_runs(ok)}; the step was not taken. "
            "Pass nonfinite='skip' to the optimizer factory to skip such steps instead"
        )
    if nonfinite == "raise":
        return xp, G, None
    G = xp.where(expand(xp, ok, G.ndim), G, xp.zeros_like(G))
    return xp, G, ok


def _runs(ok):
    """`` in run(s) [[i], ...]`` for the False entries of a per-run mask (empty for one matrix)."""
    bad = np.argwhere(~to_numpy(ok)).tolist() if ok.ndim else []
    return f" in run(s) {bad[:10]}{' ...' if len(bad) > 10 else ''}" if bad else ""


def finish(xp, ok, X, X_new, old, new):
    r"""Return ``(X_next, state_next)``; in skip mode, reset the runs whose gradient was not finite.

    In skip mode every array field of the state whose leading axes are the batch
    axes is taken from ``old`` for the skipped runs; ``alpha*`` fields become 0 there and
    ``skipped`` is incremented.  ``count`` advances for every run (it is the
    shared clock of schedules and bias corrections).
    """
    if ok is None:
        return X_new, new
    nb = X.ndim - 2
    fields = {}
    for name, v_new in zip(new._fields, new):
        v_old = getattr(old, name)
        if name in ("count", "skipped") or v_new is None or not hasattr(v_new, "shape"):
            continue
        if v_new.ndim >= nb and tuple(v_new.shape[:nb]) == tuple(X.shape[:-2]):
            keep = xp.zeros_like(v_new) if name.startswith("alpha") else v_old
            fields[name] = xp.where(expand(xp, ok, v_new.ndim), v_new, keep)
    fields["skipped"] = old.skipped + xp.astype(~ok, old.skipped.dtype)
    return xp.where(expand(xp, ok, X.ndim), X_new, X), new._replace(**fields)


def ema(xp, M, G, beta):
    r"""A new array :math:`\beta M + (1-\beta) G`, computed as the lerp :math:`M + (1-\beta)(G - M)`.

    The lerp is what the reference codes evaluate (``buf.lerp_(g, 1 - beta)``); it needs one
    allocation (the result; the scaling and the sum run in place on it): on the CPU the
    element-wise work of a batched step is bound by memory traffic, and every temporary costs
    a pass.  ``beta = 0`` gives an exact copy of ``G``.  The inputs are never written.
    """
    if beta == 0.0:
        return xp.asarray(G, copy=True)
    T = G - M
    T *= 1.0 - beta
    T += M
    return T


def ema_nesterov(xp, M, G, beta):
    r"""The momentum :math:`B = \beta M + (1-\beta) G` and its Nesterov mix :math:`U = (1-\beta) G + \beta B`.

    Both are new arrays, from :math:`D = G - M`: :math:`B = M + (1-\beta) D` and
    :math:`U = B + \beta(1-\beta) D` (since :math:`G - B = \beta D`), five passes and two
    allocations instead of six and two.  The inputs are never written.
    """
    if beta == 0.0:
        return xp.asarray(G, copy=True), xp.asarray(G, copy=True)
    D = G - M
    B = D * (1.0 - beta)
    B += M
    D *= beta * (1.0 - beta)
    D += B
    return B, D


def descend(xp, X, a, D, decay=1.0):
    r"""A new array :math:`\text{decay}\cdot X - a D`.

    ``a`` is a float or a per-run array of shape ``X.shape[:-2]``; ``decay`` a float or an
    array that broadcasts against ``X``.

    One allocation (plus one for ``decay * X`` when ``decay != 1``); the inputs are never written.
    """
    if not isinstance(a, float):
        a = expand(xp, a, X.ndim)
    T = D * (-a)
    T += X if (isinstance(decay, float) and decay == 1.0) else decay * X
    return T


def sum_sq(xp, A):
    """Per-matrix sum of squares :math:`\\|A\\|_F^2` over the last two axes."""
    return xp.sum(A * A, axis=(-2, -1))


def skipped_zeros(xp, X):
    """The initial ``skipped`` counter: int32 zeros of shape ``X.shape[:-2]``."""
    return batch_zeros(xp, X, dtype=xp.int32)


# --------------------------------------------------------------------------- several matrices


def _per_matrix(opt, k):
    if isinstance(opt, Optimizer):
        return (opt,) * k
    opts = tuple(opt)
    if len(opts) != k or not all(isinstance(o, Optimizer) for o in opts):
        raise ValueError(
            f"optimizer must be one Optimizer or a sequence of {k} Optimizers (one per matrix), "
            f"got {len(opts)} items"
        )
    return opts


def _as_tuple(name, Xs):
    if not isinstance(Xs, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of arrays, one per matrix, got {type(Xs).__name__}")
    return tuple(Xs)


def init_all(optimizer, Xs):
    r"""Initialise one state per matrix of a multi-matrix parameter.

    Parameters
    ----------
    optimizer : Optimizer or sequence of Optimizer
        One optimizer used for every matrix (each matrix still gets its own state:
        its own momentum, accumulator and step size), or one per matrix.
    Xs : tuple of arrays
        The matrices, each ``(R, m_i, n_i)`` with the same leading ``R``.

    Returns
    -------
    states : tuple
        ``states[i] = opt_i.init(Xs[i])``.
    """
    Xs = _as_tuple("Xs", Xs)
    opts = _per_matrix(optimizer, len(Xs))
    return tuple(o.init(X) for o, X in zip(opts, Xs))


def step_all(optimizer, Xs, Gs, states):
    r"""Step every matrix of a multi-matrix parameter with its own state.

    A run whose gradient is not finite in *any* of the matrices is treated as
    non-finite in all of them: in skip mode none of its matrices moves (the step
    of a run is skipped as a whole); in raise mode the error names the matrix.

    Parameters
    ----------
    optimizer : Optimizer or sequence of Optimizer
        As in :func:`init_all`.
    Xs, Gs : tuple of arrays
        Parameters and gradients, matching shapes.
    states : tuple
        From :func:`init_all` or the previous :func:`step_all`.

    Returns
    -------
    Xs_next : tuple of arrays
    states_next : tuple
    """
    Xs, Gs, states = _as_tuple("Xs", Xs), _as_tuple("Gs", Gs), _as_tuple("states", states)
    if not (len(Xs) == len(Gs) == len(states)):
        raise ValueError(
            f"Xs, Gs and states must have one entry per matrix; got {len(Xs)}, {len(Gs)} and {len(states)}"
        )
    opts = _per_matrix(optimizer, len(Xs))
    oks = None
    if len(Gs) > 1:
        xp = namespace(*Gs)
        oks = [xp.all(xp.isfinite(G), axis=(-2, -1)) for G in Gs]
        ok = functools.reduce(lambda a, b: a & b, oks)
        Gs = tuple(xp.where(expand(xp, ok, G.ndim), G, xp.full_like(G, math.nan)) for G in Gs)
    out_X, out_s = [], []
    for i, (o, X, G, s) in enumerate(zip(opts, Xs, Gs, states)):
        try:
            X_new, s_new = o.step(X, G, s)
        except NonFiniteGradientError as exc:
            if oks is None:
                raise
            bad = [j for j, okj in enumerate(oks) if not bool(xp.all(okj))]
            raise NonFiniteGradientError(
                f"the gradient of matrix {bad} (of {len(Xs)}) contains NaN or Inf entries; "
                f"no matrix was stepped ({exc})"
            ) from None
        out_X.append(X_new)
        out_s.append(s_new)
    return tuple(out_X), tuple(out_s)
