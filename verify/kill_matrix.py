r"""The kill matrix: every mutant of :mod:`verify.mutants` against every check that runs the optimizer it replaces.

A cell is

``killed``
    the check does not pass the mutant: status ``fail`` or ``error``, or ``not reproduced`` where the real
    optimizer passes;
``survived``
    the check passes the mutant (expected where the mistake does not touch the check's claim; a mutant that
    survives every check, and is not declared equivalent for it, is a defect of the suite);
``equivalent``
    the check passes a mutant declared equivalent for it (``Mutant.equivalent_for``, with the reason);
``not judged``
    the check could not judge (status ``not judged``, or ``not reproduced`` where the real optimizer is not
    reproduced either);
``n/a``
    the check runs none of the optimizer the mutant replaces (see :func:`verify.runner.applicability`).

The row ``real`` runs the project's own optimizers (the baseline a cell is read against).  Independent cells run
in a process pool (``workers``), each in a fresh check call with the same seed.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

__all__ = ["CELLS", "cell_of", "kill_matrix", "matrix_text", "kill_page", "plot_kill_matrix", "survivors"]

CELLS = ("killed", "survived", "equivalent", "not judged", "n/a")
_GLYPH = {"killed": "K", "survived": "S", "equivalent": "E", "not judged": "?", "n/a": "."}
BASELINE = "real"


def cell_of(status, baseline_status, equivalent=False):
    """The cell for a mutant whose check ended with ``status`` where the real optimizer's ended with
    ``baseline_status`` (``equivalent``: the mutant is declared equivalent for this check)."""
    if status == "not applicable":
        return "n/a"
    if status in ("fail", "error") or (status == "not reproduced" and baseline_status == "pass"):
        return "killed"
    if status in ("not judged", "not reproduced"):
        return "not judged"
    return "equivalent" if equivalent else "survived"


def _limit_threads():  # pragma: no cover - runs in the pool's workers
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:
        pass


def _cell(check_fn, replaces, factory, quick, rng):
    """Run one cell; a small picklable record (the full CheckResult stays in the worker)."""
    from .runner import run_one

    cpu0 = time.process_time()
    rec = run_one(check_fn, quick=quick, rng=rng, substitute={replaces: factory} if factory is not None else None)
    r = rec["result"]
    if r is not None:
        text = r.verdict_text
    else:
        text = rec.get("reason") or ((rec["error"] or "").strip().splitlines() or [""])[-1]
    return {"status": rec["status"], "seconds": round(rec["seconds"], 3),
            "cpu_seconds": round(time.process_time() - cpu0, 3), "text": text}


def kill_matrix(mutants=None, checks=None, *, quick=True, rng=0, workers=1, progress=True, registry=None):
    """Run every mutant against every applicable check (and the real optimizers), return the matrix.

    Parameters
    ----------
    mutants : dict, optional
        ``name -> Mutant`` (default :data:`verify.mutants.MUTANTS`).
    checks : sequence of str, optional
        Check names (default: every check of ``registry``).
    quick : bool
        Quick mode of every check.
    rng : int
        The seed every cell passes to its check.
    workers : int
        Processes running cells in parallel (1: in this process).
    progress : bool
        A tqdm bar on stderr.
    registry : dict, optional
        ``{name: (check_fn, plot_fn)}`` (default :data:`verify.CHECKS`).

    Returns
    -------
    dict
        JSON-ready: ``mode``, ``seed``, ``checks``, ``mutants`` (name -> replaces, violates, expected killers,
        equivalences), ``baseline`` (check -> status of the real optimizers), ``cells`` (mutant -> check ->
        ``{"cell", "status", "seconds", "text"}``), ``killed_by`` (mutant -> checks), ``survivors`` (non-equivalent
        mutants no check kills), ``seconds`` (wall time), ``workers``, ``run_at``.
    """
    from .mutants import MUTANTS
    from .runner import applicability

    if registry is None:
        from . import CHECKS as registry
    mutants = dict(MUTANTS if mutants is None else mutants)
    names = list(registry) if not checks else list(checks)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise KeyError(f"unknown check name(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    workers = max(1, int(workers))
    tasks, cells = [], {m: {} for m in mutants}
    reached = [c for c in names if any(applicability(registry[c][0], {m.replaces: m.factory})[0]
                                       for m in mutants.values())]
    for c in reached:  # the baseline of the checks some mutant runs (the others need none)
        tasks.append((BASELINE, c, registry[c][0], None, None))
    for mname, m in mutants.items():
        for c in names:
            fn = registry[c][0]
            ok, reason = applicability(fn, {m.replaces: m.factory})
            if ok:
                tasks.append((mname, c, fn, m.replaces, m.factory))
            else:
                cells[mname][c] = {"cell": "n/a", "status": "not applicable", "seconds": 0.0, "text": reason}
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    raw = {}
    bar = tqdm(total=len(tasks), desc="kill matrix", unit="cell", disable=not progress, file=sys.stderr)
    if workers == 1:
        for mname, c, fn, rep, fac in tasks:
            bar.set_postfix_str(f"{mname} x {c}")
            raw[(mname, c)] = _cell(fn, rep, fac, quick, rng)
            bar.update()
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_limit_threads) as pool:
            futs = {pool.submit(_cell, fn, rep, fac, quick, rng): (mname, c) for mname, c, fn, rep, fac in tasks}
            for fut in as_completed(futs):
                key = futs[fut]
                try:
                    raw[key] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker is an error cell
                    raw[key] = {"status": "error", "seconds": 0.0, "text": f"{type(exc).__name__}: {exc}"}
                bar.set_postfix_str(f"{key[0]} x {key[1]}")
                bar.update()
    bar.close()
    not_run = {"status": "not applicable", "seconds": 0.0, "cpu_seconds": 0.0,
               "text": "no mutant runs this check (it runs no optimizer a mutant replaces)"}
    for c in names:
        raw.setdefault((BASELINE, c), not_run)
    baseline = {c: raw[(BASELINE, c)]["status"] for c in names}
    for mname, m in mutants.items():
        equiv = dict(m.equivalent_for)
        for c in names:
            if (mname, c) in raw:
                rec = raw[(mname, c)]
                cells[mname][c] = {"cell": cell_of(rec["status"], baseline[c], c in equiv), **rec}
        cells[mname] = {c: cells[mname][c] for c in names}
    killed_by = {m: [c for c in names if cells[m][c]["cell"] == "killed"] for m in mutants}
    return {
        "mode": "quick" if quick else "full",
        "seed": int(rng),
        "checks": names,
        "mutants": {k: {"replaces": m.replaces, "violates": m.violates, "expected_killers": list(m.expected_killers),
                        "equivalent_for": {c: why for c, why in m.equivalent_for}} for k, m in mutants.items()},
        "baseline": baseline,
        "baseline_detail": {c: raw[(BASELINE, c)] for c in names},
        "cells": cells,
        "killed_by": killed_by,
        "survivors": [m for m in mutants if not killed_by[m]
                      and any(cells[m][c]["cell"] == "survived" for c in names)],
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(sum(r.get("cpu_seconds", 0.0) for r in raw.values()), 1),
        "workers": workers,
        "run_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _shown(km):
    """The checks some mutant runs (the columns worth drawing) and the others."""
    shown = [c for c in km["checks"] if km["baseline"][c] != "not applicable"]
    return shown, [c for c in km["checks"] if c not in shown]


def survivors(km):
    """Mutants no check kills although some check runs them and none declares them equivalent."""
    return list(km["survivors"])


def matrix_text(km, *, width=None):
    """The matrix as a plain-text grid (checks as numbered columns, keyed below) and one line per mutant."""
    checks, hidden = _shown(km)
    rows = [BASELINE] + list(km["cells"])
    w = max(len(r) for r in rows)
    col = max(3, max(len(str(i + 1)) for i in range(len(checks))) + 1)
    lines = [f"kill matrix ({km['mode']} mode, seed {km['seed']}, {km['seconds']:.0f} s wall with {km['workers']} "
             f"worker{'s' if km['workers'] > 1 else ''}, {km.get('cpu_seconds', 0.0):.0f} s CPU in the cells)", ""]
    lines.append(" " * w + "  " + "".join(f"{i + 1:>{col}}" for i in range(len(checks))) + "   killed by")
    base = {"pass": "ok", "fail": "F", "error": "E!", "not reproduced": "NR", "not judged": "?",
            "not applicable": "."}
    lines.append(f"{BASELINE:<{w}}  " + "".join(f"{base.get(km['baseline'][c], '?'):>{col}}" for c in checks)
                 + "   (the project's optimizers)")
    for m, row in km["cells"].items():
        glyphs = "".join(f"{_GLYPH[row[c]['cell']]:>{col}}" for c in checks)
        kb = km["killed_by"][m]
        tail = ", ".join(kb) if kb else ("SURVIVES" if m in km["survivors"] else "-")
        lines.append(f"{m:<{w}}  {glyphs}   {tail}")
    lines.append("")
    lines.append("checks: " + "; ".join(f"{i + 1} = {c}" for i, c in enumerate(checks)))
    if hidden:
        lines.append("not shown (no mutant runs them): " + ", ".join(hidden))
    lines.append("cells: K = killed, S = survived (the check passes it), E = equivalent (declared), "
                 "? = not judged, . = n/a (the check does not run the replaced optimizer); real: ok = pass, "
                 "F = fail, NR = not reproduced, E! = error")
    n_kill = sum(1 for m in km["cells"] if km["killed_by"][m])
    lines.append(f"{n_kill}/{len(km['cells'])} mutants killed; survivors: {', '.join(km['survivors']) or 'none'}")
    for label, want in (("expected killers that did not kill", ("survived", "equivalent", "not judged")),
                        ("expected killers that do not run the mutant (n/a)", ("n/a",))):
        missed = {m: [c for c in km["mutants"][m]["expected_killers"] if c in checks and
                      km["cells"][m][c]["cell"] in want] for m in km["cells"]}
        missed = {m: v for m, v in missed.items() if v}
        if missed:
            lines.append(f"{label}: " + "; ".join(f"{m}: {', '.join(v)}" for m, v in missed.items()))
    return "\n".join(lines)


_COLORS = {"killed": "#009E73", "survived": "#D55E00", "equivalent": "#56B4E9", "not judged": "#E69F00",
           "n/a": "#EEEEEE", "pass": "#B7DFC9", "not pass": "#F2B48F"}


def plot_kill_matrix(km):
    """The matrix as a grid: mutants (rows, the real optimizers first) x checks (columns); returns a Figure."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from adago_theory.app.plotting import new_figure, style_context

    checks, _ = _shown(km)
    mutants = list(km["cells"])
    cats = list(_COLORS)
    grid = np.zeros((len(mutants) + 1, len(checks)), dtype=int)
    labels = np.full(grid.shape, "", dtype=object)
    for j, c in enumerate(checks):
        st = km["baseline"][c]
        grid[0, j] = cats.index("pass" if st == "pass" else "not judged" if st == "not judged" else "not pass")
        labels[0, j] = "pass" if st == "pass" else {"not reproduced": "n.r.", "not judged": "n.j."}.get(st, st)
    short = {"killed": "K", "survived": "S", "equivalent": "E", "not judged": "?", "n/a": ""}
    for i, m in enumerate(mutants, 1):
        for j, c in enumerate(checks):
            cell = km["cells"][m][c]["cell"]
            grid[i, j] = cats.index(cell)
            labels[i, j] = short[cell]
    with style_context():
        fig, axes = new_figure(width=min(1.6 + 0.55 * len(checks), 7.2), height=1.3 + 0.27 * (len(mutants) + 1))
        ax = axes[0, 0]
        ax.imshow(grid, cmap=ListedColormap([_COLORS[k] for k in cats]), vmin=-0.5, vmax=len(cats) - 0.5,
                  aspect="auto", interpolation="nearest")
        for (i, j), text in np.ndenumerate(labels):
            if text:
                ax.text(j, i, text, ha="center", va="center", fontsize=5.5 if i == 0 else 6.5,
                        color="white" if cats[grid[i, j]] in ("killed", "survived") else "black")
        ax.set_xticks(range(len(checks)), checks, rotation=45, ha="right", fontsize=6.5)
        ax.set_yticks(range(len(mutants) + 1), ["real optimizers"] + mutants, fontsize=6.5)
        ax.set_xticks(np.arange(-0.5, len(checks)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(mutants) + 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.grid(which="major", visible=False)
        ax.tick_params(which="both", length=0)
        ax.axhline(0.5, color="black", linewidth=0.8)
        for s in ax.spines.values():
            s.set_visible(False)
        handles = [Patch(facecolor=_COLORS[k], edgecolor="0.6", linewidth=0.4, label=k)
                   for k in ("killed", "survived", "equivalent", "not judged", "n/a")]
        fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=6.5, frameon=False)
        n_kill = sum(1 for m in mutants if km["killed_by"][m])
        ax.set_title(f"Kill matrix ({km['mode']} mode): {n_kill}/{len(mutants)} mutants killed", fontsize=8)
    return fig


def _md(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def kill_page(km, *, commit=None, figure=None, relative_to=None, command=None):
    """Markdown for ``docs/kill-matrix.md`` (generated; do not edit by hand); ``command``: the command line that
    made it (default: the usual one)."""
    from .mutants import MUTANTS

    checks, hidden = _shown(km)
    sha = (commit or {}).get("sha")
    dirty = (commit or {}).get("dirty")
    when = f"commit `{sha[:12]}`" + (" (working tree with uncommitted changes)" if dirty else "") if sha else \
        "an unknown commit"
    n_kill = sum(1 for m in km["cells"] if km["killed_by"][m])
    default_cmd = f"python -m verify --mutants{' --quick' if km['mode'] == 'quick' else ''} --kill-page " \
                  "docs/kill-matrix.md"
    lines = [
        "---",
        "orphan: true",
        "---",
        "",
        "# Kill matrix",
        "",
        "Each mutant of `verify/mutants.py` is a small, plausible implementation mistake or look-alike of one of "
        "the project's optimizers, with that optimizer's signature. The suite runs on each mutant in place of the "
        "real optimizer (only the checks that run it); a mutant is **killed** by a check when the check does not "
        "pass it (FAIL or ERROR, or NOT REPRODUCED where the real optimizer passes). A non-equivalent mutant that "
        "no check kills is a defect of the suite: a check to sharpen, never a mutant to weaken.",
        "",
        f"Generated by `{command or default_cmd}` from {when}, {km['run_at'][:10]}, seed {km['seed']}, in "
        f"{km['seconds']:.0f} s (wall) with {km['workers']} worker{'s' if km['workers'] > 1 else ''} and "
        f"{km.get('cpu_seconds', 0):.0f} s of CPU time in the cells; do not edit by hand.",
        "",
        f"**{n_kill} of {len(km['cells'])} mutants killed** ({km['mode']} mode). Survivors: "
        f"{', '.join('`' + m + '`' for m in km['survivors']) or 'none'}.",
        "",
    ]
    if figure is not None:
        rel = os.path.relpath(figure, relative_to) if relative_to is not None else str(figure)
        lines += [f"![kill matrix]({rel})", ""]
    lines += ["| Mutant | replaces | " + " | ".join(f"`{c}`" for c in checks) + " |",
              "|---|---|" + "---|" * len(checks)]
    base = " | ".join("pass" if km["baseline"][c] == "pass" else km["baseline"][c].upper() for c in checks)
    lines.append(f"| *real optimizers* | | {base} |")
    glyph = {"killed": "**killed**", "survived": "SURVIVED", "equivalent": "equivalent", "not judged": "not judged",
             "n/a": "·"}
    for m, row in km["cells"].items():
        lines.append(f"| `{m}` | {km['mutants'][m]['replaces']} | " +
                     " | ".join(glyph[row[c]["cell"]] for c in checks) + " |")
    lines += ["", "Legend: **killed** = the check does not pass the mutant; SURVIVED = the check passes it (expected "
              "where the mistake does not touch the check's claim; a mutant every check passes is a defect of the "
              "suite); equivalent = declared equivalent, the check "
              "rightly passes it; not judged = the check could not judge (in this mode); · = not applicable (the "
              "check does not run the replaced optimizer). The *real optimizers* row gives each check's status "
              "with the project's own optimizers."]
    if hidden:
        lines += ["", "Not shown (they run no optimizer a mutant replaces): " +
                  ", ".join(f"`{c}`" for c in hidden) + "."]
    lines += ["", "## The mutants", ""]
    for m, info in km["mutants"].items():
        doc = (MUTANTS[m].factory.__doc__ or "").strip() if m in MUTANTS else ""
        first = " ".join(doc.split("\n\n")[0].split()) if doc else info["violates"]
        first = re.sub(r":math:`([^`]*)`", r"$\1$", first)  # reST math role -> MyST dollar math
        kb = km["killed_by"][m]
        lines += [f"### `{m}` (replaces `{info['replaces']}`)", "", first, "",
                  f"*Mistake:* {_md(info['violates'])}. *Expected killers:* "
                  f"{', '.join('`' + c + '`' for c in info['expected_killers'])}. *Killed by:* "
                  f"{', '.join('`' + c + '`' for c in kb) if kb else '**no check**'}."]
        missed = [c for c in info["expected_killers"] if c in checks and km["cells"][m][c]["cell"] != "killed"]
        if missed:
            lines[-1] += f" **Expected but did not kill:** {', '.join('`' + c + '`' for c in missed)}."
        for c, why in info["equivalent_for"].items():
            lines.append(f"Equivalent for `{c}`: {_md(why)}")
        lines.append("")
    return "\n".join(lines)
