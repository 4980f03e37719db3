r"""The problem registry: name -> ``make_*`` generator.

The same names are declared as entry points (group ``adago_theory.problems`` in
``pyproject.toml``), through which ``adago_theory``'s CLI and sweeps find them
without importing this package.
"""

from __future__ import annotations

from .completion import make_matrix_completion
from .hard_chain import make_hard_chain
from .least_squares import make_matrix_least_squares
from .logistic import make_matrix_logistic
from .noise_dominated import make_noise_dominated
from .quadratic import make_ill_conditioned_quadratic
from .robust import make_robust_regression
from .teacher_student import make_teacher_student

__all__ = ["PROBLEMS"]

#: Every generator, by its registered name.
PROBLEMS = {
    "matrix_least_squares": make_matrix_least_squares,
    "robust_regression": make_robust_regression,
    "matrix_completion": make_matrix_completion,
    "matrix_logistic": make_matrix_logistic,
    "teacher_student": make_teacher_student,
    "ill_conditioned_quadratic": make_ill_conditioned_quadratic,
    "noise_dominated": make_noise_dominated,
    "hard_chain": make_hard_chain,
}
