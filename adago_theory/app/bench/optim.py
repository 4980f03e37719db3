r"""``adago-theory bench optim``: throughput of the optimizer step, seeds as one batch vs a Python loop.

For AdaGO (exact SVD, its default; and with Newton–Schulz) and Muon (5 Newton–Schulz
steps, its default) at the shapes 10×6 and 50×30, it times

* **batch**: one ``step`` on an ``(R, m, n)`` batch of R runs (R = 64; on a GPU
  also 256, 1024, 4096);
* **loop**: a Python loop over the same 64 runs, one ``(m, n)`` step each, each
  with its own state,

and prints steps·runs per second, the batch/loop ratio, and the batch step's
achieved GFLOP/s (nominal Newton–Schulz count :math:`5(4p^2q + 2p^3)` per matrix,
:math:`p = \min(m, n)`, :math:`q = \max(m, n)`; the element-wise work of the step
is not counted) as a fraction of the machine's large matrix-product rate measured
in the same run (``benchtools.matmul_rate``: before, between the two shapes and after;
the highest of the three is used: a probe slowed by other load would otherwise make every
ratio look better than it is).
Only the optimizer step is timed: the gradients are fixed random arrays.

Targets (issue 3, CPU): at 10×6 the batch ≥ 8× the loop; at 50×30 the batch ≥ 2×
the loop and Muon's step ≥ 40% of the matrix-product rate.
"""

from __future__ import annotations

import sys
import time

from .tools import machine_summary, make_array, matmul_rate, ns_flops, require_backend
from adago_theory.optim import adago, muon

__all__ = ["bench_optim"]

SHAPES = ((10, 6), (50, 30))
LOOP_RUNS = 64
GPU_BATCH_SIZES = (64, 256, 1024, 4096)   # seeds per batch reported on a GPU (the first is LOOP_RUNS)
TARGET_RATIO = {(10, 6): 8.0, (50, 30): 2.0}
TARGET_MATMUL_FRACTION = 0.4


def _optimizers():
    """(label, optimizer, Newton–Schulz steps or None) for the benchmarked configurations."""
    return [
        ("muon", muon(0.02), 5),
        ("adago", adago(0.1, gamma=1.0, eps=1e-4), None),
        ("adago-ns", adago(0.1, gamma=1.0, eps=1e-4, orth="newton-schulz"), 5),
    ]


def _sync(x):
    from adago_theory.backend import synchronize

    synchronize(x)


def _time_steps(fn, state, *, min_time, repeat, sync_like):
    """Median seconds per call of ``state = fn(state)``, over ``repeat`` timed blocks of k calls."""
    state = fn(state)                       # warm-up (and a realistic, non-zero state)
    _sync(sync_like(state))
    k, t = 1, 0.0
    while True:                             # calibrate k so that a block lasts about min_time
        t0 = time.perf_counter()
        for _ in range(k):
            state = fn(state)
        _sync(sync_like(state))
        t = time.perf_counter() - t0
        if t >= min_time or k >= 1 << 14:
            break
        k *= 2
    times = [t / k]
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(k):
            state = fn(state)
        _sync(sync_like(state))
        times.append((time.perf_counter() - t0) / k)
    times.sort()
    return times[len(times) // 2]


def bench_optim(*, backend="numpy", quick=False, file=None, dtype="float64", repeat=None):
    r"""Print and return the optimizer-step throughput table (batched seeds vs a loop over seeds).

    Parameters
    ----------
    backend : {"numpy", "torch", "cupy"}
        Where the arrays live (PyTorch on CUDA when available).
    quick : bool
        Fewer and shorter repetitions and a smaller matrix-product probe (for tests).
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    dtype : str, default "float64"
    repeat : int, optional
        Timed blocks per measurement (default 5, quick 2); the median is reported.

    Returns
    -------
    rows : list of dict
        One per (optimizer, shape, mode, R) with keys ``optimizer``, ``shape``,
        ``mode`` ("batch" or "loop"), ``runs``, ``step_s`` (seconds per step of all
        runs), ``steps_runs_per_s``, ``speedup`` (batch over the 64-run loop; None
        for loop rows), ``gflops`` and ``matmul_fraction`` (None where the flop count
        is not defined: SVD steps and loop rows), ``matmul_gflops``, ``backend``,
        ``dtype``.
    """
    file = sys.stdout if file is None else file
    require_backend(backend)                       # unknown name, missing package or no GPU: clear error
    repeat = (2 if quick else 5) if repeat is None else int(repeat)
    min_time = 0.01 if quick else 0.1
    gpu = backend == "cupy" or (backend == "torch" and _torch_cuda())
    batch_sizes = GPU_BATCH_SIZES if gpu else (LOOP_RUNS,)
    mm_n = 512 if quick else 2048
    mm_rep = 3 if quick else 5
    probes = [matmul_rate(backend=backend, dtype=dtype, n=mm_n, repeat=mm_rep)]

    rows = []
    for i, (m, n) in enumerate(SHAPES):
        if i > 0:
            probes.append(matmul_rate(backend=backend, dtype=dtype, n=mm_n, repeat=mm_rep))
        for label, opt, ns_steps in _optimizers():
            G_all = make_array((max(batch_sizes), m, n), backend=backend, dtype=dtype, rng=1)
            X_all = make_array((max(batch_sizes), m, n), backend=backend, dtype=dtype, rng=2)

            # a Python loop over the 64 runs: one (m, n) step each, each with its own state
            Xs = [X_all[r] for r in range(LOOP_RUNS)]
            Gs = [G_all[r] for r in range(LOOP_RUNS)]
            loop_state = (Xs, [opt.init(x) for x in Xs])

            def loop_step(st, Gs=Gs, opt=opt):
                Xs, ss = st
                out = [opt.step(x, g, s) for x, g, s in zip(Xs, Gs, ss)]
                return [o[0] for o in out], [o[1] for o in out]

            t_loop = _time_steps(loop_step, loop_state, min_time=min_time, repeat=repeat,
                                 sync_like=lambda st: st[0][-1])
            loop_rate = LOOP_RUNS / t_loop
            rows.append(dict(optimizer=label, shape=f"{m}x{n}", mode="loop", runs=LOOP_RUNS, step_s=t_loop,
                             steps_runs_per_s=loop_rate, speedup=None, gflops=None, matmul_fraction=None))
            for R in batch_sizes:
                X, G = X_all[:R], G_all[:R]

                def batch_step(st, G=G, opt=opt):
                    return opt.step(st[0], G, st[1])

                t_b = _time_steps(batch_step, (X, opt.init(X)), min_time=min_time, repeat=repeat,
                                  sync_like=lambda st: st[0])
                gf = ns_flops((R, m, n), ns_steps) / t_b / 1e9 if ns_steps else None
                rows.append(dict(optimizer=label, shape=f"{m}x{n}", mode="batch", runs=R, step_s=t_b,
                                 steps_runs_per_s=R / t_b, speedup=(R / t_b) / loop_rate if R == LOOP_RUNS else None,
                                 gflops=gf, matmul_fraction=None))

    ceiling = None
    if backend == "numpy" and not quick:
        # the Newton-Schulz products of Muon's 64-run step alone (no element-wise work, no momentum)
        from .orth import products_only

        m, n = SHAPES[-1]
        Mc = make_array((LOOP_RUNS, m, n), backend=backend, dtype=dtype, rng=3)
        t_c = _time_steps(lambda st: (products_only(Mc), None)[1], None, min_time=min_time, repeat=repeat,
                          sync_like=lambda st: Mc)
        ceiling = (f"{LOOP_RUNS}x{m}x{n}", ns_flops((LOOP_RUNS, m, n), 5) / t_c / 1e9)
    probes.append(matmul_rate(backend=backend, dtype=dtype, n=mm_n, repeat=mm_rep))
    mm = max(probes)
    for r in rows:
        r.update(matmul_gflops=mm, backend=backend, dtype=dtype)
        if r["gflops"] is not None:
            r["matmul_fraction"] = r["gflops"] / mm
    _print(rows, file, backend, dtype, probes, mm, mm_n, ceiling)
    return rows


def _torch_cuda():
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        return False


def _print(rows, file, backend, dtype, probes, mm, mm_n, ceiling=None):
    p = lambda *a: print(*a, file=file)  # noqa: E731
    p(f"# bench optim — backend {backend}, {dtype}; {machine_summary(backend)}")
    p(f"# matrix-product rate ({mm_n}^3, {dtype}): probes {', '.join(f'{r:.1f}' for r in probes)} GFLOP/s "
      f"(before, between the shapes, after); ratios use the highest, {mm:.1f}")
    if mm_n < 2048:
        p("# quick mode: short timings and a small matrix-product probe; not figures to record")
    p(f"{'optimizer':<10} {'shape':>6} {'mode':>6} {'runs':>5} {'step ms':>9} {'steps*runs/s':>13} "
      f"{'batch/loop':>10} {'GFLOP/s':>8} {'of matmul':>9}")
    for r in rows:
        sp = f"{r['speedup']:.1f}x" if r["speedup"] is not None else ""
        gf = f"{r['gflops']:.2f}" if r["gflops"] is not None else "—"
        fr = f"{100 * r['matmul_fraction']:.0f}%" if r["matmul_fraction"] is not None else "—"
        p(f"{r['optimizer']:<10} {r['shape']:>6} {r['mode']:>6} {r['runs']:>5} {1e3 * r['step_s']:>9.3f} "
          f"{r['steps_runs_per_s']:>13.0f} {sp:>10} {gf:>8} {fr:>9}")
    p("# targets (CPU): batch/loop >= 8x at 10x6 and >= 2x at 50x30; Muon's step >= 40% of matmul at 50x30")
    for (m, n), need in TARGET_RATIO.items():
        for r in rows:
            if r["shape"] == f"{m}x{n}" and r["speedup"] is not None:
                ok = "met" if r["speedup"] >= need else "NOT met"
                p(f"#   {r['optimizer']:<9} {m}x{n}: batch/loop {r['speedup']:.1f}x (target {need:.0f}x) {ok}")
    for r in rows:
        if r["optimizer"] == "muon" and r["shape"] == "50x30" and r["mode"] == "batch" and r["runs"] == LOOP_RUNS:
            ok = "met" if r["matmul_fraction"] >= TARGET_MATMUL_FRACTION else "NOT met"
            p(f"#   muon      50x30: step at {100 * r['matmul_fraction']:.0f}% of the matrix-product rate "
              f"(target {100 * TARGET_MATMUL_FRACTION:.0f}%) {ok}")
    if ceiling is not None:
        p(f"# BLAS ceiling: the 5 Newton-Schulz steps' stacked products alone on {ceiling[0]} (same threads, "
          f"nothing else) ran at {ceiling[1]:.2f} GFLOP/s = {100 * ceiling[1] / mm:.0f}% of the matrix-product rate")
