r"""adago-theory: numerical analysis and convergence theory for orthogonalized-update optimizers.

The public API is flat: everything below is importable as ``adago_theory.<name>``.
"""

from .backend import default_rng, from_numpy, namespace, to_numpy
from .norms import frobenius_norm, matrix_norms, nuclear_norm, spectral_norm
from .orthogonalize import (
    METHODS, NS_MAX_STEPS, NS_PRESETS, NSPreset, newton_schulz_in_dtype, newton_schulz_orthogonalizer, ns_scalar_map,
    ns_schedule, orthogonalize,
)
from .polar_error import PolarError, polar_error
from .optim import (
    AdaGOState, AdaGradNormState, AdamWState, MuonState, NAMODState, NAMOState, NonFiniteGradientError,
    NonFiniteParameterError, Optimizer, PolarGradState, SGDState, adagrad_norm, adago, adamw, init_all, muon, namo, namo_d,
    polargrad, sgd, skip_nonfinite, SkipNonFiniteState, step_all,
)
from .run import DivergedRunError, Trace, log_grid, record_steps, run

__version__ = "0.1.0"

__all__ = [
    "namespace",
    "to_numpy",
    "from_numpy",
    "default_rng",
    "orthogonalize",
    "newton_schulz_orthogonalizer",
    "newton_schulz_in_dtype",
    "ns_schedule",
    "ns_scalar_map",
    "NS_MAX_STEPS",
    "NS_PRESETS",
    "NSPreset",
    "METHODS",
    "polar_error",
    "PolarError",
    "nuclear_norm",
    "spectral_norm",
    "frobenius_norm",
    "matrix_norms",
    "Optimizer",
    "NonFiniteGradientError",
    "NonFiniteParameterError",
    "init_all",
    "step_all",
    "skip_nonfinite",
    "SkipNonFiniteState",
    "muon",
    "MuonState",
    "adago",
    "AdaGOState",
    "namo",
    "NAMOState",
    "namo_d",
    "NAMODState",
    "polargrad",
    "PolarGradState",
    "sgd",
    "SGDState",
    "adamw",
    "AdamWState",
    "adagrad_norm",
    "AdaGradNormState",
    "run",
    "DivergedRunError",
    "Trace",
    "record_steps",
    "log_grid",
]
