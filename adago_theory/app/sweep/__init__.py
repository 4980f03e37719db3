r"""Parameter sweeps: canonical run configs, a resumable Parquet results store, local or Dask execution.

Typical use::

    from adago_theory.app.sweep import expand_grid, run_sweep, load_results
    configs = expand_grid({"problem": {"name": "matrix_least_squares", "m": 16, "n": 8},
                           "optimizer": [{"name": "adago", "eta": "0.5*T^-0.5"}, {"name": "muon", "eta": 0.02}],
                           "T": [64, 128, 256], "seeds": 4})
    run_sweep(configs, "results/demo", n_jobs=2)      # run again: finished runs are skipped
    df = load_results("results/demo")                 # tidy pandas DataFrame

The command line (``adago-theory run|sweep|plot``) is a thin layer over these functions.
"""

from .config import (
    BACKENDS,
    CONFIG_KEYS,
    DTYPES,
    GRID_KEYS,
    ConfigError,
    RunRecord,
    canonical_config,
    check_orth,
    canonical_json,
    configs_from,
    expand_grid,
    flatten_config,
    load_grid_file,
    make_record,
    parse_assignment,
    parse_scaling_rule,
    parse_value,
    run_id,
)
from .execute import SweepSummary, run_sweep, validate_config, validate_configs
from .plot import fit_rates, metric_columns, plot_curves, plot_rates, plot_store
from .registry import command_names, get_optimizer_factory, get_problem_factory, optimizer_names, problem_names
from .single import RunOutcome, run_one, run_trace, trace_to_frame
from .store import StoreError, error_ids, finished_ids, load_errors, load_results, load_runs, read_manifest

__all__ = [
    "BACKENDS",
    "CONFIG_KEYS",
    "DTYPES",
    "GRID_KEYS",
    "ConfigError",
    "RunRecord",
    "make_record",
    "check_orth",
    "canonical_config",
    "canonical_json",
    "configs_from",
    "expand_grid",
    "flatten_config",
    "load_grid_file",
    "parse_assignment",
    "parse_scaling_rule",
    "parse_value",
    "run_id",
    "RunOutcome",
    "SweepSummary",
    "run_one",
    "run_sweep",
    "run_trace",
    "trace_to_frame",
    "validate_config",
    "validate_configs",
    "fit_rates",
    "metric_columns",
    "plot_curves",
    "plot_rates",
    "plot_store",
    "command_names",
    "get_optimizer_factory",
    "get_problem_factory",
    "optimizer_names",
    "problem_names",
    "StoreError",
    "error_ids",
    "finished_ids",
    "load_errors",
    "load_results",
    "load_runs",
    "read_manifest",
]
