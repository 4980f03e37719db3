"""Hyperparameter grids as one batch (issue 13 item 3): runs that differ only in scalar hyperparameters and
horizons are one ``run``; each of them equals its separate run (``run_one``, the per-config path) to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory.app.sweep import expand_grid, load_results, run_one, run_sweep
from adago_theory.app.sweep.batch import group_key, group_records, run_group, takes_arrays
from adago_theory.app.sweep.execute import _job

LSQ = {"name": "matrix_least_squares", "m": 6, "n": 4, "kappa_A": 10.0}
METRICS = ("f", "gap", "grad_fro", "grad_nuc", "grad_op", "alpha", "update_norm")


def _assert_same(frame, ref):
    assert list(frame.step) == list(ref.step) and list(frame.seed) == list(ref.seed)
    for m in METRICS:
        np.testing.assert_allclose(frame[m].to_numpy(), ref[m].to_numpy(), rtol=1e-12, atol=1e-300, err_msg=m)


@pytest.mark.parametrize("opt", [{"name": "muon", "eta": [0.02, 0.05, 0.1], "orth": "svd"},
                                 {"name": "adago", "eta": "0.5*T^-0.5", "gamma": [1.0, 3.0], "eps": 1e-3}])
def test_grid_batch_equals_separate_runs(opt):
    records = expand_grid({"problem": LSQ, "optimizer": opt, "T": [21, 25], "seeds": 3, "record": "all"})
    assert takes_arrays(records[0]["optimizer"], records[0]["optimizer_params"])
    (group,) = group_records(records)  # horizons 21 and 25 are close: one batch run to 25
    assert len(group) == len(records) >= 4
    outcomes = run_group(group, _job)
    for rec, out in zip(group, outcomes):
        assert out.error is None and out.meta["batched_with"] == len(group)
        _assert_same(out.frame, run_one(rec))  # the separate run


def test_a_diverging_member_fails_alone():
    """PolarGrad with a step size that diverges: that run is a DivergedRunError, the others equal their runs."""
    records = expand_grid({"problem": {**LSQ, "m": 32, "n": 16}, "optimizer": {"name": "polargrad",
                                                                               "eta": [0.01, 0.5]},
                           "T": 700, "seeds": 2, "record": "log"})
    outcomes = run_group(group_records(records)[0], _job)
    ok, bad = outcomes
    assert bad.error is not None and bad.error["type"] == "DivergedRunError" and "step" in bad.error
    assert ok.error is None
    _assert_same(ok.frame, run_one(records[0]))


def test_far_horizons_are_separate_batches():
    """A rate sweep over doubling horizons: one batch per horizon, not every run taken to the longest."""
    records = expand_grid({"problem": LSQ, "optimizer": {"name": "muon", "eta": [0.02, 0.05]},
                           "T": [16, 32, 64], "seeds": 2})
    groups = group_records(records)
    assert sorted(sorted(r["T"] for r in g) for g in groups) == [[16, 16], [32, 32], [64, 64]]


def test_what_is_not_batched():
    base = {"problem": LSQ, "optimizer": {"name": "muon", "eta": [0.02, 0.05]}, "T": 5, "seeds": 2}
    stochastic = expand_grid({**base, "problem": {**LSQ, "sigma2": 0.1}, "stochastic": True})
    assert all(group_key(r) is None for r in stochastic)  # the batch's noise would differ
    mixed = expand_grid({**base, "optimizer": [{"name": "muon", "eta": 0.05}, {"name": "sgd", "eta": 0.05}]})
    assert len(group_records(mixed)) == 2  # different optimizers
    orths = expand_grid({**base, "optimizer": {"name": "muon", "eta": 0.05, "orth": ["svd", "polar"]}})
    assert len(group_records(orths)) == 2  # the orthogonalizer is not a number


def test_sweep_uses_the_batch_and_stores_what_separate_runs_store(tmp_path):
    records = expand_grid({"problem": LSQ, "optimizer": {"name": "muon", "eta": [0.02, 0.1]}, "T": [8, 16],
                           "seeds": 2})
    run_sweep(records, tmp_path / "s", progress=False)
    df = load_results(tmp_path / "s")
    assert df.run_id.nunique() == 4
    for rec in records:
        sub = df[df.run_id == rec.run_id].sort_values(["seed", "step"]).reset_index(drop=True)
        _assert_same(sub, run_one(rec))
