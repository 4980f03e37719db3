"""The project's plotting style and save_figure (adago_theory.app.plotting)."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from adago_theory.app import plotting


def _figure():
    fig, ax = plotting.new_figure(1, 2)
    x = np.geomspace(10, 1e4, 6)
    Y = x**-0.25 * np.exp(0.1 * np.random.default_rng(0).standard_normal((5, 6)))
    plotting.median_band(ax[0, 0], x, Y, label="median")
    plotting.reference_line(ax[0, 0], x, -0.25, anchor=(x[0], 1.0), label="ref")
    ax[0, 0].set_xscale("log")
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_title("rate")
    plotting.panel_label(ax[0, 0], "a")
    ax[0, 1].plot([0, 1], [0, 1])
    return fig


def test_import_is_lazy():
    code = ("import sys, adago_theory, adago_theory.app.plotting, verify; "
            "print(any(m.startswith(('matplotlib', 'sympy', 'torch', 'cupy')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_style_file_and_palette():
    assert plotting.STYLE_FILE.is_file()
    text = plotting.STYLE_FILE.read_text()
    for c in plotting.OKABE_ITO[:6]:
        assert c[1:] in text  # the cycle of the style file is the Okabe–Ito palette
    import matplotlib

    with plotting.style_context():
        cyc = [c["color"].lower().lstrip("#") for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cyc[:3] == [c[1:].lower() for c in plotting.OKABE_ITO[:3]]


def test_styled_figure_properties():
    fig = _figure()
    ax = fig.axes[0]
    assert ax.get_title(loc="left").endswith("rate") and ax.get_title() == ""
    line = ax.get_lines()[0]
    assert line.get_color().lower() == plotting.OKABE_ITO[0].lower()
    assert len(ax.collections) == 1  # the quantile band


def test_save_figure_writes_png_and_pdf_reproducibly(tmp_path):
    fig = _figure()
    paths = plotting.save_figure(fig, tmp_path / "sub" / "fig.png")  # extension replaced, dir created
    assert [p.name for p in paths] == ["fig.png", "fig.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    paths2 = plotting.save_figure(_figure(), tmp_path / "sub" / "fig")
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths2] == digests
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["fig.pdf", "fig.png"]  # no temp files
    pdf = paths[1].read_bytes()
    assert b"CreationDate" not in pdf and b"Producer" not in pdf


def test_save_figure_bad_format(tmp_path):
    with pytest.raises(ValueError, match="formats"):
        plotting.save_figure(_figure(), tmp_path / "x", formats=("jpg",))
