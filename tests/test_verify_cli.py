"""python -m verify: figures, results.json, summary, exit codes; the claims table."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import verify
from verify.__main__ import main
from verify.claims import claims_table
from verify.result import CheckResult
from verify.runner import RESULTS_SCHEMA, load_results


def test_cli_runs_a_check_and_writes_figures_and_results(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "verify", "ns_error", "--quick", "--out", str(out), "--no-progress",
                           "--claims", str(tmp_path / "claims.md")], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ns_error" in proc.stdout and "1/1 checks passed" in proc.stdout
    assert (out / "ns_error.png").stat().st_size > 10_000
    assert (out / "ns_error.pdf").read_bytes()[:5] == b"%PDF-"
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == RESULTS_SCHEMA
    entry = doc["checks"]["ns_error"]
    assert entry["passed"] is True and entry["quick"] is True and entry["seed"] == 0
    assert entry["figures"] == ["ns_error.png", "ns_error.pdf"]  # relative to results.json
    r = CheckResult.from_dict(entry)
    assert r.passed and r.to_dict()["measured"] == {k: v for k, v in entry["measured"].items()}
    claims = (tmp_path / "claims.md").read_text()
    assert "`ns_error`" in claims and "PASS (quick" in claims and "(out/ns_error.png)" in claims
    assert "not run" in claims  # the other registered checks


def test_unknown_name_exits_2_with_one_line(capsys):
    assert main(["no_such_check", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no_such_check" in err


def test_bad_option_exits_2(capsys):
    assert main(["--frobnicate"]) == 2


def test_list(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in verify.CHECKS:
        assert name in out


def _fake(verdict, negative):
    def check(quick=False, rng=None):
        return CheckResult(name="fake", claim="c", claim_math="x", source="s", provenance="derived here",
                           kind="equality", measured={"x": 1.0}, predicted={"x": 1.0}, fit=None,
                           verdict=verdict, verdict_text="t", negative_control={"verdict": negative},
                           params={"rng": rng}, quick=quick)
    return check


def _boom(quick=False, rng=None):
    raise RuntimeError("boom")


@pytest.mark.parametrize("fn, code", [(_fake(True, False), 0), (_fake(False, False), 1), (_fake(True, True), 1),
                                      (_boom, 1)])
def test_exit_codes_and_merge(monkeypatch, tmp_path, capsys, fn, code):
    monkeypatch.setattr(verify, "CHECKS", {"fake": (fn, None), "other": (_fake(True, False), None)})
    out = tmp_path / "o"
    assert main(["other", "--out", str(out), "--no-progress"]) == 0
    assert main(["fake", "--out", str(out), "--no-progress", "--seed", "7"]) == code
    doc = load_results(out)
    assert set(doc["checks"]) == {"fake", "other"}  # merged, not overwritten
    assert doc["checks"]["fake"]["passed"] is (code == 0)
    if fn is _boom:
        assert "RuntimeError: boom" in doc["checks"]["fake"]["error"]
        assert "ERROR" in capsys.readouterr().out
    else:
        assert doc["checks"]["fake"]["params"]["rng"] == 7.0


def test_claims_table_escapes_pipes_and_marks_errors():
    r = CheckResult(name="a", claim="||x|| small", claim_math=r"\|x\|", source="s", provenance=("seed text",),
                    kind="upper bound", measured={}, predicted={}, fit=None, verdict=True, verdict_text="ok")
    md = claims_table({"a": r, "b": {"name": "b", "error": "Traceback", "passed": False}},
                      registry={"a": (None, None), "b": (None, None)})
    row = [line for line in md.splitlines() if "`a`" in line and line.startswith("|")][0]
    assert r"\|\|x\|\| small" in row and "PASS (full" in row
    assert any("`b`" in line and "ERROR" in line for line in md.splitlines())


def test_load_results_rejects_foreign_files(tmp_path):
    p = tmp_path / "results.json"
    p.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="schema"):
        load_results(p)
    assert load_results(tmp_path / "missing")["checks"] == {}


# --------------------------------------------------------------------------- bring your own optimizer, --mutants

from verify._factories import resolve, uses  # noqa: E402


@uses("adago")
def _adago_descends(*, quick=False, rng=None, factories=None):
    """AdaGO halves ||X||^2 in 30 steps on f = ||X||^2/2."""
    import numpy as np

    opt = resolve(factories)["adago"](0.2, gamma=10.0, eps=1e-3, beta=0.0)
    X = np.ones((3, 2))
    s = opt.init(X)
    for _ in range(30):
        X, s = opt.step(X, X.copy(), s)
    return CheckResult(name="descends", claim="c", claim_math="x", source="s", provenance="derived here",
                       kind="qualitative", measured={"f": float(np.sum(X * X) / 2)}, predicted={"f": 1.5},
                       fit=None, verdict=bool(np.sum(X * X) < 3.0), verdict_text="descends",
                       negative_control={"verdict": False}, params={"preregistered": {"factor": 0.5}}, quick=quick)


@pytest.fixture
def adago_registry(monkeypatch):
    reg = {"descends": (_adago_descends, None), "other": (_fake(True, False), None)}
    monkeypatch.setattr(verify, "CHECKS", reg)
    return reg


@pytest.mark.parametrize("spec, match", [
    ("adago=no_such_pkg.mod:fn", "cannot import 'no_such_pkg.mod'"),
    ("adago=verify.mutants:no_such_fn", "has no attribute 'no_such_fn'"),
    ("adago=adago_theory.optim:muon", "cannot be called as adago"),
    ("adago=verify.result:to_jsonable", "cannot be called as adago"),
    ("adagoo=verify.mutants:adago_ns1", "unknown optimizer name 'adagoo'"),
    ("adago", "expected NAME=package.module:factory"),
    ("adago=adago_theory.optim:Optimizer", "adago"),
])
def test_bad_substitute_exits_2_with_one_line_before_any_check(adago_registry, tmp_path, capsys, spec, match):
    assert main(["--substitute", spec, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    cap = capsys.readouterr()
    assert len(cap.err.strip().splitlines()) == 1 and match in cap.err
    assert cap.out == "" and not (tmp_path / "o").exists()


def test_substitute_runs_the_checks_that_use_it_and_says_so(adago_registry, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["--substitute", "adago=verify.mutants:adago_eta_twice", "--out", str(out), "--no-progress",
                 "--claims", str(tmp_path / "claims.md")])
    text = capsys.readouterr().out
    assert code == 1  # eta applied twice: AdaGO no longer halves the loss in 30 steps
    assert "substituted: adago = verify.mutants:adago_eta_twice" in text
    row = [ln for ln in text.splitlines() if ln.startswith("descends")][0]
    assert row.split()[1] == "FAIL"
    assert [ln for ln in text.splitlines() if ln.startswith("other")][0].split()[1] == "N/A"
    doc = load_results(out)
    assert doc["substitutions"] == {"adago": "verify.mutants:adago_eta_twice"}
    assert doc["checks"]["descends"]["substituted"] == {"adago": "verify.mutants:adago_eta_twice"}
    assert doc["checks"]["descends"]["thresholds"] == {"factor": 0.5}
    assert "other" in doc["not_applicable"]
    claims = (tmp_path / "claims.md").read_text()
    assert "**Substituted optimizers:** `adago` = `verify.mutants:adago_eta_twice`" in claims


def test_real_optimizer_substituted_for_itself_passes(adago_registry, tmp_path, capsys):
    assert main(["--substitute", "adago=adago_theory.optim:adago", "--out", str(tmp_path / "o"),
                 "--no-progress", "--verbose"]) == 0
    text = capsys.readouterr().out
    assert "=== descends: PASS" in text and "predicted:" in text and "factor: 0.5" in text


def test_mutants_cli_on_a_tiny_registry(adago_registry, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["--mutants", "--mutant", "adago_eta_twice", "--mutant", "adago_ns1", "--out", str(out),
                 "--no-progress", "--workers", "1", "--kill-page", str(tmp_path / "kill-matrix.md")])
    text = capsys.readouterr().out
    # ns1 is an inexact orthogonalizer: still a descent method, it survives this (toy) registry
    assert code == 1 and "survivors: adago_ns1" in text
    km = load_results(out)["kill_matrix"]
    assert km["killed_by"]["adago_eta_twice"] == ["descends"]
    assert km["cells"]["adago_ns1"]["other"]["cell"] == "n/a"
    assert (out / "kill_matrix.png").stat().st_size > 5_000
    page = (tmp_path / "kill-matrix.md").read_text()
    assert "# Kill matrix" in page and "(o/kill_matrix.png)" in page


@pytest.mark.parametrize("argv", [["--mutants", "--substitute", "adago=verify.mutants:adago_ns1"],
                                  ["--mutant", "adago_ns1"], ["--mutants", "--mutant", "nope"],
                                  ["--mutants", "--workers", "0"]])
def test_mutants_argument_errors_exit_2(argv, capsys):
    assert main(argv + ["--no-progress"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_claims_page_names_the_commit_and_the_four_outcomes(tmp_path):
    base = dict(claim="c", claim_math="x", source="s", provenance="seed text", kind="qualitative", measured={},
                predicted={}, fit=None, verdict_text="t")
    res = {n: CheckResult(name=n, verdict=v, outcome=o, **base) for n, v, o in
           [("a", True, ""), ("b", False, ""), ("c", False, "not reproduced"), ("d", True, "not judged")]}
    doc = {"checks": {n: dict(r.to_dict(), commit={"sha": "abcdef0123456789", "dirty": False})
                      for n, r in res.items()}, "commit": {"sha": "abcdef0123456789", "dirty": False}}
    md = claims_table(doc, registry={n: (None, None) for n in res})
    assert "Generated from results computed at commit `abcdef012345`." in md
    rows = {ln.split("`")[1]: ln for ln in md.splitlines() if ln.startswith("| ") and "`" in ln}
    assert "| PASS (full" in rows["a"] and "| FAIL (full" in rows["b"]
    assert "| NOT REPRODUCED (full" in rows["c"] and "| NOT JUDGED (full" in rows["d"]
    assert "**NOT REPRODUCED** = a claim of the seeds" in md and "**NOT JUDGED**" in md


def test_claims_page_links_the_kill_matrix_when_it_exists(tmp_path):
    r = CheckResult(name="a", claim="c", claim_math="x", source="s", provenance="seed text", kind="qualitative",
                    measured={}, predicted={}, fit=None, verdict=True, verdict_text="t")
    from verify.claims import write_claims

    page = write_claims({"a": r}, tmp_path / "claims.md", registry={"a": (None, None)})
    assert "kill matrix" not in page.read_text()
    (tmp_path / "kill-matrix.md").write_text("# Kill matrix\n")
    page = write_claims({"a": r}, tmp_path / "claims.md", registry={"a": (None, None)})
    assert "[kill matrix](kill-matrix.md)" in page.read_text()


def test_adago_theory_verify_forwards_substitute_and_mutants(capsys):
    from adago_theory.app.cli import main as cli_main

    assert cli_main(["verify", "--substitute", "adago=no_such_pkg.mod:fn", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "adago-theory verify" in err and "cannot import 'no_such_pkg.mod'" in err
    assert cli_main(["verify", "--mutants", "--mutant", "nope"]) == 2
    assert "unknown mutant(s): nope" in capsys.readouterr().err


def test_substituted_run_into_the_projects_results_is_refused(adago_registry, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["descends", "--out", str(out), "--no-progress", "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["--substitute", "adago=verify.mutants:adago_ns1", "--out", str(out), "--no-progress"]) == 2
    cap = capsys.readouterr()
    assert "holds results of the project's own optimizers" in cap.err and cap.out == ""
    assert load_results(out)["substitutions"] == {}
