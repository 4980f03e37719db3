r"""The results store: one directory per sweep, one atomic Parquet file per finished run.

Layout of a store directory::

    manifest.json           versions, git revision, host, backends and devices, one entry per sweep invocation
    runs/<run_id>.parquet   one tidy table per *finished* run (run_id, config columns, seed, step, metrics)
    errors/<run_id>.json    one record per *failed* run: its config, the exception and the traceback
    .lock                   present while a sweep writes to the store (pid and host inside)

Rules (after benchopt's cache bugs, ``toolkits.md`` §2.7 item 5 [ISSUE benchopt#584]):

* A result file exists only once the run has finished: it is written to a temporary
  file in the same directory, flushed to disk, then renamed over its final name
  (``os.replace`` is atomic on POSIX), so a sweep killed at any instant leaves either the
  whole file or nothing.  Temporary files never end in ``.parquet`` and are never read.
* A failure is written to ``errors/`` and never to ``runs/``; a later success of the same
  run removes its error record.  :func:`load_results` reads ``runs/`` only.
* The run ID (a hash of the canonical config) is the file name, so a run can never be
  stored twice.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

__all__ = [
    "StoreError",
    "MANIFEST",
    "open_store",
    "lock_store",
    "atomic_write_bytes",
    "write_result",
    "write_error",
    "finished_ids",
    "error_ids",
    "load_results",
    "load_errors",
    "load_runs",
    "read_manifest",
    "record_sweep",
]

MANIFEST = "manifest.json"
FORMAT = "adago-theory-results"
FORMAT_VERSION = 1
_META_KEY = b"adago_theory"


class StoreError(RuntimeError):
    """The store cannot be used (busy, not a store, unreadable)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# atomic files and the lock
# ---------------------------------------------------------------------------


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file in the same directory, fsync, rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def lock_store(path):
    """Hold the store's ``.lock`` for the duration of a ``with`` block.

    A lock left behind by a process that no longer exists on this host (a sweep killed
    with SIGKILL) is taken over.

    Raises
    ------
    StoreError
        If a live process (on this host, or any process on another host) holds the lock.
    """
    path = Path(path)
    lock = path / ".lock"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = json.loads(lock.read_text() or "{}")
            except (OSError, ValueError):
                owner = {}
            pid, host = owner.get("pid"), owner.get("host")
            if host == me["host"] and isinstance(pid, int) and not _pid_alive(pid):
                try:
                    lock.unlink()
                except FileNotFoundError:
                    pass
                continue
            if not owner:  # being written right now, or garbage: give it a moment
                import time

                time.sleep(0.2)
                try:
                    owner = json.loads(lock.read_text() or "{}")
                except (OSError, ValueError):
                    owner = {}
                if not owner:
                    lock.unlink(missing_ok=True)
                    continue
            raise StoreError(
                f"results store {path} is in use by pid {owner.get('pid')} on {owner.get('host')} "
                f"(since {owner.get('since')}); remove {lock} if that process is gone"
            ) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    else:
        raise StoreError(f"could not take the lock {lock}")
    try:
        yield path
    finally:
        try:
            owner = json.loads(lock.read_text())
            if owner.get("pid") == me["pid"] and owner.get("host") == me["host"]:
                lock.unlink()
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------


def read_manifest(path) -> dict:
    """The parsed ``manifest.json`` of a store.

    Raises
    ------
    StoreError
        If ``path`` holds no manifest (it is not a results store) or the manifest is not JSON.
    """
    p = Path(path) / MANIFEST
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path} is not a results store (no {MANIFEST})") from None
    except ValueError as exc:
        raise StoreError(f"{p}: not valid JSON ({exc})") from None


def _write_manifest(path, manifest) -> None:
    atomic_write_bytes(Path(path) / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def open_store(path, *, backends=(), devices=None) -> Path:
    """Create (or reopen) a store directory and refresh its manifest's environment fields.

    Parameters
    ----------
    path : path-like
        The store directory; created with its parents when missing.
    backends : sequence of str
        Backends the coming runs use; added to the manifest's ``backends``.
    devices : dict, optional
        Backend → device description, merged into the manifest's ``devices``.

    Returns
    -------
    pathlib.Path
        The store directory.  Stale temporary files of killed writers are removed.

    Notes
    -----
    Call it while holding :func:`lock_store`.
    """
    from ..info import git_revision, package_versions, platform_summary

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} exists and is not a directory")
    (path / "runs").mkdir(parents=True, exist_ok=True)
    (path / "errors").mkdir(exist_ok=True)
    for sub in ("runs", "errors", "."):
        for tmp in (path / sub).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
    try:
        manifest = read_manifest(path)
    except StoreError:
        if (path / MANIFEST).exists():
            raise
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "created": _now(),
                    "backends": [], "devices": {}, "sweeps": []}
    if manifest.get("format") != FORMAT:
        raise StoreError(f"{path}/{MANIFEST} is not an adago-theory results manifest")
    manifest["updated"] = _now()
    manifest["versions"] = package_versions()
    manifest["git"] = git_revision()
    manifest["platform"] = platform_summary()
    manifest["backends"] = sorted(set(manifest.get("backends", [])) | set(backends))
    manifest.setdefault("devices", {}).update(devices or {})
    _write_manifest(path, manifest)
    return path


def record_sweep(path, entry: Mapping[str, Any], *, index=None) -> int:
    """Append (``index=None``) or replace the sweep entry ``index`` of the manifest; returns its index."""
    manifest = read_manifest(path)
    sweeps = manifest.setdefault("sweeps", [])
    if index is None:
        sweeps.append(dict(entry))
        index = len(sweeps) - 1
    else:
        sweeps[index] = dict(entry)
    manifest["updated"] = _now()
    _write_manifest(path, manifest)
    return index


# ---------------------------------------------------------------------------
# results and errors
# ---------------------------------------------------------------------------


def write_result(path, run_id: str, frame, config: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Path:
    """Write one finished run's tidy table atomically to ``runs/<run_id>.parquet``.

    The canonical config and ``meta`` (wall time, host, device, ...) go into the Parquet
    schema metadata under the key ``adago_theory``.  An error record of the same run is
    removed afterwards.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    final = path / "runs" / f"{run_id}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    info = {"run_id": run_id, "config": dict(config), "meta": dict(meta or {})}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(info).encode()})
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    (path / "errors" / f"{run_id}.json").unlink(missing_ok=True)
    return final


def write_error(path, run_id: str, config: Mapping[str, Any], error: Mapping[str, Any]) -> Path:
    """Record a failed run in ``errors/<run_id>.json`` (atomically); never touches ``runs/``."""
    path = Path(path)
    rec = {"run_id": run_id, "config": dict(config), "time": _now(), **dict(error)}
    final = path / "errors" / f"{run_id}.json"
    atomic_write_bytes(final, (json.dumps(rec, indent=2, default=str) + "\n").encode())
    return final


def finished_ids(path) -> set[str]:
    """IDs of the runs with a result file."""
    d = Path(path) / "runs"
    return {p.stem for p in d.glob("*.parquet")} if d.is_dir() else set()


def error_ids(path) -> set[str]:
    """IDs of the runs with an error record."""
    d = Path(path) / "errors"
    return {p.stem for p in d.glob("*.json")} if d.is_dir() else set()


def _check_store(path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"no results store at {path}")
    if not (path / MANIFEST).exists() and not (path / "runs").is_dir():
        raise StoreError(f"{path} is not a results store (no {MANIFEST}, no runs/)")
    return path


def load_results(path):
    """All finished runs of a store as one tidy :class:`pandas.DataFrame`.

    Parameters
    ----------
    path : path-like
        A store directory.

    Returns
    -------
    pandas.DataFrame
        One row per (run, seed, recorded step): ``run_id``, the config columns
        (``problem``, ``optimizer``, ``T``, ``prob_*``, ``opt_*``, ...), ``seed``, ``step``
        and one column per metric, sorted by run_id, seed and step.  Failed runs are
        never included (see :func:`load_errors`).

    Raises
    ------
    StoreError
        If ``path`` is not a store.

    Examples
    --------
    >>> df = load_results("results/my-sweep")                    # doctest: +SKIP
    >>> df.groupby(["optimizer", "T"]).grad_nuc.median()         # doctest: +SKIP
    """
    import pandas as pd
    import pyarrow.parquet as pq

    path = _check_store(path)
    files = sorted((path / "runs").glob("*.parquet"))
    if not files:
        return pd.DataFrame({"run_id": pd.Series(dtype=str), "seed": pd.Series(dtype="int64"),
                             "step": pd.Series(dtype="int64")})
    frames = [pq.read_table(f).to_pandas() for f in files]
    df = pd.concat(frames, ignore_index=True, sort=False)
    fixed = ["run_id", "problem", "optimizer", "T", "problem_seed", "stochastic", "batch_size", "record",
             "backend", "dtype", "device", "scaling", "runner"]
    head = [c for c in fixed if c in df.columns]
    head += sorted(c for c in df.columns if c.startswith("prob_")) + sorted(c for c in df.columns
                                                                           if c.startswith("opt_"))
    head += [c for c in ("seed", "step") if c in df.columns]
    df = df[head + [c for c in df.columns if c not in head]]
    return df.sort_values(["run_id", "seed", "step"], kind="stable").reset_index(drop=True)


def _file_info(f) -> dict:
    import pyarrow.parquet as pq

    md = pq.read_schema(f).metadata or {}
    return json.loads(md.get(_META_KEY, b"{}"))


def load_runs(path):
    """One row per finished run: ``run_id``, the config as JSON, and the run's metadata.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id``, ``config`` (canonical JSON text) and the keys of the run's
        metadata (``wall_s``, ``host``, ``device``, ``finished``, ...).
    """
    import pandas as pd

    path = _check_store(path)
    rows = []
    for f in sorted((path / "runs").glob("*.parquet")):
        info = _file_info(f)
        rows.append({"run_id": f.stem, "config": json.dumps(info.get("config", {}), sort_keys=True),
                     **info.get("meta", {})})
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "config"])


def load_errors(path):
    """The error records of a store as a :class:`pandas.DataFrame` (one row per failed run).

    Columns: ``run_id``, ``type``, ``message``, ``traceback``, ``time``, ``config`` (JSON text).
    """
    import pandas as pd

    path = _check_store(path)
    rows = []
    for f in sorted((path / "errors").glob("*.json")):
        rec = json.loads(f.read_text())
        rec["config"] = json.dumps(rec.get("config", {}), sort_keys=True)
        rows.append(rec)
    cols = ["run_id", "type", "message", "traceback", "time", "config"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
