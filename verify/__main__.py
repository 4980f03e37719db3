r"""``python -m verify [NAMES] [--quick] [--out DIR] [--substitute NAME=module:factory ...] [--mutants]``
(also ``adago-theory verify``).

Runs the registered checks with a progress bar, writes ``<name>.png`` / ``<name>.pdf`` and
``results.json`` into ``--out``, prints a summary table (``--verbose``: every check's full record),
optionally regenerates ``docs/claims.md`` (``--claims``), and exits with

* 0 when no check failed or raised (a claim "not reproduced" or "not judged" is reported, not a failure),
* 1 when a check failed (its claim did not hold, or its negative control held) or raised,
* 2 on unknown check names, bad arguments or a substitute factory that cannot be used (before any check runs).

``--substitute adago=package.module:factory`` (several allowed) runs the checks on your factory instead of the
project's; checks that do not run that optimizer are reported as not applicable.

``--mutants`` runs the kill matrix instead (:mod:`verify.kill_matrix`): the suite on every mutant of
:mod:`verify.mutants`; it writes the ``kill_matrix`` section of results.json, ``kill_matrix.png``/``.pdf`` and,
with ``--kill-page``, the docs page; exit 1 when a non-equivalent mutant survives every check.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser(prog="python -m verify"):
    """The argument parser (exposed so that ``adago-theory verify`` can reuse it)."""
    p = argparse.ArgumentParser(prog=prog, description="Run the claim checks of adago-theory.")
    p.add_argument("names", nargs="*", metavar="NAME", help="checks to run (default: all); see --list")
    p.add_argument("--quick", action="store_true", help="quick mode (seconds per check; what pytest runs)")
    p.add_argument("--out", default="verify-results", metavar="DIR",
                   help="directory for figures and results.json (default: ./verify-results)")
    p.add_argument("--seed", type=int, default=0, help="integer seed passed to every check (default 0)")
    p.add_argument("--no-plots", action="store_true", help="do not draw figures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--claims", metavar="FILE", default=None,
                   help="also (re)write a claims table (e.g. docs/claims.md) from DIR/results.json")
    p.add_argument("--list", action="store_true", help="list the registered checks and exit")
    p.add_argument("--substitute", action="append", default=[], metavar="NAME=MODULE:FACTORY",
                   help="run the checks on this factory instead of the project's optimizer NAME "
                        "(e.g. adago=mypkg.opt:adago); may be repeated")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print every check's full record (params, measured, predicted, control)")
    p.add_argument("--mutants", action="store_true",
                   help="run the kill matrix: the suite on every mutant of verify.mutants (see --kill-page)")
    p.add_argument("--mutant", action="append", default=[], metavar="NAME",
                   help="with --mutants: only this mutant (may be repeated)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                   help="with --mutants: processes running cells in parallel (default: min(2, CPUs))")
    p.add_argument("--kill-page", metavar="FILE", default=None,
                   help="with --mutants: also (re)write the kill-matrix page (e.g. docs/kill-matrix.md)")
    return p


def _substitutions(specs, prog):
    """``{name: factory}`` and ``{name: "module:factory"}`` from ``--substitute`` specs; SubstitutionError if bad."""
    from ._factories import SubstitutionError, check_factory, load_factory, parse_substitution

    subs, described = {}, {}
    for spec in specs:
        name, target = parse_substitution(spec)
        if name in subs:
            raise SubstitutionError(f"--substitute {spec!r}: {name} is substituted twice")
        try:
            fn = load_factory(target)
            check_factory(name, fn)
        except SubstitutionError as exc:
            msg = str(exc)
            raise SubstitutionError(f"--substitute {spec}: {msg}") from None
        subs[name], described[name] = fn, target
    return subs, described


def _run_mutants(args, prog):
    from . import CHECKS
    from .kill_matrix import kill_matrix, kill_page, matrix_text, plot_kill_matrix
    from .mutants import MUTANTS
    from .runner import git_commit, load_results, write_results

    unknown = [m for m in args.mutant if m not in MUTANTS]
    if unknown:
        print(f"{prog}: unknown mutant(s): {', '.join(unknown)} (known: {', '.join(MUTANTS)})", file=sys.stderr)
        return 2
    chosen = {k: MUTANTS[k] for k in args.mutant} if args.mutant else MUTANTS
    km = kill_matrix(chosen, args.names or None, quick=args.quick, rng=args.seed, workers=args.workers,
                     progress=not args.no_progress, registry=CHECKS)
    print(matrix_text(km))
    out = Path(args.out)
    commit = git_commit()
    km["commit"] = commit
    prior = load_results(out) if (out / "results.json").exists() else {}
    write_results(out, {}, substitutions=prior.get("substitutions", {}), extra={"kill_matrix": km},
                  commit=prior.get("commit", commit))
    fig_path = None
    if not args.no_plots:
        from adago_theory.app.plotting import save_figure

        fig_path = save_figure(plot_kill_matrix(km), out / "kill_matrix")[0]
    print(f"kill matrix in {out / 'results.json'}" + (f" and {fig_path}" if fig_path else ""))
    if args.kill_page:
        from .runner import atomic_write_text

        page = Path(args.kill_page)
        cmd = " ".join(["python -m verify --mutants"] + (["--quick"] if args.quick else []) + list(args.names)
                       + [f"--mutant {m}" for m in args.mutant] + [f"--out {args.out}", f"--kill-page {page}"])
        atomic_write_text(page, kill_page(km, commit=commit, figure=fig_path, relative_to=page.parent,
                                           command=cmd) + "\n")
        print(f"kill-matrix page written to {page}")
    return 1 if km["survivors"] else 0


def main(argv=None, *, prog="python -m verify") -> int:
    """Entry point; returns the exit status (see the module docstring)."""
    from . import CHECKS
    from ._factories import SubstitutionError
    from .claims import write_claims
    from .runner import ResultsMismatchError, load_results, run_checks, summary_table, verbose_records

    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad arguments, 0 for --help
        return int(exc.code or 0)
    if args.list:
        for name, (fn, _) in CHECKS.items():
            doc = (fn.__doc__ or "").strip().splitlines()
            print(f"{name:24s} {doc[0] if doc else ''}")
        return 0
    unknown = [n for n in args.names if n not in CHECKS]
    if unknown:
        print(f"{prog}: unknown check name(s): {', '.join(unknown)} (known: {', '.join(CHECKS)})", file=sys.stderr)
        return 2
    if Path(args.out).exists() and not Path(args.out).is_dir():  # before any check runs
        print(f"{prog}: error: --out {args.out} exists and is not a directory", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"{prog}: --workers must be a positive integer, got {args.workers}", file=sys.stderr)
        return 2
    if args.mutants:
        if args.substitute:
            print(f"{prog}: --mutants and --substitute cannot be combined (the mutants are the substitutes)",
                  file=sys.stderr)
            return 2
        return _run_mutants(args, prog)
    if args.mutant or args.kill_page:
        print(f"{prog}: --mutant and --kill-page need --mutants", file=sys.stderr)
        return 2
    try:
        subs, described = _substitutions(args.substitute, prog)
    except SubstitutionError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        report = run_checks(args.names or None, quick=args.quick, out=out, rng=args.seed,
                            progress=not args.no_progress, plots=not args.no_plots, substitute=subs,
                            describe=described)
    except ResultsMismatchError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    print(summary_table(report, substitutions=described))
    if args.verbose:
        print()
        print(verbose_records(report))
    print(f"figures and results.json in {out}")
    if args.claims:
        doc = load_results(out)
        path = write_claims(doc, args.claims, figures_dir=out)
        print(f"claims table written to {path}")
    bad = any(rec["status"] in ("fail", "error") for rec in report.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
