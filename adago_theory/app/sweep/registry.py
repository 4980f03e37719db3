r"""Where the names in a run configuration come from: problems, optimizers and commands.

* Problems are found through the entry-point group ``adago_theory.problems`` (name →
  factory ``make_*``), so ``adago_theory`` never imports the ``problems`` package
  (dependency rule ``verify → problems → adago_theory``, ``docs/design/contracts.md``).
* Optimizers are ``adago_theory.optim.OPTIMIZERS`` (name → factory).
* Extra command-line verbs come from the group ``adago_theory.commands`` (name →
  ``main(argv=None) -> int``).

Every lookup of an unknown name raises :class:`~adago_theory.app.sweep.config.ConfigError`
listing the names that exist.
"""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache
from importlib.metadata import entry_points

from .config import ConfigError

__all__ = [
    "problem_names",
    "optimizer_names",
    "get_problem_factory",
    "get_optimizer_factory",
    "get_command",
    "command_names",
    "load_runner",
    "check_params",
]


def _group(group: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=group)}


def problem_names() -> list[str]:
    """Names of the problems registered in the entry-point group ``adago_theory.problems``."""
    return sorted(_group("adago_theory.problems"))


def command_names() -> list[str]:
    """Names of the verbs registered in the entry-point group ``adago_theory.commands``."""
    return sorted(_group("adago_theory.commands"))


def _optimizers() -> dict:
    try:
        optim = importlib.import_module("adago_theory.optim")
    except ModuleNotFoundError as exc:
        if exc.name in ("adago_theory.optim",):
            return {}
        raise
    return dict(getattr(optim, "OPTIMIZERS", {}))


def optimizer_names() -> list[str]:
    """Names in ``adago_theory.optim.OPTIMIZERS`` (empty when that module is absent)."""
    return sorted(_optimizers())


def _unknown(kind, name, known):
    avail = ", ".join(known) if known else "none are installed"
    return ConfigError(f"unknown {kind} {name!r}; available: {avail}")


@lru_cache(maxsize=None)
def get_problem_factory(name: str):
    """The factory registered for problem ``name``.

    Raises
    ------
    ConfigError
        If no problem of that name is registered.
    """
    eps = _group("adago_theory.problems")
    if name not in eps:
        raise _unknown("problem", name, sorted(eps))
    return eps[name].load()


def get_optimizer_factory(name: str):
    """The factory ``adago_theory.optim.OPTIMIZERS[name]``.

    Raises
    ------
    ConfigError
        If no optimizer of that name exists.
    """
    opts = _optimizers()
    if name not in opts:
        raise _unknown("optimizer", name, sorted(opts))
    return opts[name]


def get_command(name: str):
    """The ``main(argv=None) -> int`` registered as verb ``name``, or None when absent."""
    eps = _group("adago_theory.commands")
    if name not in eps:
        return None
    return eps[name].load()


@lru_cache(maxsize=None)
def load_runner(path: str):
    """Import ``"module:function"`` and return the function.

    Raises
    ------
    ConfigError
        If the module cannot be imported or has no such attribute.
    """
    mod, _, attr = path.partition(":")
    try:
        module = importlib.import_module(mod)
    except ImportError as exc:
        raise ConfigError(f"runner {path!r}: cannot import module {mod!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"runner {path!r}: module {mod!r} has no function {attr!r}")
    return fn


def check_params(kind: str, name: str, factory, params: dict, *, reserved=()) -> None:
    """Check that ``factory`` accepts the keyword arguments ``params`` (without calling it).

    Raises
    ------
    ConfigError
        Naming the unknown parameter and listing the accepted ones.
    """
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: accept
        return
    ps = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ps.values()):
        return
    accepted = [n for n, p in ps.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
                and n not in reserved]
    for k in params:
        if k not in accepted:
            raise ConfigError(
                f"{kind} {name!r} has no parameter {k!r}; accepted: {', '.join(accepted) or 'none'}"
            )
    missing = [n for n, p in ps.items()
               if p.default is inspect.Parameter.empty and n not in params and n not in reserved
               and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    if missing:
        raise ConfigError(f"{kind} {name!r} needs parameter(s) {', '.join(missing)}")
