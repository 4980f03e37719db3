"""The demo job: a table of orthogonalization errors for every method and preset."""

from __future__ import annotations

import sys

import numpy as np

from adago_theory.orthogonalize import NS_PRESETS, orthogonalize
from adago_theory.polar_error import polar_error
from problems.spectra import matrix_with_spectrum, spectrum

__all__ = ["orth_error_table"]


def orth_error_table(*, shape=(64, 32), kappas=(1.0, 1e2, 1e4), rng=0, file=None):
    """Print the relative Frobenius error to the exact polar factor, per method and condition number.

    Parameters
    ----------
    shape : (m, n)
        Matrix shape.
    kappas : sequence of float
        Condition numbers (geometric singular spectra).
    rng : int or Generator
        Seed of the random singular vectors.
    file : file-like, optional
        Where to print (default ``sys.stdout``).

    Returns
    -------
    rows : list of (label, list of float)
    """
    file = sys.stdout if file is None else file
    rng = np.random.default_rng(rng)
    r = min(shape)
    mats = [matrix_with_spectrum(*shape, spectrum(r, k), rng=rng).M for k in kappas]
    methods = [("svd", {}), ("qdwh", {})] + [
        (f"newton-schulz/{p}", {"coeffs": p}) for p in NS_PRESETS
    ]
    rows = []
    head = f"{'method':<28}" + "".join(f"{'kappa=%g' % k:>14}" for k in kappas)
    print(f"relative Frobenius distance to Orth(M), M of shape {shape}, float64", file=file)
    print(head, file=file)
    print("-" * len(head), file=file)
    for label, kw in methods:
        method = label.split("/")[0]
        errs = [float(polar_error(M, orthogonalize(M, method, **kw)).rel_fro) for M in mats]
        rows.append((label, errs))
        print(f"{label:<28}" + "".join(f"{e:>14.2e}" for e in errs), file=file)
    return rows
