"""verify.runner: bring your own optimizer (substitution, applicability, validation before any check runs),
pinned results (commit, packages, substitutions, thresholds) and the readable summary."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adago_theory import optim
from verify._factories import SubstitutionError, resolve, uses
from verify.result import CheckResult
from verify.runner import (LEGEND, ResultsMismatchError, applicability, git_commit, load_results, run_checks, summary_table,
                           verbose_records)

CALLS = []
LONG = ("the measured slope is -0.2512 against the predicted -0.25 over horizons 10 to 10000 with a seed bootstrap "
        "interval [-0.27, -0.23] that contains the prediction, and the control (Muon with a constant step) has "
        "slope -0.02, outside the interval; every one of the 24 settings was below the bound B(T) by a margin "
        "of at least 12 percent, which is the END-OF-TEXT marker")


def _result(name, verdict, *, outcome="", text="t", control=False, params=None):
    return CheckResult(name=name, claim="c", claim_math="x", source="s", provenance="derived here", kind="equality",
                       measured={"slope": -0.2512, "curve": np.arange(10.0)}, predicted={"slope": -0.25},
                       fit=None, verdict=verdict, verdict_text=text, negative_control={"verdict": control},
                       params=params or {}, outcome=outcome)


def _descends(opt):
    """Ten steps on f(X) = ||X||_F^2 / 2 from a fixed X0: does the loss fall below 0.9 of its start?"""
    X = np.arange(1.0, 7.0).reshape(3, 2) / 3
    f0 = 0.5 * np.sum(X * X)
    s = opt.init(X)
    for _ in range(10):
        X, s = opt.step(X, X.copy(), s)
    return bool(0.5 * np.sum(X * X) < 0.9 * f0)


@uses("adago")
def check_adago_toy(*, quick=False, rng=None, factories=None):
    CALLS.append("adago_toy")
    F = resolve(factories)
    ok = _descends(F["adago"](0.1, gamma=10.0, eps=1e-3))
    return _result("adago_toy", ok, text=LONG, params={"preregistered": {"ratio": 0.9, "steps": 10}})


@uses("muon")
def check_muon_toy(*, quick=False, rng=None, factories=None):
    CALLS.append("muon_toy")
    return _result("muon_toy", _descends(resolve(factories)["muon"](0.1)))


def check_no_factories(*, quick=False, rng=None):
    CALLS.append("no_factories")
    return _result("no_factories", True, outcome="not reproduced", text="measured, not confirmed")


def check_unmarked(*, quick=False, rng=None, factories=None):
    CALLS.append("unmarked")
    return _result("unmarked", True, outcome="not judged" if quick else "", text="cannot judge in quick mode")


REG = {"adago_toy": (check_adago_toy, None), "muon_toy": (check_muon_toy, None),
       "no_factories": (check_no_factories, None), "unmarked": (check_unmarked, None)}


def frozen_adago(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    """Moves nothing: step = 0."""
    real = optim.adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)
    return optim.Optimizer(real.init, lambda X, G, s: (X, s))


def wrong_signature(eta, *, lr_decay):
    return optim.adago(eta, gamma=1.0, eps=1e-3)


def not_an_optimizer(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    return (lambda X: None, lambda X, G, s: (X, s))


def test_no_substitution_runs_every_check():
    CALLS.clear()
    rep = run_checks(registry=REG, progress=False, quick=True)
    assert CALLS == ["adago_toy", "muon_toy", "no_factories", "unmarked"]
    assert [r["status"] for r in rep.values()] == ["pass", "pass", "not reproduced", "not judged"]


def test_substitution_reaches_only_the_checks_that_run_it():
    CALLS.clear()
    rep = run_checks(registry=REG, progress=False, substitute={"adago": frozen_adago})
    assert CALLS == ["adago_toy", "unmarked"]  # muon_toy: uses muon only; no_factories: cannot take it
    assert rep["adago_toy"]["status"] == "fail"  # the frozen optimizer does not descend
    assert rep["adago_toy"]["substituted"] == {"adago": f"{__name__}:frozen_adago"}
    assert rep["muon_toy"]["status"] == "not applicable" and "uses muon" in rep["muon_toy"]["reason"]
    assert rep["no_factories"]["status"] == "not applicable" and "no factories" in rep["no_factories"]["reason"]
    assert rep["unmarked"]["status"] == "pass"


@pytest.mark.parametrize("fn, match", [
    (wrong_signature, "cannot be called as adago"),
    (not_an_optimizer, "not an adago_theory.optim.Optimizer"),
    (optim.muon, "unexpected keyword argument 'gamma'"),
    (42, "not callable"),
])
def test_bad_substitute_is_refused_before_any_check(fn, match):
    CALLS.clear()
    with pytest.raises(SubstitutionError, match=match) as info:
        run_checks(registry=REG, progress=False, substitute={"adago": fn})
    assert CALLS == [] and "\n" not in str(info.value)


def test_unknown_substitution_name():
    with pytest.raises(SubstitutionError, match="unknown optimizer name 'adamm'"):
        run_checks(registry=REG, progress=False, substitute={"adamm": optim.adamw})


def test_applicability_rules():
    assert applicability(check_adago_toy, None) == (True, "")
    assert applicability(check_adago_toy, {"adago": frozen_adago})[0]
    assert not applicability(check_muon_toy, {"adago": frozen_adago})[0]
    assert applicability(check_unmarked, {"namo": optim.namo})[0]  # no `uses`: may run anything
    assert not applicability(check_no_factories, {"adago": frozen_adago})[0]


def test_results_json_pins_commit_packages_substitutions_and_thresholds(tmp_path):
    run_checks(registry=REG, progress=False, out=tmp_path, plots=False)
    doc = load_results(tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                          text=True).stdout.strip()
    assert doc["commit"]["sha"] == head and isinstance(doc["commit"]["dirty"], bool)
    assert doc["environment"]["packages"]["numpy"] == np.__version__
    assert doc["substitutions"] == {}
    e = doc["checks"]["adago_toy"]
    assert e["thresholds"] == {"ratio": 0.9, "steps": 10} and e["status"] == "pass"
    assert e["commit"]["sha"] == head
    assert doc["checks"]["no_factories"]["status"] == "not reproduced"
    # a substituted run never mixes with (nor overwrites) the project's results
    CALLS.clear()
    with pytest.raises(ResultsMismatchError, match="holds results of the project's own optimizers"):
        run_checks(registry=REG, progress=False, out=tmp_path, plots=False, substitute={"adago": frozen_adago})
    assert CALLS == [] and load_results(tmp_path)["checks"]["adago_toy"]["status"] == "pass"
    tmp_path = tmp_path / "mine"
    run_checks(registry=REG, progress=False, out=tmp_path, plots=False, substitute={"adago": frozen_adago})
    doc = load_results(tmp_path)
    assert doc["substitutions"] == {"adago": f"{__name__}:frozen_adago"}
    assert set(doc["checks"]) == {"adago_toy", "unmarked"}
    assert set(doc["not_applicable"]) == {"muon_toy", "no_factories"}
    assert doc["checks"]["adago_toy"]["substituted"] == {"adago": f"{__name__}:frozen_adago"}
    assert doc["checks"]["adago_toy"]["passed"] is False


def test_git_commit_outside_a_repository(tmp_path):
    assert git_commit(tmp_path) == {"sha": None, "dirty": None}


def test_summary_table_is_readable():
    rep = run_checks(registry=REG, progress=False, substitute={"adago": frozen_adago})
    rep.update(run_checks(["no_factories"], registry=REG, progress=False))
    text = summary_table(rep, width=100, substitutions={"adago": "mine:frozen_adago"})
    lines = text.splitlines()
    assert lines[0] == "substituted: adago = mine:frozen_adago"
    assert all(len(ln) <= 100 for ln in lines)
    joined = " ".join(ln.strip() for ln in lines)
    assert " ".join(LONG.split()) in " ".join(joined.split())  # the verdict text in full, only wrapped
    assert "END-OF-TEXT" in text and "..." not in text.split("measured vs predicted")[0]
    row = {ln.split()[0]: ln for ln in lines if ln and ln.split()[0] in REG}
    assert row["adago_toy"].split()[1] == "FAIL"
    assert row["muon_toy"].split()[1] == "N/A"
    assert "NOT REPRODUCED" in row["no_factories"]
    assert "slope: -0.2512 vs -0.25" in joined
    assert "1/3 checks passed" in text
    for para in LEGEND:
        assert " ".join(para.split()[:6]) in joined
    assert "control: fails = the negative control's claim does not hold, as required" in joined


def test_summary_table_marks_errors_and_a_holding_control():
    rep = {"boom": {"result": None, "error": "Traceback...\nRuntimeError: boom", "status": "error", "seconds": 0.1},
           "ctrl": {"result": _result("ctrl", True, control=True), "error": None, "status": "fail",
                    "seconds": 0.2}}
    text = summary_table(rep, width=90, legend=False)
    row = {ln.split()[0]: ln for ln in text.splitlines() if ln.split() and ln.split()[0] in rep}
    assert row["boom"].split()[1] == "ERROR" and "RuntimeError: boom" in row["boom"]
    assert row["ctrl"].split()[1:3] == ["FAIL", "holds!"]
    assert "0/2 checks passed (1 fail, 1 error)" in text


def test_verbose_records_print_the_full_record():
    rep = run_checks(["adago_toy"], registry=REG, progress=False)
    text = verbose_records(rep)
    assert "=== adago_toy: PASS" in text
    assert "params:" in text and "preregistered:" in text and "ratio: 0.9" in text
    assert "measured:" in text and "curve: [0. 1. 2. 3. 4. 5. 6. 7. 8. 9.]" in text
    assert "predicted:" in text and "slope: -0.25" in text
    assert "negative control: fails" in text


def test_results_file_is_valid_json_with_substitution(tmp_path):
    run_checks(["adago_toy"], registry=REG, progress=False, out=tmp_path, plots=False,
               substitute={"adago": frozen_adago}, describe={"adago": "tests:frozen"})
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["substitutions"] == {"adago": "tests:frozen"}


def test_measured_vs_predicted_with_shared_and_different_keys():
    from verify.runner import measured_vs_predicted

    r = _result("x", True)
    assert measured_vs_predicted(r) == "slope: -0.2512 vs -0.25"
    r2 = CheckResult(name="y", claim="c", claim_math="x", source="s", provenance="derived here", kind="equality",
                     measured={"err": {"svd": 1e-15}}, predicted={"tol": 1e-8}, fit=None, verdict=True,
                     verdict_text="t")
    assert measured_vs_predicted(r2) == "measured err.svd = 1e-15; predicted tol = 1e-08"
