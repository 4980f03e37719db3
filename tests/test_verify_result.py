"""The CheckResult record: validation, verdict logic, JSON round trip."""

import json
import math

import numpy as np
import pytest

from verify.result import CheckResult


def _result(**kw):
    base = dict(
        name="demo", claim="a claim", claim_math=r"\|x\| \le 1", source="theory.md §1.3",
        provenance="derived here", kind="upper bound",
        measured={"x": np.array([0.5, np.nan, np.inf]), "nested": {"k": np.arange(3), "s": "text"}, "f": 1.5},
        predicted={"x": np.ones(3), "cube": np.zeros((2, 2, 2))},
        fit={"slope": -0.25, "ci": (-0.3, -0.2)},
        verdict=True, verdict_text="holds",
        negative_control={"verdict": False, "verdict_text": "control fails", "measured": {"y": np.array([-np.inf])}},
        params={"seeds": 8, "grid": (1, 2, 3), "names": ["a", "b"]}, quick=True,
    )
    base.update(kw)
    return CheckResult(**base)


def test_round_trip_preserves_values():
    r = _result()
    s = r.to_json()
    json.loads(s)  # strict JSON: no NaN/Infinity literals
    assert "NaN" in s and "Infinity" in s
    r2 = CheckResult.from_json(s)
    assert r2.to_dict() == r.to_dict()
    x = r2.measured["x"]
    assert x[0] == 0.5 and math.isnan(x[1]) and x[2] == math.inf
    np.testing.assert_array_equal(r2.predicted["cube"], np.zeros((2, 2, 2)))
    assert r2.measured["nested"]["s"] == "text"
    assert r2.params["names"] == ["a", "b"]
    assert r2.negative_control["measured"]["y"][0] == -math.inf
    assert r2.passed and r2.negative_verdict is False


def test_nested_check_result_as_control():
    inner = _result(name="inner", verdict=False, verdict_text="fails", negative_control=None)
    r = _result(negative_control=inner, provenance=("seed text", "derived here"))
    r2 = CheckResult.from_json(r.to_json())
    assert isinstance(r2.negative_control, CheckResult)
    assert r2.negative_control.verdict is False
    assert r2.provenances == ("seed text", "derived here")
    assert r2.passed


def test_passed_requires_negative_control_to_fail():
    assert not _result(negative_control={"verdict": True}).passed
    assert not _result(verdict=False).passed
    assert _result(negative_control=None).passed
    assert _result(negative_control=None).negative_verdict is None
    assert _result().to_dict()["passed"] is True


@pytest.mark.parametrize("kw, exc, match", [
    (dict(provenance="a blog"), ValueError, "provenance"),
    (dict(provenance=("seed text", "vibes")), ValueError, "provenance"),
    (dict(kind="rate"), ValueError, "kind"),
    (dict(verdict="yes"), TypeError, "verdict"),
    (dict(claim=""), TypeError, "claim"),
    (dict(measured=[1, 2]), TypeError, "measured"),
    (dict(negative_control={"verdict_text": "no verdict"}), ValueError, "negative_control"),
    (dict(negative_control=3), TypeError, "negative_control"),
    (dict(fit=3.0), TypeError, "fit"),
])
def test_validation(kw, exc, match):
    with pytest.raises(exc, match=match):
        _result(**kw)


def test_non_host_values_are_rejected_by_name():
    r = _result(measured={"bad": object()})
    with pytest.raises(TypeError, match=r"demo\.measured\.bad"):
        r.to_json()


def test_from_dict_rejects_foreign_dicts():
    with pytest.raises(ValueError, match="missing keys"):
        CheckResult.from_dict({"name": "x"})
