r"""Run registered checks, draw their figures and keep ``results.json`` up to date.

``results.json`` layout (schema ``adago-theory/verify-results/1``)::

    {"schema": ..., "updated": ISO-8601 UTC,
     "commit": {"sha": git HEAD or null, "dirty": bool or null},
     "environment": {"python", "platform", "packages": {name: version}},
     "substitutions": {optimizer name: "module:factory"}   (empty for the project's own optimizers),
     "not_applicable": {name: reason},                      (checks a substitution does not reach)
     "kill_matrix": {...},                                  (written by ``--mutants``, see verify.kill_matrix)
     "checks": {name: CheckResult.to_dict() + {"status", "seconds", "figures", "seed", "run_at", "commit",
                                               "thresholds", "substituted"}
                (figures: file names, relative to the directory of results.json)
                or {"name", "status": "error", "error", "passed": false, "seconds", "seed", "run_at", "commit"}}}

``thresholds`` is the check's pre-registered dict (``result.params["preregistered"]``), the thresholds and
constants it was judged with.  Running a subset of checks updates their entries and keeps the others (so the file
holds the last verdict of every check that was ever run into that directory).  Results of different optimizers
are never mixed: :func:`run_checks` refuses a directory holding results of other substitutions.

Bring your own optimizer: ``run_checks(substitute={"adago": my_adago})`` passes ``factories=`` to every check
whose signature takes it; a check whose ``uses`` names none of the substituted optimizers, or that takes no
``factories``, is "not applicable" (it would only test the project's own optimizers).
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
import traceback
import uuid
from pathlib import Path

import numpy as np

from .result import CheckResult, to_jsonable

__all__ = ["run_checks", "run_one", "ResultsMismatchError", "load_results", "write_results", "summary_table", "verbose_records",
           "applicability", "git_commit", "atomic_write_text", "RESULTS_SCHEMA", "STATUSES", "LEGEND"]

RESULTS_SCHEMA = "adago-theory/verify-results/1"


class ResultsMismatchError(ValueError):
    """``out`` already holds the results of other optimizers (a substitution, or the project's own)."""


#: Every status a check can end with in a run (the four outcomes of CheckResult.status, then the runner's two).
STATUSES = ("pass", "fail", "not reproduced", "not judged", "error", "not applicable")

#: Packages whose versions results.json records (read from the installed metadata, nothing imported).
PACKAGES = ("adago-theory", "numpy", "scipy", "sympy", "matplotlib", "array-api-compat", "torch", "jax", "cupy",
            "tqdm")

LEGEND = (
    "status: PASS = the claim holds and its negative control's does not; FAIL = the claim does not hold, or its "
    "control holds too; NOT REPRODUCED = a seed claim the toolkit measured and could not confirm; NOT JUDGED = "
    "the claim cannot be judged in this mode; ERROR = the check raised; N/A = the check runs none of the "
    "substituted optimizers.",
    "control: fails = the negative control's claim does not hold, as required; holds! = the control's claim "
    "holds too, so the check cannot tell the claim from its nearest wrong version (the check fails); "
    "- = no control.",
)


# --------------------------------------------------------------------------- provenance of a run


def _environment():
    from importlib import metadata

    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": packages}


def git_commit(path=None):
    """``{"sha": HEAD, "dirty": bool}`` of the git tree holding ``path`` (default: this package's); nulls if none.

    ``dirty`` is True when tracked files differ from HEAD (untracked files do not count).
    """
    cwd = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return {"sha": None, "dirty": None}
        st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                            capture_output=True, text=True, timeout=20)
        dirty = bool(st.stdout.strip()) if st.returncode == 0 else None
        return {"sha": sha.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def atomic_write_text(path: Path, text: str):
    """Write ``text`` to ``path`` through a temporary file in the same folder and an atomic rename (a reader
    sees the old file or the new one, never a part); creates the folder."""
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


# --------------------------------------------------------------------------- results.json


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


def write_results(out_dir, entries, *, merge=True, substitutions=None, not_applicable=None, extra=None,
                  commit=None):
    """Write (merge) check entries into ``<out_dir>/results.json`` atomically; returns the path.

    Parameters
    ----------
    entries : dict
        ``name -> entry`` (see the module docstring).
    merge : bool
        Keep the file's other entries, when its substitutions equal ``substitutions``.
    substitutions : dict, optional
        ``optimizer name -> "module:factory"`` of this run (empty: the project's own optimizers).
    not_applicable : dict, optional
        ``check name -> reason`` for checks this run did not reach.
    extra : dict, optional
        Further top-level sections (e.g. ``{"kill_matrix": ...}``), replaced as a whole.
    commit : dict, optional
        ``{"sha", "dirty"}`` (default :func:`git_commit`).
    """
    out_dir = Path(out_dir)
    path = out_dir / "results.json"
    subs = dict(substitutions or {})
    doc = load_results(path) if (merge and path.exists()) else {"schema": RESULTS_SCHEMA, "checks": {}}
    if doc.get("substitutions", {}) != subs:  # never mix the verdicts of different optimizers
        doc = {"schema": RESULTS_SCHEMA, "checks": {}}
    doc["schema"] = RESULTS_SCHEMA
    doc["updated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    doc["commit"] = commit if commit is not None else git_commit()
    doc["environment"] = _environment()
    doc["substitutions"] = subs
    na = dict(doc.get("not_applicable", {}))
    for name in entries:
        na.pop(name, None)
    na.update(not_applicable or {})
    for name in na:
        doc["checks"].pop(name, None)
    doc["not_applicable"] = na
    doc.update(extra or {})
    doc["checks"].update(entries)
    atomic_write_text(path, _dumps(doc))
    return path


def _dumps(doc):
    """Readable at the top (one line per check) and compact inside (arrays stay on one line)."""
    head = {k: v for k, v in doc.items() if k != "checks"}
    lines = [f" {json.dumps(name)}: {json.dumps(entry, separators=(',', ':'), allow_nan=False)}"
             for name, entry in doc["checks"].items()]
    top = json.dumps(head, indent=1, allow_nan=False)[:-2]  # drop the closing "\n}"
    return top + ',\n "checks": {\n' + ",\n".join(lines) + "\n }\n}\n"


def _entry(name, rec, seed, commit):
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    common = {"status": rec["status"], "seconds": rec["seconds"], "seed": seed, "run_at": now,
              "commit": commit, "substituted": rec.get("substituted", {})}
    result = rec["result"]
    if result is None:
        return {"name": name, "error": rec["error"], "passed": False, **common}
    d = result.to_dict()
    d.update(common, figures=[Path(f).name for f in rec["figures"]],
             thresholds=to_jsonable(result.params.get("preregistered"), path=f"{name}.thresholds"))
    if rec["error"] is not None:
        d["error"], d["passed"] = rec["error"], False
    return d


# --------------------------------------------------------------------------- running


def _takes_factories(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "factories" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def applicability(check_fn, substitute):
    """``(True, "")`` when ``check_fn`` runs a substituted optimizer, else ``(False, reason)``.

    With no substitution every check applies.  A check applies when it takes ``factories`` and either declares
    no ``uses`` (it may run any optimizer) or uses one of the substituted names.
    """
    if not substitute:
        return True, ""
    names = sorted(substitute)
    if not _takes_factories(check_fn):
        return False, "takes no factories (runs only the project's optimizers)"
    used = getattr(check_fn, "uses", None)
    if used is not None and not set(used) & set(names):
        return False, f"runs none of {', '.join(names)} (uses {', '.join(used) if used else 'no optimizer'})"
    return True, ""


def run_one(check_fn, *, quick=False, rng=0, substitute=None):
    """Run one check; returns ``{"result", "error", "status", "seconds", "substituted"}`` (no figure).

    ``status`` is :attr:`CheckResult.status`, ``"error"`` when the check raised or returned something else, or
    ``"not applicable"`` (with ``"reason"``) when ``substitute`` does not reach the check.
    """
    from ._factories import describe_factory

    ok, reason = applicability(check_fn, substitute)
    if not ok:
        return {"result": None, "error": None, "status": "not applicable", "reason": reason, "seconds": 0.0,
                "substituted": {}}
    used = getattr(check_fn, "uses", None)
    subs = {k: v for k, v in (substitute or {}).items() if used is None or k in used}
    t0 = time.perf_counter()
    result, err = None, None
    try:
        kwargs = {"quick": quick, "rng": int(rng)}
        if subs:
            kwargs["factories"] = dict(subs)
        result = check_fn(**kwargs)
        if not isinstance(result, CheckResult):
            raise TypeError(f"the check returned {type(result).__name__}, not a CheckResult")
    except Exception:
        result, err = None, traceback.format_exc()
    status = "error" if result is None else result.status
    return {"result": result, "error": err, "status": status, "seconds": time.perf_counter() - t0,
            "substituted": {k: describe_factory(v) for k, v in subs.items()}}


def run_checks(names=None, *, quick=False, out=None, rng=0, progress=True, plots=True, formats=("png", "pdf"),
               registry=None, substitute=None, describe=None):
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
    substitute : dict, optional
        ``{optimizer name: factory}``: run the checks on these factories instead of the project's (each is
        validated first by :func:`verify._factories.check_factory`; a bad one raises
        :class:`~verify._factories.SubstitutionError` before any check runs).
    describe : dict, optional
        ``{optimizer name: text}`` recorded for the substitutions (default ``module:qualname``).

    Returns
    -------
    dict
        ``name -> {"result": CheckResult or None, "error": str or None, "status": str, "seconds": float,
        "figures": list of Path, "substituted": dict}`` in run order (``"reason"`` for "not applicable").

    Raises
    ------
    KeyError
        For names not in the registry (the message lists the known ones).
    SubstitutionError
        For a substitute that cannot stand in for the project's factory.
    ResultsMismatchError
        When ``out`` holds results of other optimizers (they are never mixed nor overwritten).
    """
    from ._factories import check_factory, describe_factory

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
    substitute = dict(substitute or {})
    for name, fn in substitute.items():
        check_factory(name, fn)
    described = {k: (describe or {}).get(k) or describe_factory(v) for k, v in substitute.items()}
    if out is not None and (Path(out) / "results.json").is_file():
        prior = load_results(out)
        theirs = prior.get("substitutions") or {}
        if prior["checks"] and theirs != described:
            what = ", ".join(f"{k} = {v}" for k, v in theirs.items()) or "the project's own optimizers"
            raise ResultsMismatchError(f"{Path(out) / 'results.json'} holds results of {what}; write the results "
                                       f"of this run into another directory (--out)")
    from tqdm.auto import tqdm

    commit = git_commit() if out is not None else None
    report, entries, not_applicable = {}, {}, {}
    bar = tqdm(names, desc="verify", unit="check", disable=not progress, file=sys.stderr, leave=True)
    for name in bar:
        bar.set_postfix_str(name)
        check_fn, plot_fn = registry[name]
        rec = run_one(check_fn, quick=quick, rng=rng, substitute=substitute)
        rec["substituted"] = {k: described[k] for k in rec["substituted"]}
        rec["figures"] = []
        if rec["status"] == "not applicable":
            not_applicable[name] = rec["reason"]
        elif rec["result"] is not None and out is not None and plots and plot_fn is not None:
            t0 = time.perf_counter()
            try:
                from adago_theory.app.plotting import save_figure

                fig = plot_fn(rec["result"])
                rec["figures"] = save_figure(fig, Path(out) / name, formats=formats)
            except Exception:
                rec["error"], rec["status"] = "plot failed:\n" + traceback.format_exc(), "error"
            rec["seconds"] += time.perf_counter() - t0
        report[name] = rec
        if out is not None and rec["status"] != "not applicable":
            entries[name] = _entry(name, rec, int(rng), commit)
    if out is not None:
        write_results(out, entries, substitutions=described, not_applicable=not_applicable, commit=commit)
    return report


# --------------------------------------------------------------------------- the printed summary


def _status(rec):
    return rec.get("status") or ("error" if rec.get("error") or rec.get("result") is None else rec["result"].status)


def _label(status):
    return "N/A" if status == "not applicable" else status.upper()


def _num(x):
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}"
    if isinstance(x, str):
        return x
    a = np.asarray(x)
    if a.dtype.kind in "biuf" and a.size:
        if a.size <= 4:
            return "[" + ", ".join(f"{v:.4g}" for v in a.ravel().astype(float)) + "]"
        return f"[{a.min():.4g} .. {a.max():.4g}] ({a.size} values)"
    return str(x)[:40]


def _flat(d, prefix=""):
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def measured_vs_predicted(result, limit=6):
    """``"key: measured vs predicted; ..."`` for the keys both dicts share (nested keys dotted)."""
    m, p = _flat(result.measured), _flat(result.predicted)
    shared = [k for k in p if k in m]
    if shared:
        parts = [f"{k}: {_num(m[k])} vs {_num(p[k])}" for k in shared[:limit]]
        more = len(shared) - limit
    else:  # different keys: a few of each, labelled
        half = max(1, limit // 2)
        parts = [f"measured {k} = {_num(v)}" for k, v in list(m.items())[:half]]
        parts += [f"predicted {k} = {_num(v)}" for k, v in list(p.items())[:half]]
        more = len(m) + len(p) - len(parts)
    return "; ".join(parts) + (f"; ... ({more} more, --verbose)" if more > 0 else "")


def _width(width):
    if width is not None:
        return int(width)
    return max(80, shutil.get_terminal_size((120, 24)).columns)


def summary_table(report, *, width=None, legend=True, substitutions=None):
    """A plain-text table: check, status, control, time, then the verdict text in full and measured vs predicted.

    The text column is wrapped to ``width`` (default: the terminal's, at least 80).  ``substitutions``
    (``name -> text``) heads the table when the run used substitute optimizers.
    """
    width = _width(width)
    heads = ("check", "status", "control", "time")
    rows = []
    for name, rec in report.items():
        st = _status(rec)
        r = rec.get("result")
        nv = None if r is None else r.negative_verdict
        ctrl = "-" if nv is None else ("holds!" if nv else "fails")
        rows.append((name, _label(st), ctrl if st != "not applicable" else "", f"{rec['seconds']:.1f}s", rec, st))
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(heads)]
    indent = sum(widths) + 2 * len(widths)
    text_w = max(30, width - indent)
    lines = []
    if substitutions:
        lines.append("substituted: " + ", ".join(f"{k} = {v}" for k, v in substitutions.items()))
    lines.append("  ".join(h.ljust(w) for h, w in zip(heads, widths)) + "  verdict / measured vs predicted")
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * min(text_w, 32))
    for name, label, ctrl, secs, rec, st in rows:
        r = rec.get("result")
        if st == "not applicable":
            paras = [rec.get("reason", "")]
        elif r is None:
            paras = [(rec.get("error") or "").strip().splitlines()[-1] if rec.get("error") else "no result"]
        else:
            paras = [r.verdict_text, "measured vs predicted: " + measured_vs_predicted(r)]
            if rec.get("error"):
                paras.append("error: " + rec["error"].strip().splitlines()[-1])
        if rec.get("substituted"):
            paras.append("with " + ", ".join(f"{k} = {v}" for k, v in rec["substituted"].items()))
        wrapped = [ln for para in paras for ln in (textwrap.wrap(para, text_w) or [""])]
        lead = "  ".join(c.ljust(w) for c, w in zip((name, label, ctrl, secs), widths)) + "  "
        lines.append(lead + wrapped[0])
        lines += [" " * indent + ln for ln in wrapped[1:]]
    counts = {}
    for *_, st in rows:
        counts[st] = counts.get(st, 0) + 1
    ran = len(rows) - counts.get("not applicable", 0)
    tail = ", ".join(f"{counts[s]} {_label(s).lower() if s != 'not applicable' else 'not applicable'}"
                     for s in STATUSES if s in counts and s != "pass")
    lines.append(f"{counts.get('pass', 0)}/{ran} checks passed" + (f" ({tail})" if tail else ""))
    if legend:
        lines.append("")
        lines += [ln for para in LEGEND for ln in textwrap.wrap(para, width, subsequent_indent="  ")]
    return "\n".join(lines)


def _fmt_value(v, indent):
    pad = " " * indent
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = ((k, _fmt_value(x, indent + 2)) for k, x in v.items())
        return "\n" + "\n".join(f"{pad}{k}:{t if t.startswith(chr(10)) else ' ' + t}" for k, t in items)
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=5, threshold=40, max_line_width=110).replace("\n", "\n" + pad)
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float, np.number)) for x in v):
        return _fmt_value(np.asarray(v), indent)
    return repr(v) if not isinstance(v, str) else v


def verbose_records(report):
    """Every check's full record (claim, verdict, params, measured, predicted, control, notes) as text."""
    out = []
    for name, rec in report.items():
        r = rec.get("result")
        out.append(f"=== {name}: {_label(_status(rec))} ({rec['seconds']:.1f}s)")
        if r is None:
            out.append(rec.get("reason") or (rec.get("error") or "").rstrip())
            continue
        out.append(f"claim: {r.claim}")
        out.append(f"verdict: {r.verdict_text}")
        for field in ("params", "measured", "predicted"):
            text = _fmt_value(getattr(r, field), 2)
            out.append(f"{field}:{text if text.startswith(chr(10)) else ' ' + text}")
        if r.fit is not None:
            fit = r.fit._asdict() if hasattr(r.fit, "_asdict") else r.fit
            out.append(f"fit:{_fmt_value(dict(fit), 2)}")  # a non-empty dict: starts with a newline
        nc = r.negative_control
        if nc is not None:
            text = nc.verdict_text if isinstance(nc, CheckResult) else nc.get("verdict_text", "")
            out.append(f"negative control: {'holds' if r.negative_verdict else 'fails'}. {text}".rstrip())
        if r.notes:
            out.append(f"notes: {r.notes}")
        out.append("")
    return "\n".join(out)
