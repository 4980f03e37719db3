r"""Optimizers as pure ``(init, step)`` pairs: Muon, AdaGO, NAMO, NAMO-D, PolarGrad and baselines.

Every factory closes over its hyperparameters and returns an
:class:`Optimizer`; ``state = opt.init(X)``; ``X_next, state = opt.step(X, G,
state)``.  ``X`` is one matrix ``(m, n)`` or a batch ``(R, m, n)`` of
independent runs.  See :mod:`adago_theory.optim.base` for the shared
conventions (state fields, hyperparameters as arrays, non-finite input, several matrices);
:func:`skip_nonfinite` wraps any of them to skip the steps of runs whose gradient is not finite.
"""

from .adago import AdaGOState, adago
from .base import (
    SCALES,
    NonFiniteGradientError,
    NonFiniteParameterError,
    Optimizer,
    init_all,
    make_schedule,
    resolve_orth,
    shape_scale,
    step_all,
)
from .baselines import AdaGradNormState, AdamWState, SGDState, adagrad_norm, adamw, sgd
from .donation import donating
from .muon import MuonState, muon
from .namo import NAMODState, NAMOState, namo, namo_d
from .polargrad import PolarGradState, polargrad
from .probe import takes_run_arrays
from .skip import SkipNonFiniteState, skip_nonfinite

#: Optimizer names of run configurations and the command line (``--optimizer NAME``) -> factory.
OPTIMIZERS = {
    "muon": muon,
    "adago": adago,
    "namo": namo,
    "namo_d": namo_d,
    "polargrad": polargrad,
    "sgd": sgd,
    "adamw": adamw,
    "adagrad_norm": adagrad_norm,
}

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "NonFiniteGradientError",
    "NonFiniteParameterError",
    "init_all",
    "step_all",
    "donating",
    "skip_nonfinite",
    "takes_run_arrays",
    "SkipNonFiniteState",
    "resolve_orth",
    "make_schedule",
    "shape_scale",
    "SCALES",
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
]
