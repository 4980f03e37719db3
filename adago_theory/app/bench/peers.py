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

import importlib.util
import math
import statistics
import sys
import time

import numpy as np

__all__ = ["bench_peers", "JORDAN"]

#: Jordan's quintic Newton–Schulz coefficients (Muon's; optax's and PyTorch's default).
JORDAN = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5
ETA_MUON = 0.02
ADAGO = dict(eta=0.1, gamma=1.0, eps=1e-4, beta=0.95, v0=1e-6)
BETA = 0.95


# ---------------------------------------------------------------------------
# peers' availability (lazy)
# ---------------------------------------------------------------------------


#: Peer families: "numpy" (plain NumPy by hand), "jax" (JAX and optax), "torch" (PyTorch).
PEERS = ("numpy", "jax", "torch")
_SELECTED = set(PEERS)


def _have(name):
    family = "jax" if name in ("jax", "optax") else name
    return family in _SELECTED and importlib.util.find_spec(name) is not None


def _why(name):
    """Why a peer is skipped: not selected, or not installed (with the extra that installs it)."""
    family = "jax" if name in ("jax", "optax") else name
    if family not in _SELECTED:
        return "not selected"
    extra = "peers" if family == "jax" else "torch"
    return f"{name} not installed; pip install 'adago-theory[{extra}]'"


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


# ---------------------------------------------------------------------------
# the Newton–Schulz iteration written by hand in each library
# ---------------------------------------------------------------------------


def ns_numpy(W, steps=NS_STEPS, coeffs=JORDAN, xp=np):
    """Plain NumPy, stacked products: what a user writes by hand (``xp=cupy``: the same in raw CuPy)."""
    a, b, c = coeffs
    tall = W.shape[-2] > W.shape[-1]
    X = xp.swapaxes(W, -1, -2) if tall else W
    X = X / xp.sqrt(xp.sum(X * X, axis=(-2, -1), keepdims=True))
    for _ in range(steps):
        A = X @ xp.swapaxes(X, -1, -2)
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return xp.swapaxes(X, -1, -2) if tall else X


def _ns_jnp(jnp, x, steps=NS_STEPS, coeffs=JORDAN):
    """One matrix, JAX (vmapped by the caller)."""
    a, b, c = coeffs
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / jnp.sqrt(jnp.sum(x * x))
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * (A @ A)
        x = a * x + B @ x
    return x.T if tall else x


def _ns_torch(X, steps=NS_STEPS, coeffs=JORDAN):
    a, b, c = coeffs
    tall = X.shape[-2] > X.shape[-1]
    if tall:
        X = X.mT
    X = X / X.square().sum(dim=(-2, -1), keepdim=True).sqrt()
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.mT if tall else X


def _optax_ns(jnp):
    """optax's own Newton–Schulz (private module; the hand-written one if it moved)."""
    try:
        from optax.contrib._muon import orthogonalize_via_newton_schulz as ons

        coeffs = jnp.asarray(JORDAN)
        return lambda x: ons(x, coeffs, NS_STEPS, eps=0.0), "optax"
    except (ImportError, TypeError):  # pragma: no cover - depends on the optax version
        return lambda x: _ns_jnp(jnp, x), "hand-written jnp"


# ---------------------------------------------------------------------------
# timing: interleaved rounds
# ---------------------------------------------------------------------------


def _interleaved(fns, rounds, sync=None):
    """{label: median seconds} of one call each per round, the order rotating every round.

    ``sync()`` (a device synchronisation) runs before the clock starts and before it stops.
    """
    labels = list(fns)
    times = {k: [] for k in labels}
    sync = sync or (lambda: None)
    for r in range(rounds):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        for k in order:
            sync()
            t0 = time.perf_counter()
            fns[k]()
            sync()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


# ---------------------------------------------------------------------------
# 1. the kernel
# ---------------------------------------------------------------------------


def _kernel_impls(W, dtype, say):
    from adago_theory.orthogonalize import orthogonalize

    impls = {"adago-theory": (lambda: orthogonalize(W, "newton-schulz"), lambda o: o)}
    if "numpy" in _SELECTED:
        impls["plain NumPy"] = (lambda: ns_numpy(W), lambda o: o)
    if _have("jax"):
        jax, jnp = _jax()
        Wj = jnp.asarray(W)
        f = jax.jit(jax.vmap(lambda x: _ns_jnp(jnp, x)))
        impls["JAX jit(vmap)"] = (lambda: f(Wj).block_until_ready(), np.asarray)
    else:
        say(f"  JAX jit(vmap): skipped ({_why('jax')})")
    if _have("torch"):
        import torch

        Wt = torch.from_numpy(W)
        impls["PyTorch batched"] = (lambda: _ns_torch(Wt), lambda o: o.numpy())
    else:
        say(f"  PyTorch batched: skipped ({_why('torch')})")
    return impls


def _bench_kernel(shape, dtype, rounds, say, rows):
    W = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    impls = _kernel_impls(W, dtype, say)
    ref = impls["adago-theory"][0]()
    tol = 1e-10 if dtype == "float64" else 1e-4
    fns, agree = {}, {}
    for label, (fn, host) in impls.items():
        err = _rel(host(fn()), ref)              # also the warm-up (JAX compiles here)
        agree[label] = err
        if err > tol:
            say(f"  {label}: disagrees with adago-theory (relative difference {err:.2e} > {tol:g}); not timed")
            continue
        fns[label] = fn
    t = _interleaved(fns, rounds)
    ours = t["adago-theory"]
    for label, s in t.items():
        rows.append(dict(workload=f"Newton-Schulz {'x'.join(map(str, shape))} {dtype}", impl=label, seconds=s,
                         ratio=s / ours, agree=agree[label]))
        say(f"  {label:<34} {1e3 * s:9.1f} ms   {s / ours:6.2f}x   (agrees to {agree[label]:.1e})")


# ---------------------------------------------------------------------------
# 2. end to end: Muon and AdaGO on 64 seeds of least squares
# ---------------------------------------------------------------------------


def _lsq(R, seed=0):
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(50, 30, rng=seed)
    X0 = P.initial_point(seed + 1, runs=R)
    return P, X0


def _residual_grad_np(A, B, C):
    def grad(X):
        return A.T @ (A @ X @ B - C) @ B.T
    return grad


def muon_numpy(X0, grad, T, eta=ETA_MUON, beta=BETA, bias_correction=False, xp=np):
    r"""Muon (Nesterov, Jordan's NS) as a plain NumPy loop over steps, batched over seeds.

    ``bias_correction=True`` is optax.contrib.muon's rule:
    :math:`\hat\mu = \beta\mu_t/(1-\beta^{t+1}) + (1-\beta)G_t/(1-\beta^t)`.
    ``xp=cupy``: the same loop in raw CuPy.
    """
    X = X0.copy()
    M = xp.zeros_like(X)
    for t in range(1, T + 1):
        G = grad(X)
        M = beta * M + (1 - beta) * G
        if bias_correction:
            U = beta * M / (1 - beta ** (t + 1)) + (1 - beta) * G / (1 - beta ** t)
        else:
            U = (1 - beta) * G + beta * M
        X = X - eta * ns_numpy(U, xp=xp)
    return X


def adago_numpy(X0, grad, T, eta, gamma, eps, beta, v0, xp=np):
    r"""AdaGO (``adago_theory.optim.adago``, Newton–Schulz) as a plain NumPy loop (``xp=cupy``: raw CuPy)."""
    X = X0.copy()
    M = xp.zeros_like(X)
    v2 = xp.full(X.shape[:-2], v0 * v0)
    for _ in range(T):
        G = grad(X)
        M = beta * M + (1 - beta) * G
        g = xp.sqrt(xp.sum(G * G, axis=(-2, -1)))
        gc = xp.minimum(g, gamma)
        v2 = v2 + gc * gc
        alpha = xp.maximum(eps, eta * gc / xp.sqrt(v2))
        X = X - alpha[..., None, None] * ns_numpy(M, xp=xp)
    return X


def _optax_peers(P, X0, T, say, jdev=None):
    """{label: (run() -> final X as NumPy, optimizer name)} for the optax peers (on JAX device ``jdev``)."""
    if not (_have("jax") and _have("optax")):
        say(f"  optax jit(vmap(scan)): skipped ({_why('jax' if not _have('jax') else 'optax')})")
        return {}
    jax, jnp = _jax()
    import optax

    def put(a):
        return jnp.asarray(a) if jdev is None else jax.device_put(np.asarray(a), jdev)

    ons, ns_src = _optax_ns(jnp)
    A, B, C = (put(P.host[k]) for k in ("A", "B", "C"))
    GA, GB, Xs = (put(P.host[k]) for k in ("GA", "GB", "X_star"))

    def loss(x):
        r = A @ x @ B - C
        return 0.5 * jnp.sum(r * r)

    autodiff = jax.grad(loss)

    def gram(x):
        return GA @ (x - Xs) @ GB

    def muon_tx(eta):
        """Jordan's Muon from optax pieces: EMA momentum, Nesterov mix, optax's NS, scale(-eta)."""
        def init(params):
            return optax.tree.zeros_like(params)

        def update(g, mu, params=None):
            mu = optax.tree.update_moment(g, mu, BETA, 1)
            u = jax.tree.map(lambda m, gg: BETA * m + (1 - BETA) * gg, mu, g)
            return jax.tree.map(lambda x: -eta * ons(x), u), mu

        return optax.GradientTransformation(init, update)

    def adago_tx(eta, gamma, eps, beta, v0):
        """AdaGO as an optax GradientTransformation (one matrix per parameter leaf)."""
        def init(params):
            return (optax.tree.zeros_like(params), jnp.asarray(v0 * v0, dtype=jnp.float64))

        def update(g, state, params=None):
            mu, v2 = state
            mu = optax.tree.update_moment(g, mu, beta, 1)
            gc = jnp.minimum(optax.tree.norm(g), gamma)
            v2 = v2 + gc * gc
            alpha = jnp.maximum(eps, eta * gc / jnp.sqrt(v2))
            return jax.tree.map(lambda m: -alpha * ons(m), mu), (mu, v2)

        return optax.GradientTransformation(init, update)

    def runner(tx, gradf):
        def one(x0):
            def body(carry, _):
                x, s = carry
                u, s = tx.update(gradf(x), s, x)
                return (optax.apply_updates(x, u), s), None

            (x, _), _ = jax.lax.scan(body, (x0, tx.init(x0)), None, length=T)
            return x

        f = jax.jit(jax.vmap(one))
        X0j = put(X0)
        return lambda: np.asarray(f(X0j).block_until_ready())

    out = {
        "optax jit(vmap(scan)), building blocks": (runner(muon_tx(ETA_MUON), autodiff), "muon"),
        "optax, same, Gram-form gradient": (runner(muon_tx(ETA_MUON), gram), "muon"),
        "optax.contrib.muon (bias-corrected)": (
            runner(optax.contrib.muon(ETA_MUON, ns_steps=NS_STEPS, beta=BETA, eps=0.0, nesterov=True), autodiff),
            "muon-bc"),
        "optax jit(vmap(scan)), building blocks  ": (runner(adago_tx(**ADAGO), autodiff), "adago"),
        "optax, same, Gram-form gradient  ": (runner(adago_tx(**ADAGO), gram), "adago"),
    }
    say(f"  (optax peers use {ns_src} Newton-Schulz)")
    return out


def _torch_muon(P, X0, T, say, device="cpu"):
    if not _have("torch"):
        say(f"  torch.optim.Muon: skipped ({_why('torch')})")
        return {}
    import torch

    if not hasattr(torch.optim, "Muon"):
        say(f"  torch.optim.Muon: skipped (not in torch {torch.__version__})")
        return {}
    A, B, C = (torch.from_numpy(P.host[k]).to(device) for k in ("A", "B", "C"))
    m, n = X0.shape[-2:]
    lr = ETA_MUON / math.sqrt(max(1.0, m / n))         # torch scales lr by sqrt(max(1, m/n))

    def go():
        params = [torch.nn.Parameter(torch.from_numpy(x.copy()).to(device)) for x in X0]
        opt = torch.optim.Muon(params, lr=lr, weight_decay=0.0, momentum=BETA, nesterov=True,
                               ns_coefficients=JORDAN, ns_steps=NS_STEPS, eps=1e-300)
        for _ in range(T):
            opt.zero_grad(set_to_none=False)
            X = torch.stack(params)
            loss = 0.5 * ((A @ X @ B - C) ** 2).sum()
            loss.backward()
            opt.step()
        return torch.stack([p.detach() for p in params]).cpu().numpy()

    where = "" if str(device) == "cpu" else f" on {device}"
    return {f"torch.optim.Muon ({len(X0)} parameters{where})": (go, "muon")}


def _bench_grad(R, rounds, say, rows):
    """The least-squares gradient on R runs: problem.grad (Gram form) vs the residual form (before 2026-12-01)."""
    P, X0 = _lsq(R)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    residual = _residual_grad_np(A, B, C)
    ref = P.grad(X0)
    impls = {"adago-theory problem.grad (Gram form)": lambda: P.grad(X0),
             "residual form, stacked NumPy (before)": lambda: residual(X0)}
    if _have("jax"):
        jax, jnp = _jax()
        Aj, Bj, Cj, Xj = (jnp.asarray(v) for v in (A, B, C, X0))
        g = jax.jit(jax.vmap(jax.grad(lambda x: 0.5 * jnp.sum((Aj @ x @ Bj - Cj) ** 2))))
        impls["JAX jit(vmap(grad))"] = lambda: np.asarray(g(Xj).block_until_ready())
    fns, agree = {}, {}
    for label, fn in impls.items():
        agree[label] = _rel(fn(), ref)
        if agree[label] > 1e-12:
            say(f"  {label}: disagrees (relative difference {agree[label]:.2e} > 1e-12); not timed")
            continue
        fns[label] = lambda fn=fn: [fn() for _ in range(10)]
    t = _interleaved(fns, rounds)
    ours = t["adago-theory problem.grad (Gram form)"]
    for label, s in t.items():
        rows.append(dict(workload=f"lsq gradient {R}x50x30", impl=label, seconds=s / 10, ratio=s / ours,
                         agree=agree[label]))
        say(f"  {label:<44} {1e2 * s:8.3f} ms   {s / ours:6.2f}x   (agrees to {agree[label]:.1e})")


def _bench_e2e(R, T, rounds, say, rows):
    from adago_theory.optim import adago, muon
    from adago_theory.run import run

    P, X0 = _lsq(R)
    A, B, C = P.host["A"], P.host["B"], P.host["C"]
    grad = _residual_grad_np(A, B, C)
    seeds = list(range(R))

    def ours(opt):
        return lambda: run(opt, P, T, seeds=seeds, X0=X0, record=[0, T]).X_final

    peers = {**_optax_peers(P, X0, T, say), **_torch_muon(P, X0, T, say)}
    tables = {
        "muon": {"adago-theory run(record=[0, T])": ours(muon(ETA_MUON, beta=BETA, nesterov=True)),
                 "adago-theory run(record='auto': every step)": (
                     lambda: run(muon(ETA_MUON, beta=BETA, nesterov=True), P, T, seeds=seeds, X0=X0).X_final),
                 **({"plain NumPy loop": lambda: muon_numpy(X0, grad, T)} if "numpy" in _SELECTED else {})},
        "adago": {"adago-theory run(record=[0, T])": ours(adago(ADAGO["eta"], gamma=ADAGO["gamma"], eps=ADAGO["eps"],
                                                                 beta=ADAGO["beta"], v0=ADAGO["v0"],
                                                                 orth="newton-schulz")),
                  **({"plain NumPy loop": lambda: adago_numpy(X0, grad, T, **ADAGO)} if "numpy" in _SELECTED else {})},
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
            err = _rel(fn(), target)               # also the warm-up
            agree[label] = err
            if err > tol:
                say(f"  {label}: disagrees (relative difference {err:.2e} > {tol:g}); not timed")
                continue
            fns[label] = fn
        t = _interleaved(fns, rounds)
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
    _SELECTED.clear()
    _SELECTED.update(peers)

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
