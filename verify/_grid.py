r"""A check's sweep as few batched runs: configurations that differ only in array-able hyperparameters and horizon.

Nothing here is a claim.  A check that sweeps :math:`\eta`, :math:`\varepsilon`, :math:`\gamma`, ... (or a horizon
with its rule :math:`\eta = cT^p`) on **one problem instance and one set of seeds** describes its runs as a list
of configurations ``(params, T)`` and calls :func:`run_grid`; the optimizers take scalar hyperparameters as
arrays broadcastable to the run axes ``X.shape[:-2]`` (issue 13 item 3), so

* a group of :math:`n` configurations :math:`\times` :math:`S` seeds is **one** call of
  :func:`adago_theory.run` on :math:`nS` runs: each hyperparameter an array of shape :math:`(nS,)` (its value
  repeated over the seeds), the seeds repeated per configuration (the same initial points as the separate
  runs);
* horizons are grouped only when close (the shortest at least :data:`HORIZON_SPREAD` of the longest, the
  sweep engine's rule, :data:`adago_theory.app.sweep.batch.HORIZON_SPREAD`): the group runs to its longest
  horizon :math:`T_{\max}`, records the union of the configurations' recorded steps, and each configuration
  keeps the rows of its own steps :math:`\le T_i`;
* the :class:`~adago_theory.run.Trace` is split back per configuration (``X_final`` is ``None`` for a
  configuration whose horizon is shorter than its group's: the batch's last iterate is not its own).

**What equals the separate runs.**  Deterministic runs: the first :math:`T_i` steps of a run do not depend on
what follows, nor on the other runs of the batch, so each configuration's rows equal its separate run (up to
the rounding of batched kernels; ``tests/test_grid.py`` checks :math:`10^{-12}`).  Stochastic runs: left to
itself, ``run`` draws the noise of a batch from one generator seeded with ``SeedSequence(seeds)`` for the whole
batch, so a group's noise would *not* be what its configurations see when run separately: the draws would
differ, be independent across the runs of the batch and have the same distribution; the common random numbers
of a sweep (every value of a separate-run sweep sees the same mini-batches, because every run has the same
seeds) would be lost, and a check's verdict resampled.  :func:`run_grid` keeps them: the batch runs on
:class:`SameNoise`, which answers ``stochastic_grad`` block by block, configuration :math:`i`'s runs with its
own generator built exactly as ``run`` builds the separate run's (``SeedSequence`` of the seeds), so
configuration :math:`i` sees the separate run's noise stream, step for step; its first :math:`T_i` steps equal
the separate run (``tests/test_grid.py``).  The price is :math:`n` noise draws per step instead of one (the
optimizer step, the gradients and the recording stay batched).  A group of one is the separate run.

**Fallback.**  Where the factory does not take arrays (a substituted or mutant factory; probed by
:func:`takes_arrays`: built with the smallest and the largest of the grid's values of each hyperparameter as
arrays of shape (2,), three steps on a batch of two runs must equal the steps of the factory built with each
scalar), and where a batched run fails (one diverged run stops the batch), the group runs one configuration at
a time, exactly as before, so each failure is raised (or, with ``errors="return"``, returned) for the run it
belongs to.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from adago_theory import run
from adago_theory.optim import takes_run_arrays
from adago_theory.run import Trace, record_steps

__all__ = ["HORIZON_SPREAD", "Config", "SameNoise", "group_configs", "takes_arrays", "run_grid", "split_trace"]

#: Horizons share a batch only when the shortest is at least this fraction of the longest (the same rule and value
#: as the sweep engine's ``adago_theory.app.sweep.batch.HORIZON_SPREAD``): at most 25 % extra steps per group.
HORIZON_SPREAD = 0.8


class Config(NamedTuple):
    """One run of a sweep: keyword hyperparameters of ``make`` (real scalars) and the horizon ``T``."""

    params: dict
    T: int


def _scalar(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def group_configs(configs, spread=HORIZON_SPREAD):
    """Indices of ``configs`` in groups of close horizons (longest first within a group; first-seen order kept
    among equal horizons): a new group starts where ``T < spread * (the group's longest)``."""
    order = sorted(range(len(configs)), key=lambda i: -int(configs[i].T))
    groups, cur, longest = [], [], None
    for i in order:
        T = int(configs[i].T)
        if cur and T < spread * longest:
            groups.append(sorted(cur))
            cur = []
        if not cur:
            longest = T
        cur.append(i)
    if cur:
        groups.append(sorted(cur))
    return groups


_PROBED: dict = {}


def takes_arrays(make, params):
    r"""Whether ``make(**params)`` takes every entry of ``params`` as an array over the run axis.

    ``params`` maps each name to a scalar or to the values a grid will batch.  The probe builds ``make`` with two
    values of each name as arrays of shape (2,): the smallest and the largest of the grid's values (so a probe
    never leaves the grid's range; equal where the grid does not vary that name), or :math:`1.5\times` and
    :math:`0.5\times` a scalar; it takes three steps on a batch of two runs of a 4 x 3 matrix, and each run must
    equal (``rtol`` :math:`10^{-12}`) the steps of ``make`` built with its scalars
    (:func:`adago_theory.optim.takes_run_arrays`).  Any exception counts as "no".  Cached per ``make`` and
    probe values.
    """
    vals = {}
    for k in sorted(params):
        v = params[k]
        if _scalar(v):
            vals[k] = (1.5 * float(v), 0.5 * float(v))
        else:
            v = [float(x) for x in v]
            vals[k] = (min(v), max(v))
    key = (make, tuple(vals.items()))
    try:
        hit = _PROBED.get(key)
    except TypeError:            # an unhashable callable: probe every time
        return takes_run_arrays(make, vals)
    if hit is None:
        hit = _PROBED[key] = takes_run_arrays(make, vals)
    return hit


class SameNoise:
    r"""``problem`` whose ``stochastic_grad`` draws each block of ``S`` runs (one configuration of a batch of
    ``n`` blocks) from its own generator, built as :func:`adago_theory.run` builds a run's from ``seeds``; the
    generator ``run`` passes is ignored.  Every other attribute is the problem's.

    So block :math:`i` of a batched run sees, step for step, the noise of the separate run of the same ``seeds``.
    """

    def __init__(self, problem, n, seeds):
        from adago_theory.backend import default_rng

        self.base = problem
        self.S = len(seeds)
        self.gens = [default_rng(np.random.default_rng(np.random.SeedSequence(list(seeds))), problem.xp)
                     for _ in range(int(n))]

    def __getattr__(self, name):
        return getattr(self.base, name)

    def stochastic_grad(self, X, rng=None, batch_size=None):
        xp, S, multi = self.base.xp, self.S, isinstance(X, tuple)
        parts = []
        for i, g in enumerate(self.gens):
            Xi = tuple(x[i * S:(i + 1) * S] for x in X) if multi else X[i * S:(i + 1) * S]
            parts.append(self.base.stochastic_grad(Xi, g, batch_size=batch_size))
        if multi:
            return tuple(xp.concat([p[j] for p in parts], axis=0) for j in range(len(X)))
        return xp.concat(parts, axis=0)


def _like(xp, values, X):
    """``values`` as an array of X's namespace, dtype and device."""
    from adago_theory.backend import device_of

    try:
        return xp.asarray(values, dtype=X.dtype, device=device_of(X))
    except TypeError:
        return xp.asarray(values, dtype=X.dtype)


def split_trace(trace, steps, own_steps, cols, full):
    """The part of a batched ``trace`` (recorded at ``steps``) that belongs to one configuration: the rows of
    ``own_steps`` and the runs ``cols``; ``X_final`` only when ``full`` (its horizon is the batch's)."""
    rows = np.searchsorted(steps, own_steps)
    R = len(trace.seeds)
    out = {}
    for name, val in trace._asdict().items():
        if name == "steps":
            out[name] = np.asarray(own_steps, dtype=np.int64)
        elif name == "X_final":
            out[name] = (None if not full else tuple(x[cols] for x in val) if isinstance(val, tuple) else val[cols])
        elif name == "time":
            out[name] = val[rows]
        elif name in ("seeds", "skipped"):
            out[name] = val[cols]
        elif isinstance(val, np.ndarray) and val.ndim >= 2 and val.shape[:2] == (len(steps), R):
            out[name] = val[rows][:, cols]
        else:
            out[name] = val
    return Trace(**out)


def run_grid(make, configs, problem, seeds, *, stochastic=False, record="auto", num_records=100, batch_size=None,
             spread=HORIZON_SPREAD, batched=None, errors="raise"):
    r"""Run ``configs`` on ``problem`` from ``seeds`` as few batched runs; one :class:`Trace` per configuration.

    Parameters
    ----------
    make : callable
        ``make(**params) -> Optimizer``; the check's factory call with the swept hyperparameters as keywords
        (for example ``lambda eta: F["adago"](eta, gamma=10.0, eps=1e-3)``).
    configs : sequence of Config or (dict, int)
        ``(params, T)``: every configuration sweeps the same names, real scalars.
    problem : Problem
    seeds : sequence of int
        The run seeds of every configuration (one run per seed, as in the separate runs).
    stochastic, record, num_records, batch_size
        As in :func:`adago_theory.run`; ``record`` is applied per configuration to its own horizon (a callable
        ``T -> record`` gives each horizon its own).
    spread : float
        :data:`HORIZON_SPREAD` by default.
    batched : bool, optional
        ``False`` runs every configuration alone (the reference); default: batch where :func:`takes_arrays`.
    errors : {"raise", "return"}
        What a configuration whose own run diverged gives: its :class:`~adago_theory.run.DivergedRunError` raised,
        or returned in place of its Trace (the other configurations are still run).

    Returns
    -------
    list of Trace
        In the order of ``configs``; each as its separate run would record it (stochastic runs too: each
        configuration sees its separate run's noise, :class:`SameNoise`).  ``Trace.time`` is the batch's clock.

    Raises
    ------
    ValueError
        Configurations that sweep different names or a non-scalar hyperparameter.
    DivergedRunError
        From the configuration's own run (a failed batch is rerun one configuration at a time), with
        ``errors="raise"``.
    """
    from adago_theory.run import DivergedRunError

    if errors not in ("raise", "return"):
        raise ValueError(f"run_grid: errors must be 'raise' or 'return', got {errors!r}")
    rec_of = record if callable(record) else (lambda T: record)
    configs = [Config(dict(c[0]), int(c[1])) for c in configs]
    seeds = [int(s) for s in seeds]
    if not configs:
        return []
    names = sorted(configs[0].params)
    for c in configs:
        if sorted(c.params) != names:
            raise ValueError(f"run_grid: every configuration must sweep the same names {names}, got {sorted(c.params)}")
        bad = [k for k, v in c.params.items() if not _scalar(v)]
        if bad:
            raise ValueError(f"run_grid: hyperparameters {bad} must be real scalars, got {[c.params[k] for k in bad]}")

    def alone(c):
        try:
            return run(make(**c.params), problem, c.T, seeds=seeds, stochastic=stochastic, record=rec_of(c.T),
                       num_records=num_records, batch_size=batch_size)
        except DivergedRunError as exc:
            if errors == "raise":
                raise
            return exc

    use = batched if batched is not None else (len(configs) > 1 and takes_arrays(
        make, {k: [c.params[k] for c in configs] for k in names}))
    out = [None] * len(configs)
    for group in group_configs(configs, spread):
        if len(group) == 1 or not use:
            for i in group:
                out[i] = alone(configs[i])
            continue
        try:
            traces = _batched([configs[i] for i in group], make, problem, seeds, stochastic, rec_of, num_records,
                              batch_size)
        except Exception:  # noqa: BLE001 - one by one: a failure is raised for the run it belongs to
            traces = [alone(configs[i]) for i in group]
        for i, tr in zip(group, traces):
            out[i] = tr
    return out


def _batched(cfgs, make, problem, seeds, stochastic, rec_of, num_records, batch_size):
    n, S = len(cfgs), len(seeds)
    xp = problem.xp
    X0 = problem.initial_point(seeds[0], runs=1)
    X0 = X0[0] if isinstance(X0, tuple) else X0
    arrays = {k: _like(xp, np.repeat(np.array([c.params[k] for c in cfgs], dtype=np.float64), S), X0)
              for k in cfgs[0].params}
    own = [np.asarray(record_steps(c.T, rec_of(c.T), num=num_records), dtype=np.int64) for c in cfgs]
    steps = np.unique(np.concatenate(own))
    T_max = max(c.T for c in cfgs)
    P = SameNoise(problem, n, seeds) if stochastic else problem
    trace = run(make(**arrays), P, T_max, seeds=seeds * n, stochastic=stochastic, record=steps.tolist(),
                batch_size=batch_size)
    return [split_trace(trace, steps, own[i], slice(i * S, (i + 1) * S), cfgs[i].T == T_max) for i in range(n)]
