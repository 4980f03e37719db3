"""``bench grid``: the grid as one batch equals the separate runs before it is timed; "not available" otherwise."""

from __future__ import annotations

import io

import numpy as np

from adago_theory.app.bench import grid as G


def test_quick_grid_equals_separate_runs_and_is_timed():
    buf = io.StringIO()
    rows = G.bench_grid(quick=True, file=buf)
    out = buf.getvalue()
    if not G._array_hyperparameters_supported():
        assert rows is None and "not available" in out
        return
    assert [r["optimizer"] for r in rows] == ["muon", "adago (newton-schulz)"]
    for r in rows:
        assert r["max_diff"] <= 1e-12 and r["grid_s"] > 0 and r["per_value_s"] > 0
        assert np.isclose(r["speedup"], r["per_value_s"] / r["grid_s"])
    assert "speedup" in out and "target >= 4x" in out


def test_not_available_when_the_optimizers_refuse_arrays(monkeypatch):
    monkeypatch.setattr(G, "_array_hyperparameters_supported", lambda: False)
    buf = io.StringIO()
    assert G.bench_grid(quick=True, file=buf) is None
    assert "grid as one batch: not available" in buf.getvalue()


def test_the_grid_batch_equals_a_hand_written_per_value_loop():
    # independent reference: Muon written out for one learning rate at a time
    if not G._array_hyperparameters_supported():
        return
    from adago_theory.app.bench.peers import muon_numpy
    from adago_theory.optim import muon
    from adago_theory.run import run
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(6, 4, rng=0)
    X0 = P.initial_point(1, runs=2)
    etas = np.array([0.01, 0.03, 0.1])
    Xg = run(muon(np.repeat(etas, 2)), P, 5, seeds=list(range(6)), X0=np.concatenate([X0] * 3), record=[0, 5]).X_final
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    ref = np.concatenate([muon_numpy(X0, lambda X: A.T @ (A @ X @ B - C) @ B.T, 5, eta=e) for e in etas])
    np.testing.assert_allclose(Xg, ref, rtol=0, atol=1e-12 * np.max(np.abs(ref)))
