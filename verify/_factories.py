r"""The optimizers under test: the project's factories by default, a user's (or a mutant's) when substituted.

Every check that runs an optimizer takes ``factories=None`` and looks its optimizers up here, never by
importing them directly::

    from ._factories import resolve, uses

    @uses("adago", "muon")
    def check_something(*, quick=False, rng=None, factories=None):
        F = resolve(factories)
        opt = F["adago"](eta, gamma=gamma, eps=eps)

``factories`` maps a name of :data:`NAMES` to a factory with the project's signature (for example
``adago(eta, *, gamma, eps, beta=0.95, ...) -> Optimizer``); names it does not mention keep the project's
own factory.  ``@uses`` records which names a check runs (``check_fn.uses``), so that a substitution or a mutant
of a name the check never runs is "not applicable" to it.
"""

from __future__ import annotations

import importlib
import inspect
from types import MappingProxyType

__all__ = ["NAMES", "TYPICAL", "SubstitutionError", "default_factories", "resolve", "uses", "check_factory",
           "load_factory", "parse_substitution", "describe_factory"]

#: The names a substitution may replace (the kernel's optimizer factories).
NAMES = ("muon", "adago", "namo", "namo_d", "polargrad", "sgd", "adamw", "adagrad_norm")


def default_factories():
    """``name -> factory`` for the project's own optimizers (read-only mapping)."""
    from adago_theory import optim

    return MappingProxyType({name: getattr(optim, name) for name in NAMES})


def resolve(factories=None):
    """The project's factories with ``factories`` laid over them.

    Parameters
    ----------
    factories : mapping of str to callable, optional
        Substitutions, ``{"adago": my_adago, ...}``; keys must be in :data:`NAMES`.

    Returns
    -------
    dict
        ``name -> factory`` for every name of :data:`NAMES`.

    Raises
    ------
    ValueError
        A key that is not in :data:`NAMES` (the message lists them).
    TypeError
        A value that is not callable.
    """
    out = dict(default_factories())
    for name, fn in dict(factories or {}).items():
        if name not in NAMES:
            raise ValueError(f"factories: unknown optimizer name {name!r}; allowed: {', '.join(NAMES)}")
        if not callable(fn):
            raise TypeError(f"factories[{name!r}] must be a callable factory, got {fn!r}")
        out[name] = fn
    return out


def uses(*names):
    """Decorator recording the optimizer names a check runs, as ``check_fn.uses`` (a tuple)."""
    bad = [n for n in names if n not in NAMES]
    if bad:
        raise ValueError(f"uses: unknown optimizer name(s) {bad}; allowed: {', '.join(NAMES)}")

    def mark(fn):
        fn.uses = tuple(names)
        return fn

    return mark


# --------------------------------------------------------------------------- substitutions (bring your own optimizer)

#: Typical hyperparameters per name: ``(args, kwargs)`` with which a substitute is called once before any check
#: runs (it must return an :class:`~adago_theory.optim.Optimizer` that can take one step on a 3x2 matrix).
TYPICAL = {
    "muon": ((0.05,), {}),
    "adago": ((0.1,), {"gamma": 1.0, "eps": 1e-3}),
    "namo": ((0.01,), {}),
    "namo_d": ((0.01,), {}),
    "polargrad": ((0.1,), {}),
    "sgd": ((0.1,), {}),
    "adamw": ((1e-3,), {}),
    "adagrad_norm": ((0.1,), {"b0": 1e-6}),
}

#: Keywords of the project's factories that a substitute need not accept (kernel plumbing, not mathematics).
OPTIONAL_KEYWORDS = ("nonfinite",)


class SubstitutionError(ValueError):
    """A substitute factory that cannot be used (the message is one line naming the substitution)."""


def _signature_problem(name, fn):
    """Why ``fn`` cannot be called as the project's factory ``name`` is, or None."""
    ref = inspect.signature(default_factories()[name])
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # builtins without a signature: the trial call decides
    args, kwargs = [], {}
    for p in ref.parameters.values():
        if p.name in OPTIONAL_KEYWORDS:
            continue
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(p.default if p.default is not p.empty else 1.0)
        elif p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = p.default if p.default is not p.empty else 1.0
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        bare = inspect.Signature.empty
        want = str(ref.replace(return_annotation=bare))
        return f"its signature {sig.replace(return_annotation=bare)} cannot be called as {name}{want} ({exc})"
    return None


def check_factory(name, fn):
    """Check that ``fn`` can stand in for the project's factory ``name``; raise :class:`SubstitutionError` if not.

    Three tests, in order: ``fn`` is callable; its signature accepts every parameter of the project's factory
    (the positional ones positionally, the keyword-only ones by name; :data:`OPTIONAL_KEYWORDS` excepted) and
    requires no other; called with :data:`TYPICAL` hyperparameters it returns an
    :class:`~adago_theory.optim.Optimizer` whose ``init``/``step`` take one step on a 3x2 matrix.
    """
    import numpy as np

    from adago_theory.optim import Optimizer

    if name not in NAMES:
        raise SubstitutionError(f"unknown optimizer name {name!r}; allowed: {', '.join(NAMES)}")
    if not callable(fn):
        raise SubstitutionError(f"{name}: {fn!r} is not callable")
    why = _signature_problem(name, fn)
    if why:
        raise SubstitutionError(f"{name}: {why}")
    args, kwargs = TYPICAL[name]
    try:
        opt = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported in one line
        raise SubstitutionError(f"{name}: calling it with {_call_text(args, kwargs)} raised "
                                f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(opt, Optimizer):
        raise SubstitutionError(f"{name}: it returned {type(opt).__name__}, not an adago_theory.optim.Optimizer "
                                f"(the (init, step) pair)")
    X = np.array([[1.0, 0.5], [0.0, 2.0], [0.3, 0.0]])
    try:
        X1, _ = opt.step(X, 0.1 * X + 0.2, opt.init(X))
        ok = np.shape(X1) == X.shape
    except Exception as exc:  # noqa: BLE001
        raise SubstitutionError(f"{name}: its optimizer failed on one step of a 3x2 matrix: "
                                f"{type(exc).__name__}: {exc}") from exc
    if not ok:
        raise SubstitutionError(f"{name}: its step returned shape {np.shape(X1)} for a 3x2 matrix")


def _call_text(args, kwargs):
    return "(" + ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]) + ")"


def parse_substitution(text):
    """``"NAME=package.module:attr"`` -> ``(NAME, "package.module:attr")`` (SubstitutionError if malformed)."""
    name, eq, target = str(text).partition("=")
    name, target = name.strip(), target.strip()
    if not eq or not name or ":" not in target:
        raise SubstitutionError(f"--substitute {text!r}: expected NAME=package.module:factory "
                                f"(NAME one of {', '.join(NAMES)})")
    if name not in NAMES:
        raise SubstitutionError(f"--substitute {text!r}: unknown optimizer name {name!r}; allowed: {', '.join(NAMES)}")
    return name, target


def load_factory(target):
    """Import ``"package.module:attr"`` (``attr`` may be dotted); SubstitutionError with the reason if it fails."""
    mod_name, _, attr = target.partition(":")
    if not mod_name or not attr:
        raise SubstitutionError(f"{target!r}: expected package.module:factory")
    try:
        obj = importlib.import_module(mod_name)
    except Exception as exc:  # noqa: BLE001
        raise SubstitutionError(f"cannot import {mod_name!r} ({type(exc).__name__}: {exc})") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SubstitutionError(f"module {mod_name!r} has no attribute {attr!r}") from None
    return obj


def describe_factory(fn):
    """``module:qualname`` of a factory (what results.json and the table record)."""
    mod = getattr(fn, "__module__", None) or "?"
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{mod}:{qual}"
