"""``bench_optim`` (quick mode): the table it returns is consistent with what it prints."""

from __future__ import annotations

import io

import pytest

from adago_theory.app.bench.optim import LOOP_RUNS, bench_optim
from adago_theory.app.bench.tools import ns_flops


def test_bench_optim_quick_rows_and_table():
    buf = io.StringIO()
    rows = bench_optim(quick=True, file=buf, repeat=1)
    out = buf.getvalue()
    assert {(r["optimizer"], r["shape"], r["mode"]) for r in rows} == {
        (o, s, mode) for o in ("muon", "adago", "adago-ns") for s in ("10x6", "50x30") for mode in ("loop", "batch")
    }
    for r in rows:
        assert r["runs"] == LOOP_RUNS and r["step_s"] > 0
        assert r["steps_runs_per_s"] == pytest.approx(r["runs"] / r["step_s"])
        assert r["matmul_gflops"] > 0 and r["backend"] == "numpy"
        if r["mode"] == "batch":
            loop = next(q for q in rows if q["mode"] == "loop" and q["optimizer"] == r["optimizer"]
                        and q["shape"] == r["shape"])
            assert r["speedup"] == pytest.approx(r["steps_runs_per_s"] / loop["steps_runs_per_s"])
            m, n = map(int, r["shape"].split("x"))
            if r["optimizer"] == "adago":
                assert r["gflops"] is None                   # no flop count for the SVD route
            else:
                assert r["gflops"] == pytest.approx(ns_flops((LOOP_RUNS, m, n), 5) / r["step_s"] / 1e9)
                assert r["matmul_fraction"] == pytest.approx(r["gflops"] / r["matmul_gflops"])
        else:
            assert r["speedup"] is None and r["gflops"] is None
    assert "batch/loop" in out and "target 8x" in out and "of the matrix-product rate" in out
    assert sum(1 for line in out.splitlines() if line.startswith(("muon ", "adago "))) == 8


def test_bench_optim_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend must be"):
        bench_optim(backend="jax", quick=True, file=io.StringIO())


def test_missing_backend_is_a_clear_error(monkeypatch, capsys):
    """A backend whose package is absent: an ImportError naming it and the extra to install, not a traceback."""
    import importlib.util

    from adago_theory.app.bench import tools as benchtools
    from adago_theory.app.bench.orth import bench_orth
    from adago_theory.app.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cupy" else real(name, *a))
    with pytest.raises(ImportError, match=r"backend='cupy' needs the cupy package.*adago-theory\[gpu\]"):
        benchtools.require_backend("cupy")
    with pytest.raises(ImportError, match="backend='cupy'"):
        bench_orth(backend="cupy", quick=True, file=io.StringIO())
    for what in ("orth", "optim"):
        assert main(["bench", what, "--backend", "cupy", "--quick"]) == 2
        err = capsys.readouterr().err
        assert "bench: error: backend='cupy' needs the cupy package" in err and "Traceback" not in err
