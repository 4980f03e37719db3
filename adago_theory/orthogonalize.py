r"""The polar factor :math:`\mathrm{Orth}(M) = UV^\top`, exactly or approximately.

For :math:`M = U\Sigma V^\top` (thin SVD), the polar decomposition is
:math:`M = \mathrm{Orth}(M)\,H` with :math:`H = V\Sigma V^\top \succeq 0`.
:math:`\mathrm{Orth}(M)` is the nearest semi-orthogonal matrix to :math:`M` in
every unitarily invariant norm, and
:math:`\langle M, \mathrm{Orth}(M)\rangle = \|M\|_*`.

Methods (``orthogonalize(M, method=...)``):

``"svd"``
    :math:`U_r V_r^\top` from the thin SVD, keeping the singular values above
    ``rtol * sigma_max`` (default ``rtol = max(m, n) * finfo(dtype).eps``, the
    threshold of ``numpy.linalg.matrix_rank``).  Rank-deficient inputs give the
    partial isometry on the range of :math:`M`; zero gives zero.
``"qdwh"``
    The QR-based dynamically weighted Halley iteration of Nakatsukasa, Bai and
    Gygi (2010), made of batched QR, Cholesky-type solves and matrix products
    only.  Backward stable; never forms :math:`M^\top M` of the unscaled input.
``"polar"``
    The exact polar factor by the fastest accurate route for the backend: the
    SVD route on the CPU (LAPACK, already batched well), QDWH on GPUs (where a
    batched SVD runs matrix by matrix and is thousands of times slower).
``"newton-schulz"``
    An odd polynomial iteration :math:`X \leftarrow aX + (bA + cA^2)X`,
    :math:`A = XX^\top`, after normalising by the Frobenius norm.  The
    coefficients are a preset name from :data:`NS_PRESETS` or any sequence of
    :math:`(a, b, c)` triples; steps past the end of a list repeat its last triple.

Scale safety.  Every norm that feeds a division (the normalisations of
Newton–Schulz and QDWH) and the SVD route work on :math:`cM` with a power of two
:math:`c` per matrix (:func:`~adago_theory.backend.pow2_scale`), which is exact: the
result is bit for bit that of the plain formula wherever the plain formula
neither overflows nor underflows, and correct for every finite input from the
smallest normal number to the largest finite one.

Normalisation of Newton–Schulz.  :math:`X_0 = M / (s\,\|M\|_F + \epsilon)`
with the preset's safety scale :math:`s` (1 for all presets but Polar Express,
which uses 1.01) and ``eps = 0`` by default, so the iteration is exactly
invariant to positive scaling of :math:`M`; a zero matrix is mapped to zero by a
guard, never to NaN.  Muon's reference code uses ``eps = 1e-7`` (pass it to
reproduce that code bit for bit).  Since :math:`\sigma_1 \le \|M\|_F`, all
normalised singular values lie in :math:`(0, 1]`, and the singular values of
the output are :math:`p_k\circ\cdots\circ p_1(\sigma_i / (s\|M\|_F))` with
:math:`p(x) = ax + bx^3 + cx^5`.

Which presets converge to 1 (scalar analysis in ``theory.md`` §5, checked by
``verify.check_symbolic_facts``):

* ``"cubic"`` :math:`(3/2, -1/2, 0)` and ``"quintic"`` :math:`(15/8, -10/8, 3/8)`:
  :math:`p(1) = 1`, :math:`p'(1) = 0` — converge to 1 on :math:`(0, 1]`
  (quadratically resp. cubically near 1), slowly for small singular values.
* ``"polar-express"``: converges to 1 (the list ends in the quintic).
* ``"jordan"`` :math:`(3.4445, -4.7750, 2.0315)`: does **not** converge;
  :math:`p(1) \approx 0.701` and the iterates oscillate in a band around 1
  (about :math:`[0.68, 1.13]` asymptotically, up to 1.2024 transiently).
* ``"you"``: five tuned steps; after 5 steps within a few percent of 1 for
  :math:`\sigma \ge 10^{-2}`, not a convergent iteration beyond its list.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import numpy as np

from .backend import cached, device_of, is_half, is_numpy_namespace, is_torch_namespace, namespace, on_gpu, pow2_scale
from .checks import check_int, check_matrix, check_real
from .parallel import batch_parallel, use_batch_parallel

__all__ = ["orthogonalize", "newton_schulz_orthogonalizer", "newton_schulz_in_dtype", "NS_PRESETS", "NSPreset", "METHODS",
           "ns_schedule", "ns_scalar_map", "NS_MAX_STEPS"]

METHODS = ("svd", "polar", "qdwh", "newton-schulz")


class NSPreset(NamedTuple):
    """A named Newton–Schulz coefficient set.

    Attributes
    ----------
    name : str
    coeffs : tuple of (a, b, c)
        Per-step coefficients; steps past the end repeat the last triple.
    steps : int
        Default number of steps.
    scale : float
        Safety factor :math:`s` of the normalisation :math:`M / (s\\|M\\|_F)`.
    converges : bool
        Whether the iteration converges to the polar factor as steps → ∞.
    source : str
        Where the coefficients come from.
    """

    name: str
    coeffs: tuple
    steps: int
    scale: float
    converges: bool
    source: str


_PE_RAW = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)
# The paper's safety step: every polynomial but the last is p(x/1.01)·... i.e. (a/1.01, b/1.01^3, c/1.01^5).
_PE = tuple((a / 1.01, b / 1.01**3, c / 1.01**5) for a, b, c in _PE_RAW[:-1]) + (_PE_RAW[-1],)

NS_PRESETS = {
    "cubic": NSPreset(
        "cubic", ((1.5, -0.5, 0.0),), 30, 1.0, True,
        "classical Newton–Schulz cubic p(x) = (3x - x^3)/2 (Kovarik 1970; Björck & Bowie 1971)",
    ),
    "quintic": NSPreset(
        "quintic", ((15 / 8, -10 / 8, 3 / 8),), 20, 1.0, True,
        "classical quintic p(x) = (15x - 10x^3 + 3x^5)/8, p'(1) = p''(1) = 0",
    ),
    "jordan": NSPreset(
        "jordan", ((3.4445, -4.7750, 2.0315),), 5, 1.0, False,
        "Jordan et al. (2024), Muon reference code (KellerJordan/Muon muon.py)",
    ),
    "you": NSPreset(
        "you",
        (
            (4.0848, -6.8946, 2.9270),
            (3.9505, -6.3029, 2.6377),
            (3.7418, -5.5913, 2.3037),
            (2.8769, -3.1427, 1.2046),
            (2.8366, -3.0525, 1.2012),
        ),
        5, 1.0, False,
        "You Jiacheng's 5-step list as used by microsoft/dion and optax 'dion' preset",
    ),
    "polar-express": NSPreset(
        "polar-express", _PE, 8, 1.01, True,
        "Amsel, Persson, Musco & Gower (2025), arXiv 2505.16932: the paper's 8 degree-5 polynomials, "
        "safety factor 1.01 on all but the last, normalisation 1.01*||M||_F",
    ),
}


def _validate_coeffs(coeffs):
    """Return a tuple of float triples from a preset name, one triple, or a sequence of triples."""
    if isinstance(coeffs, str):
        if coeffs not in NS_PRESETS:
            raise ValueError(
                f"unknown Newton–Schulz preset coeffs={coeffs!r}; choose one of {sorted(NS_PRESETS)} "
                "or pass a sequence of (a, b, c) triples"
            )
        p = NS_PRESETS[coeffs]
        return p.coeffs, p.steps, p.scale
    try:
        seq = list(coeffs)
    except TypeError:
        raise TypeError(f"coeffs must be a preset name or a sequence of (a, b, c) triples, got {coeffs!r}") from None
    if len(seq) == 3 and all(isinstance(v, numbers.Real) for v in seq):
        seq = [seq]
    if not seq:
        raise ValueError("coeffs must hold at least one (a, b, c) triple, got an empty sequence")
    out = []
    for i, t in enumerate(seq):
        try:
            t = tuple(float(v) for v in t)
        except (TypeError, ValueError):
            raise TypeError(f"coeffs[{i}] must be a triple of real numbers (a, b, c), got {t!r}") from None
        if len(t) != 3:
            raise ValueError(f"coeffs[{i}] must have exactly 3 entries (a, b, c), got {len(t)}")
        if not all(math.isfinite(v) for v in t):
            raise ValueError(f"coeffs[{i}] must be finite, got {t}")
        out.append(t)
    return tuple(out), len(out), 1.0


#: The most Newton–Schulz steps accepted (every preset is within 1e-6 of its limit well before).
NS_MAX_STEPS = 100

#: A schedule whose scalar map takes some :math:`x \in [0, 1]` beyond this magnitude is refused.
NS_ORBIT_BOUND = 1e4


def _validate_steps(steps, name="steps"):
    return check_int(name, steps, lo=1, hi=NS_MAX_STEPS)


def ns_scalar_map(x, coeffs="jordan", steps=None):
    r"""The scalar Newton–Schulz map :math:`\varphi_k = p_k\circ\cdots\circ p_1`, :math:`p(x) = ax + bx^3 + cx^5`.

    The singular values of ``orthogonalize(M, "newton-schulz", ...)`` are
    :math:`\varphi_k(\sigma_i / (s\|M\|_F))` (module docstring): this is the one
    home of that map; the checks and benchmarks import it.

    Parameters
    ----------
    x : float or array
        Points at which to evaluate (normalised singular values lie in :math:`[0, 1]`).
    coeffs : str or sequence of (a, b, c), default "jordan"
        A preset name or triples, as in :func:`ns_schedule`; a schedule returned by
        :func:`ns_schedule` is applied as it is.
    steps : int, optional
        As in :func:`ns_schedule`.

    Returns
    -------
    float or array
        :math:`\varphi_k(x)`, evaluated in Horner form :math:`x(a + x^2(b + cx^2))`.

    Examples
    --------
    >>> ns_scalar_map(1.0, "quintic", steps=3)
    1.0
    >>> round(ns_scalar_map(1.0, "jordan", steps=1), 4)
    0.701
    """
    schedule, _ = ns_schedule(coeffs, steps)
    return _apply_scalar(x, schedule)


def _apply_scalar(x, schedule):
    for a, b, c in schedule:
        x2 = x * x
        x = x * (a + x2 * (b + c * x2))
    return x


@functools.lru_cache(maxsize=256)
def _check_orbit(schedule):
    """Refuse a schedule whose scalar map leaves [-NS_ORBIT_BOUND, NS_ORBIT_BOUND] on [0, 1] (float64 grid)."""
    x = np.linspace(0.0, 1.0, 4097)
    with np.errstate(all="ignore"):
        for k, (a, b, c) in enumerate(schedule, start=1):
            x2 = x * x
            x = x * (a + x2 * (b + c * x2))
            bad = ~(np.abs(x) <= NS_ORBIT_BOUND)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"coeffs: the Newton–Schulz iteration leaves the finite range: after step {k} its "
                    f"scalar map takes x = {i / 4096:.4g} in [0, 1] to {x[i]:.3g} (bound {NS_ORBIT_BOUND:g}); "
                    "these coefficients do not orthogonalize (see NS_PRESETS for ones that do)"
                )


def ns_schedule(coeffs="jordan", steps=None):
    """The list of (a, b, c) triples that ``steps`` Newton–Schulz steps apply.

    Parameters
    ----------
    coeffs : str or sequence of (a, b, c)
        Preset name or coefficients.
    steps : int, optional
        Number of steps (default: the preset's, or the length of the list).

    Returns
    -------
    schedule : list of tuple
        ``steps`` triples; past the end of the list the last triple repeats.
    scale : float
        The normalisation safety factor of the preset (1.0 for explicit lists).
    """
    try:
        hash((coeffs, steps))
    except TypeError:                   # a list of triples: validated every call
        return _ns_schedule(coeffs, steps)
    sched, scale = _ns_schedule_cached(coeffs, steps, type(steps))    # True == 1 == 1.0: the type too
    return list(sched), scale


@functools.lru_cache(maxsize=256)
def _ns_schedule_cached(coeffs, steps, _steps_type):
    sched, scale = _ns_schedule(coeffs, steps)
    return tuple(sched), scale


def _ns_schedule(coeffs, steps):
    triples, default_steps, scale = _validate_coeffs(coeffs)
    k = default_steps if steps is None else _validate_steps(steps)
    if k > NS_MAX_STEPS:
        raise ValueError(f"steps must be at most {NS_MAX_STEPS}; coeffs lists {k} triples")
    sched = [triples[min(i, len(triples) - 1)] for i in range(k)]
    _check_orbit(tuple(sched))
    return sched, scale


def _check_input(M, xp, check_finite):
    check_matrix("M", M)
    if check_finite:
        if not bool(xp.all(xp.isfinite(M))):
            raise ValueError("M contains NaN or Inf entries; orthogonalize needs finite input")


def _check_dtype(xp, dtype, M):
    """``dtype`` as a dtype of ``M``'s library after checking it is a real floating one."""
    return cached(_DTYPES, (xp, dtype), lambda: _dtype_of(xp, dtype, M))


def _dtype_of(xp, dtype, M):
    try:
        dt = xp.empty((0,), dtype=dtype, device=device_of(M)).dtype
        ok = xp.isdtype(dt, "real floating")
    except (TypeError, ValueError, AttributeError, RuntimeError):
        ok = False
    if not ok:
        raise ValueError(f"dtype must be a real floating dtype of M's array library ({xp.__name__}), got {dtype!r}")
    return dt


_DTYPES: dict = {}


def _mT(xp, X):
    # the array API's ``.mT`` attribute (NumPy >= 2, PyTorch, array-api-strict; 10x cheaper than the
    # compat wrapper on a small matrix), the namespace's function where an array lacks it (NumPy 1.26)
    mT = getattr(X, "mT", None)
    return xp.matrix_transpose(X) if mT is None else mT


def _fro_normalize(xp, W, scale, eps):
    r"""W / (scale * ||W||_F + eps) per matrix, scale-safely; zero matrices stay zero.

    Evaluated as :math:`cW / (s\|cW\|_F + c\epsilon)` with the power of two :math:`c`
    of :func:`~adago_theory.backend.pow2_scale`: bit for bit the plain formula wherever
    that neither overflows nor underflows, and correct for every finite input.
    """

    nrm_dtype = xp.float32 if is_half(xp, W.dtype) else W.dtype
    Wn = W if nrm_dtype == W.dtype else xp.astype(W, nrm_dtype)
    c = pow2_scale(xp, Wn)
    Wn = Wn * c
    nrm = xp.sqrt(xp.sum(Wn * Wn, axis=(-2, -1), keepdims=True))
    denom = scale * nrm + eps * c
    denom = xp.where(denom > 0, denom, xp.ones_like(denom))
    X = Wn / denom
    return X if X.dtype == W.dtype else xp.astype(X, W.dtype)


def _fro_normalize_numpy(flat, scale, eps, out):
    """The NumPy batch version of :func:`_fro_normalize` into ``out``: plain where safe, scaled elsewhere.

    The sum of squares of a matrix is safe when finite and at least ``tiny / eps`` (no
    overflow; the entries lost to underflow are below its rounding); only the unsafe
    matrices take the scaled route.
    """
    dt = flat.dtype
    nd = np.float32 if dt.itemsize < 4 else dt
    ss = np.einsum("bij,bij->b", flat, flat, dtype=nd)
    fi = np.finfo(nd)
    safe = np.isfinite(ss) & (ss >= fi.tiny / fi.eps)
    den = scale * np.sqrt(ss) + eps
    den = np.where(den > 0, den, 1.0).astype(dt)
    np.divide(flat, den[:, None, None], out=out)
    if not safe.all():
        import array_api_compat.numpy as xnp

        bad = np.flatnonzero(~safe)
        out[bad] = _fro_normalize(xnp, flat[bad], scale, eps)


def _newton_schulz(xp, W, schedule, scale, eps, out=None, dtype=None):
    """Wide W (m <= n): X <- aX + (bA + cA^2) X with A = X X^T, evaluated as X <- (A(cA + bI) + aI) X.

    The factored form needs the same three products per step (X X^T, A(cA + bI), B X) but does its
    element-wise work on the small m x m matrices instead of on the m x n iterate.  ``scale=None``:
    ``W`` is already normalised.  ``dtype``: the iteration's (and the result's) dtype; on
    backends other than PyTorch the caller passes ``W`` already in it (see :func:`orthogonalize`).
    """
    if is_torch_namespace(xp):
        return _newton_schulz_torch(xp, W, schedule, scale, eps, dtype)
    if is_numpy_namespace(xp) and W.ndim >= 3:
        return _newton_schulz_numpy(W, schedule, scale, eps, out=out)
    X = W if scale is None else _fro_normalize(xp, W, scale, eps)
    m = X.shape[-2]
    eye = xp.eye(m, dtype=X.dtype, device=device_of(X))
    for a, b, c in schedule:
        A = X @ _mT(xp, X)
        if c != 0.0:
            B = A @ (c * A + b * eye) + a * eye
        else:
            B = b * A + a * eye
        X = B @ X
    return X


def _fro_normalize_torch(xp, W, scale, eps, out_dt=None):
    """The torch batch version of :func:`_fro_normalize`: plain where safe, scaled elsewhere.

    As :func:`_fro_normalize_numpy`: the plain sum of squares (float32 for half inputs) of a
    matrix is safe when finite and at least ``tiny / eps``, and then the plain formula equals the
    power-of-two-scaled one bit for bit; the batch takes the scaled route only when some matrix is
    unsafe (one host synchronisation).  The quotient is computed in ``W``'s precision (float32
    for half ``W``: a half ``W`` divided by a host scalar is read in its own dtype and rounded
    once) and rounded once to ``out_dt`` (default ``W``'s dtype) — except a narrower ``out_dt`` for a
    single matrix (float32 ``W``, bfloat16 steps): cast first, then divided in ``out_dt``, the
    reference codes' order (two roundings, two passes over the narrow copy).  ``* scale`` and ``+ eps`` are
    skipped when they are exact no-ops (scale 1, eps 0).
    """
    import torch

    if W.shape[0] == 1:
        return _fro_normalize_torch_one(xp, W[0], scale, eps, out_dt)[None]
    out_dt = W.dtype if out_dt is None else out_dt
    nd = torch.float32 if is_half(xp, W.dtype) else W.dtype
    Wn = W if nd == W.dtype else W.to(nd)
    flat = (Wn.mT if not Wn.is_contiguous() and Wn.mT.is_contiguous() else Wn).flatten(-2)   # (no copy of a transpose)
    ss = torch.linalg.vecdot(flat, flat)
    den = torch.sqrt(ss)
    if scale != 1.0:
        den = den.mul_(scale)
    if eps != 0.0:
        den = den.add_(eps)
    fi = torch.finfo(nd)
    if not bool(((ss >= fi.tiny / fi.eps) & (ss <= fi.max)).all()):   # NaN and overflow fail too
        return _fro_normalize(xp, W, scale, eps).to(out_dt)
    X = Wn / den[:, None, None]                         # den > 0: a zero matrix failed the test above
    return X if X.dtype == out_dt else X.to(out_dt)


def _fro_normalize_torch_one(xp, W, scale, eps, out_dt=None):
    """:func:`_fro_normalize_torch` for one matrix (2-D ``W``).

    BLAS's dot over the storage (2-4x faster than ``vecdot`` on a CPU; a transposed ``W`` is read
    as its transpose, no copy) and one host synchronisation; the denominator in the norm dtype's
    arithmetic on the host (NumPy scalars: the same correctly rounded sqrt, product and sum torch's
    0-d ops give); the division by a scalar reads ``W`` in its own dtype and rounds once (no float32
    copy of a half ``W`` written unless the iteration is float32).
    """
    import torch

    out_dt = W.dtype if out_dt is None else out_dt
    nd = torch.float32 if is_half(xp, W.dtype) else W.dtype
    Wn = W if nd == W.dtype else W.to(nd)
    v = (Wn if Wn.is_contiguous() else Wn.mT).reshape(-1)
    s2 = float(torch.dot(v, v))
    tiny_eps, big, _ = _finfo(nd)
    if not tiny_eps <= s2 <= big:                       # NaN fails too
        return _fro_normalize(xp, W, scale, eps).to(out_dt)
    npd = np.float32 if nd == torch.float32 else np.float64
    d = np.sqrt(npd(s2))
    if scale != 1.0:
        d = d * npd(scale)
    if eps != 0.0:
        d = d + npd(eps)
    d = float(d)
    if out_dt != W.dtype and _finfo(out_dt)[2] < _finfo(W.dtype)[2]:
        # a narrower iteration (float32 W, bfloat16 steps): cast, then divide in place, as the
        # reference codes do — two passes over the narrow copy instead of a wide quotient and its
        # cast (the quotient is rounded twice; ~0.4 ulp of bfloat16 more, far below the steps')
        return W.to(out_dt).div_(d)
    X = (Wn if out_dt == nd else W) / d                # a float32 iteration of half W: its float32 copy
    return X if X.dtype == out_dt else X.to(out_dt)


def _finfo(dtype):
    """``(tiny / eps, max, bits)`` of a torch floating dtype (cached)."""
    def facts():
        import torch

        fi = torch.finfo(dtype)
        return fi.tiny / fi.eps, fi.max, fi.bits

    return cached(_FINFO, dtype, facts)


_FINFO: dict = {}


def _newton_schulz_torch(xp, W, schedule, scale, eps, dtype=None):
    r"""The iteration for PyTorch tensors with the scalings fused into the products.

    Each step is :math:`A = XX^\top`, :math:`B = bA + cA^2` (one ``baddbmm`` with
    ``beta = b``, ``alpha = c``) and :math:`X \leftarrow aX + BX` (one ``baddbmm`` with
    ``beta = a``): three products and no separate element-wise pass, the form of
    ``torch.optim.Muon``.  Mathematically the same polynomial as the generic path; the
    results differ from it by rounding only.  (The scalars stay the coefficients: oneDNN
    compiles a bfloat16 ``baddbmm`` anew for every new ``beta``, ~10x the product's time on a
    CPU, so the normalisation is not folded into the first step's scalars.)

    The iteration runs in ``dtype`` (default ``W``'s), which is also the result's.  Half
    precision (bfloat16, float16) iterates in its own dtype, as ``torch.optim.Muon`` does (the
    products accumulate in float32 inside the kernels), except small matrices on a CPU
    (:data:`NS_HALF_CPU_WORK`), which iterate in float32 — faster there and more accurate —
    and are rounded at the end.  The normalisation is computed in ``W``'s precision (float32
    for half ``W``), scale-safely; the quotient is rounded to the iteration's dtype (see
    :func:`_fro_normalize_torch` for the order).
    """
    import torch

    shape = W.shape
    m, n = shape[-2], shape[-1]
    out_dt = W.dtype if dtype is None else dtype
    up = is_half(xp, out_dt) and W.device.type == "cpu" and m * m * n < NS_HALF_CPU_WORK
    run_dt = torch.float32 if up else out_dt
    if W.numel() == m * n:
        # one matrix: 2-D from the start, the 2-D products (torch.optim.Muon's); on a CPU bmm took
        # 1.08x mm's time for a bfloat16 512 x 512 Gram product (addmm and baddbmm were level),
        # docs/performance.md
        W1 = W if W.ndim == 2 else W.reshape(m, n)
        X = W1.to(run_dt) if scale is None else _fro_normalize_torch_one(xp, W1, scale, eps, run_dt)
        mm, addmm = torch.mm, torch.addmm
    else:
        flat = W.reshape((-1, m, n))
        X = flat.to(run_dt) if scale is None else _fro_normalize_torch(xp, flat, scale, eps, run_dt)
        mm, addmm = torch.bmm, torch.baddbmm
    for a, b, c in schedule:
        A = mm(X, X.mT)
        B = addmm(A, A, A, beta=b, alpha=c) if c != 0.0 else A.mul_(b)
        X = addmm(X, B, X, beta=a)
    if X.ndim != len(shape):
        X = X.reshape(shape)
    return X.to(out_dt) if X.dtype != out_dt else X


def _orthogonalize_ns(xp, M, schedule, scale, eps, dtype):
    """:func:`orthogonalize`'s Newton–Schulz branch on a checked ``M`` with validated options."""
    dt = None if dtype is None else _check_dtype(xp, dtype, M)
    m, n = M.shape[-2], M.shape[-1]
    if m == 0 or n == 0:
        return xp.zeros(M.shape, dtype=M.dtype if dt is None else dt, device=device_of(M))
    tall = m > n
    W = _mT(xp, M) if tall else M
    if dt is not None and dt != W.dtype and not is_torch_namespace(xp):
        W = xp.astype(_fro_normalize(xp, W, scale, eps), dt)   # normalised in M's precision
        scale = None
    if use_batch_parallel(xp, W):
        O = batch_parallel(lambda Wc, out=None: _newton_schulz(xp, Wc, schedule, scale, eps, out=out, dtype=dt),
                           W, takes_out=True)
    else:
        O = _newton_schulz(xp, W, schedule, scale, eps, dtype=dt)
    return _mT(xp, O) if tall else O


def newton_schulz_orthogonalizer(coeffs=None, steps=None, eps=0.0, dtype=None):
    r"""``M -> orthogonalize(M, "newton-schulz", ..., check_finite=False)`` with its options validated once.

    The optimizers' orthogonalizer (:func:`~adago_theory.optim.resolve_orth`): the schedule, the
    scale and ``eps`` are checked and resolved here, so a call only checks ``M`` (a real
    floating array, at least 2-D) and runs the iteration — the same function as
    :func:`orthogonalize`'s, bit for bit, without its per-call validation of the options.
    ``M`` is not screened for NaN/Inf (the optimizers screen ``G`` themselves).

    Parameters
    ----------
    coeffs, steps, eps, dtype
        As in :func:`orthogonalize` (``dtype`` is checked against ``M``'s library at the first
        call, as there).

    Returns
    -------
    callable
        A :class:`functools.partial` of one argument ``M``; ``.keywords`` holds the resolved
        ``schedule``, ``scale``, ``eps`` and ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> orth = newton_schulz_orthogonalizer(coeffs="polar-express")
    >>> M = np.array([[3.0, 0.0], [0.0, 0.5]])
    >>> bool(np.array_equal(orth(M), orthogonalize(M, "newton-schulz", coeffs="polar-express")))
    True
    """
    schedule, scale = ns_schedule("jordan" if coeffs is None else coeffs, steps)
    eps = float(check_real("eps", eps, lo=0.0))
    return functools.partial(_ns_prevalidated, schedule=tuple(schedule), scale=scale, eps=eps, dtype=dtype)


def _ns_prevalidated(M, *, schedule, scale, eps, dtype):
    return _orthogonalize_ns(check_matrix("M", M), M, schedule, scale, eps, dtype)


def newton_schulz_in_dtype(orth_fn, dtype):
    """``orth_fn`` iterating in ``dtype``, when it is a :func:`newton_schulz_orthogonalizer` without a dtype; else None.

    The norm is then still taken in the input's precision (see ``orthogonalize``'s ``dtype``);
    a caller gets None for any other orthogonalizer and casts the input itself.
    """
    if (isinstance(orth_fn, functools.partial) and orth_fn.func is _ns_prevalidated
            and orth_fn.keywords.get("dtype") is None):
        return functools.partial(orth_fn, dtype=dtype)
    return None


#: Half-precision Newton–Schulz on a CPU iterates in float32 below this m^2 n per matrix (m <= n):
#: measured 2026-12-01 (torch 2.13, one thread, Xeon with AMX-bf16), float32 took 0.37-0.65x the
#: time of bfloat16 up to 128x128 and 64x512, and 1.3-4x above 192x192 (docs/performance.md).
NS_HALF_CPU_WORK = 4e6


_WORKSPACE = None


def _workspace(key, nb, make):
    """Per-thread scratch buffers reused across calls (no page faults from fresh large allocations).

    ``make(cap)`` allocates buffers for ``cap`` matrices of the kind ``key``; a call for ``nb <= cap``
    matrices reuses them (the caller slices ``[:nb]``), so the shorter last chunk of a batch does not
    reallocate.
    """
    import threading

    global _WORKSPACE
    if _WORKSPACE is None:
        _WORKSPACE = threading.local()
    cache = getattr(_WORKSPACE, "bufs", None)
    if cache is None or cache[0] != key or cache[1] < nb:
        cache = (key, nb, make(nb))
        _WORKSPACE.bufs = cache
    return cache[2]


def _newton_schulz_numpy(X, schedule, scale=None, eps=0.0, out=None):
    """The same iteration for stacked NumPy arrays, on reused per-thread scratch buffers.

    ``X`` (..., m, n) is read, never written; with ``scale`` given it is first normalised as
    ``X / (scale * ||X||_F + eps)`` (zero matrices stay zero).  The result goes to ``out`` (a fresh
    array when None; it must not overlap ``X``), which also serves as one of the two iterate buffers,
    so the cached scratch is one ``(nb, m, n)`` buffer and three ``(nb, m, m)`` ones.  Only ``out``
    and this function's scratch buffers are written.
    """
    shape = X.shape
    flat = np.reshape(X, (-1,) + shape[-2:])
    nb, m, n = flat.shape
    dt = flat.dtype
    if out is None:
        out = np.empty(shape, dtype=dt)
    out_flat = np.reshape(out, flat.shape)

    def make(cap):
        return (np.empty((cap, m, n), dt),
                np.empty((cap, m, m), dt), np.empty((cap, m, m), dt), np.empty((cap, m, m), dt))

    Y, A, C, B = (buf[:nb] for buf in _workspace((m, n, dt.str), nb, make))
    k = len(schedule)
    # The iterate alternates between ``out`` and one scratch buffer, starting where the last step
    # lands in ``out`` (one batch-sized buffer fewer than a separate start buffer).
    X0 = out_flat if k % 2 == 0 else Y
    if scale is None:
        np.copyto(X0, flat)
    else:
        _fro_normalize_numpy(flat, scale, eps, X0)
    Xc = X0
    d = np.arange(m)
    for i, (a, b, c) in enumerate(schedule):
        np.matmul(Xc, np.swapaxes(Xc, -1, -2), out=A)
        if c != 0.0:
            np.multiply(A, dt.type(c), out=C)
            C[:, d, d] += dt.type(b)
            np.matmul(A, C, out=B)
        else:
            np.multiply(A, dt.type(b), out=B)
        B[:, d, d] += dt.type(a)
        target = Y if Xc is out_flat else out_flat
        np.matmul(B, Xc, out=target)
        Xc = target
    return out


def _orth_svd(xp, W, rtol):

    m, n = W.shape[-2], W.shape[-1]
    W = W * pow2_scale(xp, W)          # exact; LAPACK's SVD overflows near the top of the range
    U, S, Vh = xp.linalg.svd(W, full_matrices=False)
    if rtol is None:
        rtol = max(m, n) * float(xp.finfo(W.dtype).eps)
    tol = rtol * S[..., :1]
    keep = xp.astype(S > tol, W.dtype)
    return (U * keep[..., None, :]) @ Vh


def _qdwh_params(ell):
    """Dynamically weighted Halley parameters (a, b, c) for lower bound ell (Nakatsukasa et al. 2010, eq. 3.5)."""
    ell2 = ell * ell
    g = (4.0 * (1.0 - ell2) / (ell2 * ell2)) ** (1.0 / 3.0)
    a = math.sqrt(1.0 + g) + 0.5 * math.sqrt(8.0 - 4.0 * g + 8.0 * (2.0 - ell2) / (ell2 * math.sqrt(1.0 + g)))
    b = (a - 1.0) ** 2 / 4.0
    c = a + b - 1.0
    return a, b, c


def qdwh_schedule(unit_roundoff):
    """The QDWH weights used from the lower bound ell0 = unit roundoff; ends with one Halley step.

    Starting from :math:`\\ell_0 = u` covers every input with
    :math:`\\kappa(M)\\sqrt{\\operatorname{rank} M} \\le 1/u`; the count is 6+1 steps in
    float64 and 4+1 in float32.
    """
    ell = float(unit_roundoff)
    out = []
    while 1.0 - ell > 10.0 * unit_roundoff and len(out) < 12:
        a, b, c = _qdwh_params(ell)
        out.append((a, b, c))
        ell = ell * (a + b * ell * ell) / (1.0 + c * ell * ell)
        ell = min(ell, 1.0)
    out.append((3.0, 1.0, 3.0))  # Halley's iteration at ell = 1: one cubic-convergence clean-up step
    return out


def _qdwh(xp, W):
    """Polar factor of tall W (m >= n) by QDWH; batched over leading axes."""
    m, n = W.shape[-2], W.shape[-1]
    u = float(xp.finfo(W.dtype).eps) / 2.0
    X = _fro_normalize(xp, W, 1.0, 0.0)            # W / ||W||_F (>= ||W||_2), scale-safe
    eye = xp.eye(n, dtype=W.dtype, device=device_of(W))
    eye_b = xp.broadcast_to(eye, X.shape[:-2] + (n, n))
    for a, b, c in qdwh_schedule(u):
        if c > 100.0:
            sc = math.sqrt(c)
            Q, _ = xp.linalg.qr(xp.concat([sc * X, eye_b], axis=-2))
            Q1, Q2 = Q[..., :m, :], Q[..., m:, :]
            X = (b / c) * X + ((a - b / c) / sc) * (Q1 @ _mT(xp, Q2))
        else:
            Z = eye_b + c * (_mT(xp, X) @ X)
            Y = _mT(xp, xp.linalg.solve(Z, _mT(xp, X)))  # X Z^{-1}, Z symmetric positive definite
            X = (b / c) * X + (a - b / c) * Y
    return X


def orthogonalize(M, method="svd", *, coeffs=None, steps=None, rtol=None, eps=0.0, dtype=None, check_finite=True):
    r"""Orthogonalize a matrix or a batch of matrices: :math:`O = \mathrm{Orth}(M) = UV^\top`.

    Parameters
    ----------
    M : array, shape (..., m, n)
        An array of any array-API library (NumPy, CuPy, PyTorch, ...) of a real
        floating dtype.  Leading axes are independent matrices.
    method : {"svd", "polar", "qdwh", "newton-schulz"}
        See the module docstring.  ``"svd"``, ``"polar"`` and ``"qdwh"`` are exact
        up to rounding; ``"newton-schulz"`` is a fixed polynomial approximation.
    coeffs : str or sequence of (a, b, c), optional
        Newton–Schulz only: a preset name from :data:`NS_PRESETS` (default
        ``"jordan"``, Muon's) or explicit triples.
    steps : int, optional
        Newton–Schulz only: the number of steps (default: the preset's), at most
        :data:`NS_MAX_STEPS` (100).  Coefficients whose scalar map
        (:func:`ns_scalar_map`) takes a point of :math:`[0, 1]` beyond
        ``NS_ORBIT_BOUND`` (1e4) within these steps are refused.
    rtol : float, optional
        ``"svd"`` only: singular values :math:`\le` ``rtol * sigma_max`` count as
        zero (default ``max(m, n) * eps``).
    eps : float, default 0.0
        Newton–Schulz only: additive epsilon of the normalisation
        :math:`M / (s\|M\|_F + \epsilon)` (Muon's code uses 1e-7).
    dtype : dtype, optional
        Newton–Schulz only: run the iteration in this real floating dtype of ``M``'s
        library and return ``O`` in it, e.g. ``torch.bfloat16`` for a float32 ``M`` (what
        Muon's reference code and ``torch.optim.Muon`` do).  The normalisation is computed in
        ``M``'s precision (PyTorch: ``M`` is then cast and divided in ``dtype``, the reference
        codes' order; other backends divide in ``M``'s precision and round once).
        Default: ``M``'s dtype.
    check_finite : bool, default True
        Raise on NaN/Inf entries (one extra pass over ``M``).

    Returns
    -------
    O : array, shape (..., m, n)
        Same shape, dtype (``dtype`` if given) and backend (and device) as ``M``.  Tall inputs are
        processed transposed so that every Gram matrix is
        :math:`\min(m, n)^2` (Newton–Schulz), and wide ones transposed for QDWH
        (which iterates on tall matrices).

    Raises
    ------
    ValueError
        ``M`` with fewer than 2 dimensions or non-finite entries; an unknown
        ``method`` or preset; ``steps`` outside :math:`[1, 100]`; coefficients
        whose iteration leaves the finite range; options given to a method that
        does not take them.
    TypeError
        Integer, boolean or complex ``M``; malformed ``coeffs``; non-integer ``steps``.

    Notes
    -----
    Half-precision inputs (float16, bfloat16) are orthogonalized in float32 by the
    exact methods (LAPACK has no half routines) and cast back; Newton–Schulz runs
    in the input precision (PyTorch on a CPU: small half-precision matrices iterate in
    float32, see ``NS_HALF_CPU_WORK``).  PyTorch tensors take a fused path (``baddbmm``
    with the scalings inside the products), equal to the generic one to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[3.0, 0.0], [0.0, 0.5]])
    >>> orthogonalize(M)
    array([[1., 0.],
           [0., 1.]])
    >>> O = orthogonalize(M, "newton-schulz", coeffs="polar-express")
    >>> bool(np.allclose(O, np.eye(2), atol=1e-6))
    True
    """
    xp = namespace(M)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method={method!r}; choose one of {list(METHODS)}")
    _check_input(M, xp, check_finite)
    if method != "newton-schulz":
        if coeffs is not None:
            raise ValueError(f"coeffs applies only to method='newton-schulz', not method={method!r}")
        if steps is not None:
            raise ValueError(f"steps applies only to method='newton-schulz', not method={method!r}")
        if eps != 0.0:
            raise ValueError(f"eps applies only to method='newton-schulz', not method={method!r}")
        if dtype is not None:
            raise ValueError(f"dtype applies only to method='newton-schulz', not method={method!r}")
    if rtol is not None and method != "svd":
        raise ValueError(f"rtol applies only to method='svd', not method={method!r}")
    if rtol is not None:
        rtol = check_real("rtol", rtol, lo=0.0, hi=1.0, hi_open=True)
    eps = check_real("eps", eps, lo=0.0)

    if method == "newton-schulz":
        schedule, scale = ns_schedule("jordan" if coeffs is None else coeffs, steps)
        return _orthogonalize_ns(xp, M, schedule, scale, float(eps), dtype)

    m, n = M.shape[-2], M.shape[-1]
    if m == 0 or n == 0:
        return xp.zeros(M.shape, dtype=M.dtype, device=device_of(M))

    half = is_half(xp, M.dtype)
    W = xp.astype(M, xp.float32) if half else M
    use_qdwh = method == "qdwh" or (method == "polar" and on_gpu(M))
    if use_qdwh:
        wide = m < n
        W = _mT(xp, W) if wide else W
        O = _qdwh(xp, W)
        O = _mT(xp, O) if wide else O
    else:
        run = lambda Wc: _orth_svd(xp, Wc, rtol)  # noqa: E731
        O = batch_parallel(run, W) if use_batch_parallel(xp, W, svd=True) else run(W)
    return xp.astype(O, M.dtype) if half else O
