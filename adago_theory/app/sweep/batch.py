r"""Whole hyperparameter grids as one batch: runs that differ only in scalar hyperparameters and horizons.

A sweep's runs often differ only in numbers the optimizer takes (``eta``, ``gamma``, ``eps``,
``beta``, ...) and in the horizon :math:`T` (with horizon rules, ``eta = c T^p``, they differ
in both).  The optimizers accept such hyperparameters as arrays broadcastable to the run axes
``X.shape[:-2]`` (issue 13 item 3), so these runs are one batched ``run``:

* the batch holds :math:`n` configurations × :math:`S` seeds, each hyperparameter an array of
  shape :math:`(nS,)` (its value repeated over the seeds), the initial points those of the seeds,
  repeated per configuration (the same :math:`X_0` the separate runs start from);
* runs of close horizons (the shortest at least :data:`HORIZON_SPREAD` of the longest) share a
  batch; it runs to the longest horizon :math:`T_{\max}` and records the union of every
  configuration's recorded steps; a configuration of horizon :math:`T_i` keeps the rows of its
  own steps :math:`\le T_i` (a deterministic run's first :math:`T_i` steps do not depend on how
  long it goes on afterwards, so this equals the separate run; ``time`` is the batch's clock).

Grouped: deterministic runs of the toolkit's runner on one problem instance, same seeds,
``record``, backend, dtype and device, one optimizer whose factory accepts the arrays
(checked by building it: where it refuses, the runs go one by one).  Not grouped: stochastic
runs (their noise is drawn for the whole batch, so a different batch gives different noise),
custom runners, problems with several matrices.  When the batch fails (one configuration
diverges, which stops the whole batch), its configurations are run one by one, so each failure
is recorded for the run it belongs to.
"""

from __future__ import annotations

import json
import numbers

import numpy as np

from .config import RunRecord
from .single import RunOutcome, build_optimizer, build_problem, check_finite, trace_to_frame

__all__ = ["HORIZON_SPREAD", "group_key", "group_records", "run_group", "takes_arrays"]


def _batchable(name, value) -> bool:
    return name != "orth" and isinstance(value, numbers.Real) and not isinstance(value, bool)


def group_key(rec: RunRecord):
    """What a run shares with the runs it can be batched with; None when it runs alone."""
    cfg = rec.config
    if "runner" in cfg or cfg["stochastic"]:
        return None
    params = cfg["optimizer_params"]
    shared = {k: v for k, v in params.items() if not _batchable(k, v)}
    key = {k: v for k, v in cfg.items() if k not in ("T", "scaling", "optimizer_params")}
    key["optimizer_params"] = shared
    key["batched"] = sorted(k for k, v in params.items() if _batchable(k, v))
    return json.dumps(key, sort_keys=True)


#: Runs of different horizons share a batch only when the shortest is at least this fraction of the
#: longest: the batch runs to the longest, so at most 1/HORIZON_SPREAD - 1 = 25 % of its steps are extra.
HORIZON_SPREAD = 0.8


def group_records(records) -> list[list[RunRecord]]:
    """Partition records into batches (in first-seen order); a run that cannot be batched is alone.

    Within one :func:`group_key`, runs are cut into batches of close horizons
    (:data:`HORIZON_SPREAD`): a rate sweep over T = 64, 128, ..., 4096 is one batch per horizon
    (all its hyperparameter values together), not one batch running every run to 4096.
    """
    groups, alone = {}, []
    for rec in records:
        key = group_key(rec)
        if key is None:
            alone.append([rec])
        else:
            groups.setdefault(key, []).append(rec)
    out = []
    for members in groups.values():
        batch, longest = [], None
        for rec in sorted(members, key=lambda r: -r["T"]):
            if batch and rec["T"] < HORIZON_SPREAD * longest:
                out.append(batch)
                batch = []
            if not batch:
                longest = rec["T"]
            batch.append(rec)
        out.append(batch)
    return out + alone


def run_group(records, job):
    """Run a batch of records as one ``run``; a list of :class:`~.single.RunOutcome`, one per record.

    ``job(record)`` runs one record alone: used for a group of one, when the optimizer does not
    take array hyperparameters, and when the batched run fails.
    """
    if len(records) == 1:
        return [job(records[0])]
    try:
        return _batched(records)
    except Exception:  # noqa: BLE001 - one by one: each failure recorded for its own run
        return [job(r) for r in records]


def _batched(records):
    import datetime as _dt
    import os
    import socket
    import time

    from adago_theory.run import record_steps, run

    t0 = time.perf_counter()
    cfgs = [r.config for r in records]
    c0 = cfgs[0]
    P = build_problem(c0)
    seeds = c0["seeds"]
    S, n = len(seeds), len(cfgs)
    parts = [P.initial_point(s, runs=1) for s in seeds]
    if isinstance(parts[0], tuple):
        raise TypeError("problems with several matrices are run one by one")
    xp = P.xp
    X0 = xp.concat([xp.concat(parts, axis=0)] * n, axis=0)
    names = [k for k, v in c0["optimizer_params"].items() if _batchable(k, v)]
    if not takes_arrays(c0["optimizer"], c0["optimizer_params"]):
        raise TypeError(f"optimizer {c0['optimizer']!r} does not take array hyperparameters {names}")
    params = dict(c0["optimizer_params"])
    for k in names:
        vals = np.repeat(np.asarray([c["optimizer_params"][k] for c in cfgs], dtype=np.float64), S)
        params[k] = _like(xp, vals, X0)
    opt = build_optimizer({**c0, "optimizer_params": params})
    own = [np.asarray(record_steps(c["T"], c["record"])) for c in cfgs]
    T_max = max(c["T"] for c in cfgs)
    steps = np.unique(np.concatenate(own))
    trace = run(opt, P, T_max, seeds=list(range(n * S)), X0=X0, record=steps.tolist())
    fields = trace._asdict()
    wall = (time.perf_counter() - t0) / n
    out = []
    for i, (rec, s_i) in enumerate(zip(records, own)):
        rows = np.searchsorted(steps, s_i)
        cols = slice(i * S, (i + 1) * S)
        sub = {"steps": s_i}
        for name, val in fields.items():
            if name == "steps" or val is None or not isinstance(val, np.ndarray):
                continue
            if val.ndim == 2 and val.shape == (len(steps), n * S):
                sub[name] = val[rows, cols]
            elif val.shape == (len(steps),):
                sub[name] = val[rows]
        frame = trace_to_frame(sub, rec)
        check_finite(frame)
        meta = {"wall_s": wall, "host": socket.gethostname(), "pid": os.getpid(), "batched_with": n,
                "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        out.append(RunOutcome(rec.run_id, rec.config, frame, None, meta))
    return out


_PROBED: dict = {}


def takes_arrays(name, params) -> bool:
    """Whether optimizer ``name`` takes its numeric ``params`` as arrays over the run axis.

    Probed once per optimizer and set of names: the factory is built with two different values
    of each (1.5x and 0.5x the given one) as arrays of shape (2,), one step is taken on a batch of
    two runs, and each run must equal the step of the factory built with its scalars
    (:func:`adago_theory.optim.takes_run_arrays`).
    """
    from adago_theory.optim import OPTIMIZERS

    names = tuple(sorted(k for k, v in params.items() if _batchable(k, v)))
    key = (name, names, json.dumps({k: v for k, v in params.items() if k not in names}, sort_keys=True))
    if key not in _PROBED:
        _PROBED[key] = _probe(OPTIMIZERS.get(name), params, names)
    return _PROBED[key]


def _probe(factory, params, names) -> bool:
    from adago_theory.optim import takes_run_arrays

    if factory is None or not names:
        return False
    fixed = {k: v for k, v in params.items() if k not in names}
    return takes_run_arrays(lambda **kw: factory(**fixed, **kw),
                            {k: (1.5 * params[k], 0.5 * params[k]) for k in names}, steps=1)


def _like(xp, values, X):
    """``values`` as an array of X's namespace, dtype and device."""
    from adago_theory.backend import device_of

    try:
        return xp.asarray(values, dtype=X.dtype, device=device_of(X))
    except TypeError:
        return xp.asarray(values, dtype=X.dtype)
