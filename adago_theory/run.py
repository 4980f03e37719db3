r"""The one optimization loop: ``run(optimizer, problem, T)`` -> :class:`Trace`.

Seeds run as one batch: the initial points of the R seeds are stacked into one
``(R, m, n)`` array and every step of the loop is one call of the optimizer's
``step`` on the whole batch (never a Python loop over seeds inside the step
loop).  Recording happens on a grid of steps; the metrics go to the host as
NumPy arrays there and only there.
"""

from __future__ import annotations

import collections
import numbers
import os
import sys
import threading
import time
from typing import Any, NamedTuple

import numpy as np

from .backend import backend_name, default_rng, dtype_name, is_numpy_namespace, namespace, synchronize, to_numpy
from .checks import check_int
from .norms import frobenius_norm, matrix_norms
from .optim.base import NonFiniteGradientError, NonFiniteParameterError, Optimizer, init_all, step_all

__all__ = ["run", "Trace", "record_steps", "log_grid", "DivergedRunError"]


class DivergedRunError(ValueError):
    r"""A run of :func:`run` diverged: its iterates, values or recorded metrics became non-finite.

    Raised whatever the horizon, at the first step where it is seen.  The message
    names the step :math:`t`, the runs (batch indices and seeds) and what was not
    finite.

    Attributes
    ----------
    step : int
        The step :math:`t` at which the non-finite quantity was found.
    runs : list of int
        Batch indices of the runs that diverged.
    seeds : list of int
        Their seeds.
    """

    def __init__(self, message, *, step=None, runs=(), seeds=()):
        super().__init__(message)
        self.step = step
        self.runs = list(runs)
        self.seeds = list(seeds)

#: ``record="auto"`` records every step up to this horizon, a log-spaced grid beyond it.
AUTO_ALL_MAX = 1000

#: On NumPy, at most this many recorded steps wait for their metrics on the recording thread
#: (each holds references to its iterates and one copy of its gradients); more, and the loop waits.
RECORD_AHEAD = 4

_RECORD_POOL = None
_RECORD_LOCK = threading.Lock()


def _forget_record_pool():
    """In a forked child: the parent's recording thread does not exist there; start afresh."""
    global _RECORD_POOL, _RECORD_LOCK
    _RECORD_POOL = None
    _RECORD_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_record_pool)


def _record_pool():
    """The one recording thread (created on first use; its name makes the kernel's batch-parallel
    paths run inline on it instead of handing chunks to the shared pool)."""
    global _RECORD_POOL
    with _RECORD_LOCK:
        if _RECORD_POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _RECORD_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adago-theory-record")
        return _RECORD_POOL


class Trace(NamedTuple):
    r"""What :func:`run` recorded: host NumPy arrays, one row per recorded step.

    ``K`` is the number of recorded steps, ``R`` the number of seeds, ``P`` the
    number of parameter matrices.  Row ``k`` describes the iterate
    :math:`X_{t}` with :math:`t` = ``steps[k]`` (after :math:`t` steps; row 0 is
    usually the initial point).

    Attributes
    ----------
    steps : int64 array (K,)
        The recorded step numbers :math:`t`.
    f : float64 array (K, R)
        :math:`f(X_t)`.
    gap : float64 array (K, R) or None
        :math:`f(X_t) - f^\star`, when the problem knows :math:`f^\star`.
    grad_fro, grad_nuc, grad_op : float64 arrays (K, R)
        :math:`\|\nabla f(X_t)\|_F`, :math:`\|\nabla f(X_t)\|_*`,
        :math:`\|\nabla f(X_t)\|_{op}` of the *exact* gradient (also in stochastic
        runs).  For several matrices: :math:`(\sum_i\|G_i\|_F^2)^{1/2}`,
        :math:`(\sum_i\|G_i\|_*^2)^{1/2}` (the dual of the product norm
        :math:`(\sum_i\|X_i\|_{op}^2)^{1/2}` in which the problems state
        ``L_op``) and :math:`(\sum_i\|G_i\|_{op}^2)^{1/2}`.
    alpha : float64 array (K, R), or (K, R, P) for several matrices
        ``state.alpha`` after step :math:`t`: the step size used to reach
        :math:`X_t` (what it multiplies is stated by each optimizer); NaN at
        :math:`t = 0`.
    update_norm : float64 array (K, R)
        :math:`\|X_t - X_{t-1}\|_F` (summed in squares over the matrices); NaN at
        :math:`t = 0`.
    time : float64 array (K,)
        Seconds spent in gradient evaluations and optimizer steps up to step
        :math:`t` (the batch shares one clock; recording time is excluded; GPU work
        is synchronised at every recorded step).
    seeds : int64 array (R,)
    skipped : int64 array (R,), or (R, P)
        Steps skipped for non-finite gradients (an optimizer wrapped in
        :func:`~adago_theory.optim.skip_nonfinite`; zeros otherwise).
    X_final : array (R, m, n) or tuple of them
        The last iterate, on the host.
    f_star : float or None
    """

    steps: np.ndarray
    f: np.ndarray
    gap: Any
    grad_fro: np.ndarray
    grad_nuc: np.ndarray
    grad_op: np.ndarray
    alpha: np.ndarray
    update_norm: np.ndarray
    time: np.ndarray
    seeds: np.ndarray
    skipped: np.ndarray
    X_final: Any
    f_star: Any


def log_grid(T, num=100):
    r"""About ``num`` step numbers in :math:`[0, T]`, log-spaced, always holding 0, 1 and T.

    Examples
    --------
    >>> log_grid(1000, num=5).tolist()
    [0, 1, 6, 32, 178, 1000]
    """
    T = check_int("T", T, lo=0)
    num = check_int("num", num, lo=2)
    if T == 0:
        return np.zeros(1, dtype=np.int64)
    g = np.rint(np.geomspace(1.0, T, num)).astype(np.int64)
    return np.unique(np.concatenate([[0], g, [T]]))


def record_steps(T, record="auto", *, num=100):
    r"""The steps at which :func:`run` records, from a ``record`` specification.

    Parameters
    ----------
    T : int
        The horizon (number of steps).
    record : "auto", "all", "log", int or sequence of int
        ``"all"``: every step :math:`0..T`.  ``"log"``: :func:`log_grid` with
        ``num`` points.  ``"auto"``: ``"all"`` when :math:`T \le` 1000, else
        ``"log"``.  An int ``k >= 1``: every k-th step, plus :math:`T`.  A
        sequence: those steps (each in :math:`[0, T]`).
    num : int, default 100

    Returns
    -------
    steps : int64 array, sorted, unique
    """
    T = check_int("T", T, lo=0)
    if isinstance(record, str):
        if record == "auto":
            record = "all" if T <= AUTO_ALL_MAX else "log"
        if record == "all":
            return np.arange(T + 1, dtype=np.int64)
        if record == "log":
            return log_grid(T, num)
        raise ValueError(f"record must be 'auto', 'all', 'log', a step interval or a list of steps, got {record!r}")
    if isinstance(record, numbers.Integral) and not isinstance(record, bool):
        k = check_int("record", record, lo=1)
        return np.unique(np.concatenate([np.arange(0, T + 1, k), [T]])).astype(np.int64)
    try:
        s = np.asarray(list(record))
    except TypeError:
        raise TypeError(f"record must be a string, an int or a sequence of ints, got {record!r}") from None
    if s.size == 0 or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"record as a sequence must hold step numbers (ints) in [0, {T}], got {record!r}")
    if s.min() < 0 or s.max() > T:
        raise ValueError(f"record steps must lie in [0, T] = [0, {T}], got min {s.min()} and max {s.max()}")
    return np.unique(s).astype(np.int64)


def _check_seeds(seeds):
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = (seeds,)
    try:
        seeds = tuple(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    return tuple(int(s) for s in seeds)


def _check_problem(problem, stochastic):
    need = ["shapes", "xp", "value", "grad", "initial_point"] + (["stochastic_grad"] if stochastic else [])
    missing = [a for a in need if not hasattr(problem, a)]
    if missing:
        raise TypeError(f"problem does not implement the Problem protocol: missing {missing}")
    shapes = tuple(tuple(int(d) for d in s) for s in problem.shapes)
    if not shapes or any(len(s) != 2 for s in shapes):
        raise ValueError(f"problem.shapes must be a tuple of (m, n) pairs, got {problem.shapes!r}")
    return shapes


def _check_point(X, shapes, R, xp, dtype, what):
    """Check a parameter (array or tuple) against the problem: backend, dtype, shapes, R."""
    multi = len(shapes) > 1
    Xs = tuple(X) if isinstance(X, (tuple, list)) else (X,)
    if multi != isinstance(X, (tuple, list)) or len(Xs) != len(shapes):
        raise ValueError(
            f"{what} must be {'a tuple of ' + str(len(shapes)) + ' arrays' if multi else 'one array'} "
            f"for a problem with shapes {shapes}, got {type(X).__name__}"
            + (f" of length {len(Xs)}" if isinstance(X, (tuple, list)) else "")
        )
    want = backend_name(xp)
    for i, (A, (m, n)) in enumerate(zip(Xs, shapes)):
        lab = f"{what}[{i}]" if multi else what
        got = backend_name(A) if hasattr(A, "shape") else type(A).__name__
        if got != want:
            raise TypeError(f"{lab} is a {got} array but the problem lives on {want}; move one of them")
        if tuple(A.shape) != (R, m, n):
            raise ValueError(f"{lab} must have shape (R, m, n) = {(R, m, n)}, got {tuple(A.shape)}")
        if dtype is not None and A.dtype != dtype:
            raise TypeError(f"{lab} has dtype {dtype_name(A.dtype)} but the problem's dtype is {dtype_name(dtype)}")
    return Xs


def _diverged(t, bad, seeds, what):
    """A :class:`DivergedRunError` for the runs flagged in the host bool array ``bad`` (shape (R,))."""
    runs = [int(i) for i in np.flatnonzero(np.asarray(bad).reshape(len(seeds), -1).any(axis=-1))]
    sd = [seeds[i] for i in runs]
    more = " ..." if len(runs) > 10 else ""
    return DivergedRunError(
        f"the run diverged at step {t}: {what} is not finite in run(s) {runs[:10]}{more} "
        f"(seeds {sd[:10]}{more}); lower the step size or rescale the problem",
        step=t, runs=runs, seeds=sd,
    )


def _host(a):
    return np.asarray(to_numpy(a), dtype=np.float64)


def _hypot(P):
    """:math:`(\\sum_i P_i^2)^{1/2}` over axis 0 of a host array, scale-safely (max-scaled)."""
    if P.shape[0] == 1:
        return np.abs(P[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.max(np.abs(P), axis=0)
        s1 = np.where((s > 0) & np.isfinite(s), s, 1.0)
        return np.where(np.isfinite(s), s1 * np.sqrt(np.sum((P / s1) ** 2, axis=0)), s)


def _grad_norms(xp, Gs):
    """Host float64 (R,) arrays of the Frobenius, nuclear and spectral norms of the gradient(s).

    One singular-value computation per matrix (:func:`~adago_theory.norms.matrix_norms` with
    ``method="gram"``: eigenvalues of the smaller Gram matrix where a first-order bound keeps the
    norms within :data:`~adago_theory.norms.GRAM_TOL` relative, LAPACK's SVD elsewhere),
    one transfer to the host per matrix, norms combined over the matrices scale-safely.
    A run whose gradient is not finite gets NaN (the norms are computed on a zeroed copy
    of its matrices, then masked), so that recording never crashes on the gradient a
    :func:`~adago_theory.optim.skip_nonfinite` optimizer skipped.
    """
    ok = None
    for G in Gs:
        okG = xp.all(xp.isfinite(G), axis=(-2, -1))
        ok = okG if ok is None else ok & okG
    okh = _host_bool(ok)
    per = []
    for G in Gs:
        Gz = G if okh.all() else xp.where(ok[..., None, None], G, xp.zeros_like(G))
        per.append(_host(xp.stack(matrix_norms(Gz, method="gram"))))                 # (3, R)
    out = _hypot(np.stack(per))
    out[:, ~okh] = np.nan
    return out[0], out[1], out[2]


def _metrics(xp, problem, multi, Xs, G, X_prev):
    """The recorded row of one step: ``f``, the three gradient norms and the update norm (or None)."""
    f = _host(problem.value(Xs if multi else Xs[0]))
    fro, nuc, op = _grad_norms(xp, G)
    upd = None if X_prev is None else _update_norm(xp, Xs, X_prev)
    return f, fro, nuc, op, upd


def _host_bool(a):
    return np.asarray(to_numpy(a), dtype=bool)


def _update_norm(xp, X_new, Xs):
    """Host (R,) :math:`\\|X_t - X_{t-1}\\|_F`, summed in squares over the matrices, scale-safely."""
    return _hypot(np.stack([_host(frobenius_norm(A - B)) for A, B in zip(X_new, Xs)]))


def run(optimizer, problem, T, *, seeds=(0,), stochastic=False, batch_size=None, record="auto",
        num_records=100, X0=None, progress=None) -> Trace:
    r"""Run an optimizer on a problem for ``T`` steps, all seeds as one batch.

    Parameters
    ----------
    optimizer : Optimizer or sequence of Optimizer
        From a factory of :mod:`adago_theory.optim`.  For a problem with several
        matrices, one optimizer for all of them (one state each) or one per
        matrix (:func:`~adago_theory.optim.step_all`).
    problem : Problem
        Anything with the protocol of ``docs/design/contracts.md``: ``shapes``,
        ``xp``, ``dtype``, ``value``, ``grad``, ``stochastic_grad``,
        ``initial_point`` and ``constants`` (for ``f_star``).
    T : int
        Number of steps, :math:`T \ge 0`.
    seeds : int or sequence of int, default (0,)
        One run per seed.  The initial point of run :math:`r` is
        ``problem.initial_point(seeds[r], runs=1)`` (drawn once per seed before
        the loop), so a batch of R seeds starts exactly where R single runs start,
        and in the deterministic case follows the same iterates (up to the
        rounding of batched vs unbatched kernels).
    stochastic : bool, default False
        Step with ``problem.stochastic_grad`` instead of ``problem.grad``.  The
        noise of the whole batch comes from one Generator seeded by
        ``numpy.random.SeedSequence(seeds)``, so a batch and the single runs of
        the same seeds agree in distribution, not bit for bit.
    batch_size : int, optional
        Passed to ``stochastic_grad``.
    record : "auto", "all", "log", int or sequence of int, default "auto"
        Which steps to record (:func:`record_steps`): every step up to
        :math:`T = 1000`, a log-spaced grid of about ``num_records`` steps beyond.
    num_records : int, default 100
        Size of the log-spaced grid.
    X0 : array or tuple of arrays, optional
        Initial point(s) ``(R, m, n)`` instead of the problem's, on the problem's
        backend and dtype.
    progress : bool, optional
        Show a tqdm progress bar.  Default: when :math:`T > 1000` and stderr is a
        terminal.

    Returns
    -------
    Trace
        Host NumPy arrays; see :class:`Trace`.

    Raises
    ------
    TypeError
        Not an Optimizer; a problem without the protocol; ``X0`` on another
        backend or dtype.
    ValueError
        Bad ``T``, ``seeds``, ``record`` or ``batch_size``; ``X0`` or a gradient
        of the wrong shape.
    DivergedRunError
        The iterates, values, gradients or recorded metrics became non-finite
        (whatever the horizon; the message names the step, the runs and their
        seeds).  A gradient that is not finite at a finite iterate counts too,
        unless the optimizer is wrapped in :func:`~adago_theory.optim.skip_nonfinite`
        (then that run skips the step and ``Trace.skipped`` counts it).

    Notes
    -----
    In the deterministic case the gradient evaluated for recording is the one
    used by the next step (no extra evaluation); in the stochastic case the
    exact gradient is evaluated at the recorded steps only.

    Examples
    --------
    >>> import numpy as np
    >>> from adago_theory.optim import adago
    >>> class Quadratic:                      # f(X) = ||X||_F^2 / 2 on 3x2 matrices
    ...     name, shapes, xp, dtype = "quad", ((3, 2),), np, np.float64
    ...     constants = None
    ...     def value(self, X): return 0.5 * (X * X).sum(axis=(-2, -1))
    ...     def grad(self, X): return X.copy()
    ...     def initial_point(self, rng, runs=1):
    ...         return np.random.default_rng(rng).standard_normal((runs, 3, 2))
    >>> tr = run(adago(0.5, gamma=10.0, eps=1e-4), Quadratic(), 50, seeds=[0, 1, 2])
    >>> tr.f.shape, bool(np.all(tr.f[-1] < 1e-2 * tr.f[0]))
    ((51, 3), True)
    """
    T = check_int("T", T, lo=0)
    seeds = _check_seeds(seeds)
    stochastic = bool(stochastic)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, lo=1)
    shapes = _check_problem(problem, stochastic)
    multi = len(shapes) > 1
    if isinstance(optimizer, Optimizer):
        pass
    elif multi and isinstance(optimizer, (tuple, list)) and all(isinstance(o, Optimizer) for o in optimizer):
        if len(optimizer) != len(shapes):
            raise ValueError(f"got {len(optimizer)} optimizers for a problem with {len(shapes)} matrices")
    else:
        raise TypeError(f"optimizer must be an Optimizer from adago_theory.optim, got {type(optimizer).__name__}")
    steps = record_steps(T, record, num=num_records)
    xp = problem.xp
    dtype = getattr(problem, "dtype", None)
    R = len(seeds)

    if X0 is None:
        parts = [problem.initial_point(s, runs=1) for s in seeds]   # once per seed, before the loop
        for p in parts:
            _check_point(p, shapes, 1, xp, dtype, "problem.initial_point(seed, runs=1)")
        if multi:
            X0 = tuple(xp.concat([p[i] for p in parts], axis=0) for i in range(len(shapes)))
        else:
            X0 = xp.concat(parts, axis=0)
    Xs = _check_point(X0, shapes, R, xp, dtype, "X0")

    def grad(Xs_):
        G = problem.grad(Xs_ if multi else Xs_[0])
        return _check_grad(G, Xs_, "problem.grad")

    def sgrad(Xs_):
        G = problem.stochastic_grad(Xs_ if multi else Xs_[0], rng, batch_size=batch_size)
        return _check_grad(G, Xs_, "problem.stochastic_grad")

    if multi:
        states = init_all(optimizer, Xs)

        def do_step(Xs_, Gs_, states_):
            return step_all(optimizer, Xs_, Gs_, states_)
    else:
        states = optimizer.init(Xs[0])

        def do_step(Xs_, Gs_, state_):
            X_new, s = optimizer.step(Xs_[0], Gs_[0], state_)
            return (X_new,), s

    rng = None
    if stochastic:
        rng = default_rng(np.random.default_rng(np.random.SeedSequence(list(seeds))), xp)
    f_star = getattr(getattr(problem, "constants", None), "f_star", None)

    skipping = all(hasattr(s, "skipped") for s in (states if multi else (states,)))
    K = len(steps)
    rec_pos = {int(t): k for k, t in enumerate(steps)}
    out = {k: np.full((K, R), np.nan) for k in ("f", "grad_fro", "grad_nuc", "grad_op", "update_norm")}
    out["alpha"] = np.full((K, R, len(shapes)) if multi else (K, R), np.nan)
    out["time"] = np.zeros(K)
    X_prev = None
    elapsed = 0.0
    # On NumPy the recorded metrics (f, the gradient's singular values, the update norm) are computed
    # on the recording thread while the loop goes on: the loop's own kernel runs on one core at the
    # sizes where recording every step matters, and LAPACK releases the GIL.  Rows are filled and
    # checked in step order; before any DivergedRunError the pending rows are settled first, so the
    # error still names the first step where a non-finite value was seen.
    pool = _record_pool() if (is_numpy_namespace(xp) and K > 2) else None
    pending = collections.deque()

    def fill(k, t, row):
        f, fro, nuc, op, upd = row
        out["f"][k], out["grad_fro"][k], out["grad_nuc"][k], out["grad_op"][k] = f, fro, nuc, op
        if upd is not None:
            out["update_norm"][k] = upd
        _check_record(out, k, t, seeds, skipping)

    def settle(keep=0):
        while len(pending) > keep:
            k, t, fut = pending.popleft()
            fill(k, t, fut.result())

    show = (T > AUTO_ALL_MAX and sys.stderr.isatty()) if progress is None else bool(progress)
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=T, desc="run", leave=False, mininterval=0.5)
    try:
        for t in range(T + 1):
            rec = t in rec_pos
            c0 = time.perf_counter()
            G = grad(Xs) if (not stochastic and (t < T or rec)) else None
            if rec:
                synchronize(Xs[0])
                elapsed += time.perf_counter() - c0
                k = rec_pos[t]
                G_exact = G if G is not None else grad(Xs)
                if t > 0:
                    if multi:
                        out["alpha"][k] = np.stack([_host(s.alpha) for s in states], axis=-1)
                    else:
                        out["alpha"][k] = _host(states.alpha)
                out["time"][k] = elapsed
                prev = X_prev if t > 0 else None
                if pool is None:
                    fill(k, t, _metrics(xp, problem, multi, Xs, G_exact, prev))
                else:
                    # the step never mutates its inputs, but a copy of the gradient keeps the row
                    # right even for an optimizer that does; iterates are never written in place
                    G_copy = tuple(np.array(A, copy=True) for A in G_exact)
                    pending.append((k, t, pool.submit(_metrics, xp, problem, multi, Xs, G_copy, prev)))
                    settle(keep=RECORD_AHEAD)
                c0 = time.perf_counter()
            if t == T:
                break
            if stochastic:
                G = sgrad(Xs)
            try:
                X_new, states = do_step(Xs, G, states)
            except (NonFiniteGradientError, NonFiniteParameterError) as exc:
                settle()
                bad = np.zeros(R, dtype=bool)
                for A in (*Xs, *G):
                    bad |= ~np.all(np.isfinite(to_numpy(A)), axis=(-2, -1)).reshape(R)
                what = "the iterate" if isinstance(exc, NonFiniteParameterError) else "the gradient"
                raise _diverged(t + 1, bad, seeds, what) from exc
            elapsed += time.perf_counter() - c0
            X_prev = Xs if t + 1 in rec_pos else None
            Xs = X_new
            if bar is not None:
                bar.update(1)
        settle()
    finally:
        if bar is not None:
            bar.close()
        for _, _, fut in pending:     # an exception left rows behind: let their work go
            fut.cancel()

    skipped = np.stack([_skipped(s, R) for s in (states if multi else (states,))], axis=-1)
    skipped = skipped if multi else skipped[:, 0]
    X_final = tuple(to_numpy(A) for A in Xs) if multi else to_numpy(Xs[0])
    bad = np.zeros(R, dtype=bool)
    for A in (X_final if multi else (X_final,)):
        bad |= ~np.all(np.isfinite(A), axis=(-2, -1))
    if bad.any():
        raise _diverged(T, bad, seeds, "the final iterate")
    gap = None if f_star is None else out["f"] - float(f_star)
    return Trace(
        steps=steps, f=out["f"], gap=gap, grad_fro=out["grad_fro"], grad_nuc=out["grad_nuc"],
        grad_op=out["grad_op"], alpha=out["alpha"], update_norm=out["update_norm"], time=out["time"],
        seeds=np.asarray(seeds, dtype=np.int64), skipped=skipped, X_final=X_final, f_star=f_star,
    )


def _skipped(state, R):
    """Host int64 (R,) count of skipped steps (zeros for an optimizer that never skips)."""
    if not hasattr(state, "skipped"):
        return np.zeros(R, dtype=np.int64)
    return np.asarray(to_numpy(state.skipped), dtype=np.int64).reshape(R)


def _check_record(out, k, t, seeds, skipping):
    """Raise :class:`DivergedRunError` when a recorded row holds a non-finite value.

    ``f`` must be finite at every recorded step, ``alpha`` and ``update_norm`` after the
    first.  The gradient norms may be NaN only for a run whose step was skipped by
    :func:`~adago_theory.optim.skip_nonfinite` (its gradient was not finite but its
    iterate stayed put and finite).
    """
    checks = [("the value f", out["f"][k])]
    if t > 0:
        checks += [("the step size alpha", out["alpha"][k]), ("the update norm", out["update_norm"][k])]
    if not skipping:
        checks += [("the gradient norm", out["grad_fro"][k]), ("the gradient's nuclear norm", out["grad_nuc"][k])]
    for what, row in checks:
        bad = ~np.isfinite(row)
        if bad.any():
            raise _diverged(t, bad, seeds, what)


def _check_grad(G, Xs, what):
    Gs = tuple(G) if isinstance(G, (tuple, list)) else (G,)
    if len(Gs) != len(Xs):
        raise ValueError(f"{what} returned {len(Gs)} arrays for {len(Xs)} parameter matrices")
    for A, X in zip(Gs, Xs):
        if tuple(A.shape) != tuple(X.shape):
            raise ValueError(f"{what} returned shape {tuple(A.shape)} for a parameter of shape {tuple(X.shape)}")
    namespace(*Gs, *Xs)
    return Gs
