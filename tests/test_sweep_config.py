"""Run configs: canonical form, run IDs, grid expansion, horizon rules, TOML files and their errors."""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest

from adago_theory.app.sweep import (
    ConfigError,
    canonical_config,
    canonical_json,
    expand_grid,
    flatten_config,
    load_grid_file,
    parse_assignment,
    parse_scaling_rule,
    parse_value,
    run_id,
)

BASE = {"problem": "p", "optimizer": "o", "T": 10}


def test_run_id_is_sha256_of_sorted_compact_json():
    cfg = canonical_config({**BASE, "optimizer_params": {"eta": 0.5}})
    # independent reference: json of the canonical dict, keys sorted, no spaces
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    assert canonical_json(cfg) == text
    assert run_id(cfg) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_run_id_ignores_key_order_seed_order_and_numeric_spelling():
    a = {"problem": "p", "optimizer": "o", "T": 10, "seeds": [2, 0, 1],
         "optimizer_params": {"eta": 1, "gamma": 2.0}, "problem_params": {"m": 4, "n": 3}}
    b = {"problem_params": {"n": 3.0, "m": 4}, "seeds": (0, 1, 2), "T": 10.0,
         "optimizer_params": {"gamma": 2, "eta": 1.0}, "optimizer": "o", "problem": "p"}
    c = {**a, "optimizer_params": {"eta": np.float64(1.0), "gamma": np.int64(2)}, "seeds": np.array([1, 2, 0])}
    c["seeds"] = [int(s) for s in c["seeds"]]
    assert run_id(a) == run_id(b) == run_id(c)
    # defaults written out change nothing
    assert run_id(BASE) == run_id({**BASE, "stochastic": False, "backend": "numpy", "dtype": "float64",
                                    "seeds": [0], "record": "auto"})


@pytest.mark.parametrize("change", [
    {"T": 11}, {"seeds": [0, 1]}, {"optimizer_params": {"eta": 0.1}}, {"problem_params": {"m": 2}},
    {"problem_seed": 1}, {"stochastic": True}, {"dtype": "float32"}, {"backend": "torch"},
    {"record": "all"}, {"optimizer": "o2"}, {"problem": "p2"},
])
def test_run_id_changes_with_every_key(change):
    assert run_id(BASE) != run_id({**BASE, **change})


def test_canonical_config_fills_defaults_and_sorts():
    c = canonical_config({**BASE, "seeds": [3, 1], "optimizer_params": {"z": 1, "a": 2}})
    assert c["seeds"] == [1, 3]
    assert list(c["optimizer_params"]) == ["a", "z"]
    assert c["stochastic"] is False and c["batch_size"] is None and c["backend"] == "numpy"
    assert list(c) == sorted(c)


@pytest.mark.parametrize("bad, match", [
    ({"T": 0}, "T must be an integer >= 1"),
    ({"T": 2.5}, "T must be an integer"),
    ({"T": True}, "T must be an integer"),
    ({"seeds": []}, "seeds must be a non-empty"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"seeds": [-1]}, "seeds must be an integer >= 0"),
    ({"backend": "jax"}, "backend must be one of numpy, torch, cupy"),
    ({"dtype": "int8"}, "dtype must be one of"),
    ({"dtype": "bfloat16"}, "bfloat16 needs backend torch"),
    ({"batch_size": 4}, "needs stochastic = true"),
    ({"stochastic": "yes"}, "stochastic must be true or false"),
    ({"optimizer_params": {"eta": float("nan")}}, "finite"),
    ({"optimizer_params": {"eta": {"x": 1}}}, "must be a number"),
    ({"optimizer_params": {"1eta": 1}}, "not a valid parameter name"),
    ({"record": 0}, "record must be an integer >= 1"),
    ({"record": "some"}, "record must be"),
    ({"colour": 1}, "unknown configuration key"),
    ({"problem": ""}, "problem must be a name"),
    ({"runner": "nomodule"}, "runner must be 'module:function'"),
])
def test_canonical_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        canonical_config({**BASE, **bad})


def test_missing_required_key():
    with pytest.raises(ConfigError, match="missing configuration key.*T"):
        canonical_config({"problem": "p", "optimizer": "o"})


def test_parse_value_and_assignment():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("-1.5e-3") == -1.5e-3
    assert parse_value("TRUE") is True and parse_value("none") is None
    assert parse_value("newton-schulz") == "newton-schulz"
    with pytest.raises(ConfigError, match="non-finite"):
        parse_value("nan")
    assert parse_assignment("eta=0.1,0.01") == ("eta", [0.1, 0.01])
    for bad in ("eta", "=1", "eta=1,,2", "9x=1"):
        with pytest.raises(ConfigError):
            parse_assignment(bad)


@pytest.mark.parametrize("text, cp", [
    ("0.3*T^-0.5", (0.3, -0.5)), ("T^-0.25", (1.0, -0.25)), ("2 * T ** (-1)", (2.0, -1.0)),
    ("1e-2*T**0.5", (0.01, 0.5)), ("svd", None), ("T", None), ("0.3*X^2", None),
])
def test_parse_scaling_rule(text, cp):
    assert parse_scaling_rule(text) == cp


def test_expand_grid_is_the_cartesian_product():
    spec = {
        "problem": [{"name": "p1", "m": [4, 8], "n": 3}, {"name": "p2"}],
        "optimizer": [{"name": "a", "eta": [0.1, 0.2, 0.3]}, {"name": ["b", "c"], "beta": 0.9}],
        "T": [10, 20], "seeds": 3, "seed": 5, "stochastic": [False, True],
    }
    cfgs = expand_grid(spec)
    problems = [("p1", {"m": 4, "n": 3}), ("p1", {"m": 8, "n": 3}), ("p2", {})]
    optimizers = [("a", {"eta": e}) for e in (0.1, 0.2, 0.3)] + [("b", {"beta": 0.9}), ("c", {"beta": 0.9})]
    expected = [(p, pp, o, op, T, st) for (p, pp), (o, op), T, st
                in itertools.product(problems, optimizers, [10, 20], [False, True])]
    got = [(c["problem"], c["problem_params"], c["optimizer"], c["optimizer_params"], c["T"], c["stochastic"])
           for c in cfgs]
    assert got == expected
    assert all(c["seeds"] == [5, 6, 7] and c["problem_seed"] == 5 for c in cfgs)
    assert len({run_id(c) for c in cfgs}) == len(cfgs)


def test_expand_grid_drops_duplicates_and_keeps_nested_lists():
    spec = {"problem": {"name": "p", "spectrum": [[1.0, 0.5, 0.25]]}, "optimizer": {"name": ["o", "o"]},
            "T": [10, 10], "seeds": [4, 2]}
    cfgs = expand_grid(spec)
    assert len(cfgs) == 1
    assert cfgs[0]["problem_params"]["spectrum"] == [1.0, 0.5, 0.25]
    assert cfgs[0]["seeds"] == [2, 4]
    assert flatten_config(cfgs[0])["prob_spectrum"] == "[1.0, 0.5, 0.25]"


def test_horizon_rule_resolves_per_T():
    spec = {"problem": {"name": "p"}, "optimizer": {"name": "o", "eta": "0.3*T^-0.5", "gamma": 2.0},
            "T": [16, 64, 256]}
    cfgs = expand_grid(spec)
    for c, T in zip(cfgs, (16, 64, 256)):
        assert c["optimizer_params"]["eta"] == pytest.approx(0.3 / np.sqrt(T), rel=1e-15)
        assert c["scaling"] == {"eta": "0.3*T^-0.5"}
        assert flatten_config(c)["scaling"] == "eta=0.3*T^-0.5"
    # a rule that disagrees with its value is rejected
    bad = dict(cfgs[0].config, optimizer_params={"eta": 0.5, "gamma": 2.0})
    with pytest.raises(ConfigError, match="does not equal its rule"):
        canonical_config(bad)


@pytest.mark.parametrize("spec, match", [
    ({"optimizer": {"name": "o"}, "T": 1}, r"\[\[problem\]\]"),
    ({"problem": {"name": "p"}, "optimizer": {"name": "o"}}, "needs T"),
    ({"problem": {"m": 1}, "optimizer": {"name": "o"}, "T": 1}, "has no 'name'"),
    ({"problem": {"name": "p"}, "optimizer": {"name": "o"}, "T": 1, "horizon": 3}, "unknown grid key"),
    ({"problem": {"name": "p", "m": []}, "optimizer": {"name": "o"}, "T": 1}, "empty list"),
    ({"problem": {"name": "p"}, "optimizer": {"name": "o"}, "T": 1, "seeds": 0}, "seeds"),
])
def test_expand_grid_errors(spec, match):
    with pytest.raises(ConfigError, match=match):
        expand_grid(spec)


def test_load_grid_file(tmp_path):
    f = tmp_path / "g.toml"
    f.write_text('T = [8, 16]\nseeds = 2\n[[problem]]\nname = "p"\nm = [2, 3]\n'
                 '[[optimizer]]\nname = "o"\neta = "1*T^-1"\n')
    spec = load_grid_file(f)
    cfgs = expand_grid(spec)
    assert [(c["problem_params"]["m"], c["T"], c["optimizer_params"]["eta"]) for c in cfgs] == [
        (2, 8, 1 / 8), (2, 16, 1 / 16), (3, 8, 1 / 8), (3, 16, 1 / 16)]
    bad = tmp_path / "bad.toml"
    bad.write_text("T = [8, 16]\nseeds = = 2\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML.*line 2"):
        load_grid_file(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_grid_file(tmp_path / "missing.toml")


@pytest.mark.parametrize("address,expected", [
    ("tcp://10.0.0.5:8786", ("tcp", "10.0.0.5", 8786)),
    ("localhost:8786", ("tcp", "localhost", 8786)),
    ("tls://[::1]:9000", ("tls", "[::1]", 9000)),
    ("inproc://192.168.0.2/4242/1", ("inproc", "192.168.0.2/4242/1", 0)),
])
def test_scheduler_addresses_are_parsed_before_connecting(address, expected):
    from adago_theory.app.sweep.execute import parse_scheduler_address

    assert parse_scheduler_address(address) == expected


@pytest.mark.parametrize("address,match", [("notanaddress", "not a scheduler address"),
                                           ("tcp://host", "not a scheduler address"),
                                           ("ftp://host:21", "unknown protocol 'ftp'"),
                                           ("tcp://host:0", "port must be in 1..65535")])
def test_bad_scheduler_addresses(address, match):
    from adago_theory.app.sweep.execute import parse_scheduler_address

    with pytest.raises(ConfigError, match=match):
        parse_scheduler_address(address)
