"""``bench peers``: the peers are checked to agree before timing; missing or unselected peers are skipped with a line."""

from __future__ import annotations

import io

import numpy as np
import pytest

from adago_theory.app.bench import peers as P


def test_quick_numpy_only_rows_and_skip_lines():
    buf = io.StringIO()
    rows = P.bench_peers(quick=True, file=buf, peers=["numpy"])
    out = buf.getvalue()
    assert "JAX jit(vmap): skipped (not selected)" in out and "torch.optim.Muon: skipped (not selected)" in out
    impls = {(r["workload"].split()[0], r["impl"]) for r in rows}
    assert ("Newton-Schulz", "plain NumPy") in impls and ("muon", "plain NumPy loop") in impls
    assert ("adago", "plain NumPy loop") in impls
    for r in rows:
        assert r["seconds"] > 0 and np.isfinite(r["ratio"])
        assert r["agree"] <= (1e-4 if "float32" in r["workload"] else 1e-8)
    ours = [r for r in rows if r["impl"].startswith("adago-theory") and "record=[0, T]" in r["impl"]]
    assert all(r["ratio"] == 1.0 for r in ours)


def test_hand_written_references_against_independent_formulas():
    # the NumPy Newton-Schulz by hand against the polynomial applied to the singular values
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 7, 4))
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    x = s / np.sqrt(np.sum(s * s, axis=-1, keepdims=True))
    for _ in range(P.NS_STEPS):
        a, b, c = P.JORDAN
        x = a * x + b * x ** 3 + c * x ** 5
    np.testing.assert_allclose(P.ns_numpy(W), (U * x[:, None, :]) @ Vt, atol=1e-12)
    # the Muon loop, one step from zero momentum: X1 = X0 - eta * NS((1-beta)^2 G + beta (1-beta) G)
    X0 = rng.standard_normal((2, 5, 3))
    G = rng.standard_normal((2, 5, 3))
    X1 = P.muon_numpy(X0, lambda X: G, 1, eta=0.1, beta=0.9)
    np.testing.assert_allclose(X1, X0 - 0.1 * P.ns_numpy(G), atol=1e-12)


def test_a_disagreeing_peer_is_not_timed(monkeypatch):
    monkeypatch.setattr(P, "ns_numpy", lambda W, *a, **k: 2.0 * W)     # a wrong "peer"
    buf = io.StringIO()
    P.SELECTED.clear()
    P.SELECTED.add("numpy")
    rows = []
    P._bench_kernel((4, 50, 30), "float64", 1, lambda s: print(s, file=buf), rows)
    assert "plain NumPy: disagrees with adago-theory" in buf.getvalue()
    assert [r["impl"] for r in rows] == ["adago-theory"]


def test_bad_peer_name():
    with pytest.raises(ValueError, match="peers must be among numpy, jax, torch"):
        P.bench_peers(quick=True, peers=["tensorflow"])


@pytest.mark.slow
def test_quick_with_every_installed_peer():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    buf = io.StringIO()
    rows = P.bench_peers(quick=True, file=buf)
    labels = {r["impl"] for r in rows}
    assert "JAX jit(vmap)" in labels and "optax jit(vmap(scan)), building blocks" in labels
    assert "optax.contrib.muon (bias-corrected)" in labels
    for r in rows:
        tol = 0.1 if "torch.optim" in r["impl"] else (1e-4 if "float32" in r["workload"] else 1e-8)
        assert r["agree"] <= tol, r


def test_unknown_backends_get_a_one_line_error(capsys):
    assert P.bench_peers(quick=True, backend="jax") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "backend must be 'numpy', 'cupy' or 'torch'" in err
