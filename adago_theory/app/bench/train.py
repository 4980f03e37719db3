"""``adago-theory bench train``: see :mod:`adago_theory.app.train.bench` (the toolkit's Muon vs torch.optim.Muon)."""

from ..train.bench import bench_train

__all__ = ["bench_train"]
