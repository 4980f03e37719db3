r"""adago-theory: numerical analysis and convergence theory for orthogonalized-update optimizers.

The public API is flat: everything below is importable as ``adago_theory.<name>``.
"""

from .backend import default_rng, from_numpy, namespace, to_numpy
from .norms import frobenius_norm, nuclear_norm, spectral_norm
from .orthogonalize import METHODS, NS_PRESETS, NSPreset, ns_schedule, orthogonalize
from .polar_error import PolarError, polar_error

__version__ = "0.1.0"

__all__ = [
    "namespace",
    "to_numpy",
    "from_numpy",
    "default_rng",
    "orthogonalize",
    "ns_schedule",
    "NS_PRESETS",
    "NSPreset",
    "METHODS",
    "polar_error",
    "PolarError",
    "nuclear_norm",
    "spectral_norm",
    "frobenius_norm",
]
