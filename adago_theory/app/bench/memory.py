r"""``adago-theory bench memory``: the bytes one optimizer step allocates, against the batch's parameter size.

For every optimizer of :mod:`adago_theory.optim` with each orthogonalizer it accepts
(Newton–Schulz with Jordan's coefficients and with Polar Express, the exact SVD, ``"polar"``,
QDWH) and for the baselines, on ``(R, m, n)`` batches, it measures

* **init**: the peak bytes allocated during ``opt.init(X)``;
* **step**: the peak bytes allocated during one ``opt.step(X, G, state)`` (after a first
  step, so that the state is not zero), *cold*: the orthogonalizer's cached scratch
  buffers (``orthogonalize._workspace``) are dropped first, so that the step pays for them;
* **kept**: of the step's allocations, the bytes still held after it returns (the new
  iterate, the new state and the orthogonalizer's cached scratch buffers);
* **state**: the ``nbytes`` of the state's arrays,

each divided by :math:`P` = ``X.nbytes``, and compares the step's peak with the bound

.. math::

    \text{peak}(\text{step}) \le c_P\,P + c_Q\,Q + c_V\,V + P/\text{itemsize} + 64\ \text{KiB},
    \qquad Q = R\,\min(m, n)^2\ \text{itemsize}, \quad V = R\,(m + n)\ \text{itemsize},

with :math:`Q` the bytes of one batch of Gram matrices :math:`XX^\top` (the Newton–Schulz
workspace; :math:`Q/P = \min(m,n)/\max(m,n) \le 1`), :math:`V` the per-run vectors (column
norms, per-run scalars), one byte per entry for the boolean masks of the input check, and the
constants of :data:`BOUNDS`, derived by counting the arrays
that are alive at once (``docs/performance.md``, "Memory per step").

How it is measured.  NumPy: :mod:`tracemalloc` (NumPy reports every array buffer to it);
the peak of the traced memory over the call minus what was traced before.  What it does not
see: LAPACK's work arrays inside ``numpy.linalg`` (``svd``, ``qr``, ``solve`` allocate them
with ``malloc``; about one matrix's worth at a time, since the gufunc loops over the batch)
and BLAS's internal buffers (fixed size).  PyTorch (CPU tensors): the allocation and free
events of :func:`torch.profiler.profile` with ``profile_memory=True``, summed in time order.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

from adago_theory.optim import adago, adagrad_norm, adamw, muon, namo, namo_d, polargrad, sgd, skip_nonfinite

__all__ = ["bench_memory", "measure", "configs", "bound", "peak_numpy", "peak_torch", "BOUNDS", "SHAPES"]

SHAPES = ((64, 50, 30), (8, 256, 128), (1, 1024, 512), (1024, 10, 6), (1024, 50, 30))
QUICK_SHAPES = ((64, 50, 30), (4, 16, 40))
DTYPES = ("float64", "float32")

_PE = ("newton-schulz", {"coeffs": "polar-express"})
ORTHS = {"ns": "newton-schulz", "ns-pe": _PE, "svd": "svd", "polar": "polar", "qdwh": "qdwh"}


def configs():
    """(label, name, route, factory) for every optimizer × orthogonalizer measured; ``factory()`` -> Optimizer.

    ``name`` names the row of :data:`OPT_SHARE` (the optimizer's share of the bound), ``route``
    the row of :data:`ORTH_SHARE` (the orthogonalizer's; "none" for the baselines); ``label`` is
    ``optimizer/orth``.
    """
    out = []
    makers = {
        "muon": lambda o: muon(0.02, orth=o),
        "adago": lambda o: adago(0.1, gamma=1.0, eps=1e-4, orth=o),
        "namo": lambda o: namo(0.01, orth=o),
        "namo_d": lambda o: namo_d(0.01, orth=o),
        "polargrad": lambda o: polargrad(0.1, beta=0.9, orth=o),
    }
    for name, make in makers.items():
        for key, orth in ORTHS.items():
            route = "ns" if key.startswith("ns") else ("svd" if key == "polar" else key)   # polar = SVD on a CPU
            out.append((f"{name}/{key}", name, route, (lambda make=make, orth=orth: make(orth))))
    out += [
        ("muon/ns+wd", "muon_wd", "ns", lambda: muon(0.02, weight_decay=0.1)),
        ("namo_d/ns+wd", "namo_d_wd", "ns", lambda: namo_d(0.01, weight_decay=0.1)),
        ("polargrad/polar-first", "polargrad", "svd", lambda: polargrad(0.1, beta=0.9, polar_first=True)),
        ("skip_nonfinite(muon)/ns", "skip_muon", "ns", lambda: skip_nonfinite(muon(0.02))),
        ("sgd", "sgd", "none", lambda: sgd(0.1)),
        ("sgd/nesterov", "sgd_m", "none", lambda: sgd(0.1, momentum=0.9, nesterov=True)),
        ("adamw", "adamw", "none", lambda: adamw(1e-3)),
        ("adagrad_norm", "adagrad_norm", "none", lambda: adagrad_norm(0.1, b0=1.0)),
    ]
    return out


#: The optimizer's own share of the bound: (arrays of X's shape that it holds while the
#: orthogonalizer runs or after it, the new iterate and the new state included, the
#: orthogonalizer's result not), in units of P; and its per-run vectors, in units of V.
#: Counted in docs/performance.md, "Memory per step".
OPT_SHARE = {
    "muon": (3, 2),          # B, U (Nesterov mix), T = X - a O
    "muon_wd": (4, 2),       # + decay * X
    "adago": (2, 2),         # M (= U) and G*G for ||G||_F^2 before; M and T after
    "namo": (4, 2),          # B, U, T, and the scaled copy of U in the scale-safe ||U||_F
    "namo_d": (4, 8),        # B, U, and two more: U*k and its square (column norms), then O*u and X - O*u
    "namo_d_wd": (5, 10),    # + X * decay
    "polargrad": (2, 2),     # M, and one of M*D (for nu) or T
    "skip_muon": (6, 4),     # Muon's 3 + where(G), where(M), where(X)
    "sgd": (2, 1),           # lr*G, X - lr*G
    "sgd_m": (4, 1),         # B, G + mu*B (two), lr*D, X - lr*D
    "adamw": (5, 1),         # m, v, (1 - lr*wd)*X, two temporaries of the update
    "adagrad_norm": (2, 2),  # G*G (for the norm), then alpha*G, X - alpha*G
}

#: The orthogonalizer's share (c_P, c_Q) per route and itemsize, its result included.
ORTH_SHARE = {
    # Newton–Schulz (NumPy): the result P, which holds every other iterate, one more iterate
    # buffer P, and A = X X^T, C = cA + bI, B = A C + aI: 3Q.  Threaded: the result plus the
    # per-thread chunk buffers, which together hold at most P + 3Q.
    ("ns", 8): (2, 3), ("ns", 4): (2, 3),
    # SVD: the scaled copy P, U and Vh (P + Q), U*keep (<= P), the result P; +P for the
    # threaded path's result array.  float32: numpy.linalg computes in float64 (a float64 copy
    # of the input, float64 U and Vh, then their float32 casts): 7P + 3Q.
    ("svd", 8): (5, 2), ("svd", 4): (7, 3),
    # QDWH (the GPU route, measured here on NumPy): X, [sqrt(c) X; I] (P + Q), NumPy's copy of it
    # inside qr, Q (P + Q), R (Q), three P-sized temporaries of the update: <= 6P + 4Q; doubled
    # in float32 (numpy.linalg.qr and solve compute in float64).
    ("qdwh", 8): (6, 4), ("qdwh", 4): (12, 8),
    ("none", 8): (0, 0), ("none", 4): (0, 0),
}

BOUNDS = {"opt": OPT_SHARE, "orth": ORTH_SHARE}
SLACK = 64 * 1024


def bound(name, route, shape, itemsize):
    """The bound on the step's peak allocation, in bytes, and the constants it uses.

    Returns
    -------
    bytes : int
    consts : tuple
        ``(c_P, c_Q, c_V)``.
    """
    *lead, m, n = shape
    R = 1
    for d in lead:
        R *= d
    P = R * m * n * itemsize
    Q = R * min(m, n) ** 2 * itemsize
    V = R * (m + n) * itemsize
    o_p, o_v = OPT_SHARE[name]
    r_p, r_q = ORTH_SHARE[(route, 8 if itemsize >= 8 else 4)]
    c_p, c_q, c_v = o_p + r_p, r_q, o_v
    return c_p * P + c_q * Q + c_v * V + P // itemsize + SLACK, (c_p, c_q, c_v)


def _drop_workspace():
    """Forget the orthogonalizer's cached scratch buffers (every thread's), so the next call allocates them."""
    mod = sys.modules.get("adago_theory.orthogonalize")
    if mod is not None and hasattr(mod, "_WORKSPACE"):
        mod._WORKSPACE = None


def peak_numpy(fn, *, cold=True):
    """``(peak, kept, result)`` of ``fn()``: bytes traced by :mod:`tracemalloc` at the peak and at the end.

    Both are counted from the start of the call (allocations made before are not traced, so
    freeing them does not lower the count).  ``cold`` drops the orthogonalizer's cached
    scratch buffers first.
    """
    if cold:
        _drop_workspace()
    gc.collect()
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        out = fn()
        cur, peak = tracemalloc.get_traced_memory()
    finally:
        if not was:
            tracemalloc.stop()
    return peak - before, cur - before, out


def peak_torch(fn):
    """``(peak, kept, result)`` of ``fn()`` on PyTorch CPU tensors, from the profiler's memory events.

    :func:`torch.profiler.profile` with ``profile_memory=True`` records every allocation (+bytes)
    and free (-bytes) of the CPU allocator; their running sum in time order peaks at ``peak``.
    """
    import torch.profiler as tp

    gc.collect()
    with tp.profile(activities=[tp.ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
    ev = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                if e.name() == "[memory]")
    cur = peak = 0
    for _, b in ev:
        cur += b
        peak = max(peak, cur)
    return peak, cur, out


def state_nbytes(state):
    """Bytes of the arrays in a (possibly nested) NamedTuple state."""
    total = 0
    for v in state:
        if isinstance(v, tuple):
            total += state_nbytes(v)
        elif hasattr(v, "nbytes"):
            total += int(v.nbytes)
        elif hasattr(v, "element_size") and hasattr(v, "numel"):
            total += int(v.element_size() * v.numel())
    return total


def _arrays(shape, dtype, backend, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape).astype(dtype)
    G = rng.standard_normal(shape).astype(dtype)
    if backend == "torch":
        import torch

        return torch.from_numpy(X), torch.from_numpy(G)
    return X, G


def measure(label, name, route, factory, shape, dtype="float64", backend="numpy", warm=True):
    """One row: init and step peaks, the bytes kept, the state, and the bound, all also over P.

    ``warm=False`` skips the second, warm step measurement (``step_warm`` is then None).
    """
    X, G = _arrays(shape, dtype, backend)
    itemsize = X.itemsize if backend == "numpy" else X.element_size()
    P = int(X.nbytes) if backend == "numpy" else X.numel() * itemsize
    opt = factory()
    state = opt.init(X)
    _, state = opt.step(X, G, state)        # warm-up: caches filled, a state that is not zero
    if backend == "numpy":
        init_peak, _, _ = peak_numpy(lambda: opt.init(X))
        step_peak, kept, (X1, state1) = peak_numpy(lambda: opt.step(X, G, state), cold=True)
        warm_peak = peak_numpy(lambda: opt.step(X, G, state), cold=False)[0] if warm else None
    else:
        init_peak, _, _ = peak_torch(lambda: opt.init(X))
        step_peak, kept, (X1, state1) = peak_torch(lambda: opt.step(X, G, state))
        warm_peak = step_peak
    b, consts = bound(name, route, shape, itemsize)
    sb = state_nbytes(state1)
    return {
        "config": label, "shape": tuple(shape), "dtype": dtype, "backend": backend, "P": P,
        "init": init_peak / P, "step": step_peak / P, "kept": kept / P,
        "step_warm": None if warm_peak is None else warm_peak / P,
        "state": sb / P, "bound": b / P, "consts": consts, "ok": step_peak <= b,
        "step_bytes": step_peak, "bound_bytes": b,
    }


def bench_memory(*, backend="numpy", quick=False, file=None, shapes=None, dtypes=DTYPES):
    r"""Print and return the memory table: per optimizer/orthogonalizer/shape/dtype, peaks over P.

    Parameters
    ----------
    backend : {"numpy", "torch"}
        NumPy (tracemalloc) or PyTorch CPU tensors (profiler memory events).
    quick : bool
        Two small shapes (for tests).
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    shapes : sequence of (R, m, n), optional
    dtypes : sequence of str

    Returns
    -------
    rows : list of dict
        See :func:`measure`; ``ok`` is whether the step's peak is within the bound.
    """
    file = sys.stdout if file is None else file
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch' for bench memory (CPU allocations), got {backend!r}")
    shapes = (QUICK_SHAPES if quick else SHAPES) if shapes is None else shapes
    print(f"# bench memory ({backend}): peak bytes allocated by init and by one step, over P = X.nbytes", file=file)
    print("# bound = cP*P + cQ*Q + cV*V + P/itemsize + 64 KiB, Q = R*min(m,n)^2*itemsize, V = R*(m+n)*itemsize "
          "(docs/performance.md, 'Memory per step')", file=file)
    print("# step: cold (orthogonalizer scratch dropped first); warm: scratch cached; "
          "kept: still allocated after the step", file=file)
    hdr = (f"{'config':26s} {'shape':>14s} {'dtype':>7s} {'Q/P':>5s} {'init':>5s} {'step':>6s} {'warm':>6s} "
           f"{'kept':>5s} {'state':>5s} {'bound':>6s} {'cP,cQ,cV':>9s} ok")
    print(hdr, file=file)
    rows = []
    for shape in shapes:
        for dtype in dtypes:
            for label, name, route, factory in configs():
                r = measure(label, name, route, factory, shape, dtype, backend)
                rows.append(r)
                R, m, n = shape
                qp = min(m, n) / max(m, n)
                cs = ",".join(str(c) for c in r["consts"])
                print(f"{label:26s} {'x'.join(map(str, shape)):>14s} {dtype:>7s} {qp:5.2f} {r['init']:5.2f} "
                      f"{r['step']:6.2f} {r['step_warm']:6.2f} {r['kept']:5.2f} {r['state']:5.2f} "
                      f"{r['bound']:6.2f} {cs:>9s} {'yes' if r['ok'] else 'NO'}", file=file, flush=True)
    bad = [r for r in rows if not r["ok"]]
    worst = max(rows, key=lambda r: r["step"])
    print(f"# {len(rows) - len(bad)}/{len(rows)} steps within the bound; largest step peak "
          f"{worst['step']:.2f} P ({worst['config']}, {'x'.join(map(str, worst['shape']))}, {worst['dtype']})",
          file=file)
    return rows
