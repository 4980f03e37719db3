r"""PyTorch optimizers on the toolkit's kernel: Muon, AdaGO, NAMO, NAMO-D, PolarGrad.

Each class is a :class:`torch.optim.Optimizer` whose update *is* the toolkit's functional step
(:mod:`adago_theory.optim`) called on torch tensors through the array API: parameters of one
shape, dtype and device are stacked into one batch ``(R, m, n)``, stepped by one call of
``opt.step(X, G, state)``, and unstacked.  No update rule is written a second time here.

Matrix (2-D) parameters go to the orthogonalized rule; the others (biases, gains, and any
parameter of a group marked ``orthogonalize=False``, e.g. embeddings and heads, see
:func:`split_params`) go to the fallback rule, the toolkit's ``adamw`` (or ``sgd``) applied
entrywise.

This subpackage needs the ``torch`` extra (``pip install 'adago-theory[torch]'``);
``import adago_theory`` never imports it.

Examples
--------
>>> import torch
>>> from adago_theory.torch_optim import AdaGO
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
>>> opt = AdaGO(model.named_parameters(), lr=0.1, gamma=10.0, eps=1e-3, fallback_lr=1e-3)
>>> loss = model(torch.randn(4, 8)).square().mean()
>>> loss.backward(); opt.step(); opt.zero_grad()
"""

try:
    import torch  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by a test with torch hidden
    raise ImportError(
        "adago_theory.torch_optim needs PyTorch, which is not installed; "
        "install the extra: pip install 'adago-theory[torch]'"
    ) from exc

from .engine import FALLBACKS, KernelOptimizer, split_params
from .rules import AdaGO, Muon, NAMO, NAMOD, PolarGrad

__all__ = ["KernelOptimizer", "Muon", "AdaGO", "NAMO", "NAMOD", "PolarGrad", "split_params", "FALLBACKS"]
