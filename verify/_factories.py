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

from types import MappingProxyType

__all__ = ["NAMES", "default_factories", "resolve", "uses"]

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
