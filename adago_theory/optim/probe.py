r"""Does a factory take its hyperparameters as arrays over the run axis?  Asked by running it.

Every factory of :mod:`adago_theory.optim` accepts its scalar hyperparameters as arrays broadcastable to
the run axes ``X.shape[:-2]`` (one value per run), which is what lets a hyperparameter grid run as one batch.
A factory from elsewhere (a substitute, a mutant, a user's) may not, or may accept the arrays and quietly
use one entry; :func:`takes_run_arrays` finds out by comparing a batched run with separate ones.  Used by the
sweep engine (:mod:`adago_theory.app.sweep.batch`) and the checks' grids (``verify/_grid.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["takes_run_arrays"]


def takes_run_arrays(make, values, *, steps=3):
    r"""Whether ``make(**{k: array})`` steps each run as ``make(**{k: scalar})`` steps it alone.

    Parameters
    ----------
    make : callable
        Keyword hyperparameters -> :class:`~adago_theory.optim.Optimizer` (the other keywords
        already bound, e.g. ``lambda **kw: adago(**{**fixed, **kw})``).
    values : dict of str -> (float, float)
        Two values per hyperparameter; the probe batches them as arrays of shape (2,).
    steps : int, default 3
        Steps taken on a batch of two runs of a 4 x 3 matrix (fixed random iterate and gradients).

    Returns
    -------
    bool
        True when each run of the batched optimizer equals (``rtol`` :math:`10^{-12}`) the separate
        run built with its scalars after every one of ``steps`` steps; False when they differ, when
        ``values`` is empty, or when building or stepping raises (any exception counts as "no").

    Examples
    --------
    >>> from adago_theory.optim import muon
    >>> takes_run_arrays(lambda **kw: muon(**kw), {"eta": (0.01, 0.1)})
    True
    >>> takes_run_arrays(lambda eta: muon(float(np.ravel(eta)[0])), {"eta": (0.01, 0.1)})  # uses one entry
    False
    """
    if not values:
        return False
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 4, 3))
    Gs = [rng.standard_normal((2, 4, 3)) for _ in range(steps)]
    arrays = {k: np.array(v, dtype=np.float64) for k, v in values.items()}
    try:
        opt = make(**arrays)
        Xb, st = X, opt.init(X)
        for G in Gs:
            Xb, st = opt.step(Xb, G, st)
        Xb = np.asarray(Xb)
        if Xb.shape != X.shape:
            return False
        for r in range(2):
            one = make(**{k: float(v[r]) for k, v in arrays.items()})
            Xr, sr = X[r], one.init(X[r])
            for G in Gs:
                Xr, sr = one.step(Xr, G[r], sr)
            if not np.allclose(Xb[r], np.asarray(Xr), rtol=1e-12, atol=1e-14):
                return False
    except Exception:  # noqa: BLE001 - a factory or step that refuses arrays: not batchable
        return False
    return True
