r"""The optimizer shape and the helpers every factory shares.

An optimizer is a pair of pure functions built by a factory that closes over
the hyperparameters (the optax shape, ``style.md`` §1)::

    opt = adago(eta, gamma=1.0, eps=1e-6)
    state = opt.init(X)                   # X: (m, n) or (R, m, n)
    X_next, state = opt.step(X, G, state)  # never writes into X, G or state

Leading axes of ``X`` are independent runs: every per-matrix scalar of the
state (an accumulator, the step size) has shape ``X.shape[:-2]`` — ``(R,)``
for a batch, ``()`` for one matrix — and lives on ``X``'s backend in ``X``'s
dtype.  Every state carries

``count``
    the number of steps taken (a Python ``int``; it is the clock ``t`` of the
    schedules and bias corrections, shared by the runs of a batch),
``alpha``
    the step size actually used at the last step, shape ``X.shape[:-2]``; each
    factory says what it multiplies (zero before the first step).

Hyperparameters.  Each scalar hyperparameter (a learning rate, a momentum, an
epsilon, a weight decay, a clamp) is a Python float — so a float32 run stays
float32 (NEP 50) — or an array of them broadcastable to the run axes
``X.shape[:-2]``, one value per run: an :math:`\eta \times` seed grid is one
batched run, ``eta = np.array([1e-3, 1e-2])[:, None]`` with ``X`` of shape
``(2, S, m, n)``.  Schedules ``t -> value`` may return either.  Every entry is
checked with the rule of the scalar (:mod:`adago_theory.checks`); arrays are
moved to ``X``'s backend in ``X``'s dtype at the step.

Non-finite input.  A step whose ``X`` or ``G`` holds NaN or Inf raises
:class:`NonFiniteParameterError` resp. :class:`NonFiniteGradientError` (both
:class:`ValueError`), naming the runs; no NaN is ever written into the
parameters.  The check costs one host synchronisation per step (a boolean).
To skip the steps of runs whose gradient is not finite instead, wrap the
optimizer: :func:`~adago_theory.optim.skip_nonfinite` (optax's
``apply_if_finite``).

Multi-matrix problems (X and Y of a factorisation, W1 and W2 of a network) use
one state per matrix through :func:`init_all` / :func:`step_all`.

Purity.  A step writes only into arrays it has just allocated itself (in-place
arithmetic on fresh temporaries saves passes over memory, see :func:`ema`), never
into ``X``, ``G`` or the arrays of the state it was given; a test checks this for
every optimizer and backend.  The one exception is opt-in, JAX's *buffer donation*
(``donate_argnums``, :mod:`adago_theory.optim.donation`): inside
:class:`~adago_theory.optim.donation.donating` a caller that owns ``X`` and the state's
arrays (the PyTorch classes do: the parameter and their own state) hands them over,
and the step helpers may then write the new momentum into the old one and the new
iterate into ``X`` — the same arithmetic, the same bits, as the pure step (tested for
every factory), without the new arrays and the copy back.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any, Callable, NamedTuple

import numpy as np

from ..backend import Array, device_of, is_numpy_namespace, is_torch_namespace, namespace, to_numpy
from ..checks import (
    check_beta, check_bool, check_choice, check_hyper, check_int, check_matrix, check_real, on_runs,
)
from ..orthogonalize import METHODS, newton_schulz_orthogonalizer, orthogonalize
from .donation import is_donated, is_vouched_finite

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
    "check_real",
    "check_int",
    "check_bool",
    "check_choice",
    "check_beta",
    "check_hyper",
    "on_runs",
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
    """A gradient holding NaN or Inf was passed to ``step`` (of an optimizer not wrapped in ``skip_nonfinite``)."""


class NonFiniteParameterError(ValueError):
    """A parameter ``X`` holding NaN or Inf was passed to ``step`` (whatever the non-finite mode)."""


# --------------------------------------------------------------------------- validation


def make_schedule(name, value, *, lo=0.0, lo_open=False):
    r"""Normalise a hyperparameter that may follow a schedule into ``t -> value``.

    Parameters
    ----------
    name : str
        The parameter's name, used in error messages.
    value : float, array or callable
        A constant (a float, or an array of one value per run, see
        :func:`~adago_theory.checks.check_hyper`), or a schedule ``t -> value``
        evaluated at the step number :math:`t = 1, 2, \dots` (the step being
        taken, 1-based) returning either.
    lo, lo_open : float, bool
        The allowed range is :math:`[lo, \infty)` (or :math:`(lo, \infty)`).

    Returns
    -------
    schedule : callable
        ``schedule(t) -> float or host array``.  A constant is validated now; a
        callable is validated at every call (each value or entry must be a finite
        real number in range, else ``ValueError`` naming ``name`` and ``t``).
    """
    if callable(value) and not isinstance(value, numbers.Real) and not hasattr(value, "shape"):
        fn = value

        def schedule(t):
            try:
                v = fn(t)
            except Exception as exc:  # noqa: BLE001 - re-raised with the parameter's name
                raise ValueError(f"the schedule {name}(t) failed at t={t}: {exc}") from exc
            if type(v) is float and (lo < v < math.inf or (v == lo and not lo_open)):
                return v                    # the common case, checked without building the message
            return check_hyper(f"{name}(t={t})", v, lo=lo, lo_open=lo_open)

        schedule.is_constant = False
        return schedule
    c = check_hyper(name, value, lo=lo, lo_open=lo_open)

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
        For ``"newton-schulz"`` the same function with its options resolved once
        (:func:`~adago_theory.orthogonalize.newton_schulz_orthogonalizer`).

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
    if method == "newton-schulz":                  # the same function, its options resolved once
        return newton_schulz_orthogonalizer(**opts)
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


def check_param(X, name="X"):
    """Namespace of a parameter array after checking it is a real floating (.., m, n) array."""
    return check_matrix(name, X)


def batch_zeros(xp, X, shape=(), dtype=None):
    """Zeros of shape ``X.shape[:-2] + shape`` on X's device (X's dtype unless given)."""
    return xp.zeros(tuple(X.shape[:-2]) + tuple(shape), dtype=X.dtype if dtype is None else dtype,
                    device=device_of(X))


def batch_full(xp, X, value):
    """``value`` (a float or a per-run array) as an array of shape ``X.shape[:-2]`` on X's device in X's dtype."""
    if isinstance(value, float):
        return xp.full(tuple(X.shape[:-2]), value, dtype=X.dtype, device=device_of(X))
    return batch_zeros(xp, X) + value


def expand(xp, a, ndim):
    """Append singleton axes to ``a`` until it has ``ndim`` axes (per-run scalar -> broadcastable).

    A float is returned as it is.
    """
    if isinstance(a, (float, int)):
        return a
    return xp.reshape(a, tuple(a.shape) + (1,) * (ndim - a.ndim))


def is_zero(v):
    """True for the float 0.0 (an array hyperparameter is never taken as a known zero)."""
    return isinstance(v, float) and v == 0.0


def sqrt(xp, v):
    r""":math:`\sqrt{v}` of a float (``math.sqrt``) or an array (``xp.sqrt``)."""
    return math.sqrt(v) if isinstance(v, float) else xp.sqrt(v)


def clip_max(xp, a, hi):
    r""":math:`\min(a, hi)` entrywise, ``hi`` a float or an array broadcasting against ``a``."""
    return xp.clip(a, max=hi) if isinstance(hi, float) else xp.minimum(a, hi)


def clip_min(xp, a, lo):
    r""":math:`\max(a, lo)` entrywise, ``lo`` a float or an array broadcasting against ``a``."""
    return xp.clip(a, min=lo) if isinstance(lo, float) else xp.maximum(a, lo)


def prepare(X, G, state):
    r"""Validate ``(X, G, state)`` of a step and refuse non-finite entries; return ``xp``.

    Raises
    ------
    ValueError, TypeError
        Shapes, dtypes or a state that do not fit.
    NonFiniteParameterError
        ``X`` holds NaN or Inf (the runs are named).
    NonFiniteGradientError
        ``G`` holds NaN or Inf (the runs are named).
    """
    xp = namespace(X, G)
    check_matrix("X", X)
    if tuple(G.shape) != tuple(X.shape):
        raise ValueError(f"G must have the shape of X, {tuple(X.shape)}, got {tuple(G.shape)}")
    if G.dtype != X.dtype:
        raise TypeError(f"G must have the dtype of X ({X.dtype}), got {G.dtype}")
    if "count" not in getattr(state, "_fields", ()):
        raise TypeError(f"state must be the state returned by init, got {type(state).__name__}")
    vX, vG = is_vouched_finite(X), is_vouched_finite(G)
    if vX and vG:
        return xp
    if is_torch_namespace(xp):
        # One fused screen, one host synchronisation: a sum is non-finite whenever an entry is
        # (it may also overflow from finite entries; then the exact test below decides).  Two
        # whole-array reductions instead of two isfinite masks (measured ~18x cheaper on
        # 2 x 512^2, torch CPU), in torch's own calls (the wrappers cost as much again on small
        # matrices); the arrays the caller vouched for are left out.
        screened = [A for A, vouched in ((X, vX), (G, vG)) if not vouched]
        total = screened[0].sum()
        for A in screened[1:]:
            total = total + A.sum()
        if math.isfinite(float(total)):
            return xp
    elif not is_numpy_namespace(xp):
        if bool(xp.isfinite(xp.sum(X) + xp.sum(G))):
            return xp
    ok = xp.all(xp.isfinite(G), axis=(-2, -1)) if not vG else xp.ones(X.shape[:-2], dtype=xp.bool, device=device_of(X))
    okX = xp.all(xp.isfinite(X), axis=(-2, -1)) if not vX else xp.ones(X.shape[:-2], dtype=xp.bool, device=device_of(X))
    if not bool(xp.all(okX & ok)):                      # one host synchronisation
        if not bool(xp.all(okX)):
            raise NonFiniteParameterError(
                f"X contains NaN or Inf entries{_runs(okX)}; the step was not taken "
                "(the iterate has diverged or was initialised with non-finite values)"
            )
        raise NonFiniteGradientError(
            f"G contains NaN or Inf entries{_runs(ok)}; the step was not taken. "
            "Wrap the optimizer in skip_nonfinite(...) to skip such steps instead"
        )
    return xp


def _runs(ok):
    """`` in run(s) [[i], ...]`` for the False entries of a per-run mask (empty for one matrix)."""
    bad = np.argwhere(~to_numpy(ok)).tolist() if ok.ndim else []
    return f" in run(s) {bad[:10]}{' ...' if len(bad) > 10 else ''}" if bad else ""


def ema(xp, M, G, beta):
    r"""A new array :math:`\beta M + (1-\beta) G`, computed as the lerp :math:`M + (1-\beta)(G - M)`.

    The lerp is what the reference codes evaluate (``buf.lerp_(g, 1 - beta)``); it needs one
    allocation (the result; the scaling and the sum run in place on it): on the CPU the
    element-wise work of a batched step is bound by memory traffic, and every temporary costs
    a pass.  ``beta = 0`` gives an exact copy of ``G``.  ``beta`` is a float or a per-run
    array (shape broadcasting to ``M.shape[:-2]``).  The inputs are never written.
    """
    if is_zero(beta):
        return xp.asarray(G, copy=True)
    w = 1.0 - expand(xp, beta, M.ndim)
    if is_torch_namespace(xp):                          # one fused pass: torch.lerp (the reference's lerp_)
        import torch

        G = G if G.dtype == M.dtype else G.to(M.dtype)   # a half-precision direction (PolarGrad's EMA of Orth(G))
        return M.lerp_(G, w) if is_donated(M) else torch.lerp(M, G, w)
    T = G - M
    T *= w
    if is_donated(M):                                     # M + T: the same sum as T + M
        M += T
        return M
    T += M
    return T


def ema_nesterov(xp, M, G, beta):
    r"""The momentum :math:`B = \beta M + (1-\beta) G` and its Nesterov mix :math:`U = (1-\beta) G + \beta B`.

    Both are new arrays, from :math:`D = G - M`: :math:`B = M + (1-\beta) D` and
    :math:`U = B + \beta(1-\beta) D` (since :math:`G - B = \beta D`), five passes and two
    allocations instead of six and two.  ``beta`` as in :func:`ema`.  The inputs are never
    written.
    """
    if is_zero(beta):
        return xp.asarray(G, copy=True), xp.asarray(G, copy=True)
    b = expand(xp, beta, M.ndim)
    if is_torch_namespace(xp):
        # Two fused passes instead of five, the reference's form: B = lerp(M, G, 1 - beta),
        # U = lerp(G, B, beta) = (1 - beta) G + beta B.
        import torch

        B = M.lerp_(G, 1.0 - b) if is_donated(M) else torch.lerp(M, G, 1.0 - b)
        return B, torch.lerp(G, B, b)
    D = G - M
    if is_donated(M):                                     # M + (1 - beta) D: the same sum
        M += D * (1.0 - b)
        B = M
    else:
        B = D * (1.0 - b)
        B += M
    D *= b * (1.0 - b)
    D += B
    return B, D


def descend(xp, X, a, D, decay=1.0):
    r"""A new array :math:`\text{decay}\cdot X - a D`.

    ``a`` and ``decay`` are floats or per-run arrays (shapes broadcasting to ``X.shape[:-2]``).
    One allocation (plus one for ``decay * X`` when ``decay != 1``); the inputs are never written.
    """
    unit = isinstance(decay, float) and decay == 1.0
    own = is_donated(X)
    if is_torch_namespace(xp):
        # One fused pass (plus one for the decay): torch.add(X, D, alpha=-a) / addcmul, the
        # reference's p.add_(update, alpha=-lr) (on a new array unless X was donated).  A D of
        # another dtype (a half-precision orthogonalization) is read as it is, the result has
        # X's dtype.
        import torch

        if unit and isinstance(a, float):
            return X.add_(D, alpha=-a) if own else torch.add(X, D, alpha=-a)
        if unit:
            T = X if own else None
        else:
            T = X.mul_(expand(xp, decay, X.ndim)) if own else X * expand(xp, decay, X.ndim)
        if isinstance(a, float):
            return T.add_(D, alpha=-a)
        a = expand(xp, a, X.ndim)
        if T is None:
            return torch.addcmul(X, D, a, value=-1.0)
        return T.addcmul_(D, a, value=-1.0)
    T = D * (-expand(xp, a, X.ndim))
    if own:                                             # X + T: the same sum as T + X
        if not unit:
            X *= expand(xp, decay, X.ndim)
        X += T
        return X
    T += X if unit else expand(xp, decay, X.ndim) * X
    return T


def sum_sq(xp, A):
    """Per-matrix sum of squares :math:`\\|A\\|_F^2` over the last two axes."""
    return xp.sum(A * A, axis=(-2, -1))


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
    non-finite in all of them: with :func:`~adago_theory.optim.skip_nonfinite`
    none of its matrices moves (the step of a run is skipped as a whole);
    otherwise the error names the matrix.

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
