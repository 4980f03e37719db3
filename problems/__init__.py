r"""Test problems for orthogonalized-update optimizers, with exactly controlled constants.

Every generator ``make_*(..., rng=None, backend="numpy", dtype="float64", device=None)``
builds its data on the host in float64 from one seed, realizes the requested
conditioning / noise exactly, and returns a :class:`Problem` that implements the
protocol of ``docs/design/contracts.md`` (value, grad, stochastic_grad,
initial_point, constants, to).  The constants (:class:`ProblemConstants`) are exact
where a formula exists and certified upper bounds otherwise; ``constants.notes``
says which, and how.
"""

from .base import Problem, ProblemConstants, make_problem
from .bilinear import Bilinear, make_bilinear, sup_op, worst_direction
from .completion import make_matrix_completion
from .hard_chain import make_hard_chain
from .least_squares import make_matrix_least_squares
from .logistic import make_matrix_logistic
from .noise import NOISES, NoiseModel, additive_noise, make_noise, minibatch_indices
from .noise_dominated import CHAIN_CONSTANTS, make_noise_dominated
from .quadratic import make_ill_conditioned_quadratic
from .registry import PROBLEMS
from .robust import LOSS_CURVATURE, ROBUST_LOSSES, make_robust_regression
from .spectra import (SPECTRA, SpectralMatrix, condition_number, haar_orthogonal, matrix_with_spectrum,
                      spectrum)
from .teacher_student import TANH_CURVATURE, make_teacher_student

__all__ = [
    "Problem",
    "ProblemConstants",
    "make_problem",
    "PROBLEMS",
    "make_matrix_least_squares",
    "make_robust_regression",
    "make_matrix_completion",
    "make_matrix_logistic",
    "make_teacher_student",
    "make_ill_conditioned_quadratic",
    "make_noise_dominated",
    "make_hard_chain",
    "SPECTRA",
    "spectrum",
    "haar_orthogonal",
    "matrix_with_spectrum",
    "SpectralMatrix",
    "condition_number",
    "NOISES",
    "NoiseModel",
    "make_noise",
    "additive_noise",
    "minibatch_indices",
    "Bilinear",
    "make_bilinear",
    "sup_op",
    "worst_direction",
    "LOSS_CURVATURE",
    "ROBUST_LOSSES",
    "TANH_CURVATURE",
    "CHAIN_CONSTANTS",
]
