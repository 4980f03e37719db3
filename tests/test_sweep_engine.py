"""The sweep engine: results against the closed form, resume, failures, loky pool and Dask cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adago_theory.app.sweep import (
    ConfigError,
    expand_grid,
    load_errors,
    load_results,
    read_manifest,
    run_id,
    run_one,
    run_sweep,
    trace_to_frame,
)
from test_sweep_toy import RUNNER, toy_closed_form, toy_config


def _grid(**kw):
    spec = {"problem": {"name": "toy", "k": [0, 1]}, "optimizer": {"name": "gd", "eta": [0.1, 0.3]},
            "T": [3, 5], "seeds": 2, "runner": RUNNER}
    spec.update(kw)
    return expand_grid(spec)


def _check_against_closed_form(df, configs):
    assert set(df.run_id) == {run_id(c) for c in configs}
    assert not df.duplicated(["run_id", "seed", "step"]).any()
    for c in configs:
        sub = df[df.run_id == run_id(c)].sort_values(["seed", "step"])
        steps, f = toy_closed_form(c["optimizer_params"]["eta"], c["T"], c["seeds"])
        np.testing.assert_array_equal(sub.step.to_numpy(), np.tile(steps, len(c["seeds"])))
        np.testing.assert_array_equal(sub.seed.to_numpy(), np.repeat(c["seeds"], len(steps)))
        np.testing.assert_allclose(sub.f.to_numpy(), f.T.reshape(-1), rtol=1e-12)
        assert (sub["T"] == c["T"]).all() and (sub.opt_eta == c["optimizer_params"]["eta"]).all()


def test_trace_to_frame_layout():
    cfg = toy_config(T=2, seeds=[3, 7])
    trace = {"steps": np.array([0, 1, 2]), "f": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
             "scalar": 1.0, "wrong_shape": np.zeros((2, 2)), "X_final": np.zeros((2, 4, 3))}
    df = trace_to_frame(trace, cfg)
    assert list(df.seed) == [3, 3, 3, 7, 7, 7] and list(df.step) == [0, 1, 2, 0, 1, 2]
    assert list(df.f) == [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
    assert "scalar" not in df and "wrong_shape" not in df and "X_final" not in df
    assert set(df.run_id) == {run_id(cfg)} and set(df.problem) == {"toy"}
    with pytest.raises(ValueError, match="no 'steps'"):
        trace_to_frame({"f": np.zeros((3, 2))}, cfg)
    with pytest.raises(ValueError, match="no metric of shape"):
        trace_to_frame({"steps": np.arange(3), "f": np.zeros((3, 5))}, cfg)


def test_sweep_matches_closed_form_and_resumes(tmp_path):
    configs = _grid()
    s = run_sweep(configs, tmp_path, progress=False)
    assert (s.n_done, s.n_skipped, s.n_failed) == (8, 0, 0)
    df = load_results(tmp_path)
    _check_against_closed_form(df, configs)
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "runs").iterdir()}
    # again: nothing is recomputed, nothing is rewritten
    s2 = run_sweep(configs, tmp_path, progress=False)
    assert (s2.n_done, s2.n_skipped, s2.n_failed) == (0, 8, 0)
    assert stamps == {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "runs").iterdir()}
    pd.testing.assert_frame_equal(load_results(tmp_path), df)
    # a larger grid runs only the new configurations
    more = _grid(T=[3, 5, 7])
    s3 = run_sweep(more, tmp_path, progress=False)
    assert (s3.n_done, s3.n_skipped) == (4, 8)
    _check_against_closed_form(load_results(tmp_path), more)
    m = read_manifest(tmp_path)
    assert [(e["n_runs"], e["n_done"], e["n_skipped"]) for e in m["sweeps"]] == [(8, 8, 0), (8, 0, 8), (12, 4, 8)]


def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path):
    good = _grid()
    bad = expand_grid({"problem": {"name": "toy", "fail": True}, "optimizer": {"name": "gd"}, "T": [3, 4],
                       "runner": RUNNER})
    configs = [good[0], bad[0], good[1], bad[1], good[2]]
    s = run_sweep(configs, tmp_path, progress=False)
    assert (s.n_done, s.n_failed) == (3, 2)
    assert {rid for rid, _ in s.failed} == {run_id(c) for c in bad}
    assert all("RuntimeError: toy failure on purpose" in msg for _, msg in s.failed)
    df = load_results(tmp_path)
    assert set(df.run_id) == {run_id(c) for c in (good[0], good[1], good[2])}
    err = load_errors(tmp_path)
    assert set(err.run_id) == {run_id(c) for c in bad}
    assert all("toy_runner" in tb for tb in err.traceback)
    # --skip-failed leaves them; a normal rerun retries them (and they fail again)
    assert run_sweep(configs, tmp_path, progress=False, retry_failed=False).n_skipped == 5
    s3 = run_sweep(configs, tmp_path, progress=False)
    assert (s3.n_skipped, s3.n_failed) == (3, 2)


def test_run_one_is_pure():
    cfg = toy_config(T=4)
    a, b = run_one(cfg), run_one(dict(cfg))
    pd.testing.assert_frame_equal(a, b)
    assert cfg == toy_config(T=4)


# the loky pool (-j 2) is tested through the command line: test_cli.py::test_sweep_from_command_line_lists_equals_toml


def test_dask_cluster_equals_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    configs = _grid()
    run_sweep(configs, tmp_path / "local", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        s = run_sweep(configs, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert (s.n_done, s.n_failed) == (len(configs), 0)
    pd.testing.assert_frame_equal(load_results(tmp_path / "local"), load_results(tmp_path / "dask"))
    assert read_manifest(tmp_path / "dask")["sweeps"][0]["engine"].startswith("dask tcp://127.0.0.1:")


def test_dask_unreachable_scheduler(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        run_sweep(_grid()[:1], tmp_path, scheduler="tcp://127.0.0.1:9", progress=False,
                  connect_timeout=1.0)


def test_run_sweep_argument_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="n_jobs must be a positive integer or -1"):
        run_sweep(_grid(), tmp_path, n_jobs=0)
    with pytest.raises(ConfigError, match="unknown optimizer 'nope_opt'; available: "):
        run_sweep([{"problem": "nope", "optimizer": "nope_opt", "T": 3}], tmp_path)
    from adago_theory.app.sweep import registry

    def gd(eta, *, beta=0.0):
        return None

    monkeypatch.setattr(registry, "_optimizers", lambda: {"gd": gd})
    with pytest.raises(ConfigError, match="unknown problem 'nope'; available: "):
        run_sweep([{"problem": "nope", "optimizer": "gd", "optimizer_params": {"eta": 1}, "T": 3}], tmp_path)

    def quad(m=2, *, rng=None, backend="numpy", dtype="float64", device=None):
        return None

    from adago_theory.app.sweep import execute

    real = execute.get_problem_factory
    monkeypatch.setattr(execute, "get_problem_factory", lambda name: quad if name == "quad" else real(name))
    with pytest.raises(ConfigError, match="optimizer 'gd' has no parameter 'gamma'; accepted: eta, beta"):
        run_sweep([{"problem": "quad", "optimizer": "gd", "optimizer_params": {"eta": 1, "gamma": 2}, "T": 3}],
                  tmp_path)
    with pytest.raises(ConfigError, match="optimizer 'gd' needs parameter.s. eta"):
        run_sweep([{"problem": "quad", "optimizer": "gd", "T": 3}], tmp_path)
    with pytest.raises(ConfigError, match="problem 'quad' has no parameter 'n'; accepted: m$"):
        run_sweep([{"problem": "quad", "problem_params": {"n": 3}, "optimizer": "gd", "optimizer_params": {"eta": 1},
                    "T": 3}], tmp_path)
    with pytest.raises(ConfigError, match="problem parameter 'backend' is not a problem parameter here"):
        run_sweep([{"problem": "quad", "problem_params": {"backend": "torch"}, "optimizer": "gd", "T": 3}], tmp_path)
    assert not (tmp_path / "runs").exists()  # nothing was started
    with pytest.raises(ConfigError, match="cannot import module"):
        run_sweep([toy_config(runner="no_such_module_xyz:f")], tmp_path)
