"""Dispatch for ``adago-theory bench WHAT``."""

from __future__ import annotations

__all__ = ["run_bench"]


def run_bench(args):
    if args.what == "orth":
        from .bench_orth import bench_orth

        bench_orth(backend=args.backend, quick=args.quick)
    else:
        from .bench_optim import bench_optim

        bench_optim(backend=args.backend, quick=args.quick)
    return 0
