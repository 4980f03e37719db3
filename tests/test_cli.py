"""The ``adago-theory`` command line, end to end in subprocesses on tiny configs.

The sweep tests use the toy runner of ``test_sweep_toy.py`` (``--runner``), whose results have a
closed form, so the engine is checked without the real problems and optimizers
(``test_sweep_real.py`` runs those).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adago_theory.app.cli import main
from adago_theory.app.sweep import expand_grid, load_grid_file, load_results, run_id, run_sweep
from test_sweep_toy import RUNNER, toy_closed_form

TESTS = Path(__file__).resolve().parent
VERBS = ["run", "sweep", "plot", "bench", "info", "demo"]


def _cmd():
    exe = shutil.which("adago-theory", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "adago_theory.app.cli"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cli(*args, cwd=None, timeout=120):
    return subprocess.run(_cmd() + [str(a) for a in args], capture_output=True, text=True, env=_env(), cwd=cwd,
                          timeout=timeout)


def _one_line_error(res, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert err and "\n" not in err, err
    assert "Traceback" not in res.stderr
    return err


TOML = """
T = [3, 5]
seeds = 2
runner = "{runner}"

[[problem]]
name = "toy"
k = [0, 1]

[[optimizer]]
name = "gd"
eta = [0.1, "0.5*T^-0.5"]
"""


# ---------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("verb", VERBS)
def test_help_of_every_verb_has_an_example(verb, capsys):
    assert main([verb, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"adago-theory {verb}" in out and "example" in out


def test_help_in_a_subprocess_and_verify_listed():
    res = cli("--help")
    assert res.returncode == 0
    for verb in VERBS + ["verify"]:
        assert verb in res.stdout
    res = cli("verify", "--help")
    assert res.returncode == 0 and "verify" in res.stdout


# ---------------------------------------------------------------------------
# run, sweep, plot end to end
# ---------------------------------------------------------------------------


def test_run_end_to_end(tmp_path):
    args = ["run", "--problem", "toy", "--optimizer", "gd", "-O", "eta=0.25", "--T", "6", "--n-seeds", "3",
            "--seed", "2", "--runner", RUNNER, "--out", tmp_path]
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert "1 done" in res.stdout and "grad_abs" in res.stdout
    assert res.stderr == ""  # not a terminal: no progress bar
    df = load_results(tmp_path)
    steps, f = toy_closed_form(0.25, 6, [2, 3, 4])
    np.testing.assert_allclose(df.sort_values(["seed", "step"]).f.to_numpy(), f.T.reshape(-1), rtol=1e-12)
    assert set(df.problem_seed) == {2}
    # the printed median of f at the last step is the closed form's
    assert f"{np.median(f[-1]):.6g}" in res.stdout
    res2 = cli(*args)
    assert res2.returncode == 0 and "1 already finished" in res2.stdout


def test_sweep_from_toml_then_plot(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(TOML.format(runner=RUNNER))
    out = tmp_path / "store"
    res = cli("sweep", grid, "--out", out)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("8 run(s): 8 done, 0 already finished, 0 failed")
    df = load_results(out)
    configs = expand_grid(load_grid_file(grid))
    assert set(df.run_id) == {run_id(c) for c in configs}
    for c in configs:
        sub = df[df.run_id == run_id(c)].sort_values(["seed", "step"])
        _, f = toy_closed_form(c["optimizer_params"]["eta"], c["T"], c["seeds"])
        np.testing.assert_allclose(sub.f.to_numpy(), f.T.reshape(-1), rtol=1e-12)
    assert main(["sweep", str(grid), "--out", str(out), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert dry.count(" done ") == 8 and "8 already finished" in dry
    # plot in this process (the figure code is the same; curves: test_sweep_plot)
    assert main(["plot", str(out), "--metric", "f", "--statistic", "min", "--kind", "rates"]) == 0
    assert "rate fits of min f" in capsys.readouterr().out
    for name in ("rates_f.png", "rates_f.pdf", "rates_f.csv"):
        assert (out / "figures" / name).stat().st_size > 0
    assert not (out / "figures" / "curves_f.png").exists()
    # one fit per group across T: (k=0, 1) x (eta=0.1, rule)
    assert len(pd.read_csv(out / "figures" / "rates_f.csv")) == 4


def test_sweep_from_command_line_lists_equals_toml(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(TOML.format(runner=RUNNER))
    res = cli("sweep", "--problem", "toy", "-P", "k=0,1", "--optimizer", "gd", "-O", "eta=0.1,0.5*T^-0.5",
              "--T", "3,5", "--n-seeds", "2", "--runner", RUNNER, "--out", tmp_path / "a", "-j", "2")
    assert res.returncode == 0, res.stderr
    assert main(["sweep", str(grid), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    pd.testing.assert_frame_equal(load_results(tmp_path / "a"), load_results(tmp_path / "b"))


def test_failed_runs_exit_1_and_are_recorded(tmp_path):
    res = cli("sweep", "--problem", "toy", "-P", "fail=false,true", "--optimizer", "gd", "--T", "3",
              "--runner", RUNNER, "--out", tmp_path)
    assert res.returncode == 1
    assert "1 done" in res.stdout and "1 failed" in res.stdout
    assert "RuntimeError: toy failure on purpose" in res.stderr and "Traceback" not in res.stderr
    assert len(list((tmp_path / "errors").glob("*.json"))) == 1
    assert len(list((tmp_path / "runs").glob("*.parquet"))) == 1


def test_print_example_is_a_valid_grid(tmp_path):
    res = cli("sweep", "--print-example")
    assert res.returncode == 0
    (tmp_path / "ex.toml").write_text(res.stdout)
    spec = load_grid_file(tmp_path / "ex.toml")
    assert spec["T"] == [64, 128, 256, 512] and spec["seeds"] == 4
    assert spec["optimizer"][0]["eps"] == "1e-2*T^-0.75"
    assert main(["sweep", str(tmp_path / "ex.toml"), "--dry-run", "--out", str(tmp_path / "s")]) == 0


def test_progress_bar_only_on_a_terminal(tmp_path, capsys):
    import pty

    args = ["sweep", "--problem", "toy", "-P", "k=0,1,2", "--optimizer", "gd", "--T", "3", "--runner", RUNNER]
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    try:
        proc = subprocess.Popen(_cmd() + args + ["--out", str(tmp_path / "tty")], env=_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        os.close(master)
    tty_err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "sweep: 100%" in tty_err and "3/3" in tty_err
    # (not a terminal: quiet, see test_run_end_to_end) unless asked
    assert main(args + ["--out", str(tmp_path / "forced"), "--progress"]) == 0
    assert "sweep: 100%" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# user errors: one line, exit 2, no traceback
# ---------------------------------------------------------------------------


def _grid_file(tmp_path, text):
    p = tmp_path / "g.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("case, args, match", [
    ("malformed toml", lambda d: ["sweep", _grid_file(d, "T = [1,\n[[problem]\n")], "not valid TOML"),
    ("unknown grid key", lambda d: ["sweep", _grid_file(d, "T = 3\nhorizon = 4\n")], "unknown grid key"),
    ("bad value in toml", lambda d: ["sweep", _grid_file(d, 'T = 0\n[problem]\nname="toy"\n[optimizer]\nname="gd"\n')],
     "T must be an integer >= 1"),
    ("missing file", lambda d: ["sweep", d / "none.toml"], "no such file"),
    ("unknown problem", lambda d: ["run", "--problem", "no_such_problem", "--optimizer", "no_such_opt", "--T", "3"],
     "unknown (problem|optimizer) 'no_such_"),
    ("seeds and n-seeds", lambda d: ["sweep", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--seeds", "1,2",
                                     "--n-seeds", "3"], "conflicting options --seeds and --n-seeds"),
    ("jobs and scheduler", lambda d: ["sweep", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--runner",
                                      RUNNER, "-j", "2", "--scheduler", "tcp://127.0.0.1:9"],
     "conflicting options: -j and --scheduler"),
    ("file and grid flags", lambda d: ["sweep", _grid_file(d, "T = 3\n"), "--T", "5"],
     "--T cannot be combined with a config file"),
    ("file and common option", lambda d: ["sweep", _grid_file(d, 'T = 3\nbackend = "numpy"\n'), "--backend",
                                          "torch"], "--backend is given and the config file sets 'backend'"),
    ("batch without stochastic", lambda d: ["run", "--problem", "toy", "--optimizer", "gd", "--T", "3",
                                            "--batch-size", "4"], "--batch-size needs --stochastic"),
    ("bfloat16 on numpy", lambda d: ["run", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--runner", RUNNER,
                                     "--dtype", "bfloat16"], "bfloat16 needs backend torch"),
    ("grid in run", lambda d: ["run", "--problem", "toy", "--optimizer", "gd", "--T", "3,4"],
     "use 'adago-theory sweep'"),
    ("bad assignment", lambda d: ["run", "--problem", "toy", "--optimizer", "gd", "--T", "3", "-O", "eta"],
     "-O expects KEY=VALUE"),
    ("argparse choice", lambda d: ["run", "--backend", "jax"], "invalid choice: 'jax'"),
    ("bad -j", lambda d: ["sweep", "-j", "0"], "expected a positive integer or -1"),
    ("no grid", lambda d: ["sweep"], "--problem is required"),
    ("plot nowhere", lambda d: ["plot", d / "nowhere"], "no results store"),
])
def test_user_errors_in_process(case, args, match, tmp_path, capsys):
    code = main([str(a) for a in args(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2, (case, err)
    assert "\n" not in err and "Traceback" not in err, err
    import re

    assert re.search(match, err), err


def test_user_errors_in_subprocess(tmp_path):
    bad = _grid_file(tmp_path, "T = [1,\n")
    err = _one_line_error(cli("sweep", bad))
    assert err.startswith("adago-theory sweep: error: config file") and "not valid TOML" in err
    err = _one_line_error(cli("sweep", "--problem", "toy", "--optimizer", "nope_opt", "--T", "3"))
    assert "unknown" in err
    err = _one_line_error(cli("run", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--seeds", "1",
                              "--n-seeds", "2"))
    assert "conflicting options" in err
    err = _one_line_error(cli("run", "--dtype", "float8"))
    assert "invalid choice" in err


def test_busy_store_is_reported(tmp_path):
    import socket

    out = tmp_path / "s"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    err = _one_line_error(cli("run", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--runner", RUNNER,
                              "--out", out))
    assert "is in use by pid" in err


def test_unreachable_scheduler_exits_1(tmp_path, monkeypatch, capsys):
    from adago_theory.app.sweep import execute

    monkeypatch.setattr(execute, "_connect", lambda address, timeout=10.0: (_ for _ in ()).throw(
        ConnectionError(f"cannot reach the Dask scheduler at {address}: refused")))
    code = main(["sweep", "--problem", "toy", "--optimizer", "gd", "--T", "3", "--runner", RUNNER,
                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == "adago-theory sweep: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: refused"


# ---------------------------------------------------------------------------
# kill -9 and resume; Dask through the command line
# ---------------------------------------------------------------------------


def test_sigkill_mid_sweep_then_resume(tmp_path):
    out = tmp_path / "s"
    args = ["sweep", "--problem", "toy", "-P", "sleep=0.3", "-P", "k=" + ",".join(map(str, range(8))),
            "--optimizer", "gd", "-O", "eta=0.2", "--T", "4", "--n-seeds", "2", "--runner", RUNNER, "--out", out]
    proc = subprocess.Popen(_cmd() + [str(a) for a in args], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    runs = out / "runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if runs.is_dir() and len(list(runs.glob("*.parquet"))) >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("*.parquet")}
    assert 2 <= len(before) < 8, len(before)
    assert (out / ".lock").exists()  # left behind by the killed sweep
    load_results(out)  # every file present is complete

    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert f"{8 - len(before)} done, {len(before)} already finished, 0 failed" in res.stdout
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("*.parquet")}
    assert len(after) == 8
    assert {k: after[k] for k in before} == before  # nothing finished before the kill was rewritten
    df = load_results(out)
    assert not df.duplicated(["run_id", "seed", "step"]).any()
    assert len(df) == 8 * 2 * 5
    _, f = toy_closed_form(0.2, 4, [0, 1])
    for rid, sub in df.groupby("run_id"):
        np.testing.assert_allclose(sub.sort_values(["seed", "step"]).f.to_numpy(), f.T.reshape(-1), rtol=1e-12)
    assert not (out / ".lock").exists()
    assert not list(out.rglob("*.tmp"))


def test_dask_sweep_through_the_cli_equals_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = tmp_path / "grid.toml"
    grid.write_text(TOML.format(runner=RUNNER))
    run_sweep(expand_grid(load_grid_file(grid)), tmp_path / "local", progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        res = cli("sweep", grid, "--scheduler", cluster.scheduler_address, "--out", tmp_path / "dask")
    assert res.returncode == 0, res.stderr
    assert "8 done" in res.stdout
    pd.testing.assert_frame_equal(load_results(tmp_path / "local"), load_results(tmp_path / "dask"))


# ---------------------------------------------------------------------------
# info, bench, verify
# ---------------------------------------------------------------------------


def test_info_text_and_json(capsys):
    res = cli("info", "--json", "--no-probe")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["versions"]["numpy"] == np.__version__ and info["versions"]["pandas"] == pd.__version__
    assert info["platform"]["cores"] == os.cpu_count() and "backends" not in info
    assert main(["info"]) == 0  # probes torch/cupy: in this process, where the test backends are imported
    out = capsys.readouterr().out
    assert f"numpy             {np.__version__}" in out
    assert f"numpy   {np.__version__}: cpu" in out  # the backend line
    torch_line = [ln for ln in out.split("backends:")[1].splitlines() if ln.startswith("  torch ")]
    assert len(torch_line) == 1
    try:
        import torch
    except ImportError:
        assert "unavailable" in torch_line[0]
    else:
        assert torch.__version__ in torch_line[0] and "cpu" in torch_line[0]
    assert "problems:" in out and "optimizers:" in out and "commands: verify" in out


@pytest.mark.slow
def test_bench_orth_quick_to_file(tmp_path):
    out = tmp_path / "bench.txt"
    res = cli("bench", "orth", "--quick", "--out", out)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "newton-schulz" in text and "svd" in text


def test_bench_and_verify_delegate(monkeypatch, capsys, tmp_path):
    import types

    seen = {}

    def fake_bench(*, backend, quick, file):
        seen["bench"] = (backend, quick, file is not None)
        print("fake bench", file=file)

    monkeypatch.setitem(sys.modules, "adago_theory.app.bench.optim", types.SimpleNamespace(bench_optim=fake_bench))
    from adago_theory.app.bench import tools as benchtools

    monkeypatch.setattr(benchtools, "require_backend", lambda backend: None)   # delegation only, torch or not
    assert main(["bench", "optim", "--backend", "torch", "--quick", "--out", str(tmp_path / "b.txt")]) == 0
    assert seen["bench"] == ("torch", True, True) and (tmp_path / "b.txt").read_text() == "fake bench\n"

    from adago_theory.app.sweep import registry

    monkeypatch.setattr(registry, "get_command",
                        lambda name: (lambda argv, prog: seen.setdefault("verify", (argv, prog)) and 3))
    assert main(["verify", "--quick", "claim_x"]) == 3
    assert seen["verify"] == (["--quick", "claim_x"], "adago-theory verify")
