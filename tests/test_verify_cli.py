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
