r"""A 2-layer MLP replicated over seeds: one parameter tensor per layer with a leading seed axis.

For ``S`` seeds, input dimension ``d``, ``h`` hidden units and ``c`` classes the parameters are
``W1 (S, h, d)``, ``b1 (S, h)``, ``W2 (S, c, h)``, ``b2 (S, c)`` (the ``nn.Linear`` layout per
seed), and the forward pass of a batch ``x (S, B, d)`` is two batched matrix products

.. math::

    z = \mathrm{ReLU}(x W_1^\top + b_1), \qquad \text{logits} = z W_2^\top + b_2 .

The loss is the *sum over seeds* of each seed's mean cross-entropy, so the gradient of each seed's
slice is that seed's own gradient, and an optimizer built with ``batch_dims=1`` steps the ``S``
matrices of a layer as ``S`` independent runs in one call.  ``d = 64``, ``c = 10``, ``h = 128``
gives :math:`64\cdot128 + 128 + 128\cdot10 + 10 = 9{,}610` parameters per seed (seed 000's
"about 10K").  Initialisation: ``nn.Linear``'s, :math:`U(-1/\sqrt{\text{fan-in}}, 1/\sqrt{\text{fan-in}})`,
from each seed's own generator.
"""

from __future__ import annotations

import math

__all__ = ["init_mlp", "forward", "per_seed_loss", "n_params"]


def n_params(d, h, c):
    """Parameters of one seed's MLP."""
    return d * h + h + h * c + c


def init_mlp(seeds, d, h, c, *, dtype, device="cpu"):
    """The parameters ``[W1, b1, W2, b2]`` (leaf tensors with ``requires_grad``) for a list of seeds."""
    import torch

    def layer(gen, fan_in, shape):
        bound = 1.0 / math.sqrt(fan_in)
        return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * bound

    W1, b1, W2, b2 = [], [], [], []
    for s in seeds:
        g = torch.Generator().manual_seed(int(s))
        W1.append(layer(g, d, (h, d)))
        b1.append(layer(g, d, (h,)))
        W2.append(layer(g, h, (c, h)))
        b2.append(layer(g, h, (c,)))
    return [torch.nn.Parameter(torch.stack(t).to(dtype=dtype, device=device)) for t in (W1, b1, W2, b2)]


def forward(params, x):
    """Logits ``(S, B, c)`` of a batch ``x (S, B, d)`` (or ``(B, d)``, shared by all seeds)."""
    import torch

    W1, b1, W2, b2 = params
    if x.ndim == 2:
        x = x.expand(W1.shape[0], *x.shape)
    z = torch.relu(torch.baddbmm(b1[:, None, :], x, W1.transpose(1, 2)))
    return torch.baddbmm(b2[:, None, :], z, W2.transpose(1, 2))


def per_seed_loss(logits, y):
    """Mean cross-entropy per seed, shape ``(S,)``; ``y`` is ``(S, B)`` or ``(B,)``."""
    import torch

    S, B, c = logits.shape
    if y.ndim == 1:
        y = y.expand(S, B)
    return torch.nn.functional.cross_entropy(logits.reshape(S * B, c), y.reshape(S * B),
                                             reduction="none").reshape(S, B).mean(dim=1)
