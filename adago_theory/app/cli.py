r"""The ``adago-theory`` command line: run, sweep, verify, plot, bench, info, demo.

Every verb is a thin layer over library functions (:mod:`adago_theory.app.sweep`,
:mod:`adago_theory.app.info`, the benchmark modules); ``main(argv)`` returns the exit status:
0 on success, 1 when work failed (a run raised, a benchmark is missing), 2 on a usage
error (malformed config file, unknown name, conflicting options), always reported as one
line on stderr without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main", "build_parser", "UsageError"]

PROG = "adago-theory"


class UsageError(ValueError):
    """A mistake in the command line; reported as one line, exit status 2."""


class RuntimeFailure(RuntimeError):
    """Work could not be done (an unwritable directory, an unreachable cluster); one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


_FORMATTER = argparse.RawDescriptionHelpFormatter


# ---------------------------------------------------------------------------
# shared options
# ---------------------------------------------------------------------------


def _common(p, *, out_default, dtype=True, seed=True):
    g = p.add_argument_group("common options")
    g.add_argument("--backend", choices=["numpy", "cupy", "torch"], default=None,
                   help="array backend of the runs (default numpy)")
    if dtype:
        g.add_argument("--dtype", choices=["float16", "bfloat16", "float32", "float64"], default=None,
                       help="floating dtype of the runs (default float64; bfloat16 needs torch)")
        g.add_argument("--device", default=None, help="backend device, e.g. cuda:0 (default: the backend's)")
    g.add_argument("--out", default=None, metavar="DIR", help=f"results store directory (default {out_default})")
    if seed:
        g.add_argument("--seed", type=_nonneg_int, default=None, metavar="S",
                       help="base seed: seeds the problem instance and is the first run seed (default 0)")


def _int_at_least(lo):
    """An argparse type: an integer >= lo, with a one-line message otherwise."""

    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {v}")
        return v

    return parse


_nonneg_int = _int_at_least(0)
_pos_int = _int_at_least(1)


def _jobs(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1, got {text!r}") from None
    if v == 0 or v < -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), got {v}")
    return v


def _int_list(text):
    try:
        vals = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    return vals


def _grid_options(p, *, lists):
    many = " (comma-separated list sweeps)" if lists else ""
    p.add_argument("--problem", metavar="NAME" + ("[,NAME...]" if lists else ""),
                   help="registered problem name" + many + "; see 'adago-theory info'")
    p.add_argument("-P", "--problem-param", action="append", default=[],
                   metavar="KEY=VALUE" + ("[,...]" if lists else ""),
                   help="problem factory parameter" + many + " (repeatable)")
    p.add_argument("--optimizer", metavar="NAME" + ("[,NAME...]" if lists else ""),
                   help="registered optimizer name" + many)
    p.add_argument("-O", "--opt-param", action="append", default=[],
                   metavar="KEY=VALUE" + ("[,...]" if lists else ""),
                   help="optimizer hyperparameter" + many + "; 'c*T^p' scales it with the horizon (repeatable)")
    p.add_argument("--T", metavar="N" + ("[,N...]" if lists else ""), help="horizon: number of steps" + many)
    p.add_argument("--n-seeds", type=_pos_int, default=None, metavar="N",
                   help="number of seeds S, S+1, ..., batched in one job (default 1)")
    p.add_argument("--seeds", type=_int_list, default=None, metavar="I,J,...", help="explicit list of run seeds")
    p.add_argument("--stochastic", action="store_true", default=None, help="stochastic gradients")
    p.add_argument("--batch-size", type=_pos_int, default=None, metavar="B", help="minibatch size (with --stochastic)")
    p.add_argument("--record", default=None, metavar="auto|all|log|K",
                   help="recorded steps: auto (all up to T=1000, else ~100 log-spaced), all, log, or every K-th")
    p.add_argument("--runner", default=None, metavar="MODULE:FUNC",
                   help="advanced: a function config -> trace replacing the toolkit's problem/optimizer run")


def _progress(p):
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only on a terminal)")


# ---------------------------------------------------------------------------
# grid assembly from the command line
# ---------------------------------------------------------------------------

_GRID_FLAGS = {"problem": "--problem", "problem_param": "-P", "optimizer": "--optimizer", "opt_param": "-O",
               "T": "--T", "n_seeds": "--n-seeds", "seeds": "--seeds", "stochastic": "--stochastic",
               "batch_size": "--batch-size", "record": "--record", "runner": "--runner"}
_COMMON_KEYS = {"backend": "--backend", "dtype": "--dtype", "device": "--device", "seed": "--seed"}


def _given(args, names):
    out = []
    for n in names:
        v = getattr(args, n, None)
        if v not in (None, [], False):
            out.append(n)
    return out


def _split_names(text, flag, *, lists):
    names = [t.strip() for t in text.split(",")]
    if any(not t for t in names):
        raise UsageError(f"{flag}: empty name in {text!r}")
    if not lists and len(names) > 1:
        raise UsageError(f"{flag} takes one name in 'run'; use 'adago-theory sweep' for grids")
    return names


def _spec_from_args(args, *, lists) -> dict:
    from .sweep.config import ConfigError, parse_value

    for key, flag in (("problem", "--problem"), ("optimizer", "--optimizer"), ("T", "--T")):
        if getattr(args, key) is None:
            raise UsageError(f"{flag} is required" + (" (or give a config file)" if lists else ""))
    spec = {}
    try:
        problem = _table(args.problem, "--problem", args.problem_param, "-P", lists=lists)
        optimizer = _table(args.optimizer, "--optimizer", args.opt_param, "-O", lists=lists)
        T = [parse_value(t) for t in args.T.split(",")]
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if not lists and len(T) > 1:
        raise UsageError("--T takes one horizon in 'run'; use 'adago-theory sweep' for grids")
    spec.update(problem=problem, optimizer=optimizer, T=T)
    if args.seeds is not None and args.n_seeds is not None:
        raise UsageError("conflicting options --seeds and --n-seeds: give one")
    if args.seeds is not None:
        spec["seeds"] = args.seeds
    elif args.n_seeds is not None:
        spec["seeds"] = args.n_seeds
    if args.stochastic:
        spec["stochastic"] = True
    if args.batch_size is not None:
        if not args.stochastic:
            raise UsageError("conflicting options: --batch-size needs --stochastic")
        spec["batch_size"] = args.batch_size
    if args.record is not None:
        spec["record"] = parse_value(args.record)
    if args.runner is not None:
        spec["runner"] = args.runner
    return spec


def _table(names, name_flag, assignments, flag, *, lists):
    """``--optimizer NAME -O k=v -O orth.method=m ...`` -> ``{"name": ..., "k": ..., "orth": {"method": ...}}``."""
    from .sweep.config import parse_assignment

    table = {"name": _split_names(names, name_flag, lists=lists)}
    for text in assignments:
        key, vals = parse_assignment(text, option=flag)
        head, _, sub = key.partition(".")
        if head == "name":
            raise UsageError(f"{flag} name is reserved")
        value = vals if lists else _single(vals, f"{flag} {key}")
        if not sub:
            if head in table:
                raise UsageError(f"{flag} {key} given twice" if not isinstance(table[head], dict) else
                                 f"{flag} {key} conflicts with {flag} {key}.*: give the table or its entries")
            table[head] = value
            continue
        inner = table.setdefault(head, {})
        if not isinstance(inner, dict):
            raise UsageError(f"{flag} {key} conflicts with {flag} {head}=...: give the table or its entries")
        if sub in inner:
            raise UsageError(f"{flag} {key} given twice")
        inner[sub] = value
    return table


def _single(vals, flag):
    if len(vals) != 1:
        raise UsageError(f"{flag} takes one value in 'run'; use 'adago-theory sweep' for grids")
    return vals[0]


def _apply_common(spec, args, *, from_file):
    for key, flag in _COMMON_KEYS.items():
        v = getattr(args, key, None)
        if v is None:
            continue
        if from_file and key in spec:
            raise UsageError(f"conflicting options: {flag} is given and the config file sets '{key}'")
        spec[key] = v
    return spec


def _records(spec, *, check_backend=True):
    """The edge: a grid spec -> validated, frozen run records (nothing has run yet)."""
    from .sweep.config import ConfigError, expand_grid
    from .sweep.execute import validate_configs

    try:
        return validate_configs(expand_grid(spec), check_backend=check_backend)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _check_out(out):
    """``--out`` must be a directory we can create and write into: checked before anything runs."""
    import tempfile
    from pathlib import Path

    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {p} exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise RuntimeFailure(f"--out {p}: cannot write there ({exc.strerror or exc})") from None


def _check_scheduler(address):
    from .sweep.config import ConfigError
    from .sweep.execute import parse_scheduler_address

    if address is None:
        return
    try:
        parse_scheduler_address(address)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


# ---------------------------------------------------------------------------
# verbs
# ---------------------------------------------------------------------------


def _execute(records, args, out, *, n_jobs=1, scheduler=None, retry_failed=True, on_result=None):
    from .sweep.config import ConfigError
    from .sweep.execute import run_sweep
    from .sweep.store import StoreError

    try:
        return run_sweep(records, out, n_jobs=n_jobs, scheduler=scheduler, retry_failed=retry_failed,
                         progress=args.progress, command=[PROG] + list(args._argv), validate=False,
                         on_result=on_result)
    except (StoreError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except ConnectionError as exc:
        raise RuntimeFailure(str(exc)) from None


def _report(summary, *, file=None):
    file = sys.stdout if file is None else file
    n = len(summary.run_ids)
    print(f"{n} run(s): {summary.n_done} done, {summary.n_skipped} already finished, "
          f"{summary.n_failed} failed -> {summary.out}", file=file)
    for rid, msg in summary.failed:
        print(f"  failed {rid}: {msg}  (details: {summary.out}/errors/{rid}.json)", file=sys.stderr)


def _cmd_run(args):
    spec = _apply_common(_spec_from_args(args, lists=False), args, from_file=False)
    out = args.out or "results/run"
    (rec,) = _records(spec)
    _check_out(out)
    frames = []
    summary = _execute([rec], args, out, on_result=lambda res: frames.append(res.frame))
    _report(summary)
    if summary.n_failed:
        return 1
    if frames and frames[0] is not None:
        df = frames[0]
    else:  # finished before: shown from the store, nothing recomputed
        from .sweep.store import load_results

        df = load_results(out)
        df = df[df.run_id == rec.run_id]
    _print_final(rec, df)
    return 0


def _print_final(rec, df):
    """Median [min, max] over seeds of every metric at the last recorded step of one run's table."""
    import numpy as np

    cfg = rec.config
    cols = list(df.columns)
    last = df[df.step == df.step.max()]
    print(f"run {rec.run_id}: {cfg['problem']} x {cfg['optimizer']}, T={cfg['T']}, "
          f"{len(cfg['seeds'])} seed(s); at step {int(df.step.max())} (median [min, max] over seeds):")
    for m in cols[cols.index("step") + 1:]:
        v = last[m].to_numpy(dtype=float)
        print(f"  {m:<16}{np.median(v):.6g}  [{np.min(v):.6g}, {np.max(v):.6g}]")


EXAMPLE_TOML = """\
# adago-theory sweep grid: every list is swept (cartesian product).
T = [64, 128, 256, 512]      # horizons: one run per T
seeds = 4                    # seeds 0..3, batched inside each run (or a list: [0, 5, 7])
seed = 0                     # base seed; also seeds the problem instance
stochastic = false           # true: stochastic gradients (add batch_size = B)
backend = "numpy"            # numpy | torch | cupy
dtype = "float64"

[[problem]]
{problem}
[[optimizer]]
{optimizer1}
[[optimizer]]
{optimizer2}"""


def _example_toml():
    """A commented grid; concrete when the usual problem and optimizers are registered."""
    from .sweep.registry import optimizer_names, problem_names

    probs, opts = problem_names(), optimizer_names()
    problem = ('name = "matrix_least_squares"\nm = 16\nn = 8\nkappa_A = [10.0, 1000.0]   # two conditionings\n'
               if "matrix_least_squares" in probs else
               f'name = "{probs[0] if probs else "PROBLEM_NAME"}"\n# its parameters, e.g. m = 16\n')
    opt1 = ('name = "adago"\neta = 0.5\ngamma = 1.0\n'
            'eps = "1e-2*T^-0.75"         # a horizon rule: eps = 0.01 T^(-3/4) (the stochastic tuning shape\n'
            '                             # of toolkits.md section 8, unverified there)\n' if "adago" in opts else
            f'name = "{opts[0] if opts else "OPTIMIZER_NAME"}"\neta = "0.5*T^-0.5"\n')
    opt2 = ('name = "muon"\neta = [0.01, 0.05]           # two step sizes\n' if "muon" in opts else
            '# another optimizer: name = "..." and its hyperparameters\n')
    return EXAMPLE_TOML.format(problem=problem, optimizer1=opt1, optimizer2=opt2)


def _cmd_sweep(args):
    if args.print_example:
        print(_example_toml(), end="")
        return 0
    grid_given = _given(args, list(_GRID_FLAGS))
    if args.config_pos is not None and args.config is not None:
        raise UsageError("conflicting options: give the config file once (positional or --config)")
    path = args.config or args.config_pos
    if path is not None:
        if grid_given:
            flags = ", ".join(_GRID_FLAGS[g] for g in grid_given)
            raise UsageError(f"conflicting options: {flags} cannot be combined with a config file; "
                             "put them in the file")
        from .sweep.config import ConfigError, load_grid_file

        try:
            spec = load_grid_file(path)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        spec = _apply_common(spec, args, from_file=True)
    else:
        spec = _apply_common(_spec_from_args(args, lists=True), args, from_file=False)
    if args.scheduler is not None and args.jobs is not None:
        raise UsageError("conflicting options: -j and --scheduler (the Dask cluster sets the parallelism)")
    _check_scheduler(args.scheduler)
    out = args.out or "results/sweep"
    records = _records(spec, check_backend=not args.dry_run)  # a dry run may plan a GPU sweep elsewhere
    if args.dry_run:
        from .sweep.store import finished_ids
        from pathlib import Path

        done = finished_ids(out) if Path(out).is_dir() else set()
        for rec in records:
            flag = "done   " if rec.run_id in done else "pending"
            print(f"{rec.run_id}  {flag}  {rec.text}")
        print(f"{len(records)} run(s), {sum(r.run_id in done for r in records)} already finished in {out}")
        return 0
    _check_out(out)
    summary = _execute(records, args, out, n_jobs=args.jobs or 1, scheduler=args.scheduler,
                       retry_failed=not args.skip_failed)
    _report(summary)
    return 1 if summary.n_failed else 0


def _cmd_plot(args):
    from .sweep.plot import plot_store
    from .sweep.store import StoreError

    kinds = [k.strip() for k in args.kind.split(",")]
    try:
        res = plot_store(args.store, metric=args.metric, kinds=kinds, out=args.out, statistic=args.statistic)
    except (StoreError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    from .sweep.plot import interval_text

    fits = res["fits"]
    if fits is not None and len(fits):
        print(f"rate fits of {args.statistic} {res['metric']} ~ T^slope (OLS; 95% Theil-Sen interval):")
        for r in fits.itertuples():
            print(f"  {r.label:<40} slope {r.slope:+.4f}  {interval_text(r)}  "
                  f"T={r.T_min}..{r.T_max} ({r.n_T} horizons, {r.n_seeds} seeds)")
    elif fits is not None:
        print("no rate fit: no group of runs with two or more horizons T")
    for what, why in res["left_out"]:
        print(f"left out: {what}: {why}")
    for f in res["files"]:
        print(f"wrote {f}")
    return 0


def _cmd_bench(args):
    import importlib
    import contextlib

    modname = f"adago_theory.app.bench.{args.what}"
    fn = getattr(importlib.import_module(modname), f"bench_{args.what}")
    backend = args.backend or "numpy"
    from .bench.tools import require_backend

    try:
        require_backend(backend)
    except (ImportError, RuntimeError) as exc:
        print(f"{PROG} bench: error: {exc}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        fh = None
        if args.out:
            from pathlib import Path

            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            fh = stack.enter_context(open(args.out, "w"))
        kw = {}
        if getattr(args, "device", None) is not None:   # bench peers / grid only
            if args.what not in ("peers", "grid"):
                print(f"{PROG} bench: error: --device is taken by 'bench peers' and 'bench grid' only",
                      file=sys.stderr)
                return 2
            kw["device"] = args.device
        res = fn(backend=backend, quick=args.quick, file=fh, **kw)
    if args.out:
        print(f"wrote {args.out}")
    return res if isinstance(res, int) and not isinstance(res, bool) else 0


def _cmd_info(args):
    from .info import collect_info, format_info

    info = collect_info(probe_backends=not args.no_probe)
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
    else:
        print(format_info(info))
    return 0


def _cmd_demo(args):
    from .demo import orth_error_table

    orth_error_table()
    return 0


def _cmd_verify(argv):
    from .sweep.registry import get_command

    return int(get_command("verify")(list(argv), prog=f"{PROG} verify") or 0)


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every verb (``verify`` is forwarded to its own parser)."""
    p = _Parser(prog=PROG, formatter_class=_FORMATTER,
                description="Numerical analysis and convergence theory for orthogonalized-update optimizers.",
                epilog=f"examples:\n  {PROG} info\n  {PROG} run --problem matrix_least_squares --optimizer muon "
                       f"-O eta=0.05 --T 100"
                       f"\n  {PROG} sweep grid.toml -j 2\n  {PROG} plot results/sweep\n\n"
                       f"'{PROG} VERB --help' describes each verb.")
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    r = sub.add_parser("run", help="one problem x optimizer x horizon, seeds batched", formatter_class=_FORMATTER,
                       description="Run one problem with one optimizer for T steps, all seeds in one batch, and "
                                   "store the result (run again: the stored result is shown, nothing is recomputed).",
                       epilog=f"example:\n  {PROG} run --problem matrix_least_squares -P m=16 -P n=8 "
                              f"--optimizer adago -O eta=0.1 -O gamma=1.0 -O eps=1e-3 --T 200 --n-seeds 4 "
                              f"--out results/one")
    _grid_options(r, lists=False)
    _common(r, out_default="results/run")
    _progress(r)
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("sweep", help="a grid of runs from a TOML file or command-line lists",
                       formatter_class=_FORMATTER,
                       description="Run a grid of configurations (problems x optimizers x hyperparameters x "
                                   "horizons), seeds batched inside each run.  Finished runs in --out are skipped, "
                                   "so an interrupted sweep resumes where it stopped; failed runs are recorded in "
                                   "--out/errors and the sweep goes on.",
                       epilog=f"examples:\n  {PROG} sweep --print-example > grid.toml   # a commented grid file\n"
                              f"  {PROG} sweep grid.toml -j 2 --out results/grid\n"
                              f"  {PROG} sweep --problem matrix_least_squares -P m=16 -P kappa_A=10,1000 "
                              f"--optimizer muon,polargrad -O eta=0.01,0.1 --T 64,128,256 --n-seeds 4\n"
                              f"  {PROG} sweep grid.toml --scheduler tcp://10.0.0.5:8786   # on a Dask cluster")
    s.add_argument("config_pos", nargs="?", metavar="CONFIG.toml", help="grid file (TOML)")
    s.add_argument("--config", metavar="FILE", help="grid file (TOML); same as the positional argument")
    _grid_options(s, lists=True)
    ex = s.add_argument_group("execution")
    ex.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                    help="local worker processes (loky); -1 = all cores (default 1: in this process)")
    ex.add_argument("--scheduler", metavar="ADDRESS", default=None,
                    help="run on a Dask distributed cluster, e.g. tcp://host:8786")
    ex.add_argument("--skip-failed", action="store_true", help="do not retry runs that failed before")
    ex.add_argument("--dry-run", action="store_true", help="list the runs (ID, done/pending, config) and exit")
    ex.add_argument("--print-example", action="store_true", help="print a commented grid file and exit")
    _progress(ex)
    _common(s, out_default="results/sweep")
    s.set_defaults(func=_cmd_sweep)

    v = sub.add_parser("verify", help="numerical checks of the theory (the verify package)", add_help=False)
    v.set_defaults(func=None)

    pl = sub.add_parser("plot", help="figures and rate fits from a results store", formatter_class=_FORMATTER,
                        description="Convergence curves (median over seeds, 25-75% band) and rate plots "
                                    "(a per-run statistic against the horizon T, log-log, with the fitted slope "
                                    "and its 95% Theil-Sen interval).  Writes PNG + PDF and rates_<metric>.csv.",
                        epilog=f"example:\n  {PROG} plot results/sweep --metric grad_nuc --statistic min")
    pl.add_argument("store", metavar="STORE", help="a results store directory (the --out of run/sweep)")
    pl.add_argument("--metric", default=None, help="metric column (default grad_nuc, else the first)")
    pl.add_argument("--kind", default="curves,rates", help="curves, rates or both (default curves,rates)")
    pl.add_argument("--statistic", choices=["final", "min", "mean"], default="final",
                    help="per-run statistic fitted against T (default final)")
    pl.add_argument("--out", default=None, metavar="DIR", help="figure directory (default STORE/figures)")
    pl.set_defaults(func=_cmd_plot)

    b = sub.add_parser("bench", help="benchmarks: orth (orthogonalizers), optim (optimizer steps), peers (JAX/optax, "
                                     "PyTorch, NumPy side by side), grid (a hyperparameter grid as one batch), "
                                     "memory (bytes allocated per step, over the parameter size)",
                       formatter_class=_FORMATTER, description="Timing benchmarks on one backend.",
                       epilog=f"examples:\n  {PROG} bench orth --quick\n  {PROG} bench optim --backend torch "
                              f"--out bench-optim.txt")
    b.add_argument("what", choices=["orth", "optim", "peers", "grid", "train", "memory"])
    b.add_argument("--quick", action="store_true", help="small shapes, few repeats")
    _common(b, out_default="stdout", dtype=False, seed=False)
    b.add_argument("--device", default=None, help="peers, grid: the device of --backend torch (e.g. cuda:0; "
                                                  "default cuda when available, else cpu)")
    b.set_defaults(func=_cmd_bench)

    i = sub.add_parser("info", help="versions, backends and devices found, registered names",
                       formatter_class=_FORMATTER, description="What this installation has.",
                       epilog=f"example:\n  {PROG} info --json > env.json")
    i.add_argument("--json", action="store_true", help="JSON output")
    i.add_argument("--no-probe", action="store_true", help="do not import torch/cupy to look for devices")
    i.set_defaults(func=_cmd_info)

    d = sub.add_parser("demo", help="print the orthogonalization error table (NumPy)", formatter_class=_FORMATTER,
                       description="Relative distance to the exact polar factor for each method and preset.",
                       epilog=f"example:\n  {PROG} demo")
    d.set_defaults(func=_cmd_demo)
    sub.add_parser("docs", help="build the documentation site (forwarded to python -m adago_theory.app.docs_build)",
                   add_help=False)
    sub.add_parser("train", help="train an MLP on digits with the toolkit's optimizers (adago_theory.app.train)",
                   add_help=False)
    return p


def _version():
    from importlib import metadata

    try:
        return metadata.version("adago-theory")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv=None) -> int:
    """Entry point of the ``adago-theory`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("verify", "docs", "train"):
        try:
            if argv[0] == "verify":
                return _cmd_verify(argv[1:])
            if argv[0] == "train":
                from .train.cli import main as train_main

                return int(train_main(argv[1:], prog=f"{PROG} train") or 0)
            from .docs_build import main as docs_main

            return int(docs_main(argv[1:], prog=f"{PROG} docs") or 0)
        except BrokenPipeError:  # output piped into `head` and the like
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    p = build_parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    args._argv = argv
    verb = args.verb
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{PROG} {verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (RuntimeFailure, OSError) as exc:  # OSError: a disk that filled up or went read-only mid-run
        msg = str(exc) if not isinstance(exc, OSError) or not exc.strerror else \
            f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
        print(f"{PROG} {verb}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
