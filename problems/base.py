r"""The problem record: constants, the :class:`Problem` protocol object, backend moving.

Every generator of :mod:`problems` builds its data on the host with NumPy in
float64, from one ``numpy.random.Generator`` (SPEC 7), and then moves it to the
requested backend, dtype and device.  So the same seed gives the same problem on
NumPy, PyTorch and CuPy, and :meth:`Problem.to` can move an existing problem
without redrawing it (the float64 host copy is kept).

A problem is one frozen record (:class:`Problem`) holding its data and four pure
functions (value, gradient, stochastic gradient, initial point); there is no class
hierarchy.  The record implements the Problem protocol of
``docs/design/contracts.md``:

* ``value(X)`` / ``grad(X)`` take one array ``(R, m, n)`` (or ``(m, n)``, read as
  ``R = 1`` and returned without the run axis), or a tuple of such arrays for
  several parameter matrices; they stay on X's backend and dtype and never sync
  with the host.
* ``stochastic_grad(X, rng, batch_size=None)`` is unbiased; its noise is drawn
  with ``adago_theory.default_rng(rng, problem.xp)`` on the problem's backend and is
  independent across the R runs.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
from array_api_compat import device as array_device

from adago_theory.backend import BACKENDS, DTYPES, backend_name, default_rng, from_numpy

__all__ = [
    "ProblemConstants",
    "Problem",
    "make_problem",
    "resolve_backend",
    "resolve_dtype",
    "host_rng",
    "check_rng",
    "KAPPA_C",
    "kappa_limit",
    "check_conditioning",
]

Array = Any

_BACKENDS = BACKENDS
_DTYPES = DTYPES


class ProblemConstants(NamedTuple):
    r"""The constants of a problem, as the theorems use them (``docs/design/contracts.md``).

    Attributes
    ----------
    L_fro : float or None
        Frobenius smoothness, :math:`\|\nabla f(X)-\nabla f(Y)\|_F \le L_{fro}\|X-Y\|_F`.
    L_op : float or None
        Spectral/nuclear pairing (AdaGO's Assumption 3.1 as reconstructed in
        ``theory.md`` §1.3): :math:`f(Y) \le f(X) + \langle\nabla f(X), Y-X\rangle
        + \tfrac{L_{op}}{2}\|Y-X\|_{op}^2`; for a tuple of matrices
        :math:`\|D\|_{op}^2 := \sum_i \|D_i\|_{op}^2`.
    mu : float or None
        Frobenius strong convexity (0.0 for convex but not strongly convex, None
        for nonconvex).
    sigma2 : float
        Noise bound at batch size 1: :math:`E\|g-\nabla f\|_F^2 \le \sigma^2/b`.
    f_star : float or None
        :math:`\inf f` where known.
    kappa : dict
        Realized condition numbers (computed from the built matrices, not copied
        from the request).
    notes : dict
        Constant name -> how it is exact or how the bound is certified.
    """

    L_fro: float | None
    L_op: float | None
    mu: float | None
    sigma2: float
    f_star: float | None
    kappa: dict
    notes: dict


# ---------------------------------------------------------------------------
# argument checks (ValueError naming the parameter and its allowed range)
# ---------------------------------------------------------------------------


# One contract for every argument check in the project: ``check_*(name, value, ...)`` from the kernel
# (:mod:`adago_theory.checks`), re-exported here for the generators.
from adago_theory.checks import check_choice, check_int, check_real  # noqa: E402


# ---------------------------------------------------------------------------
# backends, dtypes, devices
# ---------------------------------------------------------------------------


def resolve_backend(backend):
    """``"numpy"``/``"torch"``/``"cupy"`` or a namespace -> (name, array-api-compat namespace)."""
    if backend is None:
        backend = "numpy"
    name = backend if isinstance(backend, str) else backend_name(backend)
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of 'numpy', 'torch', 'cupy', got {backend!r}")
    try:
        if name == "numpy":
            import array_api_compat.numpy as xp
        elif name == "torch":
            import array_api_compat.torch as xp
        else:
            import array_api_compat.cupy as xp
    except ImportError as exc:
        raise ImportError(f"backend={name!r} needs the {name} package, which is not importable here ({exc})") from exc
    return name, xp


def dtype_name(dtype):
    """``"float32"`` etc. for a dtype given as a string, a NumPy dtype/type or a torch dtype."""
    if isinstance(dtype, str):
        return dtype
    text = str(dtype)
    if text.startswith("torch."):
        return text[len("torch."):]
    try:
        return np.dtype(dtype).name
    except TypeError:
        return text


def resolve_dtype(dtype, xp, backend):
    """A dtype spec (``"float32"``, a NumPy/torch dtype) -> (name, the backend's dtype object)."""
    name = dtype_name("float64" if dtype is None else dtype)
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    if name == "bfloat16" and backend != "torch":
        raise ValueError(f"dtype 'bfloat16' needs backend='torch', got backend={backend!r}")
    return name, getattr(xp, name)


def _move(a, backend, xp, dt, device):
    """Host array -> backend array (floating arrays cast to ``dt``; integers stay int64)."""
    a = np.asarray(a)
    floating = np.issubdtype(a.dtype, np.floating)
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device must be None or 'cpu' for backend='numpy', got {device!r}")
        return np.ascontiguousarray(a.astype(dt) if floating else a)
    if backend == "torch":
        out = from_numpy(np.ascontiguousarray(a), xp=xp)
        return out.to(device=device, dtype=dt if floating else out.dtype)
    import cupy

    if device is None:
        out = cupy.asarray(a)
    else:
        dev = device if isinstance(device, int) else int(str(device).rsplit(":", 1)[-1])
        with cupy.cuda.Device(dev):
            out = cupy.asarray(a)
    return out.astype(dt) if floating else out


def check_rng(rng):
    """The host Generator of a factory's ``rng`` argument, with an error naming ``rng``.

    Raises
    ------
    TypeError
        ``rng must be None, a non-negative int seed or a numpy.random.Generator, got ...`` for anything else
        (a string, a float, a negative integer, a bool).
    """
    try:
        return host_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"rng must be None, a non-negative int seed or a numpy.random.Generator, "
                        f"got {rng!r}") from exc


#: A condition number :math:`\kappa` is accepted for a dtype with machine epsilon
#: :math:`u` when :math:`\kappa \le 1/(c\,u)`, :math:`c` = ``KAPPA_C``.  Measured on
#: Haar-factored matrices (20×10 to 400×200, float64/float32/float16): the realized
#: condition number of the matrix rounded to the dtype is within 0.4 % of the request
#: at :math:`\kappa u = 0.1`, within 9 % at :math:`\kappa u = 1` and off by up to 64 % at
#: :math:`\kappa u = 10`.  ``tests/test_problems_common.py`` builds every generator at
#: 0.9 of the limit and checks the realized condition number within 2 %.
KAPPA_C = 10.0

_EPS = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}


def kappa_limit(dtype):
    r"""The largest condition number a problem accepts in ``dtype``: :math:`1/(c\,u)`, :math:`c` = ``KAPPA_C``.

    float64: 4.5e14, float32: 8.4e5, float16: 102.4, bfloat16: 12.8.
    """
    return 1.0 / (KAPPA_C * _EPS[dtype_name(dtype)])


def check_conditioning(conditioning, dtype, backend="numpy"):
    r"""Refuse condition numbers that ``dtype`` cannot realize.

    Parameters
    ----------
    conditioning : sequence of (label, kappa)
        ``label`` names the parameter(s) (e.g. ``"kappa_A"``, ``"(kappa_A*kappa_B)^2"``),
        ``kappa`` the condition number they imply for a matrix the problem computes with.
    dtype, backend
        Validated first (their own errors come before this one).

    Raises
    ------
    ValueError
        ``<label> must be <= <limit> for dtype <name> (...), got <kappa>``.
    """
    bname, xp = resolve_backend(backend)
    dname, _ = resolve_dtype(dtype, xp, bname)
    lim = kappa_limit(dname)
    for label, kappa in conditioning:
        if kappa > lim:
            raise ValueError(f"{label} must be in [1, {lim:.3g}] for dtype {dname} (a condition number above "
                             f"1/({KAPPA_C:g} eps) is not realized by the dtype), got {kappa:.6g}")


def host_rng(rng):
    """A host ``numpy.random.Generator`` from an ``rng`` argument (SPEC 7).

    A CuPy Generator is turned into a NumPy one seeded from it (reproducible), so
    construction and initial points are always drawn on the host.
    """
    if type(rng).__module__.startswith("cupy"):
        seed = int(float(rng.random(1)[0]) * 2**53)
        return np.random.default_rng(seed)
    return default_rng(rng)


# ---------------------------------------------------------------------------
# the record
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Problem:
    r"""One optimization problem: data, constants and the four pure functions.

    Built by the ``make_*`` generators through :func:`make_problem`; not meant to
    be constructed by hand.  See the module docstring for the protocol.

    Attributes
    ----------
    name : str
    shapes : tuple of (int, int)
        One ``(m, n)`` per parameter matrix.
    xp : namespace
        array-api-compat namespace of the backend the data lives on.
    dtype : dtype
        The backend's floating dtype of the data (``xp.float64`` etc.).
    constants : ProblemConstants
    data : dict
        Backend arrays (the problem's data in ``dtype``).
    host : dict
        The float64 NumPy data the problem was built from.
    info : dict
        Generator-specific realized quantities (e.g. the observed fraction).
    default_batch_size : int
        The ``b`` used by ``stochastic_grad`` when ``batch_size`` is None.
    """

    name: str
    shapes: tuple
    xp: Any = field(repr=False)
    dtype: Any
    constants: ProblemConstants = field(repr=False)
    data: Mapping[str, Array] = field(repr=False)
    host: Mapping[str, np.ndarray] = field(repr=False)
    value_fn: Callable = field(repr=False)
    grad_fn: Callable = field(repr=False)
    sgrad_fn: Callable = field(repr=False)
    init_fn: Callable = field(repr=False)
    backend: str = "numpy"
    device: Any = None
    default_batch_size: int = 1
    info: Mapping[str, Any] = field(default_factory=dict, repr=False)
    region_fn: Callable | None = field(default=None, repr=False)
    minimizer_keys: tuple | None = field(default=None, repr=False)

    # -- input handling ---------------------------------------------------
    def _batched(self, X):
        """Check X against the problem; return (tuple of (R, m, n) arrays, unbatched flag)."""
        multi = len(self.shapes) > 1
        if multi != isinstance(X, (tuple, list)):
            want = f"a tuple of {len(self.shapes)} arrays" if multi else "one array"
            raise TypeError(f"X must be {want} for problem {self.name!r} with shapes {self.shapes}, "
                            f"got {type(X).__name__}")
        Xs = tuple(X) if multi else (X,)
        if len(Xs) != len(self.shapes):
            raise ValueError(f"X must hold {len(self.shapes)} arrays, got {len(Xs)}")
        ndims = {getattr(A, "ndim", None) for A in Xs}
        if len(ndims) != 1 or ndims.pop() not in (2, 3):
            raise ValueError("X must be (R, m, n) arrays (or (m, n) for one run), all with the same ndim")
        unbatched = Xs[0].ndim == 2
        R = None if unbatched else Xs[0].shape[0]
        out = []
        for i, (A, (m, n)) in enumerate(zip(Xs, self.shapes)):
            lab = f"X[{i}]" if multi else "X"
            got = backend_name(A)
            if got != self.backend:
                raise TypeError(f"{lab} is a {got} array but problem {self.name!r} lives on {self.backend}; "
                                f"use problem.to(backend={got!r}) or move X")
            if A.dtype != self.dtype:
                raise TypeError(f"{lab} has dtype {A.dtype} but problem {self.name!r} has dtype {self.dtype}; "
                                "use problem.to(dtype=...) or cast X")
            shape = tuple(A.shape[-2:])
            if shape != (m, n) or (not unbatched and A.shape[0] != R):
                raise ValueError(f"{lab} must have shape (R, {m}, {n}), got {tuple(A.shape)}")
            out.append(A if not unbatched else A[None, ...])
        return tuple(out), unbatched

    def _unbatch(self, G, unbatched):
        if len(self.shapes) > 1:
            return tuple(g[0] for g in G) if unbatched else tuple(G)
        G = G[0]
        return G[0] if unbatched else G

    # -- the protocol -----------------------------------------------------
    def value(self, X):
        r"""f at each run: shape ``(R,)`` (0-d for an unbatched ``(m, n)`` input)."""
        Xs, unb = self._batched(X)
        v = self.value_fn(self, Xs)
        return v[0] if unb else v

    def grad(self, X):
        r"""The exact gradient, with the structure of ``X``."""
        Xs, unb = self._batched(X)
        return self._unbatch(self.grad_fn(self, Xs), unb)

    def stochastic_grad(self, X, rng, batch_size=None):
        r"""An unbiased stochastic gradient with :math:`E\|g-\nabla f\|_F^2 \le \sigma^2/b`.

        Parameters
        ----------
        X : array or tuple of arrays
        rng : None, int or Generator
            Normalised by ``adago_theory.default_rng(rng, problem.xp)``.
        batch_size : int, optional
            :math:`b \ge 1` (default ``problem.default_batch_size``).
        """
        b = self.default_batch_size if batch_size is None else check_int("batch_size", batch_size, lo=1)
        Xs, unb = self._batched(X)
        rng = default_rng(rng, self.xp)
        return self._unbatch(self.sgrad_fn(self, Xs, rng, b), unb)

    def initial_point(self, rng, runs=1):
        r"""Initial point(s) with a leading run axis ``runs``, on the problem's backend and dtype.

        Drawn on the host from ``rng``, so a seed gives the same point on every backend.
        """
        runs = check_int("runs", runs, lo=1)
        parts = self.init_fn(self, host_rng(rng), runs)
        moved = tuple(_move(p, self.backend, self.xp, self.dtype, self.device) for p in parts)
        return moved if len(self.shapes) > 1 else moved[0]

    def to(self, backend=None, dtype=None, device=None):
        r"""A copy of the problem on another backend / dtype / device (rebuilt from the float64 host data)."""
        name, xp = resolve_backend(self.backend if backend is None else backend)
        if dtype is None:
            dtype = dtype_name(self.dtype)
        dname, dt = resolve_dtype(dtype, xp, name)
        check_conditioning(self.info.get("conditioning", ()), dname, name)
        if device is None and name == self.backend:
            device = self.device
        data = {k: _move(v, name, xp, dt, device) for k, v in self.host.items()}
        return replace(self, xp=xp, dtype=dt, data=data, backend=name, device=device)

    # -- extras (not in the protocol) -------------------------------------
    def contains(self, X):
        r"""Whether each run's point lies in the region where ``constants`` hold (backend bool ``(R,)``).

        All True for problems whose constants are global.
        """
        Xs, unb = self._batched(X)
        if self.region_fn is None:
            out = self.xp.ones((Xs[0].shape[0],), dtype=self.xp.bool, device=array_device(Xs[0]))
        else:
            out = self.region_fn(self, Xs)
        return out[0] if unb else out

    @property
    def minimizer(self):
        r"""A global minimizer ``(m, n)`` (tuple for several matrices) where known, else None."""
        if self.minimizer_keys is None:
            return None
        out = tuple(self.data[k] for k in self.minimizer_keys)
        return out if len(self.shapes) > 1 else out[0]

    def __repr__(self):
        c = self.constants
        return (f"Problem({self.name!r}, shapes={self.shapes}, backend={self.backend!r}, dtype={dtype_name(self.dtype)!r}, "
                f"L_fro={c.L_fro:.4g}, L_op={c.L_op:.4g}, sigma2={c.sigma2:.4g}, f_star={c.f_star!r})")


def make_problem(name, shapes, host, constants, *, value_fn, grad_fn, sgrad_fn, init_fn,
                 backend="numpy", dtype="float64", device=None, default_batch_size=1, info=None,
                 region_fn=None, minimizer_keys=None) -> Problem:
    """Assemble a :class:`Problem` from float64 host data and move it to the backend."""
    bname, xp = resolve_backend(backend)
    _, dt = resolve_dtype(dtype, xp, bname)
    data = {k: _move(v, bname, xp, dt, device) for k, v in host.items()}
    shapes = tuple((int(m), int(n)) for m, n in shapes)
    return Problem(name=name, shapes=shapes, xp=xp, dtype=dt, constants=constants, data=data,
                   host=dict(host), value_fn=value_fn, grad_fn=grad_fn, sgrad_fn=sgrad_fn, init_fn=init_fn,
                   backend=bname, device=device, default_batch_size=int(default_batch_size),
                   info=dict(info or {}), region_fn=region_fn, minimizer_keys=minimizer_keys)


def mT(xp, A):
    """Transpose of the last two axes."""
    nd = A.ndim
    return xp.permute_dims(A, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def sumsq(xp, A):
    """Sum of squares over the last two axes."""
    return xp.sum(A * A, axis=(-2, -1))
