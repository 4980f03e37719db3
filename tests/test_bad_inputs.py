"""Bad inputs, as a table: each row is an input, the expected exception or exit status, and a fragment of
the one-line message (issue 15).  The count of rows is the count of covered cases.

CLI rows run ``adago-theory`` in this process (``main(argv)``) and check the exit status (2: usage, found
before anything runs; 1: runtime), that stderr is one line naming the parameter, and that no traceback
is printed.  API rows call the library and check the exception type and message.
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory.app.cli import main

LSQ = ["--problem", "matrix_least_squares", "-P", "m=6", "-P", "n=4"]
MUON = ["--optimizer", "muon", "-O", "eta=0.05"]


def _grid(tmp_path, text):
    p = tmp_path / "grid.toml"
    p.write_text(text)
    return str(p)


GRID_HEAD = 'T = 5\n[[problem]]\nname = "matrix_least_squares"\nm = 6\nn = 4\n'

# (id, argv (a function of tmp_path), exit status, message fragment)
CLI_CASES = [
    ("eta negative", lambda t: ["run", *LSQ, "--optimizer", "muon", "-O", "eta=-0.1", "--T", "5"], 2,
     "eta must be in [0.0, inf)"),
    ("eta not a number", lambda t: ["run", *LSQ, "--optimizer", "muon", "-O", "eta=abc", "--T", "5"], 2,
     "eta must be a real number"),
    ("kappa_A below 1", lambda t: ["run", *LSQ, "-P", "kappa_A=0.5", *MUON, "--T", "5"], 2, "kappa_A must be in"),
    ("m = 0", lambda t: ["run", "--problem", "matrix_least_squares", "-P", "m=0", *MUON, "--T", "5"], 2,
     "m must be an integer >= 1"),
    ("malformed horizon rule", lambda t: ["run", *LSQ, "--optimizer", "adago", "-O", "eta=0.1", "-O", "gamma=1",
                                          "-O", "eps=1e-2*T^", "--T", "5"], 2, "malformed horizon rule"),
    ("unknown orth method", lambda t: ["run", *LSQ, *MUON, "-O", "orth.method=magic", "--T", "5"], 2,
     "orth.method must be one of svd, polar, qdwh, newton-schulz"),
    ("unknown NS preset", lambda t: ["run", *LSQ, *MUON, "-O", "orth.method=newton-schulz",
                                     "-O", "orth.coeffs=bogus", "--T", "5"], 2, "orth.coeffs must be one of"),
    ("unknown orth key", lambda t: ["run", *LSQ, *MUON, "-O", "orth.method=svd", "-O", "orth.iters=3",
                                    "--T", "5"], 2, "unknown key(s) iters; allowed: method"),
    ("coeffs with svd", lambda t: ["run", *LSQ, *MUON, "-O", "orth.method=svd", "-O", "orth.coeffs=jordan",
                                   "--T", "5"], 2, "applies only to method 'newton-schulz'"),
    ("orth steps 0", lambda t: ["run", *LSQ, *MUON, "-O", "orth.method=newton-schulz", "-O", "orth.steps=0",
                                "--T", "5"], 2, "orth.steps must be an integer >= 1"),
    ("orth given twice", lambda t: ["run", *LSQ, *MUON, "-O", "orth=svd", "-O", "orth.method=svd", "--T", "5"],
     2, "conflicts with"),
    ("unknown problem", lambda t: ["run", "--problem", "nope", *MUON, "--T", "5"], 2, "unknown problem 'nope'"),
    ("unknown optimizer", lambda t: ["run", *LSQ, "--optimizer", "nope", "--T", "5"], 2,
     "unknown optimizer 'nope'"),
    ("unknown problem parameter", lambda t: ["run", *LSQ, "-P", "kappa=2", *MUON, "--T", "5"], 2,
     "has no parameter 'kappa'"),
    ("missing hyperparameter", lambda t: ["run", *LSQ, "--optimizer", "adago", "-O", "eta=0.1", "--T", "5"], 2,
     "needs parameter(s)"),
    ("T = 0", lambda t: ["run", *LSQ, *MUON, "--T", "0"], 2, "T must be an integer >= 1"),
    ("non-finite value", lambda t: ["run", *LSQ, "--optimizer", "muon", "-O", "eta=nan", "--T", "5"], 2,
     "non-finite value"),
    ("several T in run", lambda t: ["run", *LSQ, *MUON, "--T", "5,6"], 2, "--T takes one horizon"),
    ("--seeds and --n-seeds", lambda t: ["run", *LSQ, *MUON, "--T", "5", "--seeds", "0,1", "--n-seeds", "2"], 2,
     "conflicting options"),
    ("batch size without stochastic", lambda t: ["run", *LSQ, *MUON, "--T", "5", "--batch-size", "2"], 2,
     "needs --stochastic"),
    ("bfloat16 on numpy", lambda t: ["run", *LSQ, *MUON, "--T", "5", "--dtype", "bfloat16"], 2,
     "bfloat16 needs backend torch"),
    ("problem param rng", lambda t: ["run", *LSQ, "-P", "rng=3", *MUON, "--T", "5"], 2, "set the run's problem_seed"),
    ("scheduler not an address", lambda t: ["sweep", *LSQ, *MUON, "--T", "5", "--scheduler", "notanaddress"], 2,
     "is not a scheduler address"),
    ("scheduler port out of range", lambda t: ["sweep", *LSQ, *MUON, "--T", "5", "--scheduler", "tcp://h:70000"],
     2, "port must be in 1..65535"),
    ("out is a file", lambda t: ["sweep", *LSQ, *MUON, "--T", "5", "--out", str(_file(t))], 2,
     "exists and is not a directory"),
    ("out not writable", lambda t: ["run", *LSQ, *MUON, "--T", "5", "--out", str(_file(t) / "sub")], 1,
     "cannot write there"),
    ("config file missing", lambda t: ["sweep", str(t / "none.toml")], 2, "no such file"),
    ("config file not TOML", lambda t: ["sweep", _grid(t, "T = [")], 2, "not valid TOML"),
    ("grid eta negative", lambda t: ["sweep", _grid(t, GRID_HEAD + '[[optimizer]]\nname = "muon"\neta = [0.1, -0.1]\n'),
                                     "--out", str(t / "o")], 2, "eta must be in [0.0, inf)"),
    ("grid eta a string", lambda t: ["sweep", _grid(t, GRID_HEAD + '[[optimizer]]\nname = "muon"\neta = "abc"\n'),
                                     "--out", str(t / "o")], 2, "eta must be a real number"),
    ("grid m = 0", lambda t: ["sweep", _grid(t, 'T = 5\n[[problem]]\nname = "matrix_least_squares"\nm = 0\n'
                                                '[[optimizer]]\nname = "muon"\neta = 0.1\n'), "--out", str(t / "o")],
     2, "m must be an integer >= 1"),
    ("grid kappa_A below 1", lambda t: ["sweep", _grid(t, 'T = 5\n[[problem]]\nname = "matrix_least_squares"\n'
                                                          'kappa_A = [10.0, 0.5]\n[[optimizer]]\nname = "muon"\n'
                                                          'eta = 0.1\n'), "--out", str(t / "o")],
     2, "kappa_A must be in"),
    ("grid malformed rule", lambda t: ["sweep", _grid(t, GRID_HEAD + '[[optimizer]]\nname = "muon"\n'
                                                         'eta = "0.5*T^-"\n'), "--out", str(t / "o")],
     2, "malformed horizon rule"),
    ("grid orth preset", lambda t: ["sweep", _grid(t, GRID_HEAD + '[[optimizer]]\nname = "muon"\neta = 0.1\n'
                                                      'orth = { method = "newton-schulz", coeffs = ["jordan", "x"] }\n'),
                                    "--out", str(t / "o")], 2, "orth.coeffs must be one of"),
    ("grid unknown key", lambda t: ["sweep", _grid(t, 'speed = 3\n' + GRID_HEAD + '[[optimizer]]\nname = "muon"\n'
                                                      'eta = 0.1\n'), "--out", str(t / "o")], 2,
     "unknown grid key(s) speed"),
    ("grid table for a scalar", lambda t: ["sweep", _grid(t, GRID_HEAD + '[[optimizer]]\nname = "muon"\n'
                                                             'eta = { a = 1 }\n'), "--out", str(t / "o")], 2,
     "a table is allowed only for orth"),
    ("bench unknown", lambda t: ["bench", "nope"], 2, "invalid choice"),
    ("unknown verb", lambda t: ["frobnicate"], 2, "invalid choice"),
    ("plot of a missing store", lambda t: ["plot", str(t / "nostore")], 2, "nostore"),
    ("verify --out a file", lambda t: ["verify", "--out", str(_file(t)), "--no-plots", "--no-progress"], 2,
     "exists and is not a directory"),
    ("verify unknown check", lambda t: ["verify", "no_such_check"], 2, "unknown check name"),
]


def _file(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    return f


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(case, tmp_path, capsys):
    _, argv, status, fragment = case
    code = main(argv(tmp_path))
    err = capsys.readouterr().err
    assert code == status, err
    assert fragment in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_backend_torch_without_torch(tmp_path, capsys, monkeypatch):
    """``--backend torch`` where torch is not installed: a usage error before anything runs."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    code = main(["run", *LSQ, *MUON, "--T", "5", "--backend", "torch", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "backend 'torch' cannot run here" in err and "not installed" in err, err
    assert not (tmp_path / "o").exists()  # nothing ran, nothing written


def test_diverged_run_is_a_failure(tmp_path, capsys):
    """issue 15 item 2: the reproducer (PolarGrad, eta = 0.5, T = 700) fails with the step, exit 1."""
    code = main(["run", "--problem", "matrix_least_squares", "-P", "m=32", "-P", "n=16", "-P", "kappa_A=10",
                 "--optimizer", "polargrad", "-O", "eta=0.5", "--T", "700", "--n-seeds", "4",
                 "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "0 done" in out and "1 failed" in out
    assert "DivergedRunError" in err and "step" in err


def _orth(M, method):
    from adago_theory import orthogonalize

    return orthogonalize(M, method)


# (id, call, exception type, message fragment, marks)
API_CASES = [
    ("muon eta negative", lambda: __import__("adago_theory").optim.muon(-0.1), ValueError, "eta", ()),
    ("muon eta string", lambda: __import__("adago_theory").optim.muon("abc"), TypeError, "eta", ()),
    ("adago missing eps", lambda: __import__("adago_theory").optim.adago(0.1, gamma=1.0), TypeError, "eps", ()),
    ("orthogonalize unknown method", lambda: _orth(np.eye(2), "magic"), ValueError, "method", ()),
    ("orthogonalize integer input", lambda: _orth(np.eye(2, dtype=int), "svd"), TypeError, "", ()),
    ("NS steps unbounded", lambda: __import__("adago_theory").orthogonalize(np.eye(3), "newton-schulz",
                                                                             steps=10**7), ValueError, "steps",
     ()),
    ("NS diverging coefficients", lambda: __import__("adago_theory").orthogonalize(
        np.diag([1.0, 0.5]), "newton-schulz", coeffs=[(10.0, 10.0, 10.0)] * 10), ValueError, "coeffs",
     ()),
    ("kappa_A below 1", lambda: __import__("problems").make_matrix_least_squares(kappa_A=0.5), ValueError,
     "kappa_A", ()),
    ("m = 0", lambda: __import__("problems").make_matrix_least_squares(m=0), ValueError, "m must be", ()),
    ("rng a string", lambda: __import__("problems").make_matrix_least_squares(rng="abc"), (TypeError, ValueError),
     "rng", ()),
    ("kappa_A beyond float64", lambda: __import__("problems").make_matrix_least_squares(kappa_A=1e300),
     ValueError, "kappa_A", ()),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=c[4]) for c in API_CASES])
def test_api_bad_input(case):
    _, call, exc, fragment, _marks = case
    with pytest.raises(exc, match=None) as info:
        call()
    assert fragment in str(info.value)


def test_count():
    """The table's size: what issue 15 counts (its lists name 20 CLI and 10 API cases)."""
    assert len(CLI_CASES) + 2 >= 40 and len(API_CASES) >= 10
