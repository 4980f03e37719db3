r"""Run registered checks, draw their figures and keep ``results.json`` up to date.

``results.json`` layout (schema ``adago-theory/verify-results/1``)::

    {"schema": ..., "updated": ISO-8601 UTC, "environment": {...},
     "checks": {name: CheckResult.to_dict() + {"seconds", "figures", "seed", "run_at"}
                (figures: file names, relative to the directory of results.json)
                or {"name", "error", "passed": false, "seconds", "seed", "run_at"}}}

Running a subset of checks updates their entries and keeps the others (so the file always
holds the last verdict of every check that was ever run into that directory).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import time
import traceback
import uuid
from pathlib import Path

import numpy as np

from .result import CheckResult

__all__ = ["run_checks", "load_results", "write_results", "summary_table", "RESULTS_SCHEMA"]

RESULTS_SCHEMA = "adago-theory/verify-results/1"


def _environment():
    env = {"python": platform.python_version(), "platform": platform.platform(), "numpy": np.__version__}
    for mod in ("scipy", "sympy", "matplotlib"):
        try:
            env[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover - optional
            env[mod] = None
    try:
        import adago_theory

        env["adago_theory"] = adago_theory.__version__
    except Exception:  # pragma: no cover
        env["adago_theory"] = None
    return env


def _atomic_write_text(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_results(path):
    """Read ``results.json`` (a file or the directory holding it); ``{}``-shaped document if absent.

    Returns
    -------
    dict
        The whole document; ``doc["checks"][name]`` is a JSON dict (use
        :meth:`CheckResult.from_dict` for the record, unless it carries ``"error"``).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.exists():
        return {"schema": RESULTS_SCHEMA, "checks": {}}
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or doc.get("schema") != RESULTS_SCHEMA or not isinstance(doc.get("checks"), dict):
        raise ValueError(f"{path} is not a verify results file (schema {RESULTS_SCHEMA!r})")
    return doc


def write_results(out_dir, entries, *, merge=True):
    """Write (merge) check entries into ``<out_dir>/results.json`` atomically; returns the path."""
    out_dir = Path(out_dir)
    path = out_dir / "results.json"
    doc = load_results(path) if (merge and path.exists()) else {"schema": RESULTS_SCHEMA, "checks": {}}
    doc["schema"] = RESULTS_SCHEMA
    doc["updated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    doc["environment"] = _environment()
    doc["checks"].update(entries)
    _atomic_write_text(path, _dumps(doc))
    return path


def _dumps(doc):
    """Readable at the top (one line per check) and compact inside (arrays stay on one line)."""
    head = {k: v for k, v in doc.items() if k != "checks"}
    lines = [f" {json.dumps(name)}: {json.dumps(entry, separators=(',', ':'), allow_nan=False)}"
             for name, entry in doc["checks"].items()]
    top = json.dumps(head, indent=1, allow_nan=False)[:-2]  # drop the closing "\n}"
    return top + ',\n "checks": {\n' + ",\n".join(lines) + "\n }\n}\n"


def _entry(result, seconds, figures, seed, error=None):
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if error is not None:
        return {"name": error[0], "error": error[1], "passed": False, "seconds": seconds, "seed": seed,
                "run_at": now}
    d = result.to_dict()
    d.update(seconds=seconds, figures=[Path(f).name for f in figures], seed=seed, run_at=now)
    return d


def run_checks(names=None, *, quick=False, out=None, rng=0, progress=True, plots=True, formats=("png", "pdf"),
               registry=None):
    """Run checks by name; optionally draw and save figures and merge ``results.json`` into ``out``.

    Parameters
    ----------
    names : sequence of str, optional
        Registry names (default: all, in registry order).
    quick : bool
        Quick mode of every check.
    out : path, optional
        Output directory for ``<name>.png``/``.pdf`` and ``results.json`` (nothing written if None).
    rng : int or None
        One integer seed passed to every check (each check builds its own Generator, so a check's
        result does not depend on which other checks ran).  ``None`` draws one and records it.
    progress : bool
        Show a tqdm progress bar on stderr.
    plots : bool
        Draw figures (only when ``out`` is given).
    formats : sequence of str
        Figure formats.
    registry : dict, optional
        ``{name: (check_fn, plot_fn)}`` (default :data:`verify.CHECKS`).

    Returns
    -------
    dict
        ``name -> {"result": CheckResult or None, "error": str or None, "seconds": float,
        "figures": list of Path}``, in run order.

    Raises
    ------
    KeyError
        For names not in the registry (the message lists the known ones).
    """
    if registry is None:
        from . import CHECKS as registry
    names = list(registry) if not names else list(names)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise KeyError(f"unknown check name(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    if rng is None:
        rng = int(np.random.SeedSequence().entropy % (2**32))
    if not isinstance(rng, (int, np.integer)) or isinstance(rng, bool):
        raise TypeError(f"rng must be an integer seed or None, got {rng!r}")
    from tqdm.auto import tqdm

    report, entries = {}, {}
    bar = tqdm(names, desc="verify", unit="check", disable=not progress, file=sys.stderr, leave=True)
    for name in bar:
        bar.set_postfix_str(name)
        check_fn, plot_fn = registry[name]
        t0 = time.perf_counter()
        figures, err, result = [], None, None
        try:
            result = check_fn(quick=quick, rng=int(rng))
            if not isinstance(result, CheckResult):
                raise TypeError(f"check {name} returned {type(result).__name__}, not a CheckResult")
        except Exception:
            err = traceback.format_exc()
        if result is not None and out is not None and plots and plot_fn is not None:
            try:
                from adago_theory.app.plotting import save_figure

                fig = plot_fn(result)
                figures = save_figure(fig, Path(out) / name, formats=formats)
            except Exception:
                err = "plot failed:\n" + traceback.format_exc()
        seconds = time.perf_counter() - t0
        report[name] = {"result": result, "error": err, "seconds": seconds, "figures": figures}
        if out is not None:
            if result is not None:
                entries[name] = _entry(result, seconds, figures, int(rng))
                if err is not None:
                    entries[name]["error"] = err
                    entries[name]["passed"] = False
            else:
                entries[name] = _entry(None, seconds, figures, int(rng), error=(name, err))
    if out is not None:
        write_results(out, entries)
    return report


def _passed(entry):
    return entry["error"] is None and entry["result"] is not None and entry["result"].passed


def summary_table(report):
    """A plain-text table: check, claim verdict, negative control, pass, seconds, verdict text."""
    rows = [("check", "claim", "control", "status", "time", "verdict")]
    for name, e in report.items():
        r = e["result"]
        if r is None:
            rows.append((name, "-", "-", "ERROR", f"{e['seconds']:.1f}s", e["error"].strip().splitlines()[-1][:90]))
            continue
        nv = r.negative_verdict
        ctrl = "-" if nv is None else ("holds!" if nv else "fails")
        status = "PASS" if (r.passed and e["error"] is None) else ("ERROR" if e["error"] else "FAIL")
        text = r.verdict_text if len(r.verdict_text) <= 90 else r.verdict_text[:87] + "..."
        rows.append((name, "holds" if r.verdict else "fails", ctrl, status, f"{e['seconds']:.1f}s", text))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(row[i].ljust(widths[i]) for i in range(5)) + "  " + row[5])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    n_pass = sum(_passed(e) for e in report.values())
    lines.append(f"{n_pass}/{len(report)} checks passed")
    return "\n".join(lines)
