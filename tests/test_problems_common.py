r"""Checks every problem generator must pass (one table, parametrized).

* gradients against central finite differences along random directions (float64);
* curvature along random directions never above the stated constants:
  :math:`f(X+D) - f(X) - \langle\nabla f(X), D\rangle \le \tfrac{L_{op}}2\|D\|_{op}^2`,
  :math:`|\cdot| \le \tfrac{L_{fro}}2\|D\|_F^2`, and
  :math:`\|\nabla f(X+D) - \nabla f(X)\|_F \le L_{fro}\|D\|_F` (inside the region where
  the constants are certified);
* stochastic gradients: the sample mean tends to the gradient and the sample
  variance stays within :math:`\sigma^2/b`, with CLT tolerances written below;
* float32 stays float32; NumPy / PyTorch parity (same seed, same data, same values);
* input checks.

Helpers here are imported by the problem-specific test files.
"""

from __future__ import annotations

import numpy as np
import pytest

from adago_theory import to_numpy
from problems import (make_ill_conditioned_quadratic, make_matrix_completion, make_matrix_least_squares,
                      make_matrix_logistic, make_noise_dominated, make_robust_regression,
                      make_teacher_student)

# ---------------------------------------------------------------------------
# helpers (host NumPy float64 unless said otherwise)
# ---------------------------------------------------------------------------


def as_tuple(X):
    return tuple(X) if isinstance(X, (tuple, list)) else (X,)


def like(P, arrays):
    """Host float64 arrays -> the structure P expects (batched, P's backend and dtype)."""
    from problems.base import _move

    out = tuple(_move(np.asarray(a), P.backend, P.xp, P.dtype, P.device) for a in arrays)
    return out if len(P.shapes) > 1 else out[0]


def host(X):
    return tuple(np.asarray(to_numpy(a), dtype=np.float64) for a in as_tuple(X))


def inner(A, B):
    """Sum over blocks of <A_i, B_i>, per run: (R,)."""
    return sum(np.sum(a * b, axis=(-2, -1)) for a, b in zip(A, B))


def fro2(A):
    return sum(np.sum(a * a, axis=(-2, -1)) for a in A)


def op2(A):
    return sum(np.linalg.norm(a, ord=2, axis=(-2, -1)) ** 2 for a in A)


def sample_points(P, rng, R, scale=1.0):
    """Random points inside the region of P's constants (host tuples of (R, m, n))."""
    rng = np.random.default_rng(rng)
    if P.name == "noise_dominated":
        (m, n), = P.shapes
        K, lam = P.info["K"], P.info["lam"]
        X = 0.1 * lam * rng.standard_normal((R, m, n))
        X[:, 0, :K] = lam * rng.uniform(-2.0, 2.0, size=(R, K))
        return (X,)
    base = host(P.initial_point(rng, runs=R))
    pts = tuple(b + 0.3 * scale * rng.standard_normal(b.shape) for b in base)
    return _into_region(P, pts)


def _into_region(P, pts):
    rho = P.info.get("radius")
    if rho is None:
        return pts
    blocks = range(len(pts)) if P.name == "matrix_completion" else (1,)
    out = list(pts)
    for i in blocks:
        s = np.linalg.norm(out[i], ord=2, axis=(-2, -1))[:, None, None]
        out[i] = out[i] * np.minimum(1.0, 0.95 * rho / s)
    return tuple(out)


def directions(P, rng, R, X, scale):
    """Random directions D with X + D still inside the region."""
    rng = np.random.default_rng(rng)
    D = tuple(scale * rng.standard_normal(x.shape) / np.sqrt(x.shape[-1] * x.shape[-2]) for x in X)
    if P.info.get("radius") is None:
        return D
    Y = _into_region(P, tuple(x + d for x, d in zip(X, D)))
    return tuple(y - x for x, y in zip(X, Y))


def f_at(P, X):
    return np.asarray(to_numpy(P.value(like(P, X))), dtype=np.float64)


def g_at(P, X):
    return host(P.grad(like(P, X)))


def clt_check_stochastic(G, G_true, *, V_exact=None, V_bound=None, z=5.0, chi_max=15.0):
    r"""CLT checks on S independent stochastic gradients ``G`` (tuple of (S, ...) arrays) at one point.

    ``G_true`` is the exact gradient there (tuple of (1, ...) arrays).

    * Mean: :math:`S\|\bar g - \nabla f\|^2 / V` is asymptotically a weighted :math:`\chi^2`
      with weights summing to 1 (mean 1); even for a single direction
      (:math:`\chi^2_1`) :math:`P(> 15) \approx 10^{-4}`.  We use the empirical
      :math:`\hat V` in place of :math:`V`.
    * Variance: :math:`\hat V = \frac1S\sum_s\|g_s - \nabla f\|^2` has standard error
      :math:`\hat s/\sqrt S` (:math:`\hat s` the sample std of :math:`\|g_s-\nabla f\|^2`; needs a
      finite fourth moment), so :math:`|\hat V - V| \le z\,\hat s/\sqrt S` with :math:`z = 5`.
    """
    S = G[0].shape[0]
    dev2 = sum(np.sum((g - gt) ** 2, axis=tuple(range(1, g.ndim))) for g, gt in zip(G, G_true))
    V_hat = float(np.mean(dev2))
    se = float(np.std(dev2)) / np.sqrt(S)
    err2 = sum(float(np.sum((g.mean(axis=0) - gt[0]) ** 2)) for g, gt in zip(G, G_true))
    rounding = 1e-24 * (1.0 + sum(float(np.sum(gt * gt)) for gt in G_true))
    assert S * err2 <= chi_max * V_hat + S * rounding, f"biased: S*|mean-grad|^2 = {S * err2:.4g} vs V_hat = {V_hat:.4g}"
    if V_exact is not None:
        assert abs(V_hat - V_exact) <= z * se + 1e-12 * V_exact, (V_hat, V_exact, se)
    if V_bound is not None:
        assert V_hat <= V_bound + z * se, (V_hat, V_bound, se)
    return V_hat, se


# ---------------------------------------------------------------------------
# the table: small, fast instances exercising every option that changes code paths
# ---------------------------------------------------------------------------

CASES = {
    "ls": lambda **kw: make_matrix_least_squares(5, 3, p=7, q=4, kappa_A=10.0, kappa_B=3.0, f_star=0.7,
                                                 sigma2=0.5, rng=1, **kw),
    "ls_student_t": lambda **kw: make_matrix_least_squares(4, 4, kappa_A=4.0, spectrum="linear", sigma2=2.0,
                                                           noise="student_t", nu=9.0, rng=2, **kw),
    "robust_cauchy": lambda **kw: make_robust_regression(5, 3, p=7, q=4, kappa_A=5.0, outlier_fraction=0.2,
                                                         outlier_scale=3.0, sigma2=0.3, rng=3, **kw),
    "robust_gm": lambda **kw: make_robust_regression(4, 3, loss="geman_mcclure", delta=0.5, spectrum="clustered",
                                                     rng=4, **kw),
    "completion": lambda **kw: make_matrix_completion(8, 6, 2, kappa=4.0, observed_fraction=0.5, factor_rank=3,
                                                      sigma2=0.2, rng=5, **kw),
    "logistic": lambda **kw: make_matrix_logistic(4, 3, n_samples=40, n_outputs=6, kappa_A=5.0, kappa_B=2.0,
                                                  lam=0.1, rng=6, **kw),
    "teacher_student": lambda **kw: make_teacher_student(5, 4, 2, n_samples=30, kappa_1=4.0, kappa_2=2.0,
                                                         rng=7, **kw),
    "quadratic": lambda **kw: make_ill_conditioned_quadratic(3, 4, kappa=100.0, n_samples=50, rng=8, **kw),
    "noise_dominated": lambda **kw: make_noise_dominated(2000, m=2, **kw),
}

_cache = {}


def case(name):
    if name not in _cache:
        _cache[name] = CASES[name]()
    return _cache[name]


NAMES = list(CASES)


# ---------------------------------------------------------------------------
# generic tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    P = case(name)
    R = 6
    X = sample_points(P, 10, R)
    D = directions(P, 11, R, X, 1.0)
    nD = np.sqrt(fro2(D))[:, None, None]
    D = tuple(d / nD for d in D)
    G = g_at(P, X)
    for h in (1e-4, 1e-5):
        fp = f_at(P, tuple(x + h * d for x, d in zip(X, D)))
        fm = f_at(P, tuple(x - h * d for x, d in zip(X, D)))
        fd = (fp - fm) / (2 * h)
        an = inner(G, D)
        # central differences: truncation O(h^2 |f'''|), rounding O(eps |f| / h)
        scale = np.abs(an) + np.sqrt(fro2(G)) + 1e-3 * np.abs(f_at(P, X)) + 1e-12
        np.testing.assert_array_less(np.abs(fd - an) / scale, 2e-6)


@pytest.mark.parametrize("scale", [1e-2, 1.0, 10.0])
@pytest.mark.parametrize("name", NAMES)
def test_curvature_never_exceeds_stated_constants(name, scale):
    P = case(name)
    c = P.constants
    R = 40
    X = sample_points(P, 20, R, scale=scale)
    D = directions(P, 21, R, X, scale)
    XD = tuple(x + d for x, d in zip(X, D))
    if P.info.get("radius") is not None:
        assert bool(np.all(to_numpy(P.contains(like(P, X))))) and bool(np.all(to_numpy(P.contains(like(P, XD)))))
    f0, f1 = f_at(P, X), f_at(P, XD)
    G0, G1 = g_at(P, X), g_at(P, XD)
    gap = f1 - f0 - inner(G0, D)
    tol = 1e-9 * (np.abs(f0) + np.abs(f1) + 1.0)
    assert np.all(gap <= 0.5 * c.L_op * op2(D) + tol)
    assert np.all(np.abs(gap) <= 0.5 * c.L_fro * fro2(D) + tol)
    dG = np.sqrt(fro2(tuple(a - b for a, b in zip(G1, G0))))
    assert np.all(dG <= c.L_fro * np.sqrt(fro2(D)) * (1 + 1e-9) + 1e-12)
    if c.mu is not None:  # strong convexity from below
        assert np.all(gap >= 0.5 * c.mu * fro2(D) - tol)


@pytest.mark.parametrize("name", NAMES)
def test_stochastic_gradient_unbiased_with_bounded_variance(name):
    P = case(name)
    S = 3000
    X1 = sample_points(P, 30, 1)
    X = tuple(np.repeat(x, S, axis=0) for x in X1)
    for b in (1, 3):
        G = host(P.stochastic_grad(like(P, X), 31 + b, batch_size=b))
        clt_check_stochastic(G, g_at(P, X1), V_bound=P.constants.sigma2 / b)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    P64 = case(name)
    P = P64.to(dtype="float32")
    assert P.dtype == np.float32 and P.constants == P64.constants
    X = P.initial_point(0, runs=2)
    X = like(P, sample_points(P64, 40, 2))
    v, G, S = P.value(X), P.grad(X), P.stochastic_grad(X, 1)
    assert v.dtype == np.float32 and v.shape == (2,)
    for a in as_tuple(G) + as_tuple(S) + as_tuple(P.initial_point(3, runs=2)):
        assert a.dtype == np.float32
    v64 = f_at(P64, host(X))
    np.testing.assert_allclose(np.asarray(v, dtype=np.float64), v64, rtol=2e-4, atol=1e-5 * (1 + np.abs(v64).max()))


@pytest.mark.parametrize("name", NAMES)
def test_backend_parity_same_seed_same_problem(name, backend):
    """Built directly on the backend and moved with .to(): the same data, values and draws as NumPy."""
    P = case(name)
    Pb = CASES[name](backend=backend.name)
    Pm = P.to(backend=backend.name)
    for k, v in P.host.items():
        np.testing.assert_array_equal(to_numpy(Pb.data[k]), v)
        np.testing.assert_array_equal(to_numpy(Pm.data[k]), v)
    assert Pb.constants == P.constants
    X0 = P.initial_point(5, runs=3)
    for a, b in zip(as_tuple(X0), as_tuple(Pb.initial_point(5, runs=3))):
        np.testing.assert_array_equal(to_numpy(b), a)
    X = sample_points(P, 50, 3)
    Xb = like(Pb, X)
    np.testing.assert_allclose(to_numpy(Pb.value(Xb)), f_at(P, X), rtol=1e-12, atol=1e-12)
    for a, b in zip(g_at(P, X), host(Pb.grad(Xb))):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12 * (1 + np.abs(a).max()))
    Sb = host(Pb.stochastic_grad(Xb, 7, batch_size=2))
    S = host(P.stochastic_grad(like(P, X), 7, batch_size=2))
    if backend.name in ("numpy", "torch"):  # both draw on the host from the same NumPy Generator
        for a, b in zip(S, Sb):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12 * (1 + np.abs(a).max()))


@pytest.mark.parametrize("name", NAMES)
def test_unbatched_input_and_determinism(name):
    P = case(name)
    X = sample_points(P, 60, 1)
    Xb = like(P, X)
    Xu = tuple(a[0] for a in as_tuple(Xb))
    Xu = Xu if len(P.shapes) > 1 else Xu[0]
    vu = P.value(Xu)
    assert np.ndim(vu) == 0
    np.testing.assert_allclose(float(vu), f_at(P, X)[0], rtol=1e-14)
    for a, b in zip(as_tuple(P.grad(Xu)), g_at(P, X)):
        assert a.shape == b.shape[1:]
        np.testing.assert_allclose(a, b[0], rtol=1e-13, atol=1e-15)
    again = CASES[name]()
    for k, v in P.host.items():
        np.testing.assert_array_equal(again.host[k], v)
    assert [tuple(a.shape)[1:] for a in as_tuple(P.initial_point(0, runs=4))] == [tuple(s) for s in P.shapes]


@pytest.mark.parametrize("name", NAMES)
def test_bad_points_and_arguments_raise(name):
    P = case(name)
    X = P.initial_point(0, runs=2)
    with pytest.raises(ValueError, match="batch_size"):
        P.stochastic_grad(X, 0, batch_size=0)
    with pytest.raises(ValueError, match="runs"):
        P.initial_point(0, runs=0)
    with pytest.raises(TypeError, match="dtype"):
        P.value(tuple(a.astype(np.float32) for a in as_tuple(X)) if len(P.shapes) > 1 else X.astype(np.float32))
    bad = tuple(a[..., :-1] for a in as_tuple(X))
    with pytest.raises(ValueError, match="shape"):
        P.grad(bad if len(P.shapes) > 1 else bad[0])
    with pytest.raises(ValueError, match="backend"):
        P.to(backend="jax")
    with pytest.raises(ValueError, match="dtype"):
        P.to(dtype="int32")


def test_wrong_backend_is_a_type_error():
    torch = pytest.importorskip("torch")
    P = case("ls")
    with pytest.raises(TypeError, match="torch"):
        P.value(torch.zeros((1,) + P.shapes[0], dtype=torch.float64))


def test_registry_is_what_the_shell_finds():
    from adago_theory.app.sweep.registry import get_problem_factory

    from problems import PROBLEMS

    for name, fn in PROBLEMS.items():
        assert get_problem_factory(name) is fn
        assert fn.__doc__ and ".. math::" in fn.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_runs_through_adago_theory_run(name):
    """The problems are usable by ``adago_theory.run`` (deterministic and stochastic)."""
    run_mod = pytest.importorskip("adago_theory.run")
    optim = pytest.importorskip("adago_theory.optim")
    P = case(name)
    opt = optim.adago(0.05, gamma=10.0, eps=1e-4)
    tr = run_mod.run(opt, P, 5, seeds=(0, 1))
    assert tr.f.shape == (6, 2) and np.all(np.isfinite(tr.f))
    tr = run_mod.run(opt, P, 5, seeds=(0, 1), stochastic=True, batch_size=2)
    assert np.all(np.isfinite(tr.f))


# ---------------------------------------------------------------------------
# bad input common to every generator: rng, sizes, conditioning beyond the dtype
# ---------------------------------------------------------------------------

_SMALL = {
    "ls": (make_matrix_least_squares, dict(m=4, n=3)),
    "robust": (make_robust_regression, dict(m=4, n=3)),
    "completion": (make_matrix_completion, dict(m=6, n=5, rank=2)),
    "logistic": (make_matrix_logistic, dict(m=4, n=3, solve=False)),
    "teacher_student": (make_teacher_student, dict(d=4, h=3, k=2, n_samples=10)),
    "quadratic": (make_ill_conditioned_quadratic, dict(m=3, n=3, n_samples=10)),
    "noise_dominated": (make_noise_dominated, dict(T=2000, m=2)),
}


@pytest.mark.parametrize("rng", ["abc", 2.5, -1])
@pytest.mark.parametrize("name", list(_SMALL))
def test_bad_rng_names_rng(name, rng):
    make, kw = _SMALL[name]
    with pytest.raises(TypeError, match="^rng must be None, a non-negative int seed or a numpy.random.Generator"):
        make(**kw, rng=rng)


@pytest.mark.parametrize("name, size", [("ls", "m"), ("ls", "n"), ("robust", "m"), ("completion", "n"),
                                        ("logistic", "m"), ("teacher_student", "d"), ("teacher_student", "h"),
                                        ("quadratic", "n"), ("noise_dominated", "m")])
@pytest.mark.parametrize("value", [0, -3, 2.5, "4"])
def test_bad_sizes_name_the_parameter_and_range(name, size, value):
    make, kw = _SMALL[name]
    # the project's one contract (adago_theory.checks): a value of the wrong type is a TypeError, a value
    # of the right type out of range a ValueError; both name the parameter and the range
    exc = TypeError if isinstance(value, (float, str)) else ValueError
    with pytest.raises(exc, match=rf"^{size} must be an integer( >= 1| in \[1, [0-9]+\])?, got"):
        make(**{**kw, size: value}, rng=0)


@pytest.mark.parametrize("name, kw, dtype, label", [
    ("ls", dict(kappa_A=1e8), "float64", r"\(kappa_A\*kappa_B\)\^2"),
    ("robust", dict(kappa_B=1e3), "float32", r"\(kappa_A\*kappa_B\)\^2"),
    ("logistic", dict(kappa_A=1e20), "float64", r"\(kappa_A\*kappa_B\)\^2"),
    ("completion", dict(kappa=1e15), "float64", "kappa"),
    ("completion", dict(kappa=1e6), "float32", "kappa"),
    ("teacher_student", dict(kappa_1=1e15), "float64", "kappa_1"),
    ("teacher_student", dict(kappa_2=200.0), "float16", "kappa_2"),
    ("quadratic", dict(kappa=1e300), "float64", "kappa"),
    ("quadratic", dict(), "float16", "kappa"),        # the default 1e4 is beyond float16
])
def test_conditioning_beyond_the_dtype_is_refused(name, kw, dtype, label):
    make, base = _SMALL[name]
    with pytest.raises(ValueError, match=rf"^{label} must be in \[1, [0-9.e+]+\] for dtype {dtype}"):
        make(**base, **kw, dtype=dtype, rng=0)


@pytest.mark.parametrize("name", ["ls", "robust", "logistic", "completion", "teacher_student", "quadratic"])
def test_conditioning_at_the_limit_is_accepted_and_realized(name):
    from problems.base import kappa_limit

    make, base = _SMALL[name]
    lim = kappa_limit("float64")
    kw = {"ls": dict(kappa_A=0.9 * lim ** 0.5), "robust": dict(kappa_B=0.9 * lim ** 0.5, kappa_A=1.0),
          "logistic": dict(kappa_A=0.9 * lim ** 0.5), "completion": dict(kappa=0.9 * lim),
          "teacher_student": dict(kappa_1=0.9 * lim), "quadratic": dict(kappa=0.9 * lim)}[name]
    P = make(**base, **kw, rng=0)
    requested = next(iter(kw.values()))
    realized = {"ls": "A", "robust": "B", "logistic": "A", "completion": "M", "teacher_student": "W1",
                "quadratic": "H"}[name]
    assert abs(P.constants.kappa[realized] / requested - 1) <= 0.02


def test_quadratic_constants_agree_with_each_other():
    P = make_ill_conditioned_quadratic(3, 3, kappa=1e13, n_samples=10, rng=0)
    c = P.constants
    assert c.kappa["H"] == pytest.approx(c.L_fro / c.mu, rel=1e-14)
