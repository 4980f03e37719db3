r"""``adago-theory train``: real training on digits with the toolkit's optimizers, into a resumable store.

Forms::

    adago-theory train digits --optimizer adago -O eta=0.1 --n-seeds 5      # one run (lists sweep)
    adago-theory train GRID.toml --out results/train                        # a grid file
    adago-theory train --print-example > grid.toml
    adago-theory train experiment eta-sweep|compare|spectra|all             # the seeds' experiments

This module imports neither torch nor scikit-learn at import time.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]

EXPERIMENTS = {"eta-sweep": "eta_sweep", "compare": "compare", "spectra": "spectra"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser(prog="adago-theory train"):
    p = _Parser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Train the 2-layer MLP (9,610 parameters) on scikit-learn's digits with the toolkit's "
                            "optimizers (PyTorch classes on the same kernel), seeds batched in one model; results go "
                            "to a resumable store (finished runs are skipped when run again).",
                epilog=f"examples:\n  {prog} digits --optimizer adago -O eta=0.1 --n-seeds 5\n"
                       f"  {prog} digits --optimizer adago,muon -O eta=0.01,0.1,1.0 --T 600 --n-seeds 5\n"
                       f"  {prog} --print-example > grid.toml && {prog} grid.toml --out results/train\n"
                       f"  {prog} experiment all --out results/train --figures docs/figures\n"
                       "needs the train extra: pip install 'adago-theory[train]'")
    p.add_argument("target", nargs="?", metavar="digits|GRID.toml|experiment",
                   help="the task 'digits', a grid file, or 'experiment'")
    p.add_argument("name", nargs="?", metavar="EXPERIMENT",
                   help="with 'experiment': eta-sweep, compare, spectra or all")
    p.add_argument("--optimizer", metavar="NAME[,NAME...]",
                   help="muon, adago, namo, namo_d, polargrad or adamw (comma-separated list sweeps)")
    p.add_argument("-O", "--opt-param", action="append", default=[], metavar="KEY=VALUE[,...]",
                   help="optimizer hyperparameter; eta is the learning rate (lists sweep; repeatable)")
    p.add_argument("--T", type=int, default=None, help="steps (default 600)")
    p.add_argument("--n-seeds", type=int, default=None, metavar="N", help="seeds 0..N-1, batched (default 1)")
    p.add_argument("--seeds", default=None, metavar="I,J,...", help="explicit seeds")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch size (default 64)")
    p.add_argument("--hidden", type=int, default=None, help="hidden units (default 128)")
    p.add_argument("--eval-every", type=int, default=None, help="full-batch evaluation every K steps (default 10)")
    p.add_argument("--spectra", action="store_true", default=None,
                   help="record gradient/momentum spectra and orthogonalization errors (log grid of steps)")
    p.add_argument("--out", default=None, metavar="DIR", help="results store (default results/train)")
    p.add_argument("--figures", default=None, metavar="DIR", help="experiment figures (default STORE/figures)")
    p.add_argument("--json", default=None, metavar="FILE", help="experiment verdicts as JSON")
    p.add_argument("--print-example", action="store_true", help="print a commented grid file and exit")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars on stderr (default: only on a terminal)")
    return p


class UsageError(ValueError):
    pass


def _spec(args):
    from ..sweep.config import ConfigError, parse_assignment

    if not args.optimizer:
        raise UsageError("--optimizer is required (or give a grid file)")
    opt = {"name": [t.strip() for t in args.optimizer.split(",")]}
    for text in args.opt_param:
        try:
            k, vals = parse_assignment(text, option="-O")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if k in opt:
            raise UsageError(f"-O {k} given twice")
        opt[k] = vals
    spec = {"optimizer": [opt]}
    if args.seeds is not None and args.n_seeds is not None:
        raise UsageError("conflicting options --seeds and --n-seeds: give one")
    if args.seeds is not None:
        try:
            spec["seeds"] = [int(t) for t in args.seeds.split(",")]
        except ValueError:
            raise UsageError(f"--seeds expects comma-separated integers, got {args.seeds!r}") from None
    elif args.n_seeds is not None:
        spec["seeds"] = args.n_seeds
    for key in ("T", "batch_size", "hidden", "eval_every", "spectra"):
        v = getattr(args, key)
        if v is not None:
            spec[key] = v
    return spec


def _report(summary, out):
    import numpy as np

    from ..sweep.store import load_results

    print(f"{len(summary.run_ids)} run(s): {summary.n_done} done, {summary.n_skipped} already finished, "
          f"{summary.n_failed} failed -> {out}")
    for rid, msg in summary.failed:
        print(f"  failed {rid}: {msg}  (details: {out}/errors/{rid}.json)", file=sys.stderr)
    df = load_results(out)
    for rid in summary.run_ids:
        d = df[df.run_id == rid]
        if d.empty:
            continue
        last = d[d.step == d.step.max()]
        acc, loss = last.test_acc.to_numpy(float), last.train_loss.to_numpy(float)
        params = ", ".join(f"{c[4:]}={d[c].iloc[0]}" for c in d.columns if c.startswith("opt_")
                           and d[c].notna().any())
        print(f"  {rid}  {d.optimizer.iloc[0]:<9} {params}: step {int(d.step.max())}, "
              f"train loss {np.median(loss):.4g} [{loss.min():.4g}, {loss.max():.4g}], "
              f"test acc {np.median(acc):.4f} [{acc.min():.4f}, {acc.max():.4f}] ({len(last)} seeds)")


def _experiment(args, prog):
    from pathlib import Path

    from .experiments import run_all

    name = args.name or "all"
    if name != "all" and name not in EXPERIMENTS:
        raise UsageError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS) + ['all']}")
    which = tuple(EXPERIMENTS.values()) if name == "all" else (EXPERIMENTS[name],)
    out = args.out or "results/train"
    figures = args.figures or str(Path(out) / "figures")
    res = run_all(out, figures, args.json, progress=args.progress, which=which)
    for exp, r in res.items():
        print(f"{exp}:")
        for claim, (verdict, detail) in r.get("claims", {}).items():
            print(f"  [{verdict}] {claim}: {detail}")
        for f in r.get("figure", []):
            print(f"  wrote {f}")
    return 0


def _run(args, prog):
    from .execute import EXAMPLE_GRID, expand_train_grid, run_train_grid

    if args.print_example:
        print(EXAMPLE_GRID, end="")
        return 0
    if args.target is None:
        raise UsageError("give 'digits', a grid file or 'experiment'")
    if args.target == "experiment":
        return _experiment(args, prog)
    if args.name is not None:
        raise UsageError(f"unexpected argument {args.name!r}")
    if args.target == "digits":
        spec = _spec(args)
    else:
        if args.optimizer or args.opt_param:
            raise UsageError("conflicting options: --optimizer/-O cannot be combined with a grid file")
        from ..sweep.config import ConfigError, load_grid_file

        try:
            spec = load_grid_file(args.target)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        for key in ("T", "batch_size", "hidden", "eval_every", "spectra"):
            if getattr(args, key) is not None:
                spec[key] = getattr(args, key)
    try:
        configs = expand_train_grid(spec)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = args.out or "results/train"
    summary = run_train_grid(configs, out, progress=args.progress, command=[prog] + list(args._argv))
    _report(summary, out)
    return 1 if summary.n_failed else 0


def main(argv=None, prog="adago-theory train"):
    """Entry point of ``adago-theory train``; returns the exit status (2 on a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = build_parser(prog)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    args._argv = argv
    try:
        return int(_run(args, prog) or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
