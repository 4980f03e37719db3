r"""Where the names in a run configuration come from: problems, optimizers and commands.

The shell sits on top of the project's packages and imports them explicitly:

* problems: :data:`problems.PROBLEMS` (name → factory ``make_*``);
* optimizers: :data:`adago_theory.optim.OPTIMIZERS` (name → factory);
* the ``verify`` verb: :func:`verify.__main__.main`.

Entry points are only for third-party plugins: a package may add problems through the
group ``adago_theory.problems`` and verbs through ``adago_theory.commands``; a plugin
cannot replace a first-party name.  Every lookup of an unknown name raises
:class:`~adago_theory.app.sweep.config.ConfigError` listing the names that exist.
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


def _plugins(group: str) -> dict:
    """Third-party entry points of ``group`` (name → entry point)."""
    return {ep.name: ep for ep in entry_points(group=group)}


def _problems() -> dict:
    from problems import PROBLEMS

    return PROBLEMS


def _optimizers() -> dict:
    from adago_theory.optim import OPTIMIZERS

    return OPTIMIZERS


def _commands() -> dict:
    from verify.__main__ import main as verify_main

    return {"verify": verify_main}


def problem_names() -> list[str]:
    """Names of the problems: :data:`problems.PROBLEMS` and third-party plugins."""
    return sorted(set(_problems()) | set(_plugins("adago_theory.problems")))


def optimizer_names() -> list[str]:
    """Names in :data:`adago_theory.optim.OPTIMIZERS`."""
    return sorted(_optimizers())


def command_names() -> list[str]:
    """Extra verbs: ``verify`` and third-party plugins of the group ``adago_theory.commands``."""
    return sorted(set(_commands()) | set(_plugins("adago_theory.commands")))


def _unknown(kind, name, known):
    return ConfigError(f"unknown {kind} {name!r}; available: {', '.join(known) or 'none'}")


def _lookup(kind, name, first_party, group):
    if name in first_party:
        return first_party[name]
    plugins = _plugins(group)
    if name not in plugins:
        raise _unknown(kind, name, sorted(set(first_party) | set(plugins)))
    return plugins[name].load()


@lru_cache(maxsize=None)
def get_problem_factory(name: str):
    """The factory of problem ``name``.

    Raises
    ------
    ConfigError
        If no problem of that name exists.
    """
    return _lookup("problem", name, _problems(), "adago_theory.problems")


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
    """The ``main(argv=None, *, prog=...) -> int`` of verb ``name``.

    Raises
    ------
    ConfigError
        If no verb of that name exists.
    """
    return _lookup("command", name, _commands(), "adago_theory.commands")


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
