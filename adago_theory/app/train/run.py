r"""One training run on digits: a config in, a tidy table out (one row per seed and recorded step).

A *train run* is one optimizer with one set of hyperparameters for ``T`` steps, its seeds batched
(the MLP of :mod:`.model` replicated over seeds, optimizer built with ``batch_dims=1``).

Config keys (defaults in brackets)::

    task          "digits"                                       ["digits"]
    optimizer     muon | adago | namo | namo_d | polargrad | adamw  (required)
    optimizer_params  {"eta": ..., other factory arguments}      (eta required)
    T             steps                                          [600]
    seeds         list of seeds (init and minibatch order)       [[0]]
    batch_size    minibatch size                                 [64]
    hidden        hidden units                                   [128]
    eval_every    full-batch evaluation every k steps            [10]
    spectra       record gradient/momentum spectra (log grid)    [False]
    dtype         "float32" | "float64"                          ["float32"]
    fallback_lr   AdamW rate of the biases (orthogonalized rules) [3e-3]

Stated defaults of the optimizers here: AdaGO ``gamma = 10``, ``eps = 1e-3`` (seed 000's
experiment 1), ``orth="svd"``; every rule with weight decay 0 (AdamW too), other hyperparameters
the factories' defaults.  The biases of the orthogonalized rules go to the toolkit's AdamW with
``fallback_lr`` and weight decay 0.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

__all__ = ["canonical", "train_id", "train_run", "TRAIN_OPTIMIZERS", "DEFAULTS", "log_steps"]

TRAIN_OPTIMIZERS = ("muon", "adago", "namo", "namo_d", "polargrad", "adamw")
DEFAULTS = {"task": "digits", "T": 600, "seeds": [0], "batch_size": 64, "hidden": 128, "eval_every": 10,
            "spectra": False, "dtype": "float32", "fallback_lr": 3e-3}
_OPT_DEFAULTS = {"adago": {"gamma": 10.0, "eps": 1e-3}, "adamw": {"weight_decay": 0.0}}
_KEYS = set(DEFAULTS) | {"optimizer", "optimizer_params"}


def canonical(config):
    """Validated config with defaults filled and keys sorted (``ValueError`` naming the key otherwise)."""
    unknown = set(config) - _KEYS
    if unknown:
        raise ValueError(f"unknown train config key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    c = {**DEFAULTS, **config}
    if c["task"] != "digits":
        raise ValueError(f"task must be 'digits', got {c['task']!r}")
    if c.get("optimizer") not in TRAIN_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(TRAIN_OPTIMIZERS)}, got {c.get('optimizer')!r}")
    op = {**_OPT_DEFAULTS.get(c["optimizer"], {}), **dict(c.get("optimizer_params") or {})}
    if "eta" not in op:
        raise ValueError("optimizer_params needs eta (the learning rate), e.g. -O eta=0.1")
    c["optimizer_params"] = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) and k != "steps" else v)
                             for k, v in sorted(op.items())}
    for key, lo in (("T", 1), ("batch_size", 1), ("hidden", 1), ("eval_every", 1)):
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{key} must be an integer >= {lo}, got {v!r}")
    seeds = c["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers >= 0 (or a count), got {c['seeds']!r}")
    c["seeds"] = sorted(set(seeds))
    if c["dtype"] not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {c['dtype']!r}")
    c["fallback_lr"] = float(c["fallback_lr"])
    if not (math.isfinite(c["fallback_lr"]) and c["fallback_lr"] >= 0):
        raise ValueError(f"fallback_lr must be a finite number >= 0, got {c['fallback_lr']!r}")
    c["spectra"] = bool(c["spectra"])
    return {k: c[k] for k in sorted(c)}


def train_id(config):
    """Run ID: 16 hex digits of the SHA-256 of the canonical config (prefixed ``train-``)."""
    text = json.dumps(canonical(config), sort_keys=True, separators=(",", ":"))
    return "train-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def log_steps(T, per_decade=6):
    """About ``per_decade`` log-spaced steps per decade in ``1..T`` (always 1 and T)."""
    import numpy as np

    n = max(2, int(per_decade * math.log10(max(T, 10))) + 1)
    return sorted({int(round(v)) for v in np.logspace(0, math.log10(T), n)} | {1, T})


def build_optimizer(name, hyper, params, fallback_lr):
    """The torch optimizer of a train run (``batch_dims=1``: the seed axis holds independent runs)."""
    from ...torch_optim import NAMO, NAMOD, AdaGO, KernelOptimizer, Muon, PolarGrad

    hyper = dict(hyper)
    eta = hyper.pop("eta")
    if name == "adamw":
        return KernelOptimizer(params, "adamw", lr=eta, hyper=hyper, orthogonalize=False, fallback="adamw",
                               fallback_lr=eta, fallback_options=hyper, batch_dims=1)
    cls = {"muon": Muon, "adago": AdaGO, "namo": NAMO, "namo_d": NAMOD, "polargrad": PolarGrad}[name]
    return cls(params, lr=eta, batch_dims=1, fallback_lr=fallback_lr, fallback_options={"weight_decay": 0.0},
               **hyper)


def train_run(config, *, progress=None, spectra_rng=0, threads=1):
    """Train with ``threads`` intra-op torch threads (1 by default: these matrices are too small to share)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train_run(config, progress=progress, spectra_rng=spectra_rng)
    finally:
        torch.set_num_threads(before)


def _train_run(config, *, progress=None, spectra_rng=0):
    """Train; return a pandas DataFrame with one row per (seed, recorded step).

    Columns: ``seed``, ``step``, ``train_loss`` / ``test_loss`` (full-batch mean cross-entropy),
    ``test_acc``, ``batch_loss`` (the minibatch loss of that step), ``alpha_W1`` / ``alpha_W2``
    (the step-size field of the optimizer state, where it has one), and with ``spectra`` the
    statistics of :func:`.spectra.spectrum_stats` for ``{W1,W2} x {G,M}`` at the log grid of steps.
    """
    import numpy as np
    import pandas as pd
    import torch
    from tqdm.auto import tqdm

    from .data import load_digits_split
    from .model import forward, init_mlp, per_seed_loss
    from .spectra import spectrum_stats

    c = canonical(config)
    dt = getattr(torch, c["dtype"])
    Xtr, ytr, Xte, yte = load_digits_split(c["dtype"])
    N, d = Xtr.shape
    S, B, T = len(c["seeds"]), c["batch_size"], c["T"]
    params = init_mlp(c["seeds"], d, c["hidden"], 10, dtype=dt)
    opt = build_optimizer(c["optimizer"], c["optimizer_params"], params, c["fallback_lr"])
    # minibatch order: per seed, a fresh permutation every epoch (generator seeded by 10_000 + seed)
    epochs = -(-T * B // N) + 1
    order = []
    for s in c["seeds"]:
        g = torch.Generator().manual_seed(10_000 + int(s))
        order.append(torch.cat([torch.randperm(N, generator=g) for _ in range(epochs)]))
    order = torch.stack(order)
    evals = set(range(0, T + 1, c["eval_every"])) | {T}
    spec_steps = set(log_steps(T)) if c["spectra"] else set()
    rng = np.random.default_rng(spectra_rng)
    rows = {s: {} for s in range(S)}

    def record(t, key, vals):
        for s in range(S):
            rows[s].setdefault(t, {})[key] = vals[s]

    def evaluate(t):
        with torch.no_grad():
            record(t, "train_loss", per_seed_loss(forward(params, Xtr), ytr).tolist())
            logits = forward(params, Xte)
            record(t, "test_loss", per_seed_loss(logits, yte).tolist())
            record(t, "test_acc", (logits.argmax(-1) == yte).to(torch.float64).mean(dim=1).tolist())

    desc = f"{c['optimizer']} eta={c['optimizer_params']['eta']:g}"
    disable = None if progress is None else not progress
    evaluate(0)
    t0 = time.perf_counter()
    with tqdm(total=T, desc=desc, unit="step", disable=disable, leave=False, dynamic_ncols=True) as bar:
        for t in range(1, T + 1):
            idx = order[:, (t - 1) * B:t * B]
            loss = per_seed_loss(forward(params, Xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            if t in spec_steps:
                for name, p in (("W1", params[0]), ("W2", params[2])):
                    st = opt.state[p]
                    mom = st.get("M", st.get("m"))
                    for kind, A in (("G", p.grad), ("M", mom)):
                        if A is None:
                            continue
                        stats = spectrum_stats(A.detach(), rng=rng, dtype=dt)
                        for k, v in stats.items():
                            record(t, f"{name}_{kind}_{k}", v)
            if t in evals:
                record(t, "batch_loss", loss.detach().tolist())
                for name, p in (("W1", params[0]), ("W2", params[2])):
                    a = opt.state[p].get("alpha")
                    if a is not None:
                        record(t, f"alpha_{name}", a.detach().double().reshape(S).tolist())
                evaluate(t)
                bar.set_postfix(loss=f"{float(loss.detach().mean()):.3g}", refresh=False)
            bar.update(1)
    wall = time.perf_counter() - t0
    out = []
    for s, seed in enumerate(c["seeds"]):
        for t in sorted(rows[s]):
            out.append({"seed": seed, "step": t, **rows[s][t]})
    df = pd.DataFrame(out)
    df.attrs["wall_s"] = wall
    return df
