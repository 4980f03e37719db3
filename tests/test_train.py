"""The digits training: the batched MLP against nn.Linear, seed batching against separate runs, the
store (resume), the command line, the spectral statistics against closed forms."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from adago_theory.app.train import experiments as E  # noqa: E402
from adago_theory.app.train.model import forward, init_mlp, n_params, per_seed_loss  # noqa: E402
from adago_theory.app.train.run import canonical, train_id, train_run  # noqa: E402
from adago_theory.app.train.spectra import spectrum_stats  # noqa: E402

TINY = {"T": 12, "hidden": 16, "batch_size": 32, "eval_every": 4}


def test_batched_mlp_equals_nn_linear_per_seed():
    params = init_mlp([3, 7], 64, 128, 10, dtype=torch.float64)
    assert n_params(64, 128, 10) == 9610 == sum(p[0].numel() for p in params)
    x = torch.randn(2, 5, 64, dtype=torch.float64)
    y = torch.randint(0, 10, (2, 5))
    out = forward(params, x)
    loss = per_seed_loss(out, y)
    for s in range(2):
        net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).double()
        with torch.no_grad():
            net[0].weight.copy_(params[0][s]), net[0].bias.copy_(params[1][s])
            net[2].weight.copy_(params[2][s]), net[2].bias.copy_(params[3][s])
        ref = net(x[s])
        torch.testing.assert_close(out[s], ref)
        torch.testing.assert_close(loss[s], torch.nn.functional.cross_entropy(ref, y[s]))
        # the summed loss gives each seed its own gradient
        gref = torch.autograd.grad(torch.nn.functional.cross_entropy(ref, y[s]), net[0].weight)[0]
        g = torch.autograd.grad(per_seed_loss(forward(params, x), y).sum(), params[0])[0]
        torch.testing.assert_close(g[s], gref)


@pytest.mark.parametrize("opt,eta", [("adago", 0.1), ("namo_d", 0.01), ("adamw", 1e-3)])
def test_seeds_batched_equal_separate_runs(opt, eta):
    cfg = {"optimizer": opt, "optimizer_params": {"eta": eta}, "dtype": "float64", **TINY}
    both = train_run({**cfg, "seeds": [0, 1]}, progress=False)
    for s in (0, 1):
        alone = train_run({**cfg, "seeds": [s]}, progress=False)
        a = both[both.seed == s].reset_index(drop=True)
        for col in ("train_loss", "test_loss", "test_acc"):
            np.testing.assert_allclose(a[col].to_numpy(), alone[col].to_numpy(), rtol=1e-9, err_msg=col)
    # the closest wrong thing: two different seeds do not train identically
    assert not np.allclose(both[both.seed == 0].train_loss.to_numpy(), both[both.seed == 1].train_loss.to_numpy())


def test_training_decreases_the_loss_and_learns():
    df = train_run({"optimizer": "muon", "optimizer_params": {"eta": 0.05}, "seeds": [0], "T": 60,
                    "eval_every": 20}, progress=False)
    first, last = df[df.step == 0].iloc[0], df[df.step == 60].iloc[0]
    assert last.train_loss < 0.5 * first.train_loss
    assert last.test_acc > 0.8          # ten classes: chance is 0.1


def test_config_validation_names_the_key():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        canonical({"optimizer": "lion", "optimizer_params": {"eta": 1}})
    with pytest.raises(ValueError, match="needs eta"):
        canonical({"optimizer": "muon"})
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        canonical({"optimizer": "muon", "optimizer_params": {"eta": 0.1}, "T": 0})
    with pytest.raises(ValueError, match="unknown train config key"):
        canonical({"optimizer": "muon", "optimizer_params": {"eta": 0.1}, "epochs": 3})
    a = train_id({"optimizer": "muon", "optimizer_params": {"eta": 0.1}, "seeds": [1, 0]})
    b = train_id({"seeds": [0, 1], "optimizer_params": {"eta": 0.1}, "optimizer": "muon"})
    assert a == b and a != train_id({"optimizer": "muon", "optimizer_params": {"eta": 0.2}, "seeds": [0, 1]})


def test_store_resumes_and_cli(tmp_path, capsys):
    from adago_theory.app.cli import main
    from adago_theory.app.sweep.store import load_results

    out = str(tmp_path / "store")
    argv = ["train", "digits", "--optimizer", "adago,muon", "-O", "eta=0.05", "--T", "8", "--hidden", "8",
            "--eval-every", "4", "--n-seeds", "2", "--out", out, "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "2 run(s): 2 done, 0 already finished" in text and "test acc" in text
    df = load_results(out)
    assert set(df.optimizer) == {"adago", "muon"} and set(df.seed) == {0, 1} and df.step.max() == 8
    assert main(argv) == 0
    assert "2 run(s): 0 done, 2 already finished" in capsys.readouterr().out
    assert main(["train", "digits", "--optimizer", "lion", "-O", "eta=1", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "optimizer must be one of" in err and err.count("\n") == 1
    assert main(["train", "--print-example"]) == 0
    grid = tmp_path / "grid.toml"
    grid.write_text(capsys.readouterr().out.replace("T = 600", "T = 4").replace("seeds = 5", "seeds = 1")
                    .replace("[0.01, 0.05, 0.1, 0.5, 1.0]", "[0.1]").replace("hidden = 128", "hidden = 8"))
    assert main(["train", str(grid), "--out", out, "--no-progress"]) == 0
    assert "2 run(s): 2 done" in capsys.readouterr().out


def _jordan(x, steps=5):
    for _ in range(steps):
        x = 3.4445 * x - 4.7750 * x**3 + 2.0315 * x**5
    return x


def test_spectrum_stats_closed_forms():
    r, rho = 8, 1.5
    s = np.arange(1, r + 1, dtype=float) ** -rho
    rng = np.random.default_rng(0)
    from adago_theory.app.train.spectra import haar

    A = (haar(rng, 12, r) * s) @ haar(rng, 10, r).T           # rank 8 of 10 columns
    st = spectrum_stats(torch.as_tensor(A[None]), rng=rng)
    assert st["rank"] == [8.0]
    assert math.isclose(st["kappa"][0], r**rho, rel_tol=1e-10)
    assert math.isclose(st["decay"][0], rho, rel_tol=1e-10)
    p = s / s.sum()
    assert math.isclose(st["erank"][0], math.exp(-(p * np.log(p)).sum()), rel_tol=1e-10)
    # Newton-Schulz acts on the normalised singular values: rel_fro = ||p(s/||s||) - 1||_2 / sqrt(r)
    pred = np.linalg.norm(_jordan(s / np.linalg.norm(s)) - 1.0) / math.sqrt(r)
    assert math.isclose(st["err_ns"][0], pred, rel_tol=1e-8)
    assert math.isclose(st["syn_ns"][0], pred, rel_tol=1e-8)


def test_statistics_of_the_experiments():
    from scipy import stats

    a, b = np.array([1.0, 2.0, 4.0, 3.0]), np.array([0.5, 1.0, 3.0, 3.5])
    m, lo, hi = E.paired_interval(a, b)
    ref = stats.t.interval(0.95, 3, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert math.isclose(m, 0.5) and np.allclose([lo, hi], ref)
    import pandas as pd

    steps = np.arange(0, 101, 10)
    loss = np.where((steps // 10) % 2 == 0, 1.0, math.e)      # alternates: |d log L| = 1 every record
    df = pd.DataFrame({"seed": 0, "step": steps, "train_loss": loss})
    assert math.isclose(float(E.oscillation(df).iloc[0]), 1.0)
    assert math.isclose(float(E.final_loss(df, 2).iloc[0]), (1.0 + math.e) / 2)


@pytest.mark.slow
def test_bench_train_prints_a_ratio(capsys):
    from adago_theory.app.train.bench import bench_train

    assert bench_train(quick=True) == 0
    assert "ratio" in capsys.readouterr().out
