r"""``adago-theory bench orth``: speed and accuracy of the orthogonalization engines.

For each shape and method it prints the median time, the achieved GFLOP/s
(nominal Newton–Schulz count :math:`5(4m^2n + 2m^3)` per matrix), that rate as a
fraction of the machine's large matrix-product rate measured in the same run,
and the relative Frobenius error to the exact polar factor (float64 SVD on the
host).  Targets (issue 2) are printed next to the measurements.  On NumPy, for the batch of small
matrices, a row "stacked products only" times the iteration's matrix products alone (same chunks and
threads, no element-wise work): the ceiling that one BLAS call per small matrix sets on this machine.
"""

from __future__ import annotations

import sys

import numpy as np

from adago_theory.backend import to_numpy
from .tools import machine_summary, make_array, matmul_rate, ns_flops, require_backend, time_call
from adago_theory.orthogonalize import NS_PRESETS, orthogonalize

__all__ = ["bench_orth", "products_only"]

CPU_SHAPES = [(1024, 512), (2048, 2048), (1024, 50, 30), (256, 256, 128)]
GPU_SHAPES = [(1024, 512), (2048, 2048), (4096, 50, 30), (256, 256, 128)]
QUICK_SHAPES = [(256, 128), (64, 50, 30)]


def _ref_polar(M):
    """Exact polar factor in float64 on the host (LAPACK SVD)."""
    A = to_numpy(M).astype(np.float64)
    U, _, Vh = np.linalg.svd(A, full_matrices=False)
    return U @ Vh


def _rel_err(O, P):
    Oh = to_numpy(O).astype(np.float64)
    return float(np.linalg.norm(Oh - P) / np.linalg.norm(P))


def _raw_svd_polar(M):
    """The stacked LAPACK / cuSOLVER SVD route, written directly against the library (the baseline)."""
    from adago_theory.backend import namespace

    xp = namespace(M)
    U, _, Vh = xp.linalg.svd(M, full_matrices=False)
    return U @ Vh


def _torch_ns(X, steps, coeffs):
    """The same Newton–Schulz iteration written directly in PyTorch (the GPU reference)."""
    import torch

    X = X / torch.linalg.matrix_norm(X, keepdim=True)
    for a, b, c in coeffs[:steps]:
        A = X @ X.mT
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X


_SCRATCH = {}


def products_only(M, steps=5):
    """The three stacked products of each Newton–Schulz step and nothing else (NumPy batches).

    Same chunks, threads and BLAS settings as the NumPy kernel, buffers reused per thread as there;
    the iterate is not updated (``Y = (A A) X`` with ``A = X X^T`` from the same X at every step),
    so the flop count and shapes are those of the iteration without its element-wise work.  Its
    time is the ceiling the per-matrix BLAS calls set for the iteration on this batch.
    """
    import threading

    from adago_theory.parallel import batch_parallel

    W = np.swapaxes(M, -1, -2) if M.shape[-2] > M.shape[-1] else M

    def fn(Wc, out):
        nb, m, n = Wc.shape
        key = (threading.get_ident(), m, n)
        if key not in _SCRATCH or _SCRATCH[key][0].shape[0] < nb:
            _SCRATCH[key] = (np.empty((nb, m, n)), np.empty((nb, m, m)), np.empty((nb, m, m)))
        X, A, C = (b[:nb] for b in _SCRATCH[key])
        np.copyto(X, Wc)
        for _ in range(steps):
            np.matmul(X, np.swapaxes(X, -1, -2), out=A)
            np.matmul(A, A, out=C)
            np.matmul(C, X, out=out)
        return out

    return batch_parallel(fn, W, takes_out=True)


def bench_orth(*, backend="numpy", quick=False, file=None, repeat=None):
    """Run the orthogonalization benchmark and print its table.

    Parameters
    ----------
    backend : {"numpy", "cupy", "torch"}
    quick : bool
        Small shapes and few repeats (a smoke run, seconds).
    file : file-like, optional
        Where to print (default stdout).
    repeat : int, optional
        Timed repetitions per measurement (default 3, 2 when quick).

    Returns
    -------
    rows : list of dict
        One dict per (shape, dtype, method) with ``seconds``, ``gflops``, ``ratio`` and ``error``;
        the first entry holds the measured matrix-product rate.
    """
    file = sys.stdout if file is None else file
    require_backend(backend)
    gpu = backend in ("cupy",) or (backend == "torch" and _torch_cuda())
    repeat = repeat or (2 if quick else 3)
    shapes = QUICK_SHAPES if quick else (GPU_SHAPES if gpu else CPU_SHAPES)
    dtype = "float64"
    rate = matmul_rate(backend=backend, dtype=dtype, n=512 if quick else (4096 if gpu else 2048), repeat=repeat + 2)
    rows = [{"what": "matmul rate", "dtype": dtype, "gflops": rate}]
    print(f"machine: {machine_summary(backend)}", file=file)
    print(f"backend {backend}; large matrix-product rate ({dtype}, measured in this run, fastest of "
          f"{repeat + 2} products): {rate:.1f} GFLOP/s", file=file)
    head = f"{'shape':<16}{'dtype':<9}{'method':<26}{'time [ms]':>11}{'GFLOP/s':>10}{'x rate':>8}{'rel. err':>11}  target"
    print(head, file=file)
    print("-" * (len(head) + 24), file=file)
    jordan = NS_PRESETS["jordan"].coeffs * 5
    for shape in shapes:
        M = make_array(shape, backend=backend, dtype=dtype, rng=0)
        P = _ref_polar(M)
        big = int(np.prod(shape)) >= 2048 * 2048
        rep = 1 if big and not quick else repeat
        flops = ns_flops(shape, 5)
        batched = len(shape) == 3
        small_batch = batched and shape[-1] <= 64

        def emit(method, seconds, err, target="", ratio_to=None):
            gfl = flops / seconds / 1e9
            ratio = gfl / rate if ratio_to is None else ratio_to
            rows.append({"shape": shape, "dtype": dtype, "method": method, "seconds": seconds,
                         "gflops": gfl, "ratio": ratio, "error": err, "target": target})
            err_s = f"{err:>11.1e}" if err == err else f"{'—':>11}"      # NaN: no error to report
            print(f"{'x'.join(map(str, shape)):<16}{dtype:<9}{method:<26}{seconds * 1e3:>11.2f}{gfl:>10.1f}"
                  f"{ratio:>8.2f}{err_s}  {target}", file=file)

        f_ns = lambda: orthogonalize(M, "newton-schulz", coeffs="jordan", check_finite=False)  # noqa: E731
        t = time_call(f_ns, repeat=rep)
        tgt = ""
        if not gpu and not quick:
            need = 0.40 if small_batch else (0.70 if not batched else None)
            if need is not None:
                ok = flops / t / 1e9 >= need * rate
                tgt = f">= {need:.0%} of rate: {'PASS' if ok else 'MISS'}"
        emit("newton-schulz/jordan x5", t, _rel_err(f_ns(), P), tgt)
        if small_batch and backend == "numpy" and not quick:
            t_p = time_call(lambda: products_only(M), repeat=rep)
            emit("stacked products only", t_p, float("nan"),
                 f"BLAS ceiling for the row above: it runs at {t_p / t:.0%} of this")

        if big and not gpu and not quick:
            continue  # a 2048^2 SVD/QDWH on 2 cores adds minutes and no information
        t_svd = time_call(lambda: _raw_svd_polar(M), repeat=1 if gpu and batched else rep)
        emit("raw xp.linalg.svd + U@Vh", t_svd, _rel_err(_raw_svd_polar(M), P))
        f_polar = lambda: orthogonalize(M, "polar", check_finite=False)  # noqa: E731
        t_pol = time_call(f_polar, repeat=rep)
        e_pol = _rel_err(f_polar(), P)
        tgt = ""
        if small_batch and not quick:
            if gpu:
                ok = t_svd / t_pol >= 100 and e_pol <= 1e-12
                tgt = f"svd/polar = {t_svd / t_pol:.0f}x (>= 100x), err <= 1e-12: {'PASS' if ok else 'MISS'}"
            else:
                ok = t_pol <= 1.25 * t_svd and e_pol <= 1e-12
                tgt = f"polar/svd = {t_pol / t_svd:.2f} (<= 1.25), err <= 1e-12: {'PASS' if ok else 'MISS'}"
        emit("polar", t_pol, e_pol, tgt)
        if not gpu:
            f_q = lambda: orthogonalize(M, "qdwh", check_finite=False)  # noqa: E731
            emit("qdwh (forced)", time_call(f_q, repeat=rep), _rel_err(f_q(), P))

    if not quick:
        end = matmul_rate(backend=backend, dtype=dtype, n=4096 if gpu else 2048, repeat=repeat + 2)
        rows.append({"what": "matmul rate (end)", "dtype": dtype, "gflops": end})
        warn = (f"; {end / rate:.2f}x the first probe: the ratios above may be optimistic"
                if end > 1.1 * rate else "")
        print(f"large matrix-product rate re-measured at the end: {end:.1f} GFLOP/s{warn}", file=file)
    if gpu and not quick:
        _gpu_extras(backend, rows, file, repeat, jordan)
    return rows


def _torch_cuda():
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def _gpu_extras(backend, rows, file, repeat, jordan, *, device="cuda", polar_shape=(4096, 50, 30),
                ns_shapes=((4096, 50, 30), (1024, 512), (64, 512, 512)), ns_repeat=20, torch_ref=None):
    """GPU-only lines: polar accuracy against kappa, and NS float32 against raw PyTorch.

    The keyword arguments exist for the tests, which run these lines on the CPU with small shapes;
    ``torch_ref`` (default: PyTorch sees a CUDA device) says whether to time the raw-PyTorch reference.
    """
    for kappa, bound in [(1.0, 1e-12), (1e2, 1e-12), (1e8, 1e-8)]:
        M = make_array(polar_shape, backend=backend, dtype="float64", rng=3, kappa=kappa)
        e = _rel_err(orthogonalize(M, "polar"), _ref_polar(M))
        rows.append({"shape": polar_shape, "method": f"polar kappa={kappa:g}", "error": e, "target": bound})
        print(f"polar, {polar_shape}, float64, kappa={kappa:g}: rel. err {e:.1e} (<= {bound:g}: "
              f"{'PASS' if e <= bound else 'MISS'})", file=file)
    if not (_torch_cuda() if torch_ref is None else torch_ref):
        return
    import torch

    for shp in ns_shapes:
        M = make_array(shp, backend=backend, dtype="float32", rng=4)
        Mt = torch.as_tensor(to_numpy(M), device=device)
        t_ours = time_call(lambda: orthogonalize(M, "newton-schulz", coeffs="jordan", check_finite=False),
                           repeat=ns_repeat, warmup=3)
        t_ref = time_call(lambda: _torch_ns(Mt if shp[-2] <= shp[-1] else Mt.mT, 5, jordan), repeat=ns_repeat,
                          warmup=3)
        ok = t_ours <= 1.10 * t_ref
        rows.append({"shape": shp, "method": "ns float32 vs raw torch", "seconds": t_ours, "ref_seconds": t_ref})
        print(f"newton-schulz float32 {shp}: ours {t_ours * 1e3:.3f} ms, raw PyTorch {t_ref * 1e3:.3f} ms, "
              f"ratio {t_ours / t_ref:.2f} (<= 1.10: {'PASS' if ok else 'MISS'})", file=file)
