"""The sweep engine and the command line on the real problems (entry points) and optimizers.

The reference for every stored run is the same computation written out by hand: the problem
generator called directly, the optimizer factory called directly, ``adago_theory.run`` on
them.  This checks the wiring of a config (names, parameters, seeds, problem seed, backend)
into objects; the optimizers and problems have their own tests against closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import problems  # the problem suite: a test may import it (adago_theory itself may not)
from adago_theory import run
from adago_theory.optim import OPTIMIZERS
from adago_theory.app.sweep import ConfigError, expand_grid, load_results, run_id, run_one, run_sweep
from test_cli import _one_line_error, cli

ADAGO = {"name": "adago", "eta": "0.5*T^-0.5", "gamma": 1.0, "eps": 1e-3}
MUON = {"name": "muon", "eta": 0.05, "orth": "svd"}
LSQ = {"name": "matrix_least_squares", "m": 6, "n": 4, "kappa_A": 10.0}


def _by_hand(cfg, **kw):
    """The run of ``cfg`` built by hand from the generator and the factory."""
    P = problems.make_matrix_least_squares(**cfg["problem_params"], rng=cfg["problem_seed"], **kw)
    opt = OPTIMIZERS[cfg["optimizer"]](**cfg["optimizer_params"])
    return run(opt, P, cfg["T"], seeds=cfg["seeds"], stochastic=cfg["stochastic"], batch_size=cfg["batch_size"])


def test_registered_names_are_found():
    from adago_theory.app.sweep import optimizer_names, problem_names

    assert {"adago", "muon"} <= set(optimizer_names())
    assert "matrix_least_squares" in problem_names()


@pytest.mark.parametrize("stochastic", [False, True])
def test_run_one_equals_the_run_written_by_hand(stochastic):
    spec = {"problem": LSQ, "optimizer": [ADAGO, MUON], "T": 12, "seeds": [3, 5], "seed": 7}
    if stochastic:
        spec.update(stochastic=True, batch_size=2, problem={**LSQ, "sigma2": 0.5})
    for cfg in expand_grid(spec):
        df = run_one(cfg)
        ref = _by_hand(cfg)
        for r, s in enumerate(cfg["seeds"]):
            sub = df[df.seed == s].sort_values("step")
            np.testing.assert_array_equal(sub.step.to_numpy(), ref.steps)
            for metric in ("f", "grad_fro", "grad_nuc", "grad_op"):
                np.testing.assert_allclose(sub[metric].to_numpy(), getattr(ref, metric)[:, r], rtol=1e-12)
        assert set(df.problem_seed) == {7}


def test_torch_backend_matches_numpy():
    pytest.importorskip("torch")
    base = {"problem": LSQ, "optimizer": MUON, "T": 10, "seeds": 2}
    (c_np,) = expand_grid(base)
    (c_t,) = expand_grid({**base, "backend": "torch"})
    a, b = run_one(c_np), run_one(c_t)
    assert run_id(c_np) != run_id(c_t) and set(b.backend) == {"torch"}
    np.testing.assert_allclose(b.f.to_numpy(), a.f.to_numpy(), rtol=1e-10)


def test_unknown_hyperparameter_is_caught_before_running(tmp_path):
    bad = expand_grid({"problem": LSQ, "optimizer": {**MUON, "gamma": 1.0}, "T": 3})
    with pytest.raises(ConfigError, match="optimizer 'muon' has no parameter 'gamma'; accepted: eta, beta"):
        run_sweep(bad, tmp_path)
    bad = expand_grid({"problem": {**LSQ, "kappa": 2.0}, "optimizer": MUON, "T": 3})
    with pytest.raises(ConfigError, match="problem 'matrix_least_squares' has no parameter 'kappa'"):
        run_sweep(bad, tmp_path)
    bad = expand_grid({"problem": LSQ, "optimizer": {"name": "adago", "eta": 0.1}, "T": 3})
    with pytest.raises(ConfigError, match="optimizer 'adago' needs parameter.s. gamma, eps"):
        run_sweep(bad, tmp_path)


GRID = """
T = [8, 16, 32]
seeds = 2
seed = 1

[[problem]]
name = "matrix_least_squares"
m = 6
n = 4

[[optimizer]]
name = "adago"
eta = "0.5*T^-0.5"
gamma = 1.0
eps = 1e-3

[[optimizer]]
name = "muon"
eta = 0.05
orth = "svd"
"""


def test_real_sweep_and_plot_through_the_cli(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "store"
    res = cli("sweep", grid, "--out", out, "-j", "1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("6 run(s): 6 done")
    df = load_results(out)
    from adago_theory.app.sweep import load_grid_file

    configs = expand_grid(load_grid_file(grid))
    assert set(df.run_id) == {run_id(c) for c in configs}
    for cfg in configs:
        ref = _by_hand(cfg)
        sub = df[df.run_id == run_id(cfg)].sort_values(["seed", "step"])
        np.testing.assert_allclose(sub.grad_nuc.to_numpy(), ref.grad_nuc.T.reshape(-1), rtol=1e-12)
    from adago_theory.app.cli import main

    assert main(["plot", str(out), "--statistic", "min", "--kind", "rates"]) == 0  # in process: faster
    printed = capsys.readouterr().out
    assert "rate fits of min grad_nuc" in printed and printed.count(" slope ") == 2
    assert (out / "figures" / "rates_grad_nuc.png").stat().st_size > 0


def test_real_names_in_cli_errors(capsys):
    from adago_theory.app.cli import main

    err = _one_line_error(cli("run", "--problem", "no_such_problem", "--optimizer", "muon", "--T", "3"))
    assert "unknown problem 'no_such_problem'; available:" in err and "matrix_least_squares" in err
    assert main(["run", "--problem", "matrix_least_squares", "--optimizer", "no_such_opt", "--T", "3"]) == 2
    err = capsys.readouterr().err
    assert "unknown optimizer 'no_such_opt'; available:" in err and "adago" in err
    assert main(["run", "--problem", "matrix_least_squares", "--optimizer", "muon", "-O", "eta=0.1",
                 "-O", "gamma=2", "--T", "3"]) == 2
    assert "has no parameter 'gamma'" in capsys.readouterr().err


def test_help_examples_are_valid_commands():
    """Every `run`/`sweep` example in the help texts names real problems, optimizers and parameters."""
    import shlex

    from adago_theory.app import cli as cli_mod

    parser = cli_mod.build_parser()
    texts = [parser.epilog] + [a.epilog or "" for a in parser._subparsers._group_actions[0].choices.values()]
    lines = [ln.split("#")[0].strip() for t in texts for ln in t.splitlines()]
    checked = 0
    for ln in lines:
        argv = shlex.split(ln)[1:] if ln.startswith("adago-theory ") else []
        if argv[:1] not in (["run"], ["sweep"]) or "--problem" not in argv:
            continue
        args = parser.parse_args(argv)
        spec = cli_mod._apply_common(cli_mod._spec_from_args(args, lists=argv[0] == "sweep"), args, from_file=False)
        assert cli_mod._records(spec), ln
        checked += 1
    assert checked == 3


def test_orth_table_is_swept_and_reaches_the_optimizer(tmp_path):
    """issue 14 item 2: ``orth = {method, coeffs = [..], steps = [..]}`` sweeps 4 orthogonalizers; each run
    equals the run built by hand with ``muon(orth={...})``; ``-O orth.*`` on the command line is the same run."""
    grid = tmp_path / "g.toml"
    grid.write_text('T = 6\nseeds = 2\n[[problem]]\nname = "matrix_least_squares"\nm = 6\nn = 4\n'
                    '[[optimizer]]\nname = "muon"\neta = 0.05\n'
                    'orth = { method = "newton-schulz", coeffs = ["jordan", "polar-express"], steps = [5, 8] }\n')
    from adago_theory.app.sweep import load_grid_file

    cfgs = expand_grid(load_grid_file(grid))
    orths = [c["optimizer_params"]["orth"] for c in cfgs]
    assert orths == [{"coeffs": c, "method": "newton-schulz", "steps": s}
                     for c in ("jordan", "polar-express") for s in (5, 8)]
    finals = []
    for cfg in cfgs:
        df = run_one(cfg)
        ref = _by_hand(cfg.config)
        last = df[df.step == df.step.max()].sort_values("seed")
        np.testing.assert_allclose(last.f.to_numpy(), ref.f[-1], rtol=1e-12)
        finals.append(ref.f[-1])
    assert not np.allclose(finals[0], finals[3])  # the orthogonalizer changes the run
    res = cli("run", "--problem", "matrix_least_squares", "-P", "m=6", "-P", "n=4", "--optimizer", "muon",
              "-O", "eta=0.05", "-O", "orth.method=newton-schulz", "-O", "orth.coeffs=polar-express",
              "-O", "orth.steps=8", "--T", "6", "--n-seeds", "2", "--out", str(tmp_path / "one"))
    assert res.returncode == 0, res.stderr
    assert f"run {run_id(cfgs[3])}" in res.stdout  # the same configuration, the same ID
    assert flatten_row(cfgs[3])["opt_orth.coeffs"] == "polar-express"


def flatten_row(cfg):
    from adago_theory.app.sweep import flatten_config

    return flatten_config(cfg)
