"""``bench_optim`` (quick mode): the table it returns is consistent with what it prints."""

from __future__ import annotations

import io

import pytest

from adago_theory.bench_optim import LOOP_RUNS, bench_optim
from adago_theory.benchtools import ns_flops


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
