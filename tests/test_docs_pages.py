"""The generated pages of the documentation site (docs/_ext/adago_docs.py).

The claims pages are generated from the verifiers' results.json, so these tests feed the generator
records built with verify.result.CheckResult — the real record type — and check what a reader sees:
the claim, the verdict (with the negative-control rule of CheckResult.passed), the measured values
next to the predicted ones, the provenance and the figure.  One test builds a tiny Sphinx project
with warnings as errors, so the generated reStructuredText is also checked to be valid.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import adago_docs as ad  # noqa: E402

CheckResult = pytest.importorskip("verify.result").CheckResult


def _record(name="toy_rate", verdict=True, control=False, **kw):
    base = dict(
        name=name,
        claim="AdaGO's min_t ||grad f||_* decays like T^(-1/2) on a smooth problem",
        claim_math=r"\min_{t<T}\|\nabla f(X_t)\|_* = O(T^{-1/2})",
        source="theory.md §1.3",
        provenance=("seed text", "derived here"),
        kind="tight rate",
        measured={"slope": -0.4875, "grad_nuc": np.array([0.5, 0.25, 0.125]), "nested": {"r2": 0.99}},
        predicted={"slope": -0.5, "bound": np.arange(20.0)},
        fit={"slope": -0.4875, "ci": np.array([-0.52, -0.45])},
        verdict=verdict,
        verdict_text="slope -0.49 within 0.05 of -0.5",
        negative_control={"verdict": control, "claim": "Muon with a constant step has slope 0"},
        params={"T": np.array([100.0, 300.0, 1000.0]), "seeds": 8, "problem": {"m": 20, "n": 10}},
        quick=True,
        notes="eps = 1/sqrt(T): our choice.",
    )
    base.update(kw)
    return CheckResult(**base).to_dict()


# ------------------------------------------------------------------------------------------ helpers


def test_rst_escape_makes_markup_literal():
    assert ad.rst_escape("a_b *c* `d` |e|") == r"a\_b \*c\* \`d\` \|e\|"
    assert ad.rst_escape("two\n  lines") == "two lines"


def test_format_value_short_lists_long_arrays_and_nonfinite():
    assert ad.format_value(0.5) == "0.5"
    assert ad.format_value(1.23456e-7) == "1.235e-07"
    assert ad.format_value([1.0, 2.5]) == "[1, 2.5]"
    assert ad.format_value("NaN") == "NaN"
    assert ad.format_value(None) == "—"
    long = ad.format_value([float(i) for i in range(10)])
    assert long == "array (10,), min 0, max 9, last 9"
    assert ad.format_value([[1.0, 2.0], [3.0, 4.0]]) == "array (2, 2), min 1, max 4, last 4"


def test_flatten_nested_dicts():
    assert ad.flatten({"a": {"b": 1, "c": {"d": 2}}, "e": [1]}) == {"a.b": 1, "a.c.d": 2, "e": [1]}


# ------------------------------------------------------------------------------------- results.json


def test_load_results_reads_what_verify_writes(tmp_path):
    """The one results.json reader (verify.runner.load_results), adapted to the page renderer's records."""
    from verify.runner import RESULTS_SCHEMA

    recs = [_record("a"), _record("b")]
    doc = {"schema": RESULTS_SCHEMA, "updated": "2026-01-01T00:00:00+00:00",
           "checks": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in recs}}
    p = tmp_path / "results.json"
    p.write_text(json.dumps(doc))
    entries, meta = ad.load_results(p)
    assert [e["name"] for e in entries] == ["a", "b"]
    assert entries[0]["claim"] == recs[0]["claim"]
    assert meta == {"schema": RESULTS_SCHEMA, "updated": "2026-01-01T00:00:00+00:00"}


def test_load_results_rejects_other_json(tmp_path):
    p = tmp_path / "results.json"
    p.write_text(json.dumps({"something": 1}))
    with pytest.raises(ValueError, match="results.json"):
        ad.load_results(p)


def test_verdict_follows_checkresult_passed():
    assert ad._verdict_word(_record(verdict=True, control=False)) == "PASS"
    assert ad._verdict_word(_record(verdict=False, control=False)) == "FAIL"
    # the claim holds but so does the negative control: the check does not discriminate -> FAIL
    assert ad._verdict_word(_record(verdict=True, control=True)) == "FAIL"
    rec = _record()
    del rec["passed"]
    assert ad._verdict_word(rec) == "PASS"


def test_figures_are_matched_by_check_name(tmp_path):
    for f in ("toy.png", "toy_rate.png", "toy-b.png", "toyother.png", "toy.pdf"):
        (tmp_path / f).write_bytes(b"x")
    names = ["toy", "toy_rate"]
    got = [p.name for p in ad._figure_files({"name": "toy"}, tmp_path, names)]
    assert sorted(got) == ["toy-b.png", "toy.png"]                  # not toy_rate's, not toyother
    got = [p.name for p in ad._figure_files({"name": "toy_rate"}, tmp_path, names)]
    assert got == ["toy_rate.png"]
    # a record that names its figures wins (a PDF name maps to its PNG)
    got = [p.name for p in ad._figure_files({"name": "toy", "figures": ["toy_rate.pdf"]}, tmp_path)]
    assert got == ["toy_rate.png"]


# ---------------------------------------------------------------------------------------- the page


def test_check_page_shows_claim_verdict_values_and_provenance():
    page = ad.render_check_page(_record(), ["figures/toy_rate.png"], results_label="quick run")
    assert "AdaGO's min\\_t \\|\\|grad f\\|\\|\\_\\* decays" in page          # the claim, escaped
    assert "**Verdict: PASS**" in page
    assert r"\min_{t<T}\|\nabla f(X_t)\|_* = O(T^{-1/2})" in page            # the math, verbatim
    assert "seed text" in page and "derived here" in page and "theory.md §1.3" in page
    # measured next to predicted, on one row, in the record's numbers
    assert "``slope``\n     - -0.4875\n     - -0.5" in page
    assert "[0.5, 0.25, 0.125]" in page
    assert "array (20,), min 0, max 19, last 19" in page
    assert "``nested.r2``" in page and "0.99" in page
    assert ".. figure:: figures/toy_rate.png" in page
    assert "quick" in page and "Negative control" in page and "does not hold" in page
    assert "our choice" in page


def test_page_of_a_check_that_raised_shows_the_error(tmp_path):
    # the entry verify.runner writes when a check raises: no claim, an error text
    entry = {"name": "broken", "error": "Traceback ...\nValueError: boom", "passed": False, "seconds": 0.5,
             "seed": 0, "run_at": "2026-01-01T00:00:00+00:00"}
    p = tmp_path / "results.json"
    p.write_text(json.dumps({"schema": "adago-theory/verify-results/1", "checks": {"broken": entry}}))
    entries, _ = ad.load_results(p)
    page = ad.render_check_page(entries[0], [])
    assert "**Verdict: FAIL**" in page and "ValueError: boom" in page and ".. error::" in page


def test_check_page_of_a_failing_check_says_so():
    page = ad.render_check_page(_record(verdict=False), [])
    assert "**Verdict: FAIL**" in page and ".. figure::" not in page


def test_write_check_pages_writes_one_page_per_record_and_prunes(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    recs = [_record("b"), _record("a", verdict=False)]
    (res / "results.json").write_text(json.dumps({"schema": "adago-theory/verify-results/1", "checks": {
        r["name"]: {k: v for k, v in r.items() if k != "name"} for r in recs}}))
    (res / "a.png").write_bytes(b"png-a")
    out = tmp_path / "checks"
    out.mkdir()
    (out / "stale.rst").write_text("old")
    names = ad.write_check_pages(res / "results.json", out)
    assert names == ["a", "b"]
    assert sorted(p.name for p in out.glob("*.rst")) == ["a.rst", "b.rst", "index.rst"]
    assert (out / "figures" / "a.png").read_bytes() == b"png-a"
    index = (out / "index.rst").read_text()
    assert "**1 of 2 checks pass.**" in index
    assert index.index(":ref:`") < index.index("toctree")


# ---------------------------------------------------------------------- a real Sphinx build, -W


def test_generated_pages_build_with_warnings_as_errors(tmp_path):
    sphinx_build = pytest.importorskip("sphinx.cmd.build")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = tmp_path / "results"
    res.mkdir()
    rec = dict(_record("toy_rate"), figures=[str(res / "toy_rate.png"), str(res / "toy_rate.pdf")], seconds=1.5)
    (res / "results.json").write_text(json.dumps({"schema": "adago-theory/verify-results/1",
                                                  "updated": "c0ffee", "checks": {"toy_rate": rec}}))
    fig, ax = plt.subplots()
    ax.plot([1, 2], [2, 1])
    fig.savefig(res / "toy_rate.png")
    plt.close(fig)
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        "extensions = ['sphinx.ext.autodoc', 'sphinx.ext.mathjax', 'adago_docs']\n"
        f"adago_results = {str(res / 'results.json')!r}\n"
        "nitpicky = True\n"
    )
    (src / "index.rst").write_text("Site\n====\n\n.. toctree::\n\n   checks/index\n")
    out = tmp_path / "html"
    status = sphinx_build.build_main(["-b", "html", "-W", "-q", "-n", str(src), str(out)])
    assert status == 0
    html = (out / "checks" / "toy_rate.html").read_text()
    assert "Verdict: PASS" in html and "-0.4875" in html and "c0ffee" in html
    assert (out / "_images" / "toy_rate.png").is_file()
    assert "toy_rate.html" in (out / "checks" / "index.html").read_text()


def test_extension_examples():
    import doctest

    res = doctest.testmod(ad, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted >= 5
