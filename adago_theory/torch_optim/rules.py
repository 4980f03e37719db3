r"""The five orthogonalized rules as :class:`torch.optim.Optimizer` classes.

Each class only names its toolkit factory and that factory's defaults; the update is the
factory's (see :mod:`adago_theory.optim` for the formulas, sources and every deliberate choice),
and ``lr`` is the factory's :math:`\eta`.  Options shared by all (``orthogonalize``,
``fallback``, ``fallback_lr``, ``fallback_options``, ``compute_dtype``, ``orth_dtype``,
``batch_dims``, ``check_finite``) are those of :class:`~adago_theory.torch_optim.KernelOptimizer`.

Orthogonalization dtype: the compute dtype (float32 for bfloat16/float16 parameters, else the
parameter dtype); the ``orth`` argument chooses the method (``"newton-schulz"`` with Jordan's
coefficients for Muon and NAMO/NAMO-D, the exact polar factor for AdaGO and PolarGrad, as the
factories default).
"""

from __future__ import annotations

from .engine import KernelOptimizer

__all__ = ["Muon", "AdaGO", "NAMO", "NAMOD", "PolarGrad"]


class Muon(KernelOptimizer):
    r"""Muon (:func:`adago_theory.optim.muon`): :math:`X \leftarrow (1-\eta\lambda)X - \eta\, s(m,n)\,\mathrm{Orth}(U)`.

    ``scale="jordan"`` with ``orth=("newton-schulz", {"eps": 1e-7})`` is the rule of
    ``torch.optim.Muon`` with ``adjust_lr_fn="original"`` (its Newton–Schulz runs in bfloat16,
    this one in the compute dtype).
    """

    def __init__(self, params, lr=0.02, *, beta=0.95, nesterov=True, orth="newton-schulz", scale="none",
                 weight_decay=0.0, **engine):
        super().__init__(params, "muon", lr=lr, hyper=dict(beta=beta, nesterov=nesterov, orth=orth, scale=scale,
                                                           weight_decay=weight_decay), **engine)


class AdaGO(KernelOptimizer):
    r"""AdaGO (:func:`adago_theory.optim.adago`): :math:`X \leftarrow X - \alpha_t\,\mathrm{Orth}(M_t)`,
    :math:`\alpha_t = \max(\varepsilon, \eta\min(\|G_t\|_F,\gamma)/v_t)`, one :math:`v_t` per matrix."""

    def __init__(self, params, lr=0.1, *, gamma, eps, beta=0.95, v0=1e-6, nesterov=False, orth="svd", **engine):
        super().__init__(params, "adago", lr=lr, hyper=dict(gamma=gamma, eps=eps, beta=beta, v0=v0, nesterov=nesterov,
                                                            orth=orth), **engine)


class NAMO(KernelOptimizer):
    r"""NAMO (:func:`adago_theory.optim.namo`, the official code's rule): one Adam-like step size per matrix."""

    def __init__(self, params, lr=1e-2, *, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True, orth="newton-schulz",
                 scale="rms", clamp=True, weight_decay=0.0, **engine):
        super().__init__(params, "namo", lr=lr, hyper=dict(beta=beta, beta2=beta2, eps=eps, nesterov=nesterov,
                                                           orth=orth, scale=scale, clamp=clamp,
                                                           weight_decay=weight_decay), **engine)


class NAMOD(KernelOptimizer):
    r"""NAMO-D (:func:`adago_theory.optim.namo_d`): column step sizes clamped toward their mean by ``c``."""

    def __init__(self, params, lr=1e-2, *, c=0.75, beta=0.95, beta2=0.99, eps=1e-8, nesterov=True,
                 orth="newton-schulz", scale="rms", clamp=True, weight_decay=0.0, **engine):
        super().__init__(params, "namo_d", lr=lr, hyper=dict(c=c, beta=beta, beta2=beta2, eps=eps, nesterov=nesterov,
                                                             orth=orth, scale=scale, clamp=clamp,
                                                             weight_decay=weight_decay), **engine)


class PolarGrad(KernelOptimizer):
    r"""PolarGrad (:func:`adago_theory.optim.polargrad`): :math:`X \leftarrow X - \eta\,\|M\|_*\,\mathrm{Orth}(M)`."""

    def __init__(self, params, lr=1e-3, *, beta=0.0, polar_first=False, weight_decay=0.0, orth="polar", **engine):
        super().__init__(params, "polargrad", lr=lr, hyper=dict(beta=beta, polar_first=polar_first,
                                                                weight_decay=weight_decay, orth=orth), **engine)
