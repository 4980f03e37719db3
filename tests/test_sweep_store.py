"""The results store: atomic Parquet files, error records, the lock, the manifest, load_results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from adago_theory.app.sweep import StoreError, load_errors, load_results, load_runs, read_manifest, run_id
from adago_theory.app.sweep.single import trace_to_frame
from adago_theory.app.sweep.store import (
    atomic_write_bytes,
    finished_ids,
    lock_store,
    open_store,
    write_error,
    write_result,
)
from test_sweep_toy import toy_config, toy_runner


def _frame(cfg):
    return trace_to_frame(toy_runner(cfg), cfg)


def test_write_then_load_roundtrip(tmp_path):
    open_store(tmp_path)
    cfgs = [toy_config(T=3, seeds=[0, 1]), toy_config(T=4, seeds=[2], optimizer_params={"eta": 0.5})]
    for c in cfgs:
        write_result(tmp_path, run_id(c), _frame(c), c, {"wall_s": 0.1})
    df = load_results(tmp_path)
    assert len(df) == 4 * 2 + 5 * 1
    # tidy: one row per (run, seed, step), no duplicates
    assert not df.duplicated(["run_id", "seed", "step"]).any()
    sub = df[df.run_id == run_id(cfgs[1])]
    np.testing.assert_allclose(sub.f.to_numpy(), 0.5 * 9.0 * 0.25 ** np.arange(5), rtol=1e-13)
    assert set(sub.opt_eta) == {0.5} and set(sub["T"]) == {4}
    runs = load_runs(tmp_path)
    assert set(runs.run_id) == {run_id(c) for c in cfgs}
    assert json.loads(runs.set_index("run_id").loc[run_id(cfgs[0]), "config"]) == cfgs[0]
    # the file name is the run ID and the metadata holds the canonical config
    md = json.loads(pq.read_schema(tmp_path / "runs" / f"{run_id(cfgs[0])}.parquet").metadata[b"adago_theory"])
    assert md["config"] == cfgs[0] and md["run_id"] == run_id(cfgs[0])


def test_interrupted_write_leaves_no_result(tmp_path, monkeypatch):
    open_store(tmp_path)
    c = toy_config()

    def boom(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        write_result(tmp_path, run_id(c), _frame(c), c)
    monkeypatch.undo()
    assert finished_ids(tmp_path) == set()
    assert list((tmp_path / "runs").iterdir()) == []  # the temporary file was removed too


def test_stale_temporary_files_are_ignored_and_cleaned(tmp_path):
    open_store(tmp_path)
    junk = tmp_path / "runs" / ".abc.parquet.123.tmp"
    junk.write_bytes(b"partial")
    assert finished_ids(tmp_path) == set() and load_results(tmp_path).empty
    open_store(tmp_path)
    assert not junk.exists()


def test_errors_are_never_results(tmp_path):
    open_store(tmp_path)
    c = toy_config(problem_params={"fail": True})
    rid = run_id(c)
    write_error(tmp_path, rid, c, {"type": "RuntimeError", "message": "toy failure", "traceback": "tb"})
    assert load_results(tmp_path).empty
    err = load_errors(tmp_path)
    assert list(err.run_id) == [rid] and err.message[0] == "toy failure"
    assert json.loads(err.config[0]) == c
    # a later success of the same run removes its error record
    write_result(tmp_path, rid, _frame(toy_config()), c)
    assert load_errors(tmp_path).empty and finished_ids(tmp_path) == {rid}


def test_atomic_write_bytes_replaces(tmp_path):
    p = tmp_path / "x.json"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_lock_blocks_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    with lock_store(tmp_path):
        with pytest.raises(StoreError, match="in use by pid"):
            with lock_store(tmp_path):
                pass
    assert not (tmp_path / ".lock").exists()
    # a lock left by a process that is gone (SIGKILL) is taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    (tmp_path / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    with lock_store(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()


def test_manifest_records_versions_git_and_platform(tmp_path):
    open_store(tmp_path, backends=["numpy"], devices={"numpy": "cpu"})
    m = read_manifest(tmp_path)
    assert m["versions"]["numpy"] == np.__version__
    assert m["versions"]["pandas"] == pd.__version__
    assert m["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["backends"] == ["numpy"] and m["devices"] == {"numpy": "cpu"}
    repo = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert m["git"]["revision"] == head.stdout.strip()
    created = m["created"]
    open_store(tmp_path, backends=["torch"])
    m2 = read_manifest(tmp_path)
    assert m2["created"] == created and m2["backends"] == ["numpy", "torch"]


def test_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="no results store"):
        load_results(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(StoreError, match="not a results store"):
        load_results(tmp_path / "plain")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        open_store(tmp_path / "file")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(StoreError, match="not an adago-theory results manifest"):
        open_store(tmp_path / "other")
