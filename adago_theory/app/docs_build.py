r"""Build the documentation site in one command: ``python -m adago_theory.app.docs_build``.

The build is strict, so that the site cannot drift from the code:

1. the verifiers run (``python -m verify --quick``, or the committed full run of ``docs/figures``
   with ``quick=False``) and their ``results.json`` becomes one page per check;
2. the ``Examples`` of every public module's docstrings run as doctests
   (:func:`run_module_doctests`);
3. Sphinx builds the HTML with warnings as errors and nitpicky cross-references (``-W -n``): a
   reference to an object, page or label that does not exist fails the build;
4. Sphinx's ``doctest`` builder runs every ``{doctest}`` block of the pages.

Sphinx and the other documentation tools are the ``docs`` extra (``pip install -e ".[docs]"``);
they are imported only when a build starts.
"""

from __future__ import annotations

import argparse
import doctest
import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["build_docs", "run_module_doctests", "public_modules", "docs_dir", "build_parser", "main"]

#: Packages whose modules' docstring examples are run.
DOCTEST_PACKAGES = ("adago_theory", "problems", "verify")


def docs_dir() -> Path:
    """The ``docs/`` folder of the checkout this package was imported from.

    Raises
    ------
    FileNotFoundError
        For an installation without the source tree (a wheel): the docs are built from a checkout.
    """
    d = Path(__file__).resolve().parents[2] / "docs"
    if not (d / "conf.py").is_file():
        raise FileNotFoundError(f"no documentation sources at {d} (docs/conf.py); build the docs from a "
                                "checkout of the repository installed with pip install -e '.[docs]'")
    return d


def public_modules(packages=DOCTEST_PACKAGES):
    """Dotted names of the importable modules of ``packages`` (private ``_*`` and ``__main__`` excluded)."""
    names = []
    for pkgname in packages:
        pkg = importlib.import_module(pkgname)
        names.append(pkgname)
        if not hasattr(pkg, "__path__"):
            continue
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkgname + "."):
            leaf = info.name.rsplit(".", 1)[1]
            if leaf.startswith("_"):
                continue
            names.append(info.name)
    return sorted(set(names))


#: Modules of an optional extra: module prefix -> the package it needs.  Their examples run where the package is
#: installed (CI installs it) and are skipped, with a line saying so, where it is not.
OPTIONAL_MODULES = {"adago_theory.torch_optim": "torch"}


def missing_extra(name):
    """The optional package module ``name`` needs and that is not importable here, or None."""
    for prefix, package in OPTIONAL_MODULES.items():
        if name == prefix or name.startswith(prefix + "."):
            if importlib.util.find_spec(package) is None:
                return package
    return None


def run_module_doctests(modules=None, *, verbose=False):
    """Run the docstring examples of ``modules`` (default: :func:`public_modules`).

    Each module's examples run in that module's globals, as ``python -m doctest`` would, with
    ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``; matplotlib uses the Agg backend.

    Returns
    -------
    failures : list of str
        ``"module: n failed of m"`` for each module with a failing example (empty when all pass).
    attempted : int
        Number of examples run.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failures, attempted = [], 0
    for name in modules if modules is not None else public_modules():
        package = missing_extra(name)
        if package is not None:
            print(f"docs: skipped the examples of {name} ({package} is not installed)", flush=True)
            continue
        mod = importlib.import_module(name)
        res = doctest.testmod(mod, optionflags=flags, verbose=verbose, report=False)
        attempted += res.attempted
        if res.failed:
            failures.append(f"{name}: {res.failed} failed of {res.attempted}")
    return failures, attempted


def _run_verify(out_dir: Path, *, quick: bool, cwd: Path) -> Path:
    cmd = [sys.executable, "-m", "verify", "--no-progress", "--out", str(out_dir)] + (["--quick"] if quick else [])
    print(f"docs: {' '.join(cmd[1:])}", flush=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(cmd, cwd=str(cwd), env=env)
    results = out_dir / "results.json"
    # exit 1 means "a check failed": its page shows the failing verdict; any other failure stops the build
    if proc.returncode not in (0, 1) or not results.is_file():
        raise RuntimeError(f"{' '.join(cmd[1:])} failed with exit status {proc.returncode} "
                           f"and no {results}")
    return results


def build_docs(out=None, quick=True, *, results=None, strict=True, doctests=True, clean=False) -> int:
    r"""Build the HTML site; returns 0 on success, 1 when anything failed.

    Parameters
    ----------
    out : str or path, optional
        Output folder of the HTML (default ``docs/_build/html``).
    quick : bool, default True
        Run the verifiers in their quick configuration (test-suite sizes) into
        ``docs/_build/verify-quick`` and build the claims pages from that run.  With ``False``, the
        pages show the committed full run in ``docs/figures`` (made first, by
        ``python -m verify --out docs/figures``, when its ``results.json`` is missing).
    results : str or path, optional
        Use this ``results.json`` (or folder holding one) instead; no verifier runs.
    strict : bool, default True
        Warnings are errors and every cross-reference must resolve (``sphinx-build -W -n``).
    doctests : bool, default True
        Run the module doctests and the ``{doctest}`` blocks of the pages.
    clean : bool, default False
        Remove the previous build (HTML and the cached doctrees) first.

    Returns
    -------
    int
        0 when the site was built and every example passed, 1 otherwise (the reasons are printed).
    """
    src = docs_dir()
    root = src.parent
    build = src / "_build"
    out = Path(out) if out is not None else build / "html"
    doctrees = build / "doctrees"
    if clean:
        import shutil

        for p in (out, doctrees, build / "doctest"):
            shutil.rmtree(p, ignore_errors=True)
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        print("docs: Sphinx is not installed; pip install -e '.[docs]'", file=sys.stderr)
        return 1
    os.environ["MPLBACKEND"] = "Agg"
    t0 = time.perf_counter()
    problems = []

    if results is None:
        try:
            if quick:
                results = _run_verify(build / "verify-quick", quick=True, cwd=root)
            else:
                full = src / "figures" / "results.json"
                results = full if full.is_file() else _run_verify(src / "figures", quick=False, cwd=root)
        except RuntimeError as exc:
            print(f"docs: {exc}", file=sys.stderr)
            return 1
    results = Path(results).resolve()

    if doctests:
        failures, n = run_module_doctests()
        print(f"docs: {n} docstring examples run, {len(failures)} modules with failures", flush=True)
        problems += [f"docstring examples: {f}" for f in failures]

    common = ["-d", str(doctrees), "-D", f"adago_results={results}", "--keep-going", "-q"]
    if strict:
        common += ["-W", "-n"]
    print(f"docs: sphinx-build -b html {src} {out}", flush=True)
    if build_main(["-b", "html", *common, str(src), str(out)]) != 0:
        problems.append("the HTML build reported warnings or errors (above)")
    if doctests:
        print("docs: sphinx-build -b doctest (the examples of the pages)", flush=True)
        if build_main(["-b", "doctest", *common, str(src), str(build / "doctest")]) != 0:
            problems.append(f"page examples failed: see {build / 'doctest' / 'output.txt'}")

    dt = time.perf_counter() - t0
    if problems:
        print(f"docs: FAILED after {dt:.0f} s:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"docs: built {out / 'index.html'} in {dt:.0f} s")
    return 0


def build_parser(prog="python -m adago_theory.app.docs_build") -> argparse.ArgumentParser:
    """The argument parser of :func:`main` (``prog`` is the name its messages use)."""
    p = argparse.ArgumentParser(prog=prog,
                                description="Build the documentation site (warnings are errors, every "
                                            "example runs).")
    p.add_argument("--out", default=None, metavar="DIR", help="HTML output folder (default docs/_build/html)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true",
                   help="claims pages from the committed full run in docs/figures (made when missing) "
                        "instead of a fresh quick run")
    g.add_argument("--results", default=None, metavar="PATH",
                   help="claims pages from this results.json (or folder); no verifier runs")
    p.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    p.add_argument("--no-doctest", action="store_true", help="skip the examples (faster, for drafting)")
    p.add_argument("--clean", action="store_true", help="remove the previous build first")
    return p


def main(argv=None, prog="python -m adago_theory.app.docs_build") -> int:
    """Command line: ``python -m adago_theory.app.docs_build [--full] [--out DIR] [--results PATH] ...``."""
    a = build_parser(prog).parse_args(argv)
    return build_docs(a.out, quick=not a.full, results=a.results, strict=not a.no_strict,
                      doctests=not a.no_doctest, clean=a.clean)


if __name__ == "__main__":
    sys.exit(main())
