r"""``python -m verify [NAMES] [--quick] [--out DIR]`` (also ``adago-theory verify``).

Runs the registered checks with a progress bar, writes ``<name>.png`` / ``<name>.pdf`` and
``results.json`` into ``--out``, prints a summary table, optionally regenerates
``docs/claims.md`` (``--claims``), and exits with

* 0 when every check that ran passed,
* 1 when a check failed (its claim did not hold, its negative control held) or raised,
* 2 on unknown check names or bad arguments.
"""

from __future__ import annotations

import argparse
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
    return p


def main(argv=None, *, prog="python -m verify") -> int:
    """Entry point; returns the exit status (see the module docstring)."""
    from . import CHECKS
    from .claims import write_claims
    from .runner import load_results, run_checks, summary_table

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
    out = Path(args.out)
    report = run_checks(args.names or None, quick=args.quick, out=out, rng=args.seed,
                        progress=not args.no_progress, plots=not args.no_plots)
    print(summary_table(report))
    print(f"figures and results.json in {out}")
    if args.claims:
        doc = load_results(out)
        path = write_claims(doc["checks"], args.claims, figures_dir=out)
        print(f"claims table written to {path}")
    ok = all(e["error"] is None and e["result"] is not None and e["result"].passed for e in report.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
