"""The kill matrix: cell rules, the matrix on a tiny registry, its text, page and figure; and the quick kill
matrix of the real suite (each mutant is killed by its declared expected killer)."""

import numpy as np
import pytest

import verify
from adago_theory import optim
from verify._factories import resolve, uses
from verify.kill_matrix import cell_of, kill_matrix, kill_page, matrix_text, plot_kill_matrix
from verify.mutants import MUTANTS, Mutant
from verify.result import CheckResult


@pytest.mark.parametrize("status, base, equiv, cell", [
    ("fail", "pass", False, "killed"),
    ("error", "pass", False, "killed"),
    ("fail", "pass", True, "killed"),  # a declared equivalence does not hide a kill
    ("pass", "pass", False, "survived"),
    ("pass", "pass", True, "equivalent"),
    ("not reproduced", "pass", False, "killed"),
    ("not reproduced", "not reproduced", False, "not judged"),
    ("not judged", "not judged", False, "not judged"),
    ("not applicable", "pass", False, "n/a"),
])
def test_cell_rules(status, base, equiv, cell):
    assert cell_of(status, base, equiv) == cell


def _res(name, ok):
    return CheckResult(name=name, claim="c", claim_math="x", source="s", provenance="derived here",
                       kind="qualitative", measured={}, predicted={}, fit=None, verdict=ok, verdict_text="t",
                       negative_control={"verdict": False})


@uses("adago")
def check_descends(*, quick=False, rng=None, factories=None):
    """AdaGO reduces ||X||^2/2 by half in 30 steps (on f = ||X||^2/2)."""
    opt = resolve(factories)["adago"](0.2, gamma=10.0, eps=1e-3, beta=0.0)
    X = np.ones((3, 2))
    s = opt.init(X)
    for _ in range(30):
        X, s = opt.step(X, X.copy(), s)
    return _res("descends", bool(np.sum(X * X) < 0.5 * 6))


@uses("muon")
def check_muon_only(*, quick=False, rng=None, factories=None):
    return _res("muon_only", True)


REG = {"descends": (check_descends, None), "muon_only": (check_muon_only, None)}


def still(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    """Violates: descent. Expected killers: descends."""
    real = optim.adago(eta, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)
    return optim.Optimizer(real.init, lambda X, G, s: (X, s))


def half_step(eta, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **kw):
    """Violates: nothing descends checks see. Expected killers: none."""
    return optim.adago(eta / 2, gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov, orth=orth, **kw)


FAKE = {"still": Mutant("still", "adago", still, "no step", ("descends",)),
        "half": Mutant("half", "adago", half_step, "half step", ("descends",)),
        "half_eq": Mutant("half_eq", "adago", half_step, "half step", ("descends",),
                          (("descends", "a half step still descends"),))}


def test_kill_matrix_on_a_tiny_registry(tmp_path):
    km = kill_matrix(FAKE, registry=REG, progress=False)
    assert km["baseline"] == {"descends": "pass", "muon_only": "not applicable"}  # no mutant runs muon_only
    assert km["cells"]["still"]["descends"]["cell"] == "killed"
    assert km["cells"]["half"]["descends"]["cell"] == "survived"
    assert km["cells"]["half_eq"]["descends"]["cell"] == "equivalent"
    assert all(km["cells"][m]["muon_only"]["cell"] == "n/a" for m in FAKE)
    assert km["killed_by"] == {"still": ["descends"], "half": [], "half_eq": []}
    assert km["survivors"] == ["half"]  # half_eq is declared equivalent: not a survivor
    text = matrix_text(km)
    assert "1/3 mutants killed; survivors: half" in text
    assert "expected killers that did not kill: half: descends; half_eq: descends" in text
    row = {ln.split()[0]: ln for ln in text.splitlines() if ln.split() and ln.split()[0] in FAKE}
    assert row["still"].split()[1] == "K" and row["half"].split()[1] == "S"
    assert "not shown (no mutant runs them): muon_only" in text
    page = kill_page(km, commit={"sha": "0123456789abcdef", "dirty": True})
    assert page.startswith("---\norphan: true\n---")  # linked from claims.md, in no toctree
    assert "commit `0123456789ab` (working tree with uncommitted changes)" in page
    assert "| `still` | adago | **killed** |" in page and "| `half` | adago | SURVIVED |" in page
    assert "Not shown (they run no optimizer a mutant replaces): `muon_only`." in page
    assert "Equivalent for `descends`: a half step still descends" in page
    fig = plot_kill_matrix(km)
    from adago_theory.app.plotting import save_figure

    paths = save_figure(fig, tmp_path / "km", formats=("png",))
    assert paths[0].stat().st_size > 5_000


def test_kill_matrix_in_a_process_pool_agrees():
    a = kill_matrix(FAKE, registry=REG, progress=False, workers=1)
    b = kill_matrix(FAKE, registry=REG, progress=False, workers=2)
    assert {m: {c: v["cell"] for c, v in r.items()} for m, r in a["cells"].items()} == \
        {m: {c: v["cell"] for c, v in r.items()} for m, r in b["cells"].items()}


# --------------------------------------------------------------------------- the real suite, quick mode

#: Per mutant, the expected killer the default test run uses (the quickest that kills it); the slow test runs all.
QUICK_KILLER = {m.name: m.expected_killers[0] for m in MUTANTS.values()}


def _killed(mutant, check, quick=True):
    from verify.runner import run_one

    m = MUTANTS[mutant]
    rec = run_one(verify.CHECKS[check][0], quick=quick, rng=0, substitute={m.replaces: m.factory})
    base = run_one(verify.CHECKS[check][0], quick=quick, rng=0)["status"] if rec["status"] == "not reproduced" \
        else "pass"
    return cell_of(rec["status"], base) == "killed", rec


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_mutant_is_killed_by_its_expected_killer(mutant):
    check = QUICK_KILLER[mutant]
    if check not in verify.CHECKS:
        pytest.fail(f"{mutant}: expected killer {check} is not a registered check")
    killed, rec = _killed(mutant, check)
    assert killed, f"{mutant} survives {check} (quick): {rec['status']}: " \
                   f"{rec['result'].verdict_text if rec['result'] else rec['error']}"


@pytest.fixture(scope="module")
def quick_matrix():
    return kill_matrix(quick=True, progress=False, workers=2)


@pytest.mark.slow
def test_quick_kill_matrix_kills_every_non_equivalent_mutant(quick_matrix):
    km = quick_matrix
    # the real optimizers: no check fails or raises (a claim quick mode cannot judge says so)
    assert all(s in ("pass", "not judged", "not applicable") for s in km["baseline"].values()), km["baseline"]
    assert km["survivors"] == [], matrix_text(km)


@pytest.mark.slow
def test_quick_kill_matrix_every_expected_killer_kills(quick_matrix):
    """The declared expected killers are a claim too: each must kill its mutant (a miss names a check to sharpen)."""
    km = quick_matrix
    missed = [(m, c, km["cells"][m][c]["cell"]) for m, info in km["mutants"].items()
              for c in info["expected_killers"] if c in km["checks"] and km["cells"][m][c]["cell"] != "killed"]
    assert missed == [], missed


def test_kill_page_turns_math_roles_into_dollar_math():
    from verify.mutants import MUTANTS as REAL

    km = {"checks": ["c"], "baseline": {"c": "pass"}, "cells": {"adago_eta_twice": {"c": {"cell": "killed"}}},
          "killed_by": {"adago_eta_twice": ["c"]}, "survivors": [], "mode": "quick", "seed": 0, "seconds": 1.0,
          "workers": 1, "run_at": "2026-12-01T00:00:00+00:00",
          "mutants": {"adago_eta_twice": {"replaces": "adago", "violates": "v", "expected_killers": ["c"],
                                          "equivalent_for": {}}}}
    page = kill_page(km)
    assert ":math:" not in page and "$X_t = X_{t-1} - \\eta_t\\,\\alpha_t\\,\\mathrm{Orth}(M_t)$" in page
    assert REAL["adago_eta_twice"].factory.__doc__.count(":math:") > 0
