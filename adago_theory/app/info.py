r"""What this installation has: versions, git revision, array backends and devices, registered names.

Used by ``adago-theory info`` and by the results store's ``manifest.json``.  Versions are
read from package metadata (:func:`importlib.metadata.version`), which imports nothing;
only :func:`backends` imports PyTorch or CuPy, inside the function, to ask for devices.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["package_versions", "git_revision", "platform_summary", "backends", "collect_info", "format_info"]

#: Distributions whose versions the manifest and ``info`` report (absent ones are omitted).
PACKAGES = (
    "adago-theory", "numpy", "scipy", "sympy", "array-api-compat", "matplotlib", "pandas", "pyarrow",
    "joblib", "tqdm", "dask", "distributed", "torch", "cupy", "cupy-cuda12x", "cupy-cuda13x",
)


def package_versions() -> dict:
    """``{distribution: version}`` for Python and the packages in :data:`PACKAGES` that are installed."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_revision(path=None) -> dict | None:
    """``{"revision": sha, "dirty": bool}`` of the git checkout holding this package, or None.

    ``dirty`` is True when tracked files differ from the revision (untracked files are ignored).
    """
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return None
        st = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"revision": rev.stdout.strip(), "dirty": bool(st.stdout.strip()) if st.returncode == 0 else None}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def platform_summary() -> dict:
    """Host name, OS, machine, CPU model and core count."""
    return {"host": platform.node(), "system": f"{platform.system()} {platform.release()}",
            "machine": platform.machine(), "cpu": _cpu_model(), "cores": os.cpu_count()}


def _probe_torch() -> dict:
    try:
        import torch
    except Exception as exc:  # not installed or broken
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    devices = ["cpu"]
    try:
        if torch.cuda.is_available():
            devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    except Exception:  # a broken CUDA setup still leaves the CPU backend usable
        pass
    return {"available": True, "version": torch.__version__, "devices": devices}


def _probe_cupy() -> dict:
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        return {"available": False, "reason": "not installed"}
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
        devices = []
        for i in range(n):
            props = cupy.cuda.runtime.getDeviceProperties(i)
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            devices.append(f"cuda:{i} ({name})")
        return {"available": n > 0, "version": cupy.__version__, "devices": devices,
                **({} if n else {"reason": "no CUDA device"})}
    except Exception as exc:
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0]}


def backends(names=("numpy", "torch", "cupy")) -> dict:
    """Which array backends work here and which devices each sees.

    Returns
    -------
    dict
        ``{name: {"available": bool, "version": str, "devices": [str], "reason": str}}``.
        Imports PyTorch / CuPy (only here, never at module import).
    """
    out = {}
    for name in names:
        if name == "numpy":
            import numpy

            out[name] = {"available": True, "version": numpy.__version__, "devices": [f"cpu ({_cpu_model()})"]}
        elif name == "torch":
            out[name] = _probe_torch()
        elif name == "cupy":
            out[name] = _probe_cupy()
        else:
            raise ValueError(f"backend must be one of numpy, torch, cupy, got {name!r}")
    return out


def collect_info(*, probe_backends=True) -> dict:
    """Everything ``adago-theory info`` prints, as a JSON-ready dict."""
    from .sweep.registry import command_names, optimizer_names, problem_names

    info = {"versions": package_versions(), "git": git_revision(), "platform": platform_summary(),
            "executable": sys.executable}
    if probe_backends:
        info["backends"] = backends()
    try:
        info["problems"] = problem_names()
    except Exception as exc:  # a broken plug-in must not break `info`
        info["problems"] = [f"<error: {exc}>"]
    try:
        info["optimizers"] = optimizer_names()
    except Exception as exc:
        info["optimizers"] = [f"<error: {exc}>"]
    info["commands"] = command_names()
    return info


def format_info(info: dict) -> str:
    """Human-readable text of :func:`collect_info`'s dict."""
    lines = ["adago-theory " + info["versions"].get("adago-theory", "?")]
    g = info.get("git")
    lines.append("git: " + (f"{g['revision']}{' (dirty)' if g.get('dirty') else ''}" if g else "not a git checkout"))
    p = info["platform"]
    lines.append(f"host: {p['host']}  {p['system']}  {p['machine']}  {p['cpu']}  ({p['cores']} cores)")
    lines.append("versions:")
    for k, v in info["versions"].items():
        lines.append(f"  {k:<18}{v}")
    if "backends" in info:
        lines.append("backends:")
        for name, b in info["backends"].items():
            if b.get("available"):
                lines.append(f"  {name:<8}{b.get('version', '')}: " + ", ".join(b.get("devices", [])))
            else:
                lines.append(f"  {name:<8}unavailable ({b.get('reason', '')})")
    for key in ("problems", "optimizers", "commands"):
        vals = info.get(key, [])
        lines.append(f"{key}: " + (", ".join(vals) if vals else "(none registered)"))
    return "\n".join(lines)
