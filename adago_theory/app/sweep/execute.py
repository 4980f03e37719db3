r"""Executing runs: one pure function per run, a local process pool or a Dask cluster.

Each run is a pure function of its canonical config
(:func:`~adago_theory.app.sweep.single.run_one`): it builds the problem and the optimizer from
their registered names, runs all seeds as one batch (``adago_theory.run(..., seeds=...)``; on a
GPU the seeds share one job) and returns a tidy table.  :func:`run_sweep` runs many configs,
skipping the ones the store already holds, and writes each result as it arrives, so a sweep can
be killed at any point and resumed.

Engines (``toolkits.md`` §6 [CODE benchopt/parallel_backends], our choice):

* ``n_jobs=1`` (default): in this process, one run after the other.
* ``n_jobs=N`` (``-j N``, ``-1`` = all cores): a joblib ``loky`` process pool
  (fresh interpreters, never ``fork``: safe once CUDA is initialized), results streamed
  with ``return_as="generator_unordered"``.
* ``scheduler="tcp://host:8786"`` (``--scheduler``): the same jobs as futures on a Dask
  distributed cluster (``distributed.Client``, ``as_completed``); the cluster decides
  the parallelism.  The driver (this process) writes the store, so workers need no shared
  file system.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import socket
import sys
import time
import traceback as _tb
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from .batch import group_records, run_group
from .config import ConfigError, RunRecord, configs_from, make_record
from .registry import check_params, get_optimizer_factory, get_problem_factory, load_runner
from .single import RunOutcome, build_optimizer, build_problem, run_one
from .store import lock_store, open_store, record_sweep, write_error, write_result, finished_ids, error_ids

__all__ = [
    "SweepSummary",
    "validate_config",
    "validate_configs",
    "run_sweep",
]

#: Keyword arguments ``run_trace`` passes to a problem factory itself (not settable in ``problem_params``).
_PROBLEM_RESERVED = ("rng", "backend", "dtype", "device")


class SweepSummary(NamedTuple):
    """Counts of one :func:`run_sweep` call.

    Attributes
    ----------
    out : str
        The store directory.
    run_ids : list of str
        All runs of the sweep, in grid order.
    n_skipped : int
        Runs already finished in the store (not run again).
    n_done : int
        Runs finished by this call.
    n_failed : int
        Runs that failed in this call (recorded in ``errors/``).
    failed : list of (str, str)
        ``(run_id, one-line message)`` of the failures.
    """

    out: str
    run_ids: list
    n_skipped: int
    n_done: int
    n_failed: int
    failed: list


# ---------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------


def validate_config(config) -> RunRecord:
    """Validate one configuration completely and freeze it: see :func:`validate_configs`."""
    return validate_configs([config])[0]


def validate_configs(configs: Iterable, *, check_backend: bool = True) -> list[RunRecord]:
    """The edge of the shell: validate every configuration once, before anything runs.

    Each configuration is canonicalized (:func:`~adago_theory.app.sweep.config.make_record`),
    its names looked up, its backend checked (installed, usable), and its optimizer and problem
    *built* from their factories, so that every value a factory rejects (``eta=-0.1``,
    ``kappa_A=0.5``, ``m=0``, an orthogonalizer spec) is reported now, with the parameter named,
    and not as a failed run later.  Each distinct problem instance is built once; the last few
    are kept for the runs of this process (:func:`~adago_theory.app.sweep.single.run_trace`).
    Configs with a custom ``runner`` are only canonicalized and their runner imported (the runner
    owns their meaning).

    With ``check_backend=False`` (a dry run, planned on another machine) the backends are not
    checked and each problem is built on NumPy in float64 to check its parameters.

    Returns
    -------
    list of RunRecord
        The frozen records, duplicates dropped.

    Raises
    ------
    ConfigError
        The first invalid configuration; the message names the parameter and the allowed values.
    """
    records = configs_from(configs)
    backends = set()
    for rec in records:
        cfg = rec.config
        if "runner" in cfg:
            load_runner(cfg["runner"])
            continue
        if check_backend and cfg["backend"] not in backends:
            _check_backend(cfg["backend"])
            backends.add(cfg["backend"])
        of = get_optimizer_factory(cfg["optimizer"])
        pf = get_problem_factory(cfg["problem"])
        check_params("optimizer", cfg["optimizer"], of, cfg["optimizer_params"])
        check_params("problem", cfg["problem"], pf, cfg["problem_params"], reserved=_PROBLEM_RESERVED)
        _build("optimizer", cfg["optimizer"], lambda: build_optimizer(cfg))
        here = cfg if check_backend else {**cfg, "backend": "numpy", "dtype": "float64", "device": None}
        _build("problem", cfg["problem"], lambda: build_problem(here))
    return records


def _check_backend(name):
    from ..bench.tools import require_backend

    try:
        require_backend(name)
    except (ImportError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"backend {name!r} cannot run here: {exc}") from None


def _build(kind, name, fn):
    """Call a factory; its ValueError/TypeError (naming the parameter) becomes a ConfigError."""
    try:
        return fn()
    except (TypeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{kind} {name!r}: {msg}") from None


def _job(config, progress=False) -> RunOutcome:
    """Run one config and catch its failure: what the pool or the cluster executes."""
    t0 = time.perf_counter()
    rec = make_record(config)
    frame, error = None, None
    try:
        frame = run_one(rec, progress=progress)
    except Exception as exc:  # a failed run is a record, never a result
        error = {"type": type(exc).__name__, "message": str(exc).strip().splitlines()[0] if str(exc).strip() else "",
                 "traceback": _tb.format_exc()}
        if getattr(exc, "step", None) is not None:
            error["step"] = int(exc.step)
    meta = {"wall_s": time.perf_counter() - t0, "host": socket.gethostname(), "pid": os.getpid(),
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    return RunOutcome(rec.run_id, rec.config, frame, error, meta)


# ---------------------------------------------------------------------------
# engines
# ---------------------------------------------------------------------------


def _group_job(records, progress=False) -> list[RunOutcome]:
    """Run a batch of records (:mod:`~adago_theory.app.sweep.batch`): one ``run`` when they can share it."""
    return run_group(records, lambda rec: _job(rec, progress))


def _local(configs, n_jobs, progress) -> Iterator[RunOutcome]:
    groups = group_records(configs)
    if n_jobs == 1 or len(groups) <= 1:
        for g in groups:
            yield from _group_job(g, None if progress is None or progress else False)
        return
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered", batch_size=1,
                   pre_dispatch="2*n_jobs")
    for outcomes in par(delayed(_group_job)(g) for g in groups):
        yield from outcomes


_ADDRESS = re.compile(r"^(?:(?P<proto>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})/?$")
_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def parse_scheduler_address(address: str) -> tuple[str, str, int]:
    """Parse a Dask scheduler address ``[PROTOCOL://]HOST:PORT`` (or ``inproc://...``) before connecting.

    Returns
    -------
    (protocol, host, port)
        ``port`` is 0 for an in-process scheduler.

    Raises
    ------
    ConfigError
        Not of that form, an unknown protocol, or a port outside 1..65535.
    """
    if isinstance(address, str) and re.fullmatch(r"inproc://\S+", address.strip()):  # an in-process cluster
        return "inproc", address.strip()[len("inproc://"):], 0
    m = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if m is None:
        raise ConfigError(f"--scheduler {address!r} is not a scheduler address; expected "
                          f"[PROTOCOL://]HOST:PORT, e.g. tcp://10.0.0.5:8786 (protocols {', '.join(_PROTOCOLS)})")
    proto = m.group("proto") or "tcp"
    if proto not in _PROTOCOLS:
        raise ConfigError(f"--scheduler {address!r}: unknown protocol {proto!r}; allowed: {', '.join(_PROTOCOLS)}")
    port = int(m.group("port"))
    if not 1 <= port <= 65535:
        raise ConfigError(f"--scheduler {address!r}: port must be in 1..65535, got {port}")
    return proto, m.group("host"), port


def _connect(address, connect_timeout=10.0):
    """A ``distributed.Client`` of the scheduler at ``address`` (not made the default client)."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'adago-theory[dask]'") from None
    try:
        return Client(address, timeout=f"{float(connect_timeout)}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _dask(configs, client) -> Iterator[RunOutcome]:
    from distributed import as_completed

    futures = {}
    for c in configs:
        fut = client.submit(_job, c, pure=False, key=f"adago-run-{c.run_id}-{os.getpid()}-{time.time_ns()}")
        futures[fut] = c
    for fut in as_completed(list(futures), loop=client.loop):
        c = futures.pop(fut)
        try:
            out = fut.result()
        except Exception as exc:  # the worker died or the task could not run there
            out = RunOutcome(c.run_id, c.config, None,
                             {"type": type(exc).__name__, "message": f"Dask task failed: {exc}".splitlines()[0],
                              "traceback": _tb.format_exc()},
                             {"host": None, "wall_s": None})
        fut.release()
        yield out


def _progress_bar(total, progress, desc):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else (not progress)
    return tqdm(total=total, desc=desc, unit="run", disable=disable, file=sys.stderr, dynamic_ncols=True)


def run_sweep(configs: Iterable[Mapping[str, Any]], out, *, n_jobs: int = 1, scheduler: str | None = None,
              retry_failed: bool = True, progress: bool | None = None, command: list | None = None,
              validate: bool = True, devices: dict | None = None, on_result: Callable | None = None,
              connect_timeout: float = 10.0) -> SweepSummary:
    """Run every configuration not yet finished in the store ``out``.

    Parameters
    ----------
    configs : iterable of mapping
        Run configurations (duplicates are run once).
    out : path-like
        The store directory (created when missing).
    n_jobs : int
        Local processes: 1 runs in this process; N > 1 a loky pool of N; -1 all cores.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); overrides the local pool.
    retry_failed : bool
        Run again the runs that failed before (default).  False skips them.
    progress : bool or None
        A tqdm bar on stderr; None shows it only when stderr is a terminal.
    command : list of str, optional
        The command line, recorded in the manifest.
    validate : bool
        Check names and parameters against the registries before starting (default).
    devices : dict, optional
        Backend → device description for the manifest (default: probed on this host for local
        runs; for a Dask cluster none, and ``load_runs`` gives the host of each run).
    on_result : callable, optional
        Called with each :class:`RunOutcome` after it is stored.
    connect_timeout : float
        Seconds to wait for the Dask scheduler.

    Returns
    -------
    SweepSummary

    Raises
    ------
    ConfigError
        A config or the scheduler address is invalid (nothing is run).
    adago_theory.app.sweep.store.StoreError
        Another live sweep holds the store.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    if scheduler:
        parse_scheduler_address(scheduler)
    cfgs = validate_configs(configs) if validate else configs_from(configs)
    ids = [c.run_id for c in cfgs]
    client = _connect(scheduler, connect_timeout) if scheduler else None
    try:
        return _sweep(cfgs, ids, out, n_jobs=n_jobs, client=client, scheduler=scheduler, retry_failed=retry_failed,
                      progress=progress, command=command, devices=devices, on_result=on_result)
    finally:
        if client is not None:
            client.close()


def _sweep(cfgs, ids, out, *, n_jobs, client, scheduler, retry_failed, progress, command, devices, on_result):
    with lock_store(_mkdir(out)) as path:
        used = sorted({c["backend"] for c in cfgs})
        if devices is None and not scheduler:
            devices = _devices(used)
        open_store(path, backends=used, devices=devices)
        done = finished_ids(path)
        skip = done if retry_failed else done | error_ids(path)
        pending = [c for c, i in zip(cfgs, ids) if i not in skip]
        entry = {"started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "command": command, "n_runs": len(cfgs), "n_skipped": len(cfgs) - len(pending),
                 "engine": f"dask {scheduler}" if scheduler else f"local n_jobs={n_jobs}"}
        index = record_sweep(path, entry)
        n_done, failed = 0, []
        outcomes = _dask(pending, client) if client is not None else _local(pending, n_jobs, progress)
        with _progress_bar(len(pending), progress, "sweep") as bar:
            for res in outcomes:
                if res.error is None:
                    write_result(path, res.run_id, res.frame, res.config, res.meta)
                    n_done += 1
                else:
                    write_error(path, res.run_id, res.config, {**res.error, "meta": res.meta})
                    failed.append((res.run_id, f"{res.error['type']}: {res.error['message']}"))
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=len(failed), refresh=False)
                if on_result is not None:
                    on_result(res)
        entry.update(finished=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                     n_done=n_done, n_failed=len(failed))
        record_sweep(path, entry, index=index)
    return SweepSummary(str(out), ids, len(cfgs) - len(pending), n_done, len(failed), failed)


def _devices(names) -> dict:
    """Backend → the devices this host offers it (what the manifest records for local runs)."""
    from ..info import backends

    out = {}
    for name, b in backends(names).items():
        out[name] = ", ".join(b.get("devices", [])) if b.get("available") else f"unavailable: {b.get('reason')}"
    return out


def _mkdir(out):
    from pathlib import Path

    p = Path(out)
    if p.exists() and not p.is_dir():
        from .store import StoreError

        raise StoreError(f"--out {p} exists and is not a directory")
    p.mkdir(parents=True, exist_ok=True)
    return p
