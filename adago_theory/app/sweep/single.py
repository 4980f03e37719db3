r"""One run of a sweep: build its problem and optimizer, run it, and turn its trace into a tidy table.

:func:`run_one` is a pure function of a canonical config (:mod:`~adago_theory.app.sweep.config`): the
problem and the optimizer are built from their registered names (:func:`build_problem`,
:func:`build_optimizer`), all seeds run as one batch (:func:`run_trace`, ``adago_theory.run(...,
seeds=...)``; on a GPU the seeds share one job) or a custom ``runner`` computes the trace, and
:func:`trace_to_frame` makes the table that :func:`check_finite` screens.  The engines that run many
configs (:mod:`~adago_theory.app.sweep.execute`) and the batching of compatible ones
(:mod:`~adago_theory.app.sweep.batch`) both stand on these pieces.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, NamedTuple

import numpy as np

from .config import canonical_config, flatten_config, make_record, run_id
from .registry import get_optimizer_factory, get_problem_factory, load_runner

__all__ = ["RunOutcome", "build_optimizer", "build_problem", "run_trace", "trace_to_frame", "run_one", "check_finite"]


class RunOutcome(NamedTuple):
    """What one job sends back to the driver.

    Attributes
    ----------
    run_id : str
    config : dict
        The canonical config.
    frame : pandas.DataFrame or None
        The tidy table (None when the run failed).
    error : dict or None
        ``{"type", "message", "traceback"}`` when the run failed.
    meta : dict
        ``wall_s``, ``host``, ``pid``, ``finished`` (UTC, ISO 8601).
    """

    run_id: str
    config: dict
    frame: Any
    error: dict | None
    meta: dict


def build_optimizer(cfg):
    """The optimizer of a canonical configuration: ``OPTIMIZERS[optimizer](**optimizer_params)``."""
    return get_optimizer_factory(cfg["optimizer"])(**cfg["optimizer_params"])


#: Problem instances built by :func:`~adago_theory.app.sweep.execute.validate_configs` (through
#: :func:`build_problem`), reused by :func:`run_trace` in this process.
_PROBLEMS: dict = {}
_PROBLEMS_KEPT = 4


def build_problem(cfg):
    """The problem instance of ``cfg`` (built by its factory, or the one validation just built)."""
    key = json.dumps([cfg[k] for k in ("problem", "problem_params", "problem_seed", "backend", "dtype", "device")],
                     sort_keys=True)
    if key in _PROBLEMS:
        return _PROBLEMS[key]
    factory = get_problem_factory(cfg["problem"])
    where = {"backend": cfg["backend"], "dtype": cfg["dtype"], "device": cfg["device"]}
    if _accepts(factory, where):
        problem = factory(**cfg["problem_params"], rng=cfg["problem_seed"], **where)
    else:
        problem = factory(**cfg["problem_params"], rng=cfg["problem_seed"])
        if cfg["backend"] != "numpy" or cfg["dtype"] != "float64" or cfg["device"] is not None:
            problem = problem.to(**where)
    while len(_PROBLEMS) >= _PROBLEMS_KEPT:
        _PROBLEMS.pop(next(iter(_PROBLEMS)))
    _PROBLEMS[key] = problem
    return problem


def run_trace(config, *, progress: bool | None = None):
    r"""The toolkit's runner: build the problem and optimizer of ``config`` and run them.

    The problem instance is ``factory(**problem_params, rng=problem_seed, backend=...,
    dtype=..., device=...)`` (a factory without these keywords builds on NumPy and the
    instance is moved with ``problem.to(backend=..., dtype=..., device=...)``); the optimizer is
    ``OPTIMIZERS[optimizer](**optimizer_params)``; then
    ``adago_theory.run(opt, problem, T, seeds=seeds, stochastic=..., batch_size=..., record=...)``
    runs all seeds as one batch.  ``progress`` is passed to ``run`` (a bar for long runs on a
    terminal when None).

    Returns
    -------
    Trace
        ``adago_theory.run``'s record of host arrays.

    Raises
    ------
    adago_theory.run.DivergedRunError
        The run's iterates, values or metrics became non-finite.
    """
    from adago_theory.run import run

    cfg = canonical_config(config)
    problem, opt = build_problem(cfg), build_optimizer(cfg)
    return run(opt, problem, cfg["T"], seeds=tuple(cfg["seeds"]), stochastic=cfg["stochastic"],
               batch_size=cfg["batch_size"], record=cfg["record"], progress=progress)


def _accepts(fn, kwargs) -> bool:
    import inspect

    try:
        ps = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ps.values()):
        return True
    return all(k in ps for k in kwargs)


def _fields(trace) -> dict:
    if hasattr(trace, "_asdict"):
        return dict(trace._asdict())
    if isinstance(trace, Mapping):
        return dict(trace)
    if hasattr(trace, "__dataclass_fields__"):
        return {k: getattr(trace, k) for k in trace.__dataclass_fields__}
    raise TypeError(f"a runner must return a NamedTuple, dataclass or mapping of arrays, got {type(trace).__name__}")


def trace_to_frame(trace, config: Mapping[str, Any]):
    """Turn a trace into the tidy table of one run.

    Parameters
    ----------
    trace : NamedTuple, dataclass or mapping
        ``steps`` of shape (K,) and metrics of shape (K, R) with R = the number of seeds
        (``docs/design/contracts.md``, "run").  Fields of any other shape (final
        iterates, scalars) are not part of the table.
    config : mapping
        The run's config.

    Returns
    -------
    pandas.DataFrame
        K·R rows ordered by seed then step: ``run_id``, config columns
        (:func:`~adago_theory.app.sweep.config.flatten_config`), ``seed``, ``step``, metrics.

    Raises
    ------
    ValueError
        If ``steps`` is missing or no field has shape (K, R).
    """
    import pandas as pd

    cfg = canonical_config(config)
    fields = _fields(trace)
    if "steps" not in fields:
        raise ValueError("the trace has no 'steps' field (recorded step indices, shape (K,))")
    steps = np.asarray(fields.pop("steps"))
    if steps.ndim != 1:
        raise ValueError(f"trace.steps must have shape (K,), got {steps.shape}")
    K, R = steps.shape[0], len(cfg["seeds"])
    reserved = {"run_id", "seed", "step"}
    cols = {}
    for name, val in fields.items():
        if val is None or isinstance(val, (str, bytes)) or name in reserved:
            continue
        try:
            a = np.asarray(val)
        except Exception:
            continue
        if a.dtype.kind not in "fiub":
            continue
        if a.shape == (K, R):
            cols[name] = a.T.reshape(-1)
        elif R == 1 and a.shape == (K,):
            cols[name] = a
    if not cols:
        raise ValueError(f"the trace has no metric of shape (K, R) = ({K}, {R})")
    rid = run_id(cfg)
    n = K * R
    data = {"run_id": np.full(n, rid, dtype=object)}
    for k, v in flatten_config(cfg).items():
        data[k] = [v] * n
    data["seed"] = np.repeat(np.asarray(cfg["seeds"], dtype=np.int64), K)
    data["step"] = np.tile(steps.astype(np.int64), R)
    for k, v in cols.items():
        data[k] = v
    return pd.DataFrame(data)


def run_one(config: Mapping[str, Any], *, progress: bool | None = None):
    """Run one configuration: a pure function of the config, returning its tidy table.

    Parameters
    ----------
    config : mapping
        A run configuration (see :mod:`adago_theory.app.sweep.config`).  With a ``runner``
        key, that ``"module:function"`` computes the trace instead of :func:`run_trace`.
    progress : bool or None
        Progress bar of a long run (:func:`run_trace` only; None: on a terminal).

    Returns
    -------
    pandas.DataFrame
        See :func:`trace_to_frame`.

    Examples
    --------
    >>> df = run_one({"problem": "least_squares", "optimizer": "adago",
    ...               "optimizer_params": {"eta": 0.1}, "T": 50, "seeds": [0, 1]})  # doctest: +SKIP
    """
    rec = make_record(config)
    cfg = rec.config
    if "runner" in cfg:
        trace = load_runner(cfg["runner"])(cfg)
    else:
        trace = run_trace(rec, progress=progress)
    frame = trace_to_frame(trace, rec)
    check_finite(frame)
    return frame


def check_finite(frame) -> None:
    """Raise :class:`~adago_theory.run.DivergedRunError` when a metric of a run's table is not finite.

    The kernel's ``run`` raises it itself; this covers custom runners, whose traces the shell
    does not compute.  The message names the metric, the first step and the seeds.  NaN at
    step 0 is allowed (``alpha`` and ``update_norm`` describe the step before, and there is none).
    """
    from adago_theory.run import DivergedRunError

    cols = list(frame.columns)
    step0 = frame["step"].to_numpy() == 0
    for m in cols[cols.index("step") + 1:]:  # trace_to_frame's order: run_id, config, seed, step, metrics
        v = frame[m].to_numpy(dtype=float)
        bad = np.isinf(v) | (np.isnan(v) & ~step0)  # NaN at t = 0: quantities of the step before (alpha, ...)
        if bad.any():
            step = int(frame["step"].to_numpy()[bad].min())
            seeds = sorted({int(s) for s in frame["seed"].to_numpy()[bad & (frame["step"].to_numpy() == step)]})
            raise DivergedRunError(f"the run diverged: {m} is not finite at step {step} (seeds {seeds})",
                                   step=step, seeds=seeds)
