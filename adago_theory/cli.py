"""The ``adago-theory`` command line (argparse; one verb per sub-command)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _cmd_demo(args):
    from .demo import orth_error_table

    orth_error_table()
    return 0


def _cmd_bench(args):
    from .bench import run_bench

    return run_bench(args)


def build_parser():
    p = argparse.ArgumentParser(prog="adago-theory", description=__doc__)
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    d = sub.add_parser("demo", help="print the orthogonalization error table (NumPy)")
    d.set_defaults(func=_cmd_demo)
    b = sub.add_parser("bench", help="benchmarks: orth, optim")
    b.add_argument("what", choices=["orth", "optim"])
    b.add_argument("--backend", default="numpy", choices=["numpy", "cupy", "torch"])
    b.add_argument("--quick", action="store_true", help="small shapes, few repeats")
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
