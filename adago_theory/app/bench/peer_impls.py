r"""The peers of ``adago-theory bench peers``: what a user would write instead, and the bench's shared helpers.

Plain NumPy, JAX/optax and PyTorch implementations of the Newton–Schulz kernel, Muon and AdaGO (each
written from its rule, not from adago-theory's code), the least-squares workload, interleaved timing
and the relative difference used to check agreement before timing.  Used by :mod:`.peers` (the CPU
comparison) and :mod:`.peers_device` (CuPy / PyTorch on a device); JAX and PyTorch are imported
lazily, here and nowhere else in the package.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import time

import numpy as np

__all__ = ["JORDAN", "NS_STEPS", "ETA_MUON", "ADAGO", "BETA", "PEERS", "SELECTED", "have", "why", "jax_modules",
           "ns_numpy", "ns_jnp", "ns_torch", "optax_ns", "interleaved", "rel", "lsq", "residual_grad_np",
           "muon_numpy", "adago_numpy", "optax_peers", "torch_muon"]


#: Jordan's quintic Newton–Schulz coefficients (Muon's; optax's and PyTorch's default).
JORDAN = (3.4445, -4.7750, 2.0315)


NS_STEPS = 5


ETA_MUON = 0.02


ADAGO = dict(eta=0.1, gamma=1.0, eps=1e-4, beta=0.95, v0=1e-6)


BETA = 0.95


#: Peer families: "numpy" (plain NumPy by hand), "jax" (JAX and optax), "torch" (PyTorch).
PEERS = ("numpy", "jax", "torch")


SELECTED = set(PEERS)


def have(name):
    family = "jax" if name in ("jax", "optax") else name
    return family in SELECTED and importlib.util.find_spec(name) is not None


def why(name):
    """Why a peer is skipped: not selected, or not installed (with the extra that installs it)."""
    family = "jax" if name in ("jax", "optax") else name
    if family not in SELECTED:
        return "not selected"
    extra = "peers" if family == "jax" else "torch"
    return f"{name} not installed; pip install 'adago-theory[{extra}]'"


def jax_modules():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


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


def ns_jnp(jnp, x, steps=NS_STEPS, coeffs=JORDAN):
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


def ns_torch(X, steps=NS_STEPS, coeffs=JORDAN):
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


def optax_ns(jnp):
    """optax's own Newton–Schulz (private module; the hand-written one if it moved)."""
    try:
        from optax.contrib._muon import orthogonalize_via_newton_schulz as ons

        coeffs = jnp.asarray(JORDAN)
        return lambda x: ons(x, coeffs, NS_STEPS, eps=0.0), "optax"
    except (ImportError, TypeError):  # pragma: no cover - depends on the optax version
        return lambda x: ns_jnp(jnp, x), "hand-written jnp"


def interleaved(fns, rounds, sync=None):
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


def rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def lsq(R, seed=0):
    from problems import make_matrix_least_squares

    P = make_matrix_least_squares(50, 30, rng=seed)
    X0 = P.initial_point(seed + 1, runs=R)
    return P, X0


def residual_grad_np(A, B, C):
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


def optax_peers(P, X0, T, say, jdev=None):
    """{label: (run() -> final X as NumPy, optimizer name)} for the optax peers (on JAX device ``jdev``)."""
    if not (have("jax") and have("optax")):
        say(f"  optax jit(vmap(scan)): skipped ({why('jax' if not have('jax') else 'optax')})")
        return {}
    jax, jnp = jax_modules()
    import optax

    def put(a):
        return jnp.asarray(a) if jdev is None else jax.device_put(np.asarray(a), jdev)

    ons, ns_src = optax_ns(jnp)
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


def torch_muon(P, X0, T, say, device="cpu"):
    if not have("torch"):
        say(f"  torch.optim.Muon: skipped ({why('torch')})")
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
