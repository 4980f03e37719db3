"""The GPU-only branches of the benchmarks, run on PyTorch's CPU with small shapes.

No GPU is needed: the point is that the lines a GPU session will print (polar accuracy against kappa,
Newton-Schulz float32 against raw PyTorch, seed batches beyond 64) run and report sensible numbers, so
that the first session lent a GPU spends its minutes measuring, not debugging.
"""

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adago_theory.app.bench import optim as bo  # noqa: E402
from adago_theory.app.bench.orth import _gpu_extras  # noqa: E402
from adago_theory.orthogonalize import NS_PRESETS  # noqa: E402


def test_gpu_extras_on_cpu_torch():
    rows, out = [], io.StringIO()
    _gpu_extras("torch", rows, out, 1, NS_PRESETS["jordan"].coeffs * 5, device="cpu",
                polar_shape=(6, 7, 4), ns_shapes=((6, 7, 4), (5, 9)), ns_repeat=2, torch_ref=True)
    polar = [r for r in rows if r["method"].startswith("polar")]
    assert [r["method"] for r in polar] == ["polar kappa=1", "polar kappa=100", "polar kappa=1e+08"]
    for r in polar:                                  # exact routes: within their bounds (kappa * u)
        assert 0 <= r["error"] <= r["target"]
    ns = [r for r in rows if r["method"] == "ns float32 vs raw torch"]
    assert len(ns) == 2 and all(r["seconds"] > 0 and r["ref_seconds"] > 0 for r in ns)
    text = out.getvalue()
    assert text.count("PASS") >= 3 and "raw PyTorch" in text


def test_raw_torch_reference_is_the_same_iteration():
    """The timing reference computes what orthogonalize(..., 'newton-schulz') computes (float64 here)."""
    from adago_theory import orthogonalize
    from adago_theory.app.bench.orth import _torch_ns

    M = np.random.default_rng(0).standard_normal((3, 6, 9))
    ref = _torch_ns(torch.from_numpy(M), 5, NS_PRESETS["jordan"].coeffs * 5).numpy()
    np.testing.assert_allclose(orthogonalize(M, "newton-schulz", coeffs="jordan"), ref, rtol=0, atol=1e-12)


def test_bench_optim_gpu_batches_on_cpu_torch(monkeypatch):
    monkeypatch.setattr(bo, "_torch_cuda", lambda: True)
    monkeypatch.setattr(bo, "GPU_BATCH_SIZES", (64, 96))
    rows = bo.bench_optim(backend="torch", quick=True, file=io.StringIO(), repeat=1)
    runs = sorted({r["runs"] for r in rows if r["mode"] == "batch"})
    assert runs == [64, 96]
    for r in rows:
        if r["mode"] == "batch" and r["runs"] == 96:
            assert r["speedup"] is None and r["steps_runs_per_s"] > 0
