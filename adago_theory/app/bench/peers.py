r"""``adago-theory bench peers``: adago-theory next to what a user would write instead, in one process.

Three workloads, each implementation **checked to agree numerically with adago-theory
before it is timed**, then timed in interleaved rounds (one call of each per round, the
median per implementation), ratios printed as *peer time / adago-theory time* (above 1:
adago-theory is faster):

1. **Newton–Schulz kernel** (Jordan's quintic, 5 steps, Frobenius normalisation, no
   epsilon) on a batch of 1024 matrices 50×30, float32 and float64:
   ``orthogonalize(W, "newton-schulz")`` against the same iteration written by hand
   in plain NumPy (stacked ``@``), in JAX (``jit(vmap(...))``) and in PyTorch (batched
   ``@``, the tensor's dtype).
2. **The least-squares gradient** on 64 runs of 50×30: ``problem.grad`` (the Gram
   form :math:`A^\top A(X - X^\star)BB^\top`) against the residual form
   :math:`A^\top(AXB - C)B^\top` in stacked NumPy products (the formula before
   2026-12-01) and JAX ``jit(vmap(grad))``.
3. **End to end**: Muon and AdaGO (Newton–Schulz, 5 steps) on 64 seeds of one 50×30
   least-squares problem (``make_matrix_least_squares(50, 30)``), T = 200, exact
   gradients, the same initial points: ``run(..., record=[0, T])`` against

   * a plain NumPy loop (batched over seeds; gradient :math:`A^\top(AXB-C)B^\top`),
   * optax ``jit(vmap(scan))``: Muon written with optax building blocks
     (``optax.tree.update_moment``, optax's Newton–Schulz, ``optax.scale``; the
     gradient from ``jax.grad`` of :math:`\tfrac12\|AXB-C\|_F^2`), the same with the
     problem's Gram-form gradient, and ``optax.contrib.muon`` itself (a bias-corrected
     variant: checked against a NumPy loop of *its* rule); AdaGO as an optax
     ``GradientTransformation`` built the same way,
   * ``torch.optim.Muon`` on 64 parameters (its Newton–Schulz runs in bfloat16, so it
     agrees only to the tolerance printed).

On a device (``backend="cupy"``, or ``"torch"`` with ``device="cuda"``) the same workloads run
with adago-theory's side on the device against raw CuPy, PyTorch and JAX/optax on the same
device: :mod:`.peers_device`.

Peers whose package is missing are skipped with a line saying so.  JAX and PyTorch are
imported lazily, here and nowhere else in the package (the ``peers`` extra installs
JAX and optax; PyTorch is the ``torch`` extra).  JAX runs with 64-bit floats enabled
(``jax_enable_x64``) for the float64 rows.  Compilation (JAX) and first-call costs are
excluded: every implementation runs once before the timed rounds.
"""

from __future__ import annotations

import sys

import numpy as np

from .peer_impls import (ADAGO, BETA, ETA_MUON, JORDAN, NS_STEPS, PEERS, SELECTED, adago_numpy, have, interleaved,
                         jax_modules, lsq, muon_numpy, ns_jnp, ns_numpy, ns_torch, optax_peers, rel, residual_grad_np,
                         torch_muon, why)

__all__ = ["bench_peers", "JORDAN"]


# ---------------------------------------------------------------------------
# 1. the kernel
# ---------------------------------------------------------------------------


def _kernel_impls(W, dtype, say):
    from adago_theory.orthogonalize import orthogonalize

    impls = {"adago-theory": (lambda: orthogonalize(W, "newton-schulz"), lambda o: o)}
    if "numpy" in SELECTED:
        impls["plain NumPy"] = (lambda: ns_numpy(W), lambda o: o)
    if have("jax"):
        jax, jnp = jax_modules()
        Wj = jnp.asarray(W)
        f = jax.jit(jax.vmap(lambda x: ns_jnp(jnp, x)))
        impls["JAX jit(vmap)"] = (lambda: f(Wj).block_until_ready(), np.asarray)
    else:
        say(f"  JAX jit(vmap): skipped ({why('jax')})")
    if have("torch"):
        import torch

        Wt = torch.from_numpy(W)
        impls["PyTorch batched"] = (lambda: ns_torch(Wt), lambda o: o.numpy())
    else:
        say(f"  PyTorch batched: skipped ({why('torch')})")
    return impls


def _bench_kernel(shape, dtype, rounds, say, rows):
    W = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    impls = _kernel_impls(W, dtype, say)
    ref = impls["adago-theory"][0]()
    tol = 1e-10 if dtype == "float64" else 1e-4
    fns, agree = {}, {}
    for label, (fn, host) in impls.items():
        err = rel(host(fn()), ref)              # also the warm-up (JAX compiles here)
        agree[label] = err
        if err > tol:
            say(f"  {label}: disagrees with adago-theory (relative difference {err:.2e} > {tol:g}); not timed")
            continue
        fns[label] = fn
    t = interleaved(fns, rounds)
    ours = t["adago-theory"]
    for label, s in t.items():
        rows.append(dict(workload=f"Newton-Schulz {'x'.join(map(str, shape))} {dtype}", impl=label, seconds=s,
                         ratio=s / ours, agree=agree[label]))
        say(f"  {label:<34} {1e3 * s:9.1f} ms   {s / ours:6.2f}x   (agrees to {agree[label]:.1e})")


# ---------------------------------------------------------------------------
# 2. end to end: Muon and AdaGO on 64 seeds of least squares
# ---------------------------------------------------------------------------


def _bench_grad(R, rounds, say, rows):
    """The least-squares gradient on R runs: problem.grad (Gram form) vs the residual form (before 2026-12-01)."""
    P, X0 = lsq(R)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    residual = residual_grad_np(A, B, C)
    ref = P.grad(X0)
    impls = {"adago-theory problem.grad (Gram form)": lambda: P.grad(X0),
             "residual form, stacked NumPy (before)": lambda: residual(X0)}
    if have("jax"):
        jax, jnp = jax_modules()
        Aj, Bj, Cj, Xj = (jnp.asarray(v) for v in (A, B, C, X0))
        g = jax.jit(jax.vmap(jax.grad(lambda x: 0.5 * jnp.sum((Aj @ x @ Bj - Cj) ** 2))))
        impls["JAX jit(vmap(grad))"] = lambda: np.asarray(g(Xj).block_until_ready())
    fns, agree = {}, {}
    for label, fn in impls.items():
        agree[label] = rel(fn(), ref)
        if agree[label] > 1e-12:
            say(f"  {label}: disagrees (relative difference {agree[label]:.2e} > 1e-12); not timed")
            continue
        fns[label] = lambda fn=fn: [fn() for _ in range(10)]
    t = interleaved(fns, rounds)
    ours = t["adago-theory problem.grad (Gram form)"]
    for label, s in t.items():
        rows.append(dict(workload=f"lsq gradient {R}x50x30", impl=label, seconds=s / 10, ratio=s / ours,
                         agree=agree[label]))
        say(f"  {label:<44} {1e2 * s:8.3f} ms   {s / ours:6.2f}x   (agrees to {agree[label]:.1e})")


def _bench_e2e(R, T, rounds, say, rows):
    from adago_theory.optim import adago, muon
    from adago_theory.run import run

    P, X0 = lsq(R)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    grad = residual_grad_np(A, B, C)
    seeds = list(range(R))

    def ours(opt):
        return lambda: run(opt, P, T, seeds=seeds, X0=X0, record=[0, T]).X_final

    peers = {**optax_peers(P, X0, T, say), **torch_muon(P, X0, T, say)}
    tables = {
        "muon": {"adago-theory run(record=[0, T])": ours(muon(ETA_MUON, beta=BETA, nesterov=True)),
                 "adago-theory run(record='auto': every step)": (
                     lambda: run(muon(ETA_MUON, beta=BETA, nesterov=True), P, T, seeds=seeds, X0=X0).X_final),
                 **({"plain NumPy loop": lambda: muon_numpy(X0, grad, T)} if "numpy" in SELECTED else {})},
        "adago": {"adago-theory run(record=[0, T])": ours(adago(ADAGO["eta"], gamma=ADAGO["gamma"], eps=ADAGO["eps"],
                                                                 beta=ADAGO["beta"], v0=ADAGO["v0"],
                                                                 orth="newton-schulz")),
                  **({"plain NumPy loop": lambda: adago_numpy(X0, grad, T, **ADAGO)} if "numpy" in SELECTED else {})},
    }
    refs = {"muon-bc": muon_numpy(X0, grad, T, bias_correction=True)}
    for label, (fn, kind) in peers.items():
        tables["muon" if kind.startswith("muon") else "adago"][label.strip()] = (fn, kind)
    for name, impls in tables.items():
        say(f"\n{'Muon' if name == 'muon' else 'AdaGO (Newton-Schulz)'}: {R} seeds x 50x30 least squares, T = {T}, "
            f"exact gradients, float64")
        ref = impls["adago-theory run(record=[0, T])"]()
        fns = {}
        agree = {}
        for label, fn in impls.items():
            fn, kind = fn if isinstance(fn, tuple) else (fn, name)
            target = refs["muon-bc"] if kind == "muon-bc" else ref
            tol = 0.1 if "torch.optim" in label else 1e-8
            err = rel(fn(), target)               # also the warm-up
            agree[label] = err
            if err > tol:
                say(f"  {label}: disagrees (relative difference {err:.2e} > {tol:g}); not timed")
                continue
            fns[label] = fn
        t = interleaved(fns, rounds)
        ours_s = t["adago-theory run(record=[0, T])"]
        for label, s in t.items():
            rows.append(dict(workload=f"{name} {R}x50x30 T={T}", impl=label, seconds=s, ratio=s / ours_s,
                             agree=agree[label]))
            say(f"  {label:<44} {s:8.3f} s   {s / ours_s:6.2f}x   (agrees to {agree[label]:.1e})")


def bench_peers(*, backend="numpy", quick=False, file=None, rounds=None, peers=PEERS, device=None):
    r"""Print and return the peers table.

    Parameters
    ----------
    backend : {"numpy", "cupy", "torch"}
        Where adago-theory's side runs.  ``"numpy"``: the CPU comparison (this module).
        ``"cupy"`` / ``"torch"``: the device comparison of :mod:`.peers_device` (CuPy, or
        PyTorch tensors on ``device``, against JAX, PyTorch and raw CuPy on the same device).
    device : str, optional
        ``backend="torch"`` only: the torch device (default ``"cuda"`` when available, else
        ``"cpu"``); ``backend="cupy"``: ``"cuda"`` or ``"cuda:K"``.
    quick : bool
        Small sizes (16 matrices; 4 seeds, T = 10) and one round, for the test suite.
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    rounds : int, optional
        Interleaved timing rounds (default 7 for the kernel and 3 end to end; quick: 1).
    peers : sequence of {"numpy", "jax", "torch"}
        Which peer families to run (default all that are installed; a family not
        selected is skipped with a line saying so).

    Returns
    -------
    rows : list of dict (or 2, after a one-line error on stderr: unknown backend, backend or device not usable)
        ``workload``, ``impl``, ``seconds`` (median), ``ratio`` (over adago-theory's
        time on the same workload; above 1: adago-theory faster), ``agree`` (relative
        Frobenius difference of the result to adago-theory's, or to the NumPy loop of
        its own rule for optax.contrib.muon).
    """
    from .tools import machine_summary

    file = sys.stdout if file is None else file
    bad = [p for p in peers if p not in PEERS]
    if bad:
        raise ValueError(f"peers must be among {', '.join(PEERS)}, got {bad[0]!r}")
    if backend != "numpy":   # the device comparison; errors are one line and status 2, no traceback
        from .peers_device import bench_peers_device

        return bench_peers_device(backend=backend, device=device, quick=quick, file=file, rounds=rounds,
                                  peers=peers)
    if device not in (None, "cpu"):
        print(f"adago-theory bench peers: error: device must be None or 'cpu' for backend='numpy', got {device!r}",
              file=sys.stderr)
        return 2
    SELECTED.clear()
    SELECTED.update(peers)

    def say(s=""):
        print(s, file=file, flush=True)

    batch, R, T = (16, 4, 10) if quick else (1024, 64, 200)
    k_rounds = rounds or (1 if quick else 7)
    e_rounds = rounds or (1 if quick else 3)
    say(f"adago-theory bench peers ({'quick' if quick else 'full'}), {machine_summary()}")
    say("ratio = peer time / adago-theory time (above 1: adago-theory faster); every implementation is checked "
        "to agree before it is timed")
    rows = []
    for dtype in ("float32", "float64"):
        say(f"\nNewton-Schulz (Jordan, {NS_STEPS} steps) on {batch}x50x30, {dtype}")
        _bench_kernel((batch, 50, 30), dtype, k_rounds, say, rows)
    say(f"\nLeast-squares gradient A^T(AXB - C)B^T on {R} runs of 50x30 (p = 100, q = 60), float64, one call")
    _bench_grad(R, k_rounds, say, rows)
    _bench_e2e(R, T, e_rounds, say, rows)
    return rows
