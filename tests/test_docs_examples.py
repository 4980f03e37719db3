"""Every example of the documentation runs, so the docs cannot drift from the code.

* The ``Examples`` sections of the docstrings of every public module run as doctests (in each
  module's own globals), exactly as the docs build runs them.
* Every command line shown in a ``console`` block of the Markdown pages is checked against the real
  command-line parsers: ``adago-theory run/sweep`` lines are validated by the CLI itself
  (``sweep --dry-run``: registered problem and optimizer names, accepted parameters) without running;
  the other verbs, ``python -m verify`` and ``python -m adago_theory.app.docs_build`` lines must parse;
  ``pip install -e ".[extra]"`` must name extras that ``pyproject.toml`` declares.

The ``{doctest}`` blocks of the pages themselves run in the docs build (``sphinx-build -b doctest``,
``tests/test_docs_build.py``, marked slow).
"""

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

from adago_theory.app.docs_build import missing_extra, public_modules, run_module_doctests

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# ------------------------------------------------------------------------------ docstring examples


@pytest.mark.parametrize("module", public_modules())
def test_docstring_examples_run(module):
    package = missing_extra(module)
    if package is not None:                     # a module of an optional extra, on a machine without it
        pytest.skip(f"{module} needs {package}, which is not installed")
    failures, _ = run_module_doctests([module])
    assert failures == [], failures


def test_docstring_examples_exist():
    # the public API is documented by examples, not only by prose
    _, attempted = run_module_doctests(["adago_theory.orthogonalize", "adago_theory.norms",
                                        "adago_theory.optim.adago", "adago_theory.run"])
    assert attempted >= 8


# ---------------------------------------------------------------------------- console command lines


def _pages():
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def _console_lines():
    """(page, line) for every '$ ' line of a ```console block of the Markdown pages."""
    out = []
    for page in _pages():
        in_block = False
        for line in page.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            if s.startswith("```"):
                in_block = s.startswith("```console") if not in_block else False
                continue
            if in_block and s.startswith("$ "):
                out.append((page.relative_to(DOCS).as_posix(), s[2:]))
    return out


def _segments(cmd):
    """Split one shell line into simple commands (&&, ;, |), dropping comments and redirections."""
    toks = shlex.split(cmd, comments=True)
    segs, cur = [], []
    skip_next = False
    for t in toks:
        if skip_next:
            skip_next = False
            continue
        if t in ("&&", ";", "|", "||"):
            segs.append(cur)
            cur = []
        elif t in (">", ">>", "<", "2>"):
            skip_next = True
        else:
            cur.append(t)
    segs.append(cur)
    return [s for s in segs if s]


LINES = _console_lines()


def test_the_pages_show_command_lines():
    assert len(LINES) >= 10
    assert any(c.startswith("adago-theory sweep") for _, c in LINES)
    assert any(c.startswith("python -m verify") for _, c in LINES)


def _extras():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return set(tomllib.load(fh)["project"]["optional-dependencies"])


def _parse_ok(parser, argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            return exc.code in (0, None), err.getvalue()
    return True, ""


def _verify_parser():
    mod = pytest.importorskip("verify.__main__")
    bp = getattr(mod, "build_parser", None)
    if bp is None:
        pytest.skip("verify.__main__ has no build_parser() to check command lines against")
    return bp()


@pytest.mark.parametrize("page,cmd", LINES, ids=[f"{p}:{c[:60]}" for p, c in LINES])
def test_console_command_is_valid(page, cmd, tmp_path):
    from adago_theory.app import cli, docs_build

    for argv in _segments(cmd):
        if argv[:2] == ["pip", "install"]:
            for extra in re.findall(r"\[([\w,-]+)\]", " ".join(argv)):
                missing = set(extra.split(",")) - _extras()
                assert not missing, f"{page}: pip extra(s) {missing} are not in pyproject.toml"
        elif argv[0] == "adago-theory":
            verb = argv[1] if len(argv) > 1 else None
            if verb == "verify":
                ok, err = _parse_ok(_verify_parser(), argv[2:])
                assert ok, f"{page}: {cmd!r}: {err}"
            elif verb in ("run", "sweep") and not any(a.endswith(".toml") for a in argv) \
                    and "--print-example" not in argv:
                # validated by the CLI itself (names, parameters), nothing is run
                rest = list(argv[2:])
                if "--out" in rest:
                    i = rest.index("--out")
                    del rest[i:i + 2]
                rest = [a for a in rest if a not in ("-j", "--progress")]
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    status = cli.main(["sweep", *rest, "--dry-run", "--out", str(tmp_path / "store")])
                assert status == 0, f"{page}: {cmd!r}: {err.getvalue()}"
            else:
                ok, err = _parse_ok(cli.build_parser(), argv[1:])
                assert ok, f"{page}: {cmd!r}: {err}"
        elif argv[:3] == ["python", "-m", "verify"]:
            ok, err = _parse_ok(_verify_parser(), argv[3:])
            assert ok, f"{page}: {cmd!r}: {err}"
        elif argv[:3] == ["python", "-m", "adago_theory.app.docs_build"]:
            ok, err = _parse_ok(docs_build.build_parser(), argv[3:])
            assert ok, f"{page}: {cmd!r}: {err}"


def _toml_blocks():
    out = []
    for page in _pages():
        for block in re.findall(r"^```toml\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M):
            out.append((page.relative_to(DOCS).as_posix(), block))
    return out


TOML = _toml_blocks()


@pytest.mark.parametrize("page,grid", TOML, ids=[p for p, _ in TOML])
def test_grid_files_shown_in_the_docs_are_valid(page, grid, tmp_path):
    # a grid file on a page is checked by the CLI itself: names, parameters, horizon rules
    from adago_theory.app import cli

    f = tmp_path / "grid.toml"
    f.write_text(grid)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = cli.main(["sweep", str(f), "--dry-run", "--out", str(tmp_path / "store")])
    assert status == 0, f"{page}: {err.getvalue()}"


def test_missing_extra_names_the_package_only_where_it_is_missing(monkeypatch):
    import importlib.util

    assert missing_extra("adago_theory.orthogonalize") is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert missing_extra("adago_theory.torch_optim") == "torch"
    assert missing_extra("adago_theory.torch_optim.engine") == "torch"
    assert missing_extra("adago_theory.optim") is None
