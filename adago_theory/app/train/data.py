r"""The handwritten digits set of scikit-learn (1,797 8x8 images, shipped in its wheel: no network).

Split: a stratified 75 / 25 train / test split with ``random_state=0`` (1,347 / 450 images), the
same for every run; features standardised with the training mean and standard deviation
(pixels constant on the training set are left at 0).
"""

from __future__ import annotations

import functools

__all__ = ["load_digits_split", "DIGITS_SPLIT"]

#: The fixed split (stated, not tuned).
DIGITS_SPLIT = {"test_size": 0.25, "random_state": 0, "stratify": True}


@functools.lru_cache(maxsize=1)
def _numpy_split():
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ModuleNotFoundError as exc:
        raise ImportError("the digits experiments need scikit-learn: pip install 'adago-theory[train]'") from exc
    import numpy as np

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=DIGITS_SPLIT["test_size"],
                                          random_state=DIGITS_SPLIT["random_state"], stratify=y)
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (Xtr - mu) / sd, ytr, (Xte - mu) / sd, yte


def load_digits_split(dtype="float32", device="cpu"):
    """``(X_train, y_train, X_test, y_test)`` as torch tensors (features ``(N, 64)``, labels int64)."""
    import torch

    Xtr, ytr, Xte, yte = _numpy_split()
    dt = getattr(torch, dtype)
    return (torch.tensor(Xtr, dtype=dt, device=device), torch.tensor(ytr, dtype=torch.int64, device=device),
            torch.tensor(Xte, dtype=dt, device=device), torch.tensor(yte, dtype=torch.int64, device=device))
