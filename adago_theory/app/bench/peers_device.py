r"""``adago-theory bench peers --backend cupy|torch``: the peers comparison on a device.

The workloads of :mod:`.peers` with adago-theory's side on CuPy or on PyTorch tensors
(``device``: ``cuda`` on a GPU; ``cpu`` runs the same code path on PyTorch's CPU, which is
how it is tested without a GPU), every peer placed on the same device:

1. **Newton–Schulz kernel** (Jordan, 5 steps) on 1024×50×30 (on a GPU also 4096×50×30),
   float32 and float64: ``orthogonalize(W, "newton-schulz")`` on the backend's array
   against raw CuPy by hand (``ns_numpy`` with ``xp=cupy``; CuPy only), PyTorch batched
   ``@`` on the device (with ``backend="torch"`` this is the by-hand peer) and JAX
   ``jit(vmap)`` on ``jax.devices("gpu")`` (``"cpu"`` for a CPU device; skipped with a line
   when JAX has no GPU).  float32 products without TF32 (CuPy's and PyTorch's default; JAX
   with ``jax_default_matmul_precision="highest"``).
2. **The least-squares gradient** on 64 runs of 50×30: ``problem.grad`` on the device
   against the residual form written by hand in the backend's library and JAX
   ``jit(vmap(grad))``.
3. **End to end** Muon and AdaGO on 64 seeds of 50×30 least squares, T = 200, float64:
   ``run(..., record=[0, T])`` on ``make_matrix_least_squares(50, 30, backend=..., device=...)``
   against a loop by hand on the device (raw CuPy, or PyTorch with ``backend="torch"``),
   optax ``jit(vmap(scan))`` on the JAX device and ``torch.optim.Muon`` on the torch device
   (64 parameters).  On a GPU also 1024 seeds (Muon; without ``torch.optim.Muon``, whose
   per-parameter loop would take minutes there).

As on the CPU: every implementation is checked to agree with adago-theory before it is
timed (float64 to 1e-10 for the kernel, 1e-12 for the gradient, 1e-8 end to end;
float32 to 1e-4; ``torch.optim.Muon``, whose Newton–Schulz runs in bfloat16, to 0.1), then
timed in interleaved rounds, medians; every timer stops after the device is synchronised
(``cupy.cuda.Device().synchronize()``, ``torch.cuda.synchronize()``, ``block_until_ready``).
The peer family ``"numpy"`` selects the by-hand peer (raw CuPy; hand-written PyTorch with
``backend="torch"``, where ``"torch"`` selects it too).  CuPy, PyTorch and JAX are imported here, lazily.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from . import peer_impls as base

__all__ = ["bench_peers_device"]


# ---------------------------------------------------------------------------
# the device: adago-theory's arrays, the peers' devices, synchronisation
# ---------------------------------------------------------------------------


class _Device:
    """Where each side runs, and one ``sync()`` that waits for all of them."""

    def __init__(self, backend, device):
        self.backend = backend
        self.cupy = None
        self.torch = None
        self.tdev = None          # torch device of the PyTorch peers (None: skipped, see self.torch_why)
        self.torch_why = None
        self.jdev = None          # JAX device of the JAX peers (None: skipped, see self.jax_why)
        self.jax_why = None
        if backend == "cupy":
            import cupy

            self.cupy = cupy
            if device not in (None, "cuda"):
                if not str(device).startswith("cuda:") or not str(device)[5:].isdigit():
                    raise ValueError(f"device must be 'cuda' or 'cuda:K' for backend='cupy', got {device!r}")
                cupy.cuda.Device(int(str(device)[5:])).use()
            self.on_gpu = True
            self.device = None
            self.name = f"CuPy on GPU {cupy.cuda.Device().id}"
        else:
            import torch

            self.torch = torch
            try:
                dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
            except RuntimeError as exc:
                raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda:0', got {device!r}") \
                    from exc
            if dev.type == "cuda" and not torch.cuda.is_available():
                raise RuntimeError(f"device={device!r} needs CUDA, which PyTorch does not see here")
            if dev.type not in ("cpu", "cuda"):
                raise ValueError(f"device must be 'cpu' or 'cuda[:K]' for this bench, got {device!r}")
            self.on_gpu = dev.type == "cuda"
            self.device = str(dev)
            self.tdev = dev
            self.name = f"PyTorch on {dev}"

    # -- the peers' devices ------------------------------------------------

    def find_peers(self, selected):
        if self.backend == "cupy":
            if "torch" not in selected:
                self.torch_why = "not selected"
            elif importlib.util.find_spec("torch") is None:
                self.torch_why = "torch not installed; pip install 'adago-theory[torch]'"
            else:
                import torch

                if torch.cuda.is_available():
                    self.torch, self.tdev = torch, torch.device("cuda", self.cupy.cuda.Device().id)
                else:
                    self.torch_why = "PyTorch sees no CUDA device here"
        elif "torch" not in selected:
            self.torch_why = "not selected"
        if "jax" not in selected:
            self.jax_why = "not selected"
        elif importlib.util.find_spec("jax") is None:
            self.jax_why = "jax not installed; pip install 'adago-theory[peers]'"
        else:
            os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")   # leave the GPU to CuPy/PyTorch too
            jax, _ = base.jax_modules()
            jax.config.update("jax_default_matmul_precision", "highest")    # no TF32 for float32 rows
            kind = "gpu" if self.on_gpu else "cpu"
            try:
                self.jdev = jax.devices(kind)[0]
            except RuntimeError:
                self.jax_why = f"JAX has no {kind.upper()} here (jax.devices({kind!r}) failed)"

    def hand(self):
        """Whether the by-hand peer runs: family "numpy" (raw CuPy), or "numpy"/"torch" with backend="torch"."""
        fams = ("numpy",) if self.backend == "cupy" else ("numpy", "torch")
        return any(f in base.SELECTED for f in fams)

    # -- arrays ------------------------------------------------------------

    def put(self, a):
        """Host NumPy -> adago-theory's backend array on the device."""
        if self.cupy is not None and self.backend == "cupy":
            return self.cupy.asarray(a)
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.tdev)

    def put_torch(self, a):
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.tdev)

    def sync(self):
        if self.backend == "cupy":
            self.cupy.cuda.Device().synchronize()
        if self.tdev is not None and self.tdev.type == "cuda":
            self.torch.cuda.synchronize(self.tdev)


def _host(x):
    from adago_theory.backend import to_numpy

    return to_numpy(x)


# ---------------------------------------------------------------------------
# by hand in PyTorch (the backend="torch" by-hand peer)
# ---------------------------------------------------------------------------


def _muon_torch(X0, grad, T, eta=base.ETA_MUON, beta=base.BETA):
    """Muon (Nesterov, Jordan's NS) written by hand in PyTorch, batched over seeds."""
    X = X0.clone()
    M = X.new_zeros(X.shape)
    for _ in range(T):
        G = grad(X)
        M = beta * M + (1 - beta) * G
        X = X - eta * base.ns_torch((1 - beta) * G + beta * M)
    return X


def _adago_torch(X0, grad, T, eta, gamma, eps, beta, v0):
    """AdaGO (Newton–Schulz) written by hand in PyTorch, batched over seeds."""
    X = X0.clone()
    M = X.new_zeros(X.shape)
    v2 = X.new_full(X.shape[:-2], v0 * v0)
    for _ in range(T):
        G = grad(X)
        M = beta * M + (1 - beta) * G
        gc = G.square().sum(dim=(-2, -1)).sqrt().clamp(max=gamma)
        v2 = v2 + gc * gc
        alpha = (eta * gc / v2.sqrt()).clamp(min=eps)
        X = X - alpha[..., None, None] * base.ns_torch(M)
    return X


def _residual(A, B, C):
    def grad(X):
        return A.mT @ (A @ X @ B - C) @ B.mT if hasattr(A, "mT") else A.T @ (A @ X @ B - C) @ B.T
    return grad


# ---------------------------------------------------------------------------
# timing a table: check, warm up, interleave
# ---------------------------------------------------------------------------


def _table(workload, impls, ref, tols, rounds, dev, say, rows, unit=("ms", 1e3), per_call=1, refs=None):
    """impls: {label: (fn, host)}, the first adago-theory's; each checked against ``ref`` (or ``refs[label]``)
    to ``tols.get(label, tols[None])`` before the interleaved timing."""
    fns, agree = {}, {}
    refs = refs or {}
    for label, (fn, host) in impls.items():
        tol = tols.get(label, tols[None])
        err = base.rel(host(fn()), refs.get(label, ref))   # also the warm-up (JAX compiles here)
        dev.sync()
        agree[label] = err
        if err > tol:
            whom = "a NumPy loop of its own rule" if label in refs else "adago-theory"
            say(f"  {label}: disagrees with {whom} (relative difference {err:.2e} > {tol:g}); not timed")
            continue
        fns[label] = fn
    t = base.interleaved(fns, rounds, sync=dev.sync)
    ours = t[next(iter(impls))]
    name, scale = unit
    for label, s in t.items():
        rows.append(dict(workload=workload, impl=label, seconds=s / per_call, ratio=s / ours, agree=agree[label]))
        say(f"  {label:<46} {scale * s / per_call:10.3f} {name}   {s / ours:6.2f}x   (agrees to {agree[label]:.1e})")


# ---------------------------------------------------------------------------
# 1. the kernel
# ---------------------------------------------------------------------------


def _kernel(dev, shape, dtype, rounds, say, rows):
    from adago_theory.orthogonalize import orthogonalize

    W = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    Wd = dev.put(W)
    impls = {f"adago-theory orthogonalize ({dev.backend})": (lambda: orthogonalize(Wd, "newton-schulz"), _host)}
    if dev.backend == "cupy":
        if "numpy" in base.SELECTED:
            impls["raw CuPy by hand"] = (lambda: base.ns_numpy(Wd, xp=dev.cupy), _host)
        else:
            say("  raw CuPy by hand: skipped (not selected)")
    if (dev.backend == "cupy" and dev.tdev is not None) or (dev.backend == "torch" and dev.hand()):
        Wt = Wd if dev.backend == "torch" else dev.put_torch(W)
        label = "PyTorch batched @ (by hand)" if dev.backend == "torch" else f"PyTorch batched @ on {dev.tdev}"
        impls[label] = (lambda: base.ns_torch(Wt), _host)
    else:
        say(f"  PyTorch batched @: skipped ({dev.torch_why or 'not selected'})")
    if dev.jdev is not None:
        jax, jnp = base.jax_modules()
        Wj = jax.device_put(W, dev.jdev)
        f = jax.jit(jax.vmap(lambda x: base.ns_jnp(jnp, x)))
        impls[f"JAX jit(vmap) on {dev.jdev.platform}"] = (lambda: f(Wj).block_until_ready(), np.asarray)
    else:
        say(f"  JAX jit(vmap): skipped ({dev.jax_why})")
    ref = _host(impls[next(iter(impls))][0]())
    tol = 1e-10 if dtype == "float64" else 1e-4
    _table(f"Newton-Schulz {'x'.join(map(str, shape))} {dtype} {dev.name}", impls, ref, {None: tol}, rounds, dev,
           say, rows)


# ---------------------------------------------------------------------------
# 2. the least-squares gradient
# ---------------------------------------------------------------------------


def _problem(dev, R):
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(50, 30, rng=0, backend=dev.backend, device=dev.device)
    X0d = P.initial_point(1, runs=R)
    return P, X0d, _host(X0d)


def _grad(dev, R, rounds, say, rows):
    P, X0d, X0 = _problem(dev, R)
    A, B, C = (P.host[k] for k in ("A", "B", "C"))
    impls = {f"adago-theory problem.grad ({dev.backend})": (lambda: P.grad(X0d), _host)}
    reps = 10
    if dev.hand():
        Ad, Bd, Cd = dev.put(A), dev.put(B), dev.put(C)
        g = _residual(Ad, Bd, Cd)
        lib = "raw CuPy" if dev.backend == "cupy" else "PyTorch"
        impls[f"residual form, {lib} by hand"] = (lambda: g(X0d), _host)
    if dev.jdev is not None:
        jax, jnp = base.jax_modules()
        Aj, Bj, Cj, Xj = (jax.device_put(v, dev.jdev) for v in (A, B, C, X0))
        gj = jax.jit(jax.vmap(jax.grad(lambda x: 0.5 * jnp.sum((Aj @ x @ Bj - Cj) ** 2))))
        impls[f"JAX jit(vmap(grad)) on {dev.jdev.platform}"] = (lambda: gj(Xj).block_until_ready(), np.asarray)
    ref = _host(P.grad(X0d))
    looped = {k: ((lambda fn=fn: [fn() for _ in range(reps)]), (lambda out, h=h: h(out[-1])))
              for k, (fn, h) in impls.items()}
    _table(f"lsq gradient {R}x50x30 {dev.name}", looped, ref, {None: 1e-12}, rounds, dev, say, rows,
           per_call=reps)


# ---------------------------------------------------------------------------
# 3. end to end
# ---------------------------------------------------------------------------


def _e2e(dev, R, T, rounds, say, rows, *, which=("muon", "adago"), torch_optim=True):
    from adago_theory.optim import adago, muon
    from adago_theory.run import run

    P, X0d, X0 = _problem(dev, R)
    A, B, C = (P.host[k] for k in ("A", "B", "C"))
    seeds = list(range(R))
    a = base.ADAGO
    ours = {"muon": muon(base.ETA_MUON, beta=base.BETA, nesterov=True),
            "adago": adago(a["eta"], gamma=a["gamma"], eps=a["eps"], beta=a["beta"], v0=a["v0"],
                           orth="newton-schulz")}
    tables = {name: {f"adago-theory run(record=[0, T]) ({dev.backend})":
                     ((lambda opt=ours[name]: run(opt, P, T, seeds=seeds, X0=X0d, record=[0, T]).X_final), name)}
              for name in which}
    if dev.hand():
        g = _residual(dev.put(A), dev.put(B), dev.put(C))
        if dev.backend == "cupy":
            cp = dev.cupy
            hand = {"muon": lambda: base.muon_numpy(X0d, g, T, xp=cp),
                    "adago": lambda: base.adago_numpy(X0d, g, T, **a, xp=cp)}
            lib = "raw CuPy"
        else:
            hand = {"muon": lambda: _muon_torch(X0d, g, T), "adago": lambda: _adago_torch(X0d, g, T, **a)}
            lib = "PyTorch"
        for name in which:
            tables[name][f"{lib} loop by hand"] = (hand[name], name)
    if dev.jdev is not None:
        for label, (fn, kind) in base.optax_peers(P, X0, T, say, jdev=dev.jdev).items():
            if kind.startswith("muon") and "muon" in which:
                tables["muon"][f"{label.strip()} on {dev.jdev.platform}"] = (fn, kind)
            elif kind == "adago" and "adago" in which:
                tables["adago"][f"{label.strip()} on {dev.jdev.platform}"] = (fn, kind)
    else:
        say(f"  optax jit(vmap(scan)): skipped ({dev.jax_why})")
    if "muon" in which:
        if not torch_optim:
            say("  torch.optim.Muon: skipped at this size (a per-parameter loop; minutes)")
        elif dev.tdev is not None and ("torch" in base.SELECTED):
            for label, (fn, kind) in base.torch_muon(P, X0, T, say, device=dev.tdev).items():
                tables["muon"][label] = (fn, kind)
        else:
            say(f"  torch.optim.Muon: skipped ({dev.torch_why})")
    refs = {}
    for name in which:
        impls = tables[name]
        say(f"\n{'Muon' if name == 'muon' else 'AdaGO (Newton-Schulz)'}: {R} seeds x 50x30 least squares, T = {T}, "
            f"exact gradients, float64, {dev.name}")
        ref = _host(impls[next(iter(impls))][0]())
        # optax.contrib.muon follows its own (bias-corrected) rule: checked against a NumPy loop of that rule
        bc = [k for k, (_, kind) in impls.items() if kind == "muon-bc"]
        if bc and "muon-bc" not in refs:
            refs["muon-bc"] = base.muon_numpy(X0, base.residual_grad_np(A, B, C), T, bias_correction=True)
        tols = {None: 1e-8, **{k: 0.1 for k in impls if "torch.optim" in k}}
        _table(f"{name} {R}x50x30 T={T} {dev.name}", {k: (fn, _host) for k, (fn, _) in impls.items()}, ref, tols,
               rounds, dev, say, rows, unit=("s", 1.0), refs={k: refs["muon-bc"] for k in bc})


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def bench_peers_device(*, backend, device=None, quick=False, file=None, rounds=None, peers=base.PEERS):
    r"""Print and return the device peers table (see the module docstring).

    Parameters
    ----------
    backend : {"cupy", "torch"}
    device : str, optional
        ``backend="torch"``: a torch device (default ``"cuda"`` when available, else
        ``"cpu"``); ``backend="cupy"``: ``"cuda"`` or ``"cuda:K"``.
    quick : bool
        16 matrices; 4 seeds, T = 10; one round (for the test suite).
    file, rounds, peers
        As in :func:`.peers.bench_peers`.

    Returns
    -------
    rows : list of dict, or 2 after a one-line error on stderr (backend not installed, no CUDA
        device, a bad ``device``)
        ``workload``, ``impl``, ``seconds``, ``ratio``, ``agree`` as in :func:`.peers.bench_peers`.
    """
    from .tools import machine_summary, require_backend

    file = sys.stdout if file is None else file
    try:
        require_backend(backend)
        dev = _Device(backend, device)
    except (ImportError, RuntimeError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"adago-theory bench peers: error: {msg}", file=sys.stderr)
        return 2
    base.SELECTED.clear()
    base.SELECTED.update(peers)
    dev.find_peers(base.SELECTED)

    def say(s=""):
        print(s, file=file, flush=True)

    batch, R, T = (16, 4, 10) if quick else (1024, 64, 200)
    k_rounds = rounds or (1 if quick else 7)
    e_rounds = rounds or (1 if quick else 3)
    say(f"adago-theory bench peers --backend {backend} ({'quick' if quick else 'full'}), {dev.name}, "
        f"{machine_summary(backend)}")
    say("ratio = peer time / adago-theory time (above 1: adago-theory faster); every implementation is checked "
        "to agree before it is timed; every timer stops after a device synchronisation")
    rows = []
    kernel_sizes = [batch] + ([4096] if dev.on_gpu and not quick else [])
    for dtype in ("float32", "float64"):
        for b in kernel_sizes:
            say(f"\nNewton-Schulz (Jordan, {base.NS_STEPS} steps) on {b}x50x30, {dtype}, {dev.name}")
            _kernel(dev, (b, 50, 30), dtype, k_rounds, say, rows)
    say(f"\nLeast-squares gradient A^T(AXB - C)B^T on {R} runs of 50x30 (p = 100, q = 60), float64, one call, "
        f"{dev.name}")
    _grad(dev, R, k_rounds, say, rows)
    _e2e(dev, R, T, e_rounds, say, rows)
    if dev.on_gpu and not quick:
        _e2e(dev, 1024, T, e_rounds, say, rows, which=("muon",), torch_optim=False)
    return rows
