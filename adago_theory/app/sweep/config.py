r"""Run configurations: canonical form, run IDs, grids from TOML files or command-line lists.

A *run* is one problem × one optimizer × one horizon ``T`` × a batch of seeds.  Its
configuration is a plain dict; :func:`canonical_config` validates it, fills the
defaults and normalizes it (sorted seeds, Python scalars, no NumPy types), and
:func:`run_id` hashes that canonical form.  Two dicts that describe the same run
therefore get the same ID whatever their key order, and a grid can be expanded in
any order without changing the IDs (benchopt's order-dependent hash, benchopt
issue #807, is the failure this avoids; ``toolkits.md`` §2.7 [ISSUE]).

Canonical keys (defaults in brackets)::

    problem          registered problem name                       (required)
    problem_params   keyword arguments of the problem factory      [{}]
    problem_seed     seed of the problem instance (its data)        [0]
    optimizer        registered optimizer name                      (required)
    optimizer_params keyword arguments of the optimizer factory     [{}]
    scaling          {hyperparameter: "c*T^p"} horizon rules        [{}]
    T                horizon, number of steps, int >= 1             (required)
    seeds            run seeds, batched inside one job              [[0]]
    stochastic       stochastic gradients                           [False]
    batch_size       minibatch size of the stochastic gradient      [None]
    record           recorded steps: auto | all | log | every k-th  ["auto"]
    backend          "numpy" | "cupy" | "torch"                     ["numpy"]
    dtype            "float16" | "bfloat16" | "float32" | "float64" ["float64"]
    device           backend device, None = the backend's default   [None]
    runner           "module:function" computing the run            (absent = the toolkit's)

Horizon rules (derived here, the convention is ours): the theorems tune the
hyperparameters from the horizon (``toolkits.md`` §8, ``theory.md`` §1.3), e.g.
:math:`\eta = c\,T^{-1/2}`.  A grid value written as the string ``"c*T^p"`` (or
``"c*T**p"``, ``"T^p"``) is resolved to the float :math:`c\,T^p` for each ``T``; the
rule itself is kept in ``scaling`` so that plots can group runs of one rule across
horizons.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import math
import numbers
import re
from typing import Any, Iterable, Mapping

from adago_theory.backend import BACKENDS, DTYPES  # the one home of the backend and dtype names

__all__ = [
    "ConfigError",
    "CONFIG_KEYS",
    "BACKENDS",
    "DTYPES",
    "canonical_config",
    "canonical_json",
    "run_id",
    "flatten_config",
    "parse_value",
    "parse_assignment",
    "parse_scaling_rule",
    "check_rule_text",
    "check_orth",
    "ORTH_KEYS",
    "RULE_SYNTAX",
    "RunRecord",
    "make_record",
    "expand_grid",
    "load_grid_file",
    "GRID_KEYS",
    "configs_from",
]


class ConfigError(ValueError):
    """A configuration a user wrote is invalid (the message says which key and why)."""



_DEFAULTS = {
    "problem_params": {},
    "problem_seed": 0,
    "optimizer_params": {},
    "scaling": {},
    "seeds": [0],
    "stochastic": False,
    "batch_size": None,
    "record": "auto",
    "backend": "numpy",
    "dtype": "float64",
    "device": None,
}
_REQUIRED = ("problem", "optimizer", "T")
CONFIG_KEYS = tuple(sorted(_REQUIRED + tuple(_DEFAULTS) + ("runner",)))

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_RULE = re.compile(
    rf"^\s*(?:(?P<c>{_NUM})\s*\*\s*)?T\s*(?:\^|\*\*)\s*(?P<lp>\(\s*)?(?P<p>{_NUM})\s*(?(lp)\))\s*$"
)
_INT = re.compile(r"^[+-]?\d+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


# ---------------------------------------------------------------------------
# scalars
# ---------------------------------------------------------------------------


def _plain(value, where, *, nested=False):
    """Normalize a parameter value to plain JSON types (int, float, bool, str, None, lists, one level of tables)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        return 0.0 if v == 0.0 else v  # -0.0 and 0.0 are one configuration
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return _plain(value.item(), where, nested=nested)
    if isinstance(value, (list, tuple)):
        return [_plain(v, where, nested=nested) for v in value]
    if isinstance(value, Mapping) and not nested:
        return {_key(k, where): _plain(v, f"{where}.{k}", nested=True) for k, v in sorted(value.items())}
    raise ConfigError(
        f"{where} must be a number, bool, string, None, a list of those"
        f"{'' if nested else ' or a table of those'}, got {type(value).__name__}"
    )


def _key(k, where):
    if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
        raise ConfigError(f"{where}: {k!r} is not a valid parameter name")
    return k


def _hash_form(value):
    """The form of a value used for hashing: integral floats as ints (so 1 and 1.0 are one run)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_hash_form(v) for v in value]
    if isinstance(value, dict):
        return {k: _hash_form(v) for k, v in value.items()}
    return value


def parse_value(text: str):
    """Parse one command-line value: ``true``/``false``, ``none``, an int, a float, else a string.

    Examples
    --------
    >>> parse_value("3"), parse_value("1e-3"), parse_value("true"), parse_value("svd")
    (3, 0.001, True, 'svd')
    """
    s = text.strip()
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if _INT.match(s):
        return int(s)
    if re.fullmatch(_NUM, s):
        return float(s)
    if low in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        raise ConfigError(f"non-finite value {text!r} is not allowed")
    return s


def parse_assignment(text: str, *, option: str = "-O") -> tuple[str, list]:
    """Parse ``key=v1,v2,...`` (a command-line grid entry) into ``(key, [values])``.

    ``key`` may be dotted, ``orth.method``: an entry of the table ``orth``.

    Raises
    ------
    ConfigError
        If there is no ``=``, the key is not an identifier, or a value is empty.
    """
    if "=" not in text:
        raise ConfigError(f"{option} expects KEY=VALUE[,VALUE...], got {text!r}")
    key, _, rest = text.partition("=")
    key = key.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", key):
        raise ConfigError(f"{option}: {key!r} is not a valid parameter name (NAME or TABLE.NAME)")
    parts = rest.split(",")
    if any(p.strip() == "" for p in parts):
        raise ConfigError(f"{option} {key}: empty value in {rest!r}")
    return key, [parse_value(p) for p in parts]


RULE_SYNTAX = "a horizon rule is 'c*T^p' or 'c*T**p' with numbers c and p (e.g. '0.5*T^-0.5', 'T**(-0.25)')"


def check_rule_text(value, where):
    """Raise when ``value`` is a string that looks like a horizon rule but does not parse as one."""
    if (isinstance(value, str) and parse_scaling_rule(value) is None
            and re.search(r"(?<![A-Za-z_])T(?![A-Za-z_])", value) and re.search(r"[\^*]", value)):
        raise ConfigError(f"{where}: malformed horizon rule {value!r}; {RULE_SYNTAX}")


def parse_scaling_rule(text: str):
    r"""Parse a horizon rule ``"c*T^p"`` into ``(c, p)``; None when ``text`` is not a rule.

    The rule means :math:`c\,T^{p}`; ``"T^p"`` means ``c = 1``.  ``**`` may replace ``^`` and
    the exponent may be parenthesized: ``"0.3*T**(-0.5)"``.

    Examples
    --------
    >>> parse_scaling_rule("0.3*T^-0.5")
    (0.3, -0.5)
    >>> parse_scaling_rule("svd") is None
    True
    """
    if not isinstance(text, str):
        return None
    m = _RULE.match(text)
    if m is None:
        return None
    c = float(m.group("c")) if m.group("c") is not None else 1.0
    return c, float(m.group("p"))


# ---------------------------------------------------------------------------
# canonical configuration
# ---------------------------------------------------------------------------


def _check_params(params, where) -> dict:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where} must be a table of name = value, got {type(params).__name__}")
    out = {}
    for k, v in params.items():
        if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ConfigError(f"{where}: {k!r} is not a valid parameter name")
        out[k] = _plain(v, f"{where}.{k}")
    return dict(sorted(out.items()))


#: Keys of an orthogonalizer table ``orth = {method = ..., ...}`` (options of :func:`adago_theory.orthogonalize`).
ORTH_KEYS = ("method", "coeffs", "steps", "rtol", "eps")


def check_orth(spec, where="optimizer_params.orth"):
    """Check an orthogonalizer spec (a method name or a table) and name the key and its allowed values.

    Raises
    ------
    ConfigError
        Unknown key, unknown method or Newton–Schulz preset, options that the method does not take.
    """
    from adago_theory.orthogonalize import METHODS, NS_PRESETS

    table = {"method": spec} if isinstance(spec, str) else spec
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a method name or a table with keys {', '.join(ORTH_KEYS)}, got {spec!r}")
    unknown = sorted(set(table) - set(ORTH_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(ORTH_KEYS)}")
    method = table.get("method")
    if method not in METHODS:
        raise ConfigError(f"{where}.method must be one of {', '.join(METHODS)}, got {method!r}")
    if method != "newton-schulz":
        extra = [k for k in ("coeffs", "steps") if k in table]
        if extra:
            raise ConfigError(f"{where}.{extra[0]} applies only to method 'newton-schulz', not {method!r}")
    coeffs = table.get("coeffs")
    if isinstance(coeffs, str) and coeffs not in NS_PRESETS:
        raise ConfigError(f"{where}.coeffs must be one of {', '.join(sorted(NS_PRESETS))} "
                          f"(or a list of (a, b, c) triples), got {coeffs!r}")
    if "steps" in table:
        _check_int(table["steps"], f"{where}.steps", low=1)


def _check_int(value, where, *, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{where} must be an integer >= {low}, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif float(value).is_integer():
        v = int(value)
    else:
        raise ConfigError(f"{where} must be an integer >= {low}, got {value!r}")
    if v < low:
        raise ConfigError(f"{where} must be an integer >= {low}, got {v}")
    return v


def canonical_config(config: Mapping[str, Any]) -> dict:
    """Validate a run configuration and return its canonical form.

    Parameters
    ----------
    config : mapping
        A run configuration (keys in the module docstring).  Missing optional keys get
        their defaults.

    Returns
    -------
    dict
        A new dict with every key present, keys of parameter tables sorted, values as
        plain Python scalars, ``seeds`` a sorted list of distinct ints.

    Raises
    ------
    ConfigError
        On an unknown key, a missing required key or a value out of range; the message
        names the key and the allowed values.
    """
    if isinstance(config, RunRecord):  # validated at the edge
        return config.config
    if not isinstance(config, Mapping):
        raise ConfigError(f"a run configuration must be a mapping, got {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"unknown configuration key(s) {', '.join(unknown)}; allowed: {', '.join(CONFIG_KEYS)}")
    missing = [k for k in _REQUIRED if k not in config]
    if missing:
        raise ConfigError(f"missing configuration key(s): {', '.join(missing)}")
    cfg = copy.deepcopy(_DEFAULTS)
    cfg.update({k: copy.deepcopy(v) for k, v in config.items()})

    for key in ("problem", "optimizer"):
        if not isinstance(cfg[key], str) or not _NAME.match(cfg[key]):
            raise ConfigError(f"{key} must be a name (letters, digits, _ . -), got {cfg[key]!r}")
    cfg["T"] = _check_int(cfg["T"], "T", low=1)
    cfg["problem_seed"] = _check_int(cfg["problem_seed"], "problem_seed", low=0)
    cfg["problem_params"] = _check_params(cfg["problem_params"], "problem_params")
    for k, key in (("rng", "problem_seed (--seed)"), ("backend", "backend (--backend)"),
                   ("dtype", "dtype (--dtype)"), ("device", "device (--device)")):
        if k in cfg["problem_params"]:
            raise ConfigError(f"problem parameter {k!r} is not a problem parameter here: set the run's {key}")
    cfg["optimizer_params"] = _check_params(cfg["optimizer_params"], "optimizer_params")
    for k, v in cfg["optimizer_params"].items():
        if k == "orth":
            check_orth(v)
        elif isinstance(v, Mapping):
            raise ConfigError(f"optimizer_params.{k} must be a number, bool, string, None or a list of those "
                              "(a table is allowed only for orth)")
        else:
            check_rule_text(v, f"optimizer_params.{k}")

    seeds = cfg["seeds"]
    if isinstance(seeds, (numbers.Integral,)) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, (list, tuple)) or len(seeds) == 0:
        raise ConfigError(f"seeds must be a non-empty list of integers >= 0, got {cfg['seeds']!r}")
    seeds = [_check_int(s, "seeds", low=0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct, got {seeds}")
    cfg["seeds"] = sorted(seeds)

    if not isinstance(cfg["stochastic"], bool):
        raise ConfigError(f"stochastic must be true or false, got {cfg['stochastic']!r}")
    if cfg["batch_size"] is not None:
        cfg["batch_size"] = _check_int(cfg["batch_size"], "batch_size", low=1)
        if not cfg["stochastic"]:
            raise ConfigError("batch_size is set but stochastic is false (a batch size needs stochastic = true)")
    rec = cfg["record"]
    if isinstance(rec, bool) or not (rec in ("auto", "all", "log") or isinstance(rec, numbers.Integral)):
        raise ConfigError(f"record must be 'auto', 'all', 'log' or a positive integer (every k-th step), got {rec!r}")
    if isinstance(rec, numbers.Integral):
        cfg["record"] = _check_int(rec, "record", low=1)
    if cfg["backend"] not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {cfg['backend']!r}")
    if cfg["dtype"] not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {cfg['dtype']!r}")
    if cfg["dtype"] == "bfloat16" and cfg["backend"] != "torch":
        raise ConfigError(f"dtype bfloat16 needs backend torch (backend {cfg['backend']} has no bfloat16)")
    if cfg["device"] is not None and not isinstance(cfg["device"], str):
        raise ConfigError(f"device must be a string such as 'cpu', 'cuda:0' or None, got {cfg['device']!r}")

    scaling = cfg["scaling"] or {}
    if not isinstance(scaling, Mapping):
        raise ConfigError("scaling must be a table {hyperparameter: 'c*T^p'}")
    for k, rule in scaling.items():
        if parse_scaling_rule(rule) is None:
            raise ConfigError(f"scaling.{k} must be a rule 'c*T^p', got {rule!r}")
        if k not in cfg["optimizer_params"]:
            raise ConfigError(f"scaling.{k}: no optimizer parameter {k!r} to scale")
        c, p = parse_scaling_rule(rule)
        want = c * float(cfg["T"]) ** p
        got = cfg["optimizer_params"][k]
        if isinstance(got, bool) or not isinstance(got, numbers.Real) or not math.isclose(got, want, rel_tol=1e-12):
            raise ConfigError(f"optimizer_params.{k} = {got!r} does not equal its rule {rule!r} at T = {cfg['T']}")
    cfg["scaling"] = dict(sorted(scaling.items()))
    if "runner" in cfg:
        r = cfg["runner"]
        if not isinstance(r, str) or not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", r):
            raise ConfigError(f"runner must be 'module:function', got {r!r}")
    return {k: cfg[k] for k in sorted(cfg)}


def canonical_json(config: Mapping[str, Any]) -> str:
    """The canonical JSON text of a configuration (sorted keys, no spaces): what :func:`run_id` hashes."""
    cfg = config.config if isinstance(config, RunRecord) else canonical_config(config)
    return _hash_json(cfg)


def _hash_json(cfg) -> str:
    return json.dumps(_hash_form(cfg), sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run's configuration, validated once at the edge (command line, grid file, API call).

    Immutable: the configuration is held as its canonical JSON text, and :attr:`config`
    returns a fresh dict each time, so nothing below the edge can change a record or
    needs to copy or re-validate it.  Pickles as two strings (for process pools and Dask).

    Attributes
    ----------
    run_id : str
        :func:`run_id` of the configuration.
    text : str
        The canonical configuration as JSON.
    """

    run_id: str
    text: str

    @property
    def config(self) -> dict:
        """The canonical configuration (a new dict)."""
        return json.loads(self.text)

    def __getitem__(self, key):
        return self.config[key]

    def __repr__(self):
        c = self.config
        return f"RunRecord({self.run_id}: {c['problem']} x {c['optimizer']}, T={c['T']}, {len(c['seeds'])} seed(s))"


def make_record(config) -> RunRecord:
    """Validate ``config`` (:func:`canonical_config`) and freeze it into a :class:`RunRecord`.

    A record is returned as it is.
    """
    if isinstance(config, RunRecord):
        return config
    cfg = canonical_config(config)
    return RunRecord(hashlib.sha256(_hash_json(cfg).encode()).hexdigest()[:16],
                     json.dumps(cfg, sort_keys=True, allow_nan=False))


def run_id(config: Mapping[str, Any]) -> str:
    """The ID of a run: the first 16 hex digits of the SHA-256 of :func:`canonical_json`.

    Examples
    --------
    >>> a = run_id({"problem": "p", "optimizer": "o", "T": 10, "seeds": [1, 0]})
    >>> a == run_id({"T": 10.0, "seeds": [0, 1], "optimizer": "o", "problem": "p"})
    True
    """
    if isinstance(config, RunRecord):
        return config.run_id
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def flatten_config(config: Mapping[str, Any]) -> dict:
    """One flat row of config columns for the tidy results table.

    Problem parameters become ``prob_<name>``, optimizer hyperparameters ``opt_<name>``,
    list values their JSON text, ``scaling`` the text ``"eta=0.3*T^-0.5;..."`` ('' when
    none).  ``seeds`` is left out: the table has one row per seed.
    """
    cfg = canonical_config(config)
    row = {}
    for k in ("problem", "optimizer", "T", "problem_seed", "stochastic", "batch_size",
              "record", "backend", "dtype", "device"):
        row[k] = cfg[k]
    row["record"] = str(cfg["record"])
    row["scaling"] = ";".join(f"{k}={v}" for k, v in cfg["scaling"].items())
    if "runner" in cfg:
        row["runner"] = cfg["runner"]
    for prefix, table in (("prob_", cfg["problem_params"]), ("opt_", cfg["optimizer_params"])):
        for k, v in table.items():
            if isinstance(v, dict):  # orth = {method = ..., ...}: one column per entry
                for kk, vv in v.items():
                    row[f"{prefix}{k}.{kk}"] = json.dumps(vv) if isinstance(vv, list) else vv
            else:
                row[prefix + k] = json.dumps(v) if isinstance(v, list) else v
    return row


# ---------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------

#: Top-level keys of a grid (a TOML file or the command line).
GRID_KEYS = ("problem", "optimizer", "T", "seed", "seeds", "stochastic", "batch_size",
             "record", "backend", "dtype", "device", "runner")


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]


def _entries(spec, key):
    block = spec.get(key)
    if block is None:
        raise ConfigError(f"the grid needs at least one [[{key}]] table with a name")
    blocks = block if isinstance(block, list) else [block]
    out = []
    for i, b in enumerate(blocks):
        if isinstance(b, str):
            b = {"name": b}
        if not isinstance(b, Mapping):
            raise ConfigError(f"{key}[{i}] must be a table with a 'name' key, got {b!r}")
        if "name" not in b:
            raise ConfigError(f"{key}[{i}] has no 'name'")
        names = _as_list(b["name"])
        for n in names:
            if not isinstance(n, str):
                raise ConfigError(f"{key}[{i}].name must be a string, got {n!r}")
        params = {k: v for k, v in b.items() if k != "name"}
        out.append((names, params))
    return out


def _product_of(params: Mapping[str, Any]) -> list[dict]:
    """The cartesian product of the list values; a table value (``orth = {...}``) is swept inside too."""
    keys = list(params)
    lists = [_product_of(params[k]) if isinstance(params[k], Mapping) else _as_list(params[k]) for k in keys]
    for k, vals in zip(keys, lists):
        if len(vals) == 0:
            raise ConfigError(f"parameter {k!r} has an empty list of values")
    return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]


def _seed_list(spec):
    base = spec.get("seed", 0)
    base = _check_int(base, "seed", low=0)
    seeds = spec.get("seeds", 1)
    if isinstance(seeds, list):
        return [_check_int(s, "seeds", low=0) for s in seeds]
    n = _check_int(seeds, "seeds (a count)", low=1)
    return list(range(base, base + n))


def expand_grid(spec: Mapping[str, Any]) -> list[dict]:
    """Expand a grid specification into canonical run configurations.

    Parameters
    ----------
    spec : mapping
        Top-level keys: ``problem`` and ``optimizer`` (a table or a list of tables, each
        with a ``name`` (or list of names) and parameters whose list values are swept),
        ``T`` (int or list), ``seed`` (base seed, default 0: the problem-instance seed and
        the first run seed), ``seeds`` (a count, default 1, giving ``seed, seed+1, ...``,
        or an explicit list), and ``stochastic``, ``batch_size``, ``record``, ``backend``,
        ``dtype``, ``device`` (a value or a list of values), ``runner``.  A list value
        means "sweep these"; to pass one list-valued parameter, nest it: ``[[1, 2, 3]]``.

    Returns
    -------
    list of RunRecord
        Frozen canonical configurations, problems × optimizers × options in the order given,
        without duplicates.  All seeds of one configuration are one run (one batch).

    Raises
    ------
    ConfigError
        On unknown keys or invalid values.

    Examples
    --------
    >>> spec = {"problem": {"name": "p", "m": [4, 8]}, "optimizer": {"name": "o", "eta": 0.1},
    ...         "T": [10, 100], "seeds": 3}
    >>> [(c["problem_params"]["m"], c["T"], c["seeds"]) for c in expand_grid(spec)]
    [(4, 10, [0, 1, 2]), (4, 100, [0, 1, 2]), (8, 10, [0, 1, 2]), (8, 100, [0, 1, 2])]
    """
    if not isinstance(spec, Mapping):
        raise ConfigError("a grid must be a table")
    unknown = sorted(set(spec) - set(GRID_KEYS))
    if unknown:
        raise ConfigError(f"unknown grid key(s) {', '.join(unknown)}; allowed: {', '.join(GRID_KEYS)}")
    if "T" not in spec:
        raise ConfigError("the grid needs T (a horizon or a list of horizons)")
    seeds = _seed_list(spec)
    base = _check_int(spec.get("seed", 0), "seed", low=0)
    options = {k: _as_list(spec[k]) for k in ("T", "stochastic", "batch_size", "record", "backend", "dtype", "device")
               if k in spec}
    option_keys = list(options)
    option_combos = [dict(zip(option_keys, c)) for c in itertools.product(*options.values())]

    out, seen = [], set()
    for pnames, pparams in _entries(spec, "problem"):
        for pname in pnames:
            for pp in _product_of(pparams):
                for onames, oparams in _entries(spec, "optimizer"):
                    for oname in onames:
                        for op in _product_of(oparams):
                            for opt_combo in option_combos:
                                cfg = {"problem": pname, "problem_params": pp, "problem_seed": base,
                                       "optimizer": oname, "seeds": seeds, **opt_combo}
                                if "runner" in spec:
                                    cfg["runner"] = spec["runner"]
                                if opt_combo.get("batch_size") is not None and "stochastic" not in opt_combo:
                                    cfg["stochastic"] = True
                                cfg["T"] = _check_int(cfg["T"], "T", low=1)
                                params, scaling = {}, {}
                                for k, v in op.items():
                                    check_rule_text(v, f"optimizer {oname} {k}")
                                    rule = parse_scaling_rule(v)
                                    if rule is not None:
                                        scaling[k] = v.replace(" ", "")
                                        params[k] = rule[0] * float(cfg["T"]) ** rule[1]
                                    else:
                                        params[k] = v
                                cfg["optimizer_params"] = params
                                cfg["scaling"] = scaling
                                rec = make_record(cfg)
                                if rec.run_id not in seen:
                                    seen.add(rec.run_id)
                                    out.append(rec)
    return out


def load_grid_file(path) -> dict:
    """Read a grid specification from a TOML file.

    Raises
    ------
    ConfigError
        If the file cannot be read or is not valid TOML (the message names the file,
        line and column).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path}: is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason})") from None


def configs_from(items: Iterable[Mapping[str, Any]]) -> list[RunRecord]:
    """Freeze a sequence of run configurations into records, dropping duplicates (first one kept)."""
    out, seen = [], set()
    for c in items:
        rec = make_record(c)
        if rec.run_id not in seen:
            seen.add(rec.run_id)
            out.append(rec)
    return out
