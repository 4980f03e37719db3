r"""verify: every claim of the seeds as a check that measures, compares with theory, and draws its figure.

Each check is one function (a PEPit-style catalogue, ``style.md`` §2)::

    result = check_<name>(..., quick=False, rng=None)   # -> CheckResult
    fig = plot_<name>(result)                           # -> matplotlib Figure

registered in :data:`CHECKS` as ``name: (check_fn, plot_fn)``.  Run them with
``python -m verify [NAMES] [--quick] [--out DIR]`` (or :func:`run_checks`).  A new check is
a new module plus one line in :data:`CHECKS`.

Bring your own optimizer: ``run_checks(substitute={"adago": my_adago})`` or
``python -m verify --substitute adago=mypkg.opt:adago`` runs the checks on your factory.
:data:`MUTANTS` (:mod:`verify.mutants`) are plausible mistakes the checks must catch;
``python -m verify --mutants`` measures which check kills which (:func:`kill_matrix`).

Importing this package imports neither matplotlib nor SymPy (checks and plots import what
they need when called).
"""

from .claims import claims_table, write_claims
from .adago_descent import check_adago_descent, plot_adago_descent
from .adago_rate import check_adago_rate, plot_adago_rate
from .fit import RateFit, fit_rate, local_slopes, ols_slope, rate_verdict
from .hyperparams import check_hyperparams, plot_hyperparams
from .ill_conditioning import check_ill_conditioning, plot_ill_conditioning
from .isotropic import check_isotropic_curvature, plot_isotropic_curvature
from .noise_amplification import check_noise_amplification, plot_noise_amplification, polar_perturbation_bound
from .ns_error import check_ns_error, jordan_band, plot_ns_error, scalar_orbit
from .null_gradient import check_null_gradient, plot_null_gradient
from .orthogonality import check_orthogonality, plot_orthogonality
from .polargrad import check_polargrad, plot_polargrad
from .rate_tightness import check_adago_rate_tight, plot_adago_rate_tight
from .namo_rate import check_namo_d_rate, check_namo_rate, plot_namo_d_rate, plot_namo_rate
from .inexact_rate import check_inexact_rate, plot_inexact_rate
from .deterministic_rate import check_deterministic_rate, plot_deterministic_rate
from .noise_adaptivity import check_noise_adaptivity, plot_noise_adaptivity
from .polarsgd_rate import check_polarsgd_rate, plot_polarsgd_rate
from .noise_skewed import check_noise_skewed, plot_noise_skewed
from .result import KINDS, PROVENANCES, CheckResult
from .runner import load_results, run_checks, summary_table, write_results
from .mutants import MUTANTS, Mutant
from .kill_matrix import kill_matrix
from .symbolic import check_symbolic_facts, plot_symbolic_facts

#: The registry: name -> (check_fn, plot_fn), in the order of issue 5's list.
CHECKS = {
    "adago_rate": (check_adago_rate, plot_adago_rate),                                    # item 1
    "adago_descent": (check_adago_descent, plot_adago_descent),                           # item 2
    "ns_error": (check_ns_error, plot_ns_error),                                          # item 3
    "orthogonality": (check_orthogonality, plot_orthogonality),                           # item 4
    "null_gradient": (check_null_gradient, plot_null_gradient),                           # item 5
    "noise_amplification": (check_noise_amplification, plot_noise_amplification),         # item 6 (first half)
    "ill_conditioning": (check_ill_conditioning, plot_ill_conditioning),                  # item 6 (second half)
    "polargrad": (check_polargrad, plot_polargrad),                                       # item 7
    "isotropic_curvature": (check_isotropic_curvature, plot_isotropic_curvature),         # item 8
    "symbolic_facts": (check_symbolic_facts, plot_symbolic_facts),                        # item 9
    "hyperparams": (check_hyperparams, plot_hyperparams),                                 # item 10
    "adago_rate_tight": (check_adago_rate_tight, plot_adago_rate_tight),                  # issue 12, item 2
    "namo_rate": (check_namo_rate, plot_namo_rate),                                       # issue 12, item 5
    "namo_d_rate": (check_namo_d_rate, plot_namo_d_rate),                                 # issue 12, item 5
    "inexact_rate": (check_inexact_rate, plot_inexact_rate),                              # issue 12, item 7
    "deterministic_rate": (check_deterministic_rate, plot_deterministic_rate),            # issue 12, item 3
    "noise_adaptivity": (check_noise_adaptivity, plot_noise_adaptivity),                  # issue 12, item 4
    "polarsgd_rate": (check_polarsgd_rate, plot_polarsgd_rate),                           # issue 12, item 6
    "noise_skewed": (check_noise_skewed, plot_noise_skewed),                              # issue 12, item 4
}

__all__ = [
    "CHECKS",
    "MUTANTS",
    "Mutant",
    "kill_matrix",
    "check_deterministic_rate",
    "plot_deterministic_rate",
    "check_noise_adaptivity",
    "plot_noise_adaptivity",
    "check_polarsgd_rate",
    "plot_polarsgd_rate",
    "check_noise_skewed",
    "plot_noise_skewed",
    "CheckResult",
    "PROVENANCES",
    "KINDS",
    "RateFit",
    "fit_rate",
    "local_slopes",
    "ols_slope",
    "rate_verdict",
    "check_adago_rate_tight",
    "plot_adago_rate_tight",
    "check_namo_rate",
    "plot_namo_rate",
    "check_namo_d_rate",
    "plot_namo_d_rate",
    "check_inexact_rate",
    "plot_inexact_rate",
    "run_checks",
    "load_results",
    "write_results",
    "summary_table",
    "claims_table",
    "write_claims",
    "check_ns_error",
    "plot_ns_error",
    "scalar_orbit",
    "jordan_band",
    "check_noise_amplification",
    "plot_noise_amplification",
    "polar_perturbation_bound",
    "check_isotropic_curvature",
    "plot_isotropic_curvature",
    "check_symbolic_facts",
    "plot_symbolic_facts",
    "check_adago_rate",
    "plot_adago_rate",
    "check_adago_descent",
    "plot_adago_descent",
    "check_orthogonality",
    "plot_orthogonality",
    "check_null_gradient",
    "plot_null_gradient",
    "check_ill_conditioning",
    "plot_ill_conditioning",
    "check_polargrad",
    "plot_polargrad",
    "check_hyperparams",
    "plot_hyperparams",
]
