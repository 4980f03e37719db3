"""The documentation site builds with warnings as errors and every example passes (slow: about 2 min).

This is the command ``.ci/run`` runs (``python -m adago_theory.app.docs_build``): the quick checks run, one
page per check is generated from their results.json, the docstring examples and the ``{doctest}``
blocks of the pages run, and Sphinx builds the HTML with ``-W -n`` (a broken cross-reference fails).
"""

import json
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")

from adago_theory.app.docs_build import build_docs, docs_dir  # noqa: E402


@pytest.mark.slow
def test_docs_build_strict_with_quick_checks(tmp_path):
    out = tmp_path / "html"
    assert build_docs(out, quick=True) == 0
    assert (out / "index.html").is_file()
    results = docs_dir() / "_build" / "verify-quick" / "results.json"
    names = list(json.loads(results.read_text())["checks"])          # verify.runner's layout
    assert names, "the quick verifier run produced no records"
    for name in names:                                   # one page per check, generated
        page = (out / "checks" / f"{name}.html").read_text()
        assert "Verdict:" in page
    for page in ("getting-started", "concepts/polar", "concepts/optimizers", "problems", "notation",
                 "howto/dask-sweep", "howto/gpu", "howto/new-optimizer", "howto/new-check",
                 "howto/reproduce-figure", "api/index"):
        assert (out / f"{page}.html").is_file(), page
    api = sorted(p.name for p in (out / "api" / "generated").glob("*.html"))
    assert "adago_theory.html" in api and "problems.html" in api and "verify.html" in api
    # math renders without network (issue 15 item 8): MathJax ships with the site, no page loads a remote script
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for html in out.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "cdn.jsdelivr" not in text and '<script src="http' not in text and "src=\"https://" not in text, html
    page = (out / "concepts" / "polar.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in page


def test_docs_sources_are_where_the_build_looks():
    src = docs_dir()
    assert (src / "conf.py").is_file() and (src / "_ext" / "adago_docs.py").is_file()
    assert Path(src / "index.md").is_file()
