# Sphinx configuration of the adago-theory documentation site.
#
# Build (warnings are errors, every example runs):   python -m adago_theory.app.docs_build
# or by hand:                                         sphinx-build -W -n --keep-going docs docs/_build/html
#
# The pages under _generated/ (one page per check, the API reference) are written at build time by the
# local extension _ext/adago_docs.py from the code and from the verifiers' results.json; they are not
# committed.  Everything here works offline: no intersphinx, no fetched assets.  Math is rendered in
# the reader's browser by MathJax 3, shipped with the site: the `sphinx-mathjax-offline` package (docs
# extra) copies its MathJax into _build/html/_static/mathjax, so a site opened without network shows
# formulas, not raw TeX (tests/test_docs_build.py checks that no page loads a script from the network).

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the repository, for a checkout that is not pip-installed

import adago_theory  # noqa: E402

project = "adago-theory"
author = "the adago-theory authors"
copyright = "2026, the adago-theory authors"
release = adago_theory.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "adago_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store", "**/README.md"]
templates_path = ["_templates"]

# --- strictness: every cross-reference must resolve (nitpicky); objects of other libraries are not
# --- linked (no intersphinx offline), so references into them are exempt by module name.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|cupy|torch|pandas|pd|matplotlib|mpl|dask|distributed|joblib|pyarrow|"
               r"array_api_compat|threadpoolctl|sympy|concurrent|pathlib|importlib|argparse|typing|"
               r"collections|os|io|json|dataclasses|enum|types|datetime)(\..*)?"),
    # builtins and typing names that appear in signatures and numpydoc type fields
    (r"py:.*", r"(int|float|bool|str|bytes|dict|list|tuple|set|callable|object|None|Any|Callable|Sequence|"
               r"Mapping|Iterable|Iterator|Literal|Optional|Union|NamedTuple|Path|module|Exception|ValueError|"
               r"TypeError|KeyError|RuntimeError|ConnectionError|OSError|FileNotFoundError|array|array_like|"
               r"Array|Namespace|Generator|Figure|Axes|DataFrame|ndarray)(\..*)?"),
]

# --- MyST (Markdown pages)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# --- autodoc / numpydoc: signatures as written, types left as text (no guessed cross-references)
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"undoc-members": False}
# the API reference (docs/api/index.md): autosummary writes one page per module into api/generated/,
# from the templates in _templates/autosummary/; a module's names are those of its __all__
autosummary_generate = True
autosummary_ignore_module_all = True
autosummary_imported_members = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# --- doctest: the {doctest} blocks of the pages run under `sphinx-build -b doctest`; the Examples
# --- sections of the docstrings run as module doctests (tests/test_docs_doctests.py), where each
# --- module's globals are in scope.
doctest_test_doctest_blocks = ""
import doctest as _doctest  # noqa: E402

# exception messages are compared too (no IGNORE_EXCEPTION_DETAIL): an error text cannot drift either
doctest_default_flags = _doctest.ELLIPSIS | _doctest.DONT_ACCEPT_TRUE_FOR_1
doctest_global_setup = """
import importlib.util
import numpy as np
import matplotlib
matplotlib.use("Agg")
HAS_TORCH = importlib.util.find_spec("torch") is not None
"""

# --- executed figures (matplotlib plot directive): code runs at build time; no source links
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.0, 3.6)}

# --- the local extension (_ext/adago_docs.py): where the verifiers' results come from.
# "auto": $ADAGO_DOCS_RESULTS if set, else docs/figures/results.json (a committed full run) if present,
# else a quick run `python -m verify --quick` into docs/_build/verify-quick (made once, then reused).
adago_results = os.environ.get("ADAGO_DOCS_RESULTS", "auto")

# --- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"adago-theory {release}"
html_static_path = ["_static"]
html_css_files = ["adago.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_last_updated_fmt = None
# pages without sub-pages: no (empty) section navigation on the left, more room for the text
html_sidebars = {"index": [], "getting-started": [], "problems": [], "notation": []}
