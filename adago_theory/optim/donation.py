r"""Buffer donation: a caller hands the step buffers it will not read again (JAX's ``donate_argnums``).

An optimizer step is pure (:mod:`adago_theory.optim.base`): it never writes into ``X``, ``G`` or
the state it is given.  A caller that owns ``X`` and the state — the PyTorch classes own the
parameter and their state, as ``torch.optim`` does — may *donate* them: inside
:class:`donating` the step helpers (``ema``, ``ema_nesterov``, ``descend``, AdamW's torch path)
write the new momentum into the old one and the new iterate into ``X``, the same operations as
the pure path, so the results are equal bit for bit (``tests/test_donation.py``).  The same
context carries the arrays the caller vouches are finite (the torch classes' ``check_finite=False``).
"""

from __future__ import annotations

import contextvars

__all__ = ["donating", "is_donated", "is_vouched_finite"]

_DONATED = contextvars.ContextVar("adago_theory_donated", default=(frozenset(), frozenset()))


class donating:
    r"""Hand the step the buffers of ``arrays`` (JAX's ``donate_argnums``): it may overwrite them.

    Inside the context, the step helpers write their results into a donated input instead of
    a new array: ``ema`` and ``ema_nesterov`` the new momentum into the old one ``M``,
    ``descend`` the new iterate into ``X``; the returned arrays are then the donated ones.
    The arithmetic is the pure path's, operation for operation, so the results are equal bit for
    bit (tested for every factory and backend).  Only the exact objects passed are donated
    (identity, not storage): anything else the step is given — ``G`` above all — is still
    never written.  :func:`~adago_theory.optim.skip_nonfinite` runs its inner step with nothing
    donated (it needs the old ``X`` and state to keep the skipped runs).

    Parameters
    ----------
    *arrays : arrays or None
        ``X`` and the arrays of the state, which the caller will not read again (it keeps the
        returned ones).  ``None`` and Python numbers are ignored.
    finite : sequence of arrays, optional
        Inputs (``X``, ``G``) the caller vouches hold no NaN or Inf: the step's screen skips
        them (``adago_theory.optim.base.prepare``), as ``check_finite=False`` does in SciPy.  A non-finite array
        vouched for here is stepped as it is (NaN in, NaN out): the PyTorch classes pass them
        only with ``check_finite=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from adago_theory.optim import muon
    >>> opt = muon(0.1, orth="svd")
    >>> X = np.zeros((2, 2)); G = np.eye(2)
    >>> s = opt.init(X)
    >>> with donating(X, s.M):
    ...     X1, s1 = opt.step(X, G, s)
    >>> X1 is X, s1.M is s.M
    (True, True)
    """
    __slots__ = ("_ids", "_token")

    def __init__(self, *arrays, finite=()):
        self._ids = (frozenset(id(a) for a in arrays if a is not None and not isinstance(a, (int, float))),
                     frozenset(id(a) for a in finite))

    def __enter__(self):
        self._token = _DONATED.set(self._ids)
        return self

    def __exit__(self, *exc):
        _DONATED.reset(self._token)
        return False


def is_donated(A):
    """True when ``A`` itself was handed over with :class:`donating` (may be overwritten)."""
    ids = _DONATED.get()[0]
    return bool(ids) and id(A) in ids


def is_vouched_finite(A):
    """True when the caller vouched, with ``donating(..., finite=...)``, that ``A`` holds no NaN or Inf."""
    ids = _DONATED.get()[1]
    return bool(ids) and id(A) in ids
