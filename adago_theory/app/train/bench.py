r"""``adago-theory bench train``: one training step with the toolkit's Muon against ``torch.optim.Muon``.

Same model, same batch, same rule: the toolkit's :class:`~adago_theory.torch_optim.Muon` with
``scale="jordan"`` and ``orth=("newton-schulz", {"eps": 1e-7})`` is ``torch.optim.Muon``'s update
(``adjust_lr_fn="original"``); biases go to AdamW in both (the toolkit's AdamW fallback, resp.
``torch.optim.AdamW``).  The differences measured are the implementations: the toolkit stacks
equal-shape small matrices (below ``torch_optim.engine.STACK_MAX_NUMEL`` entries) into one
functional call and runs its Newton–Schulz in bfloat16 (``orth_dtype``) or float32; torch's runs
matrix by matrix in bfloat16.  A *step* is ``zero_grad`` + forward + backward +
``optimizer.step()``; the optimizers alternate (interleaved repeats) and the medians are compared
in one run, both as wall-clock time and as the thread's CPU time (``time.thread_time``: time
spent descheduled by other jobs on a shared machine does not count, contention for caches and
memory still does).
"""

from __future__ import annotations

import statistics
import sys
import time

__all__ = ["bench_train", "MODELS"]

#: name -> (input dim, hidden sizes, classes, batch size)
MODELS = {
    "digits MLP 64-128-10 (the experiments')": (64, [128], 10, 64),
    "MLP 64-512-512-512-10": (64, [512, 512, 512], 10, 256),
    "MLP 256-1024-1024-10": (256, [1024, 1024], 10, 256),
}


def _model(d, hidden, c, seed):
    import torch

    torch.manual_seed(seed)
    layers, prev = [], d
    for h in hidden:
        layers += [torch.nn.Linear(prev, h), torch.nn.ReLU()]
        prev = h
    layers.append(torch.nn.Linear(prev, c))
    return torch.nn.Sequential(*layers)


def _ours(model, lr, orth_dtype=None, check_finite=True):
    from ...torch_optim import Muon

    return [Muon(model.parameters(), lr=lr, scale="jordan", orth=("newton-schulz", {"eps": 1e-7}),
                 weight_decay=0.0, fallback_lr=1e-3, fallback_options={"weight_decay": 0.0}, orth_dtype=orth_dtype,
                 check_finite=check_finite)]


def _ours_bf16(model, lr):
    import torch

    return _ours(model, lr, torch.bfloat16)


def _ours_bf16_unchecked(model, lr):
    import torch

    return _ours(model, lr, torch.bfloat16, check_finite=False)


def _theirs(model, lr):
    import torch

    mats = [p for p in model.parameters() if p.ndim == 2]
    rest = [p for p in model.parameters() if p.ndim != 2]
    return [torch.optim.Muon(mats, lr=lr, weight_decay=0.0), torch.optim.AdamW(rest, lr=1e-3, weight_decay=0.0)]


def _step(model, opts, x, y):
    """One training step; returns the seconds spent in the optimizers' ``step`` alone."""
    import torch

    for o in opts:
        o.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    t = time.perf_counter()
    for o in opts:
        o.step()
    return time.perf_counter() - t


def bench_train(backend="torch", quick=False, file=None, threads=None):
    """Print the per-step medians and the ratios toolkit / torch for each model; returns 0.

    ``threads``: torch intra-op threads (default: torch's).  With ``quick``, fewer repeats.
    Columns: the toolkit with Newton–Schulz in bfloat16 (torch's precision; the ratio the target
    is about), the same with ``check_finite=False`` (no NaN/Inf screen: torch's contract), with
    Newton–Schulz in float32 (the toolkit's default dtype), and the ratio of the optimizer's
    ``step`` alone and of the thread's CPU time (bfloat16, screened).
    """
    import torch

    file = sys.stdout if file is None else file
    if not hasattr(torch.optim, "Muon"):
        print(f"torch {torch.__version__} has no torch.optim.Muon (needs >= 2.9); nothing to compare", file=file)
        return 1
    if threads is not None:
        torch.set_num_threads(threads)
    reps, warm = (25, 3) if quick else (61, 5)
    print(f"bench train: torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU; "
          f"median of {reps} interleaved steps after {warm} warm-up", file=file)
    print(f"{'model':<40}{'toolkit':>10}{'unchecked':>11}{'f32-NS':>10}{'torch':>10}{'ratio':>7}"
          f"{'unchecked':>10}{'f32':>6}{'step only':>10}{'CPU time':>9}", file=file)
    g = torch.Generator().manual_seed(0)
    variants = (("ours", _ours_bf16), ("ours_nc", _ours_bf16_unchecked), ("ours32", _ours), ("theirs", _theirs))
    for name, (d, hidden, c, B) in MODELS.items():
        if quick and max(hidden) > 512:
            continue
        x = torch.randn(B, d, generator=g)
        y = torch.randint(0, c, (B,), generator=g)
        runs = {}
        for key, make in variants:
            m = _model(d, hidden, c, 0)
            runs[key] = (m, make(m, 0.02))
        times = {key: [] for key, _ in variants}
        cpu = {key: [] for key, _ in variants}
        opt_t = {key: [] for key, _ in variants}
        order = [key for key, _ in variants]
        for i in range(warm + reps):
            for key in (order if i % 2 == 0 else order[::-1]):
                m, opts = runs[key]
                c0, t = time.thread_time(), time.perf_counter()
                s = _step(m, opts, x, y)
                if i >= warm:
                    times[key].append(time.perf_counter() - t)
                    cpu[key].append(time.thread_time() - c0)
                    opt_t[key].append(s)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}

        def ratio(series, key):
            # the median of the per-round ratios: each round runs every variant back to back, so
            # a slow spell of a shared machine hits both sides of a ratio (paired, not two medians)
            return statistics.median(a / b for a, b in zip(series[key], series["theirs"]))

        print(f"{name[:39]:<40}{med['ours']:>7.2f} ms{med['ours_nc']:>8.2f} ms{med['ours32']:>7.2f} ms"
              f"{med['theirs']:>7.2f} ms{ratio(times, 'ours'):>7.2f}{ratio(times, 'ours_nc'):>10.2f}"
              f"{ratio(times, 'ours32'):>6.2f}{ratio(opt_t, 'ours'):>10.2f}{ratio(cpu, 'ours'):>9.2f}", file=file)
    print("ms per training step (zero_grad + forward + backward + step), median wall-clock time; ratio = toolkit / "
          "torch.optim.Muon, Newton-Schulz in bfloat16 as torch does (unchecked: check_finite=False, no NaN/Inf "
          "screen, torch's contract; f32: the toolkit's default float32 Newton-Schulz; step only: the optimizers' "
          "step() alone; CPU time: the thread's; each ratio is the median of the per-round ratios); below 1: "
          "the toolkit is faster", file=file)
    return 0
