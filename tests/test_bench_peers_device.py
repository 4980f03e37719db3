"""``bench peers`` / ``bench grid`` on a device backend: PyTorch (on its CPU here, CUDA where there is one) and CuPy.

The device path of ``bench peers`` is the same code on CuPy and on PyTorch tensors; PyTorch's CPU runs it
without a GPU.  The hand-written device loops are checked against the plain NumPy loops (an independent
reference: ``peers.muon_numpy`` / ``adago_numpy`` on the host), and a missing backend is one line, status 2.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from adago_theory.app.bench import grid as G
from adago_theory.app.bench import peers as P


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """PyTorch's CPU on small products: one thread is 2x faster than two on this shared 2-core machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tol(row):
    """The tolerances the bench itself applies, by workload and implementation."""
    if "torch.optim" in row["impl"]:
        return 0.1
    if "float32" in row["workload"]:
        return 1e-4
    if row["workload"].startswith("lsq gradient"):
        return 1e-12
    return 1e-8


def _device_only(backend):
    if backend.name == "numpy":
        pytest.skip("the NumPy path is tests/test_bench_peers.py")


def test_device_peers_quick_agree(backend):
    _device_only(backend)
    buf = io.StringIO()
    rows = P.bench_peers(backend=backend.name, device=backend.device, quick=True, file=buf, peers=("numpy", "torch"))
    out = buf.getvalue()
    assert isinstance(rows, list) and rows, out
    workloads = {r["workload"].split(" ")[0] for r in rows}
    assert workloads == {"Newton-Schulz", "lsq", "muon", "adago"}, workloads
    labels = {r["impl"] for r in rows}
    ours = {lab for lab in labels if lab.startswith("adago-theory")}
    assert {f"adago-theory orthogonalize ({backend.name})", f"adago-theory problem.grad ({backend.name})",
            f"adago-theory run(record=[0, T]) ({backend.name})"} <= ours
    hand = "raw CuPy" if backend.name == "cupy" else "PyTorch"
    assert f"{hand} loop by hand" in labels and f"residual form, {hand} by hand" in labels
    if "torch.optim.Muon: skipped" not in out:                 # (CuPy with a PyTorch that sees no CUDA)
        assert any(lab.startswith("torch.optim.Muon") for lab in labels)
    for r in rows:
        assert 0 <= r["agree"] <= _tol(r), r
        assert r["seconds"] > 0
    for w in {r["workload"] for r in rows}:                  # ratios are over adago-theory's own time
        mine = [r for r in rows if r["workload"] == w and r["impl"].startswith("adago-theory")]
        assert len(mine) == 1 and mine[0]["ratio"] == pytest.approx(1.0)
    assert "JAX jit(vmap): skipped (not selected)" in out
    assert "device synchronisation" in out


@pytest.mark.slow
def test_device_peers_quick_with_jax(backend):
    _device_only(backend)
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    buf = io.StringIO()
    rows = P.bench_peers(backend=backend.name, device=backend.device, quick=True, file=buf)
    out = buf.getvalue()
    labels = {r["impl"] for r in rows}
    if "JAX has no GPU" in out:
        assert not any("JAX" in lab or "optax" in lab for lab in labels)
    else:
        assert any(lab.startswith("JAX jit(vmap) on") for lab in labels)
        assert any(lab.startswith("optax.contrib.muon") for lab in labels)
    for r in rows:
        assert r["agree"] <= _tol(r), r


def test_torch_hand_loops_equal_the_numpy_loops():
    torch = pytest.importorskip("torch")
    from adago_theory.app.bench.peers_device import _adago_torch, _muon_torch, _residual
    from problems import make_matrix_least_squares

    Pr = make_matrix_least_squares(7, 4, rng=0)
    X0 = Pr.initial_point(1, runs=3)
    A, B, C = (Pr.host[k] for k in ("A", "B", "C"))
    g_np = P.residual_grad_np(A, B, C)
    g_t = _residual(*(torch.from_numpy(v) for v in (A, B, C)))
    X0t = torch.from_numpy(X0)
    ref = P.muon_numpy(X0, g_np, 6)
    np.testing.assert_allclose(_muon_torch(X0t, g_t, 6).numpy(), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    ref = P.adago_numpy(X0, g_np, 6, **P.ADAGO)
    np.testing.assert_allclose(_adago_torch(X0t, g_t, 6, **P.ADAGO).numpy(), ref, rtol=0,
                               atol=1e-12 * np.abs(ref).max())
    # and the NumPy loop moves: a wrong loop (no update) would be far from it
    assert np.abs(ref - X0).max() > 1e-3 * np.abs(X0).max()


def test_device_grid_quick(backend):
    _device_only(backend)
    if not G._array_hyperparameters_supported():
        pytest.skip("optimizers do not accept array hyperparameters here")
    buf = io.StringIO()
    rows = G.bench_grid(backend=backend.name, device=backend.device, quick=True, file=buf)
    assert [r["optimizer"] for r in rows] == ["muon", "adago (newton-schulz)"]
    for r in rows:
        assert r["max_diff"] <= 1e-12 and r["grid_s"] > 0 and r["per_value_s"] > 0
        assert np.isclose(r["speedup"], r["per_value_s"] / r["grid_s"])
    assert f"backend {backend.name}" in buf.getvalue()


@pytest.mark.parametrize("what", ["peers", "grid"])
def test_cupy_missing_is_one_line_and_status_2(what, monkeypatch, capsys):
    from adago_theory.app.cli import main

    monkeypatch.setitem(sys.modules, "cupy", None)       # not importable, whether installed or not
    assert main(["bench", what, "--backend", "cupy", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cupy" in err and "Traceback" not in err
    fn = P.bench_peers if what == "peers" else G.bench_grid
    assert fn(backend="cupy", quick=True) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the cupy package" in err


@pytest.mark.parametrize("what", ["peers", "grid"])
def test_a_device_that_cannot_run_is_one_line_and_status_2(what, capsys):
    torch = pytest.importorskip("torch")
    from adago_theory.app.cli import main

    assert main(["bench", what, "--backend", "torch", "--device", "nonsense", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "device" in err and "'nonsense'" in err
    if not torch.cuda.is_available():
        assert main(["bench", what, "--backend", "torch", "--device", "cuda", "--quick"]) == 2
        assert "needs CUDA" in capsys.readouterr().err
    assert main(["bench", "orth", "--device", "cpu", "--quick"]) == 2
    assert "--device is taken by 'bench peers' and 'bench grid' only" in capsys.readouterr().err


def test_cupy_branch_wiring_with_a_numpy_stand_in(monkeypatch):
    """The CuPy branch (raw CuPy by hand through ``xp=cupy``, labels, ``Device().synchronize()`` around every
    timer) run with NumPy standing in for CuPy: the wiring, not CuPy (the real thing: the cupy-marked tests)."""
    import importlib.machinery
    import types

    from adago_theory.app.bench import peers_device as PD
    from problems import make_matrix_least_squares

    syncs = []

    class Device:
        id = 0

        def synchronize(self):
            syncs.append(1)

    fake = types.ModuleType("cupy")
    fake.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    for k in ("asarray", "swapaxes", "sqrt", "sum", "zeros_like", "full", "minimum", "maximum"):
        setattr(fake, k, getattr(np, k))
    fake.cuda = types.SimpleNamespace(
        Device=Device, runtime=types.SimpleNamespace(getDeviceCount=lambda: 1,
                                                     getDeviceProperties=lambda i: {"name": b"stand-in"}))
    monkeypatch.setitem(sys.modules, "cupy", fake)

    def problem(dev, R):                       # the problems package would build real CuPy arrays
        Pr = make_matrix_least_squares(50, 30, rng=0)
        X0 = Pr.initial_point(1, runs=R)
        return Pr, X0, X0

    monkeypatch.setattr(PD, "_problem", problem)
    buf = io.StringIO()
    rows = P.bench_peers(backend="cupy", quick=True, file=buf, peers=("numpy",))
    labels = {r["impl"] for r in rows}
    assert {"raw CuPy by hand", "residual form, raw CuPy by hand", "raw CuPy loop by hand",
            "adago-theory run(record=[0, T]) (cupy)"} <= labels
    for r in rows:
        assert r["agree"] <= _tol(r), r
    # two synchronisations per timed call at least (before the clock starts and before it stops)
    assert len(syncs) >= 2 * len(rows)
    assert "PyTorch batched @: skipped (not selected)" in buf.getvalue()
