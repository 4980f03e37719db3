r"""Real training with the toolkit's optimizers: the seeds' experiments on scikit-learn's digits.

:mod:`.run` (one run: config in, tidy table out), :mod:`.execute` (runs into the sweep store, resumable),
:mod:`.experiments` (the pre-registered experiments and their verdicts), :mod:`.spectra` (conditioning of
real gradient and momentum matrices), :mod:`.bench` (the toolkit's Muon vs ``torch.optim.Muon``),
:mod:`.cli` (``adago-theory train``).  Nothing here imports torch or scikit-learn at import time.
"""
