"""The kernel's thread pools survive ``fork``: a child process forked after the parent used them still runs.

A ``ThreadPoolExecutor`` copied by ``fork`` keeps the parent's (now nonexistent) threads in its books and
queues work that no thread runs; before the at-fork resets in ``adago_theory.parallel`` and
``adago_theory.run``, both calls below hung forever in a child of ``multiprocessing``'s default start
method on Linux (a sweep pool, a user's ``Pool.map``).
"""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from adago_theory import matrix_norms, orthogonalize, run
from adago_theory.optim import muon
from test_optim_lsq import LeastSquares

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork start method here")

#: Large enough for the batch-parallel thread path of Newton–Schulz and of the singular values.
_W = np.random.default_rng(0).standard_normal((2048, 50, 30))


def _recorded_run(seed):
    P = LeastSquares(m=12, n=7, p=20, cond=30.0, seed=0)
    return float(run(muon(0.05), P, 20, seeds=(seed,), record="all").f[-1, 0])


def _threaded_kernels(_):
    return float(np.sum(orthogonalize(_W, "newton-schulz"))), float(np.sum(matrix_norms(_W)[1]))


@pytest.mark.parametrize("job", [_recorded_run, _threaded_kernels])
def test_a_forked_child_runs_after_the_parent_used_the_pools(job):
    here = [job(s) for s in (1, 2)]                       # the parent's pools exist from here on
    with mp.get_context("fork").Pool(2) as pool:
        there = pool.map_async(job, [1, 2]).get(timeout=120)   # hung before the fix
    assert there == here                                  # same arithmetic in the child
