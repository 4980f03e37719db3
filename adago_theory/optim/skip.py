r"""``skip_nonfinite(optimizer)``: skip the steps of runs whose gradient is not finite.

The one place where non-finite gradients are tolerated, as a wrapper in the spirit of
optax's ``apply_if_finite``: every optimizer refuses NaN/Inf in ``X`` and ``G``
(:class:`~adago_theory.optim.NonFiniteGradientError`); wrapped, the runs of a batch
whose gradient is not finite keep their ``X`` and state for that step, get
:math:`\alpha = 0`, and have their ``skipped`` counter incremented, while the other
runs step normally.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import namespace
from .base import Optimizer, batch_zeros, check_param, expand
from .donation import donating

__all__ = ["skip_nonfinite", "SkipNonFiniteState"]


class SkipNonFiniteState(NamedTuple):
    """State of :func:`skip_nonfinite`.

    Attributes
    ----------
    inner : NamedTuple
        The wrapped optimizer's state.
    skipped : int32 array, shape X.shape[:-2]
        How many steps each run skipped because its gradient was not finite.

    ``count`` and ``alpha`` read through to the wrapped state.
    """

    inner: Any
    skipped: Any

    @property
    def count(self):
        """Steps taken (skipped ones included: it is the shared clock of the batch)."""
        return self.inner.count

    @property
    def alpha(self):
        """The wrapped state's ``alpha`` (0 for a run whose last step was skipped)."""
        return self.inner.alpha


def skip_nonfinite(optimizer) -> Optimizer:
    r"""Wrap an optimizer so that runs with a non-finite gradient skip the step.

    For a run :math:`r` of the batch with :math:`G_r` not finite, the step keeps
    :math:`X_r` and every per-run field of the state (momentum, accumulators), sets
    the fields whose name starts with ``alpha`` to 0 and adds 1 to
    ``skipped[r]``; the other runs step exactly as without the wrapper.  ``count``
    advances for every run.  A non-finite ``X`` is still refused
    (:class:`~adago_theory.optim.NonFiniteParameterError`): skipping cannot repair it.

    Parameters
    ----------
    optimizer : Optimizer
        From any factory of :mod:`adago_theory.optim`.

    Returns
    -------
    Optimizer
        Its state is a :class:`SkipNonFiniteState`.  The wrapper costs no host
        synchronisation beyond the wrapped step's own.

    Examples
    --------
    >>> import numpy as np
    >>> from adago_theory.optim import sgd
    >>> opt = skip_nonfinite(sgd(0.5))
    >>> X = np.ones((2, 1, 1)); G = np.array([[[1.0]], [[np.nan]]])
    >>> X1, s = opt.step(X, G, opt.init(X))
    >>> X1.ravel().tolist(), s.skipped.tolist()
    ([0.5, 1.0], [0, 1])
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer from adago_theory.optim, got {type(optimizer).__name__}")

    def init(X):
        xp = check_param(X)
        return SkipNonFiniteState(optimizer.init(X), batch_zeros(xp, X, dtype=xp.int32))

    def step(X, G, state):
        if not isinstance(state, SkipNonFiniteState):
            raise TypeError(f"state must be the state returned by init, got {type(state).__name__}")
        xp = namespace(X, G)
        if tuple(G.shape) != tuple(X.shape):
            raise ValueError(f"G must have the shape of X, {tuple(X.shape)}, got {tuple(G.shape)}")
        ok = xp.all(xp.isfinite(G), axis=(-2, -1))
        G = xp.where(expand(xp, ok, G.ndim), G, xp.zeros_like(G))   # keeps the step's arithmetic finite
        with donating():                                 # the old X and state are read below
            X_new, new = optimizer.step(X, G, state.inner)
        old, nb = state.inner, X.ndim - 2
        fields = {}
        for name, v_new in zip(new._fields, new):
            if name == "count" or not hasattr(v_new, "shape"):
                continue
            if v_new.ndim >= nb and tuple(v_new.shape[:nb]) == tuple(X.shape[:-2]):
                keep = xp.zeros_like(v_new) if name.startswith("alpha") else getattr(old, name)
                fields[name] = xp.where(expand(xp, ok, v_new.ndim), v_new, keep)
        skipped = state.skipped + xp.astype(~ok, state.skipped.dtype)
        X_next = xp.where(expand(xp, ok, X.ndim), X_new, X)
        return X_next, SkipNonFiniteState(new._replace(**fields), skipped)

    return Optimizer(init, step)
