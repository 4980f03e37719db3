r"""Array backends as data: any array-API library that array-api-compat recognises.

Every public function of the toolkit that takes arrays starts with
``xp = namespace(*arrays)`` and then uses only the array-API standard calls of
``xp``.  No module of the toolkit imports :mod:`cupy` or :mod:`torch` at import
time: a backend is recognised from the array it hands us.

Backends and routes.  Any namespace that :func:`array_api_compat.array_namespace`
accepts works: NumPy, CuPy, PyTorch, JAX (immutable arrays: the kernel's
in-place updates of its own temporaries fall back to new arrays; a smoke test
runs when JAX is installed), ``array_api_strict`` (the
standard and nothing more: the test suite's stand-in for CuPy on machines
without a GPU, as in SciPy's array-API tests), and future ones.  Where the
standard has no (fast) function, this module is the one place that dispatches:

==========================  ===============================  ===============================
operation                   NumPy / CuPy / PyTorch           any other array-API namespace
==========================  ===============================  ===============================
host copy (``to_numpy``)    ``.get()`` / ``.cpu().numpy()``  DLPack (``np.from_dlpack``), else
                            / ``np.asarray``                 ``np.asarray``
backend copy                ``torch.from_numpy`` /           ``xp.asarray(host, device=...)``
(``from_numpy``)            ``cupy.asarray``
random numbers              host NumPy Generator (CuPy:      host NumPy Generator, then
(``standard_normal``)       its own Generator)               ``from_numpy``
batched SVD, QR, Cholesky   ``xp.linalg`` (stacked inputs)   ``xp.linalg`` (the standard's
solve, eigh, svdvals                                         ``linalg`` extension takes stacks)
stacked small matmuls       NumPy: threads over the batch    ``@`` as one call
                            (``orthogonalize``); else ``@``
``spectral_norm``,          CPU: LAPACK singular values;     as the CPU route
``nuclear_norm``            GPU (:func:`on_gpu`): Gram
                            eigenvalues / polar product
``"polar"`` method          CPU: SVD; GPU: QDWH              SVD
==========================  ===============================  ===============================

Random numbers follow SPEC 7: a single ``rng`` argument that is either ``None``,
an integer seed or a Generator, normalised once by :func:`default_rng`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import array_api_compat

__all__ = [
    "BACKENDS",
    "pow2_scale",
    "DTYPES",
    "Array",
    "Namespace",
    "namespace",
    "backend_name",
    "dtype_name",
    "is_half",
    "to_numpy",
    "from_numpy",
    "default_rng",
    "standard_normal",
    "is_numpy_namespace",
    "is_cupy_namespace",
    "is_torch_namespace",
    "on_gpu",
    "synchronize",
    "device_of",
    "cached",
]

Array = Any
Namespace = Any

#: The backends addressed by name (a CLI flag, a config file, a problem's ``backend=``); any other
#: array-API namespace is accepted as a namespace or through its arrays (:func:`namespace`).
BACKENDS = ("numpy", "torch", "cupy")
#: The floating dtypes addressed by name.
DTYPES = ("float16", "bfloat16", "float32", "float64")


def _library_of(x) -> str:
    """The library an array belongs to, read from its type (imports nothing)."""
    return type(x).__module__.split(".")[0]


def namespace(*arrays) -> Namespace:
    """Return the array-API namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays
        Arrays of one library that array-api-compat recognises (NumPy, CuPy,
        PyTorch, array_api_strict, ...).  Python scalars and ``None`` are ignored.

    Returns
    -------
    xp : module
        The array-api-compat namespace (``array_api_compat.numpy``, ``.cupy``,
        ``.torch``) or the library's own when it follows the standard
        (``array_api_strict``).

    Raises
    ------
    TypeError
        If the arrays come from different libraries (the message names them), or
        if an argument is not an array of an array-API library.

    Examples
    --------
    >>> import numpy as np
    >>> namespace(np.ones((2, 2))).__name__
    'array_api_compat.numpy'
    """
    arrs = [a for a in arrays if a is not None and type(a) not in (int, float, bool, complex)]
    if not arrs:
        raise TypeError("namespace() needs at least one array argument")
    # the namespace depends only on the array types: found once per set of types
    return cached(_NAMESPACES, frozenset(type(a) for a in arrs), lambda: _namespace_of(arrs))


def _namespace_of(arrs):
    libs = []
    for a in arrs:
        lib = _library_of(a)
        if lib not in libs:
            libs.append(lib)
    if len(libs) > 1:
        raise TypeError(
            f"arrays from different backends cannot be mixed: got {' and '.join(libs)} arrays; "
            "move them to one backend first (see adago_theory.from_numpy / to_numpy)"
        )
    try:
        return array_api_compat.array_namespace(*arrs)
    except TypeError:
        a = arrs[0]
        raise TypeError(
            f"unsupported array type {type(a).__module__}.{type(a).__name__}; expected an array of a "
            "library that array-api-compat recognises (NumPy, CuPy, PyTorch, array_api_strict, ...)"
        ) from None


def cached(table, key, compute, limit=64):
    """``table[key]``, computed by ``compute()`` on the first call (the one home of the small caches
    of the hot path: namespaces, dtype facts).

    At most ``limit`` entries are kept; a key that cannot be hashed (an unusual dtype spelling) is
    computed every time; an exception of ``compute`` is raised and nothing is stored.
    """
    try:
        return table[key]
    except KeyError:
        pass
    except TypeError:
        return compute()
    value = compute()
    if len(table) < limit:
        table[key] = value
    return value


#: frozenset of array types -> their namespace (array_api_compat.array_namespace costs ~5 us a call).
_NAMESPACES: dict = {}


def backend_name(xp_or_array) -> str:
    """The library's name for a namespace or an array: ``'numpy'``, ``'cupy'``, ``'torch'``, ``'array_api_strict'``...

    The one home of backend names (array-api-compat's wrapper namespaces are named
    after the library they wrap).
    """
    if isinstance(xp_or_array, type(sys)):
        name = xp_or_array.__name__
        if name.startswith("array_api_compat."):
            return name.split(".")[1]
        return name.split(".")[0]
    return _library_of(xp_or_array)


def dtype_name(dtype) -> str:
    """A dtype's short name (``'float32'``, ``'bfloat16'``) for any backend: the one home of dtype names."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    return str(name).rsplit(".", 1)[-1].split("'")[0]


def is_half(xp, dtype) -> bool:
    """True for float16 and bfloat16 (no LAPACK routines: computed in float32)."""
    def half():
        return dtype == getattr(xp, "float16", None) or dtype_name(dtype) == "bfloat16"

    return cached(_HALF, (xp, dtype), half)


_HALF: dict = {}


def is_numpy_namespace(xp) -> bool:
    """True for NumPy (plain or array-api-compat)."""
    r = _IS_NUMPY.get(xp)             # (asked on every step: one dict lookup, not array-api-compat's two calls)
    return r if r is not None else cached(_IS_NUMPY, xp, lambda: array_api_compat.is_numpy_namespace(xp))


def is_cupy_namespace(xp) -> bool:
    """True for CuPy (plain or array-api-compat)."""
    return array_api_compat.is_cupy_namespace(xp)


def is_torch_namespace(xp) -> bool:
    """True for PyTorch (plain or array-api-compat)."""
    r = _IS_TORCH.get(xp)
    return r if r is not None else cached(_IS_TORCH, xp, lambda: array_api_compat.is_torch_namespace(xp))


_IS_NUMPY: dict = {}
_IS_TORCH: dict = {}


def device_of(x):
    """The device of an array (array-api-compat's ``device``; a PyTorch tensor's own, directly)."""
    torch_type = cached(_TORCH_TYPES, type(x), lambda: _library_of(x) == "torch" and hasattr(x, "device"))
    return x.device if torch_type else array_api_compat.device(x)


#: array type -> is it a PyTorch tensor type (its ``.device`` is array-api-compat's answer).
_TORCH_TYPES: dict = {}


def on_gpu(x) -> bool:
    """True when the array lives on a GPU (CuPy, or a CUDA PyTorch tensor)."""
    lib = _library_of(x)
    if lib == "cupy":
        return True
    if lib == "torch":
        return x.device.type != "cpu"
    return False


def synchronize(x) -> None:
    """Wait for queued device work on ``x``'s device (no-op on the CPU).

    Used by timers: without it GPU timings measure only the launch.
    """
    lib = _library_of(x)
    if lib == "cupy":
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    elif lib == "torch" and x.device.type == "cuda":
        import torch

        torch.cuda.synchronize(x.device)


def to_numpy(x) -> np.ndarray:
    """Copy an array (any array-API library, or a Python scalar) to a host NumPy array.

    Examples
    --------
    >>> to_numpy(2.0)
    array(2.)
    """
    lib = _library_of(x)
    if lib == "cupy":
        return x.get()
    if lib == "torch":
        t = x.detach()
        if t.dtype.is_floating_point and str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.cpu().numpy()
    if lib == "numpy" or not hasattr(x, "__dlpack__"):
        return np.asarray(x)
    try:
        return np.from_dlpack(x)
    except (TypeError, RuntimeError, BufferError):
        return np.asarray(x)


def from_numpy(a, *, like=None, xp=None, dtype=None):
    """Move a host array to the backend (and device) of ``like``, or to ``xp``.

    Parameters
    ----------
    a : array_like
        Host data.
    like : array, optional
        Reference array: the result gets its backend and device.
    xp : namespace, optional
        Target namespace when no ``like`` is given (default device).
    dtype : dtype, optional
        Target dtype, a dtype of the target backend (default: keep ``a``'s).

    Returns
    -------
    array of the target backend.
    """
    if like is not None:
        xp = namespace(like)
        device = array_api_compat.device(like)
    else:
        xp = xp if xp is not None else array_api_compat.numpy
        device = None
    a = np.asarray(a)
    if is_torch_namespace(xp):
        import torch

        out = torch.from_numpy(np.ascontiguousarray(a))
        if device is not None:
            out = out.to(device)
        return out if dtype is None else out.to(dtype)
    if is_cupy_namespace(xp):
        import cupy

        if device is not None:
            with device:
                out = cupy.asarray(a)
        else:
            out = cupy.asarray(a)
        return out if dtype is None else out.astype(dtype)
    if is_numpy_namespace(xp):
        return a if dtype is None else a.astype(dtype)
    out = xp.asarray(a) if device is None else xp.asarray(a, device=device)      # any other namespace
    return out if dtype is None else xp.astype(out, dtype)


def default_rng(rng=None, xp=None):
    """Normalise an ``rng`` argument (SPEC 7) into a Generator for backend ``xp``.

    Parameters
    ----------
    rng : None, int, sequence of int, numpy.random.Generator or cupy Generator
        ``None`` draws fresh entropy; an integer (or a ``SeedSequence``) seeds a new
        Generator; a Generator is returned as it is when it already fits ``xp``.
    xp : namespace, optional
        The backend the numbers are for (default NumPy).

    Returns
    -------
    Generator
        :class:`numpy.random.Generator` for NumPy and PyTorch (PyTorch draws on
        the host, then moves; see :func:`standard_normal`), and
        ``cupy.random.Generator`` for CuPy.  Given a NumPy Generator and ``xp=cupy``,
        a CuPy Generator is seeded from it, so results stay reproducible.

    Notes
    -----
    CuPy's streams differ from NumPy's: the same seed gives the same *statistics*
    on both backends, not the same bits.  Code that must give the same numbers on
    every backend (problem construction) draws on the host with NumPy.
    """
    if rng is not None and isinstance(rng, (bool,)):
        raise TypeError("rng must be None, an int seed or a Generator, got a bool")
    if xp is not None and is_cupy_namespace(xp):
        import cupy

        if isinstance(rng, cupy.random.Generator):
            return rng
        if isinstance(rng, np.random.Generator):
            rng = int(rng.integers(0, 2**63 - 1))
        return cupy.random.default_rng(rng)
    if type(rng).__module__.startswith("cupy"):
        raise TypeError("a CuPy Generator cannot draw NumPy/PyTorch numbers; pass an int seed")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"rng must be None, an int seed or a Generator, got {rng!r}") from exc


def standard_normal(rng, shape, *, dtype=None, like=None, xp=None):
    """Standard normal samples of ``shape`` on the backend/device of ``like`` (or ``xp``).

    Parameters
    ----------
    rng : Generator
        From :func:`default_rng` for the same backend.
    shape : tuple of int
    dtype : dtype, optional
        Floating dtype of the target backend (default float64).
    like : array, optional
        Reference array for backend, device and (when ``dtype`` is None) dtype.
    xp : namespace, optional
        Target namespace when ``like`` is not given.
    """
    if like is not None:
        xp = namespace(like)
        if dtype is None:
            dtype = like.dtype
    xp = xp if xp is not None else array_api_compat.numpy
    if is_cupy_namespace(xp):
        if not type(rng).__module__.startswith("cupy"):
            rng = default_rng(rng, xp)
        if like is not None:
            with like.device:
                out = rng.standard_normal(shape)
        else:
            out = rng.standard_normal(shape)
        return out if dtype is None else out.astype(dtype)
    z = rng.standard_normal(shape)
    if not is_numpy_namespace(xp):
        return from_numpy(z, like=like, xp=xp, dtype=dtype)
    return z if dtype is None else z.astype(dtype)


def pow2_scale(xp, W):
    r"""A power of two :math:`c = 2^{-e}` per matrix with :math:`c\,\max_{ij}|W_{ij}| \in [1, 2)`.

    Multiplying by a power of two is exact in binary floating point (barring
    under/overflow), so :math:`\|cW\|_F = c\|W\|_F` and :math:`cW/(c\,d)`
    equal :math:`W/d` bit for bit wherever the unscaled formula neither
    overflows nor underflows, while :math:`cW` has entries of order one, so
    :math:`\sum_{ij}(cW_{ij})^2 \le mn` can neither overflow nor underflow.
    The exponent is clipped so that :math:`c` stays a finite normal number;
    zero matrices get :math:`c = 1`.

    Parameters
    ----------
    xp : namespace
    W : array (..., m, n), real floating

    Returns
    -------
    c : array (..., 1, 1)
        Same dtype and device as ``W``.
    """
    fi = xp.finfo(W.dtype)
    top = math.floor(math.log2(float(fi.max))) - 1           # 1022 in float64, 126 in float32
    s = xp.max(xp.abs(W), axis=(-2, -1), keepdims=True)
    s = xp.where((s > 0) & xp.isfinite(s), s, xp.ones_like(s))
    e = xp.clip(xp.floor(xp.log2(s)), min=-top, max=top)
    return 2.0 ** (-e)
