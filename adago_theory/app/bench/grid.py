r"""``adago-theory bench grid``: a hyperparameter grid as one batched run against one batched run per value.

An 8-value learning-rate sweep × 8 seeds of Muon and of AdaGO (Newton–Schulz) on one
least-squares problem (``make_matrix_least_squares(m, n)``, m×n = 50×30 and 10×6), T = 200,
exact gradients, float64:

* **grid as one batch**: one ``run`` on 64 runs with ``eta`` an array of shape (64,)
  (each value repeated over the 8 seeds; array hyperparameters broadcast over the run
  axes ``X.shape[:-2]``);
* **one batch per value**: eight ``run`` calls on 8 runs each, scalar ``eta``.

Both compute the same iterates: checked to 1e-12 over the first ``CHECK_STEPS`` steps before
timing (not over all T: Muon with a constant step ends up oscillating around the minimizer, where
the orthogonalized direction of a tiny gradient amplifies rounding — runs of the same math in
different batch layouts, whose products round differently, measured 1e-6 apart after 50 steps and
8e-2 after 200 at eta = 0.64; 1e-15 after 5).  The two are timed in interleaved rounds (median; with ``backend="cupy"`` or ``"torch"`` on CUDA the device
is synchronised before every timer stops).  Target (issue 13): the grid as one batch at least 4× faster.
On a GPU a batch of 64 runs of 50×30 is one kernel launch per product, where eight batches of 8 are eight,
so the per-launch cost the grid saves is the whole cost: ``--backend cupy`` (or ``torch`` with
``--device cuda``) is where the target can show at 50×30.
Where the installed optimizers do not accept array hyperparameters the bench says
"not available" and times nothing.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

__all__ = ["bench_grid", "ETAS", "TARGET", "CHECK_STEPS"]

#: The learning rates of the sweep (log-spaced, a factor 2 apart).
ETAS = tuple(0.005 * 2.0 ** k for k in range(8))
TARGET = 4.0
SHAPES = ((50, 30), (10, 6))
#: Steps over which the grid batch is checked against the separate runs (see the module docstring).
CHECK_STEPS = 5


def _array_hyperparameters_supported():
    """Whether ``muon`` accepts an array ``eta`` broadcast over the run axis (and steps with it)."""
    from adago_theory.optim import muon

    try:
        opt = muon(np.array([0.1, 0.2]))
        X = np.ones((2, 3, 2))
        X1, _ = opt.step(X, X, opt.init(X))
    except (TypeError, ValueError):
        return False
    return X1.shape == X.shape


def _factories():
    from adago_theory.optim import adago, muon

    return {
        "muon": lambda eta: muon(eta),
        "adago (newton-schulz)": lambda eta: adago(eta, gamma=1.0, eps=1e-4, orth="newton-schulz"),
    }


def bench_grid(*, backend="numpy", quick=False, file=None, rounds=None, device=None):
    r"""Print and return the grid-as-one-batch table.

    Parameters
    ----------
    backend : {"numpy", "torch", "cupy"}
        Where the problem and the runs live.
    device : str, optional
        ``backend="torch"``: the torch device (default ``"cuda"`` when available, else ``"cpu"``);
        ``"cupy"``: ``"cuda"`` or ``"cuda:K"`` (default: the current CUDA device).
    quick : bool
        2 values × 2 seeds, T = 5, one round (for the test suite).
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    rounds : int, optional
        Interleaved timing rounds (default 3; quick 1).

    Returns
    -------
    rows : list of dict, None, or 2
        2 after a one-line error on stderr (backend not installed, no CUDA device, a bad ``device``).
        One per optimizer and shape: ``optimizer``, ``shape``, ``grid_s`` (the one batched run), ``per_value_s``
        (the eight runs), ``speedup`` (``per_value_s / grid_s``), ``max_diff`` (largest
        relative difference of the iterates after ``CHECK_STEPS`` steps), ``target``; None when array
        hyperparameters are not available.
    """
    from .tools import machine_summary, require_backend

    file = sys.stdout if file is None else file
    try:
        require_backend(backend)
        device, sync = _device(backend, device)
    except (ImportError, RuntimeError, ValueError) as exc:
        print(f"adago-theory bench grid: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2

    def say(s=""):
        print(s, file=file, flush=True)

    etas = ETAS[:2] if quick else ETAS
    S, T = (2, 5) if quick else (8, 200)
    rounds = rounds or (1 if quick else 3)
    say(f"adago-theory bench grid ({'quick' if quick else 'full'}), {machine_summary(backend)}")
    say(f"{len(etas)} learning rates x {S} seeds, least squares, T = {T}, exact gradients, float64, "
        f"backend {backend}" + (f" on {device}" if device else ""))
    if not _array_hyperparameters_supported():
        say("grid as one batch: not available (the optimizers do not accept array hyperparameters here)")
        return None
    rows = []
    for shape in SHAPES[-1:] if quick else SHAPES:
        say(f"{shape[0]}x{shape[1]}:")
        rows += _one_shape(shape, etas, S, T, rounds, backend, say, device=device, sync=sync)
    return rows


def _device(backend, device):
    """(device for the problem, a synchronisation of it) for a backend; raises on a device that cannot run."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device must be None or 'cpu' for backend='numpy', got {device!r}")
        return None, lambda: None
    if backend == "cupy":
        import cupy

        if device not in (None, "cuda"):
            if not str(device).startswith("cuda:") or not str(device)[5:].isdigit():
                raise ValueError(f"device must be 'cuda' or 'cuda:K' for backend='cupy', got {device!r}")
            cupy.cuda.Device(int(str(device)[5:])).use()
        return None, lambda: cupy.cuda.Device().synchronize()
    import torch

    try:
        dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as exc:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda:0', got {device!r}") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device={device!r} needs CUDA, which PyTorch does not see here")
        return str(dev), lambda: torch.cuda.synchronize(dev)
    return str(dev), lambda: None


def _one_shape(shape, etas, S, T, rounds, backend, say, device=None, sync=lambda: None):
    from problems import make_matrix_least_squares

    from adago_theory.run import run

    P = make_matrix_least_squares(*shape, rng=0, backend=backend, device=device)
    X0 = P.initial_point(1, runs=S)
    xp = P.xp
    X0_grid = xp.concat([X0] * len(etas), axis=0)
    eta_grid = xp.asarray(np.repeat(np.asarray(etas), S), dtype=P.dtype)
    if backend != "numpy":
        from adago_theory.backend import device_of

        eta_grid = xp.asarray(eta_grid, device=device_of(X0))

    rows = []
    for name, make in _factories().items():
        def grid(T=T):
            return run(make(eta_grid), P, T, seeds=list(range(S * len(etas))), X0=X0_grid, record=[0, T]).X_final

        def per_value(T=T):
            return np.concatenate([run(make(e), P, T, seeds=list(range(S)), X0=X0, record=[0, T]).X_final
                                   for e in etas])

        a, b = grid(min(T, CHECK_STEPS)), per_value(min(T, CHECK_STEPS))
        diff = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        if diff > 1e-12:
            say(f"  {name}: the grid batch differs from the separate runs (relative {diff:.2e} > 1e-12 after "
                f"{min(T, CHECK_STEPS)} steps); not timed")
            continue
        grid(), per_value()                                          # warm-up at the full horizon
        times = {"grid": [], "per_value": []}
        for r in range(rounds):
            for key, fn in (("grid", grid), ("per_value", per_value))[:: 1 if r % 2 == 0 else -1]:
                sync()
                t0 = time.perf_counter()
                fn()
                sync()                    # (run's X_final is copied to the host, which waits too)
                times[key].append(time.perf_counter() - t0)
        g, p = statistics.median(times["grid"]), statistics.median(times["per_value"])
        rows.append(dict(optimizer=name, shape=shape, grid_s=g, per_value_s=p, speedup=p / g, max_diff=diff,
                         target=TARGET))
        verdict = "reached" if p / g >= TARGET else "missed"
        say(f"  {name:<24} grid as one batch {g:7.3f} s   {len(etas)} batched runs {p:7.3f} s   "
            f"speedup {p / g:5.2f}x  (target >= {TARGET:g}x: {verdict}; equal to {diff:.1e} after "
            f"{min(T, CHECK_STEPS)} steps)")
    return rows
