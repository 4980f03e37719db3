r"""Train runs into the results store of sweeps (:mod:`adago_theory.app.sweep.store`): resumable.

Each finished run is one atomic Parquet file ``runs/<train-id>.parquet`` holding its tidy table
(``run_id``, ``task``, ``optimizer``, ``opt_*`` hyperparameters, ``T``, ``batch_size``, ``hidden``,
``seed``, ``step`` and the metrics), with the canonical config in the file's metadata; a failed
run leaves ``errors/<train-id>.json``.  Running the same grid again skips the finished runs.

A grid (TOML file or command-line lists) is expanded like ``sweep``'s: every list under
``[[optimizer]]`` is swept, the other keys are those of :func:`.run.canonical`::

    T = 600
    seeds = 5
    [[optimizer]]
    name = "adago"
    eta = [0.01, 0.05, 0.1, 0.5, 1.0]
    [[optimizer]]
    name = "muon"
    eta = [0.01, 0.05, 0.1, 0.5, 1.0]
"""

from __future__ import annotations

import itertools
import platform
import sys
import traceback
from typing import NamedTuple

from .run import DEFAULTS, canonical, train_id, train_run

__all__ = ["expand_train_grid", "run_train_grid", "TrainSummary", "EXAMPLE_GRID"]

EXAMPLE_GRID = '''\
# adago-theory train grid: every list under [[optimizer]] is swept (cartesian product).
task = "digits"      # sklearn's bundled handwritten digits (no network)
T = 600              # steps
seeds = 5            # seeds 0..4, batched in one run (or a list: [0, 5, 7])
batch_size = 64
hidden = 128         # 2-layer MLP 64-128-10: 9,610 parameters per seed
eval_every = 10
fallback_lr = 3e-3   # AdamW rate of the biases of the orthogonalized rules

[[optimizer]]
name = "adago"
eta = [0.01, 0.05, 0.1, 0.5, 1.0]
gamma = 10.0
eps = 1e-3

[[optimizer]]
name = "muon"
eta = [0.01, 0.05, 0.1, 0.5, 1.0]
'''


class TrainSummary(NamedTuple):
    out: str
    run_ids: list
    n_skipped: int
    n_done: int
    n_failed: int
    failed: list


def expand_train_grid(spec):
    """The canonical configs of a grid spec (dict from TOML or the command line)."""
    spec = dict(spec)
    opts = spec.pop("optimizer", None)
    if opts is None:
        raise ValueError("the grid needs at least one [[optimizer]] table (or --optimizer)")
    if isinstance(opts, dict):
        opts = [opts]
    base_lists = {k: v for k, v in spec.items() if isinstance(v, list) and k != "seeds"}
    base_fixed = {k: v for k, v in spec.items() if k not in base_lists}
    configs, seen = [], set()
    for o in opts:
        o = dict(o)
        name = o.pop("name", None)
        names = name if isinstance(name, list) else [name]
        keys = sorted(o)
        vals = [o[k] if isinstance(o[k], list) else [o[k]] for k in keys]
        bkeys = sorted(base_lists)
        for nm in names:
            for combo in itertools.product(*vals):
                for bcombo in itertools.product(*[base_lists[k] for k in bkeys]):
                    cfg = {**base_fixed, **dict(zip(bkeys, bcombo)), "optimizer": nm,
                           "optimizer_params": dict(zip(keys, combo))}
                    c = canonical(cfg)
                    rid = train_id(c)
                    if rid not in seen:
                        seen.add(rid)
                        configs.append(c)
    return configs


def _frame(df, c, rid):
    df = df.copy()
    df.insert(0, "run_id", rid)
    head = {"task": c["task"], "optimizer": c["optimizer"], "T": c["T"], "batch_size": c["batch_size"],
            "hidden": c["hidden"], "dtype": c["dtype"], "fallback_lr": c["fallback_lr"]}
    for k, v in c["optimizer_params"].items():
        head[f"opt_{k}"] = v if isinstance(v, (int, float, bool, str)) else repr(v)
    for i, (k, v) in enumerate(head.items()):
        df.insert(1 + i, k, v)
    return df


def run_train_grid(configs, out, *, progress=None, command=None, retry_failed=True, on_result=None):
    """Run the configs not yet finished in the store ``out``; returns a :class:`TrainSummary`."""
    import datetime as dt
    from pathlib import Path

    from tqdm.auto import tqdm

    from ..sweep.store import (error_ids, finished_ids, lock_store, open_store, record_sweep, write_error,
                               write_result)

    cfgs = [canonical(c) for c in configs]
    ids = [train_id(c) for c in cfgs]
    Path(out).mkdir(parents=True, exist_ok=True)
    with lock_store(out) as path:
        open_store(path, backends=["torch"], devices={"torch": "cpu"})
        done = finished_ids(path)
        skip = done if retry_failed else done | error_ids(path)
        pending = [(c, i) for c, i in zip(cfgs, ids) if i not in skip]
        now = lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: E731
        entry = {"started": now(), "command": command, "n_runs": len(cfgs), "n_skipped": len(cfgs) - len(pending),
                 "engine": "train (in process)"}
        index = record_sweep(path, entry)
        n_done, failed = 0, []
        disable = (not sys.stderr.isatty()) if progress is None else (not progress)
        with tqdm(total=len(pending), desc="train", unit="run", disable=disable, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            for c, rid in pending:
                try:
                    df = train_run(c, progress=not disable)
                except Exception as exc:  # noqa: BLE001 - recorded, the grid goes on
                    write_error(path, rid, c, {"type": type(exc).__name__, "message": str(exc),
                                               "traceback": traceback.format_exc()})
                    failed.append((rid, f"{type(exc).__name__}: {exc}"))
                else:
                    meta = {"wall_s": df.attrs.get("wall_s"), "host": platform.node(), "device": "cpu",
                            "finished": now()}
                    write_result(path, rid, _frame(df, c, rid), c, meta)
                    n_done += 1
                bar.update(1)
                if on_result is not None:
                    on_result(rid, c)
        entry.update(finished=now(), n_done=n_done, n_failed=len(failed))
        record_sweep(path, entry, index=index)
    return TrainSummary(str(out), ids, len(cfgs) - len(pending), n_done, len(failed), failed)


def defaults():
    """The defaults of a train config (for help texts)."""
    return dict(DEFAULTS)
