"""The PyTorch classes against independent references: the functional step run matrix by
matrix by hand, torch.optim.Muon (its own code, Newton–Schulz in float64), torch.optim.AdamW."""

import io
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adago_theory import optim as F  # noqa: E402
from adago_theory.torch_optim import NAMO, NAMOD, AdaGO, Muon, PolarGrad, split_params  # noqa: E402

RULES = [
    (Muon, F.muon, dict(beta=0.9, scale="jordan", weight_decay=0.05), 0.05),
    (AdaGO, F.adago, dict(gamma=2.0, eps=1e-3, beta=0.9), 0.2),
    (NAMO, F.namo, dict(weight_decay=0.1), 0.03),
    (NAMOD, F.namo_d, dict(c=0.5), 0.03),
    (PolarGrad, F.polargrad, dict(beta=0.5), 0.01),
]


def _model(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    # two Linear(12 -> 12) layers share a shape, so they are stepped as one batch
    return torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh(), torch.nn.Linear(12, 12), torch.nn.Tanh(),
                               torch.nn.Linear(12, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3)).to(dtype)


def _grads(model, k, dtype=torch.float64):
    g = torch.Generator().manual_seed(100 + k)
    x = torch.randn(16, 5, generator=g, dtype=dtype)
    model.zero_grad()
    model(x).square().mean().backward()


def _in_lockstep(pairs, ks):
    """Step every (model, optimizer) pair on the gradients of batch k, for each k in ks."""
    for k in ks:
        for model, opt in pairs:
            _grads(model, k)
            opt.step()


def _same_parameters(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("cls,factory,hyper,lr", RULES, ids=[r[0].__name__ for r in RULES])
def test_equals_the_functional_step_matrix_by_matrix(cls, factory, hyper, lr):
    model, ref = _model(), _model()
    opt = cls(model.parameters(), lr=lr, fallback_lr=1e-2, fallback_options={"weight_decay": 0.0}, **hyper)
    f_mat = factory(lr, **hyper)
    # reference for the biases: torch's own AdamW (an independent implementation of the fallback)
    ref_bias = torch.optim.AdamW([p for p in ref.parameters() if p.ndim == 1], lr=1e-2, weight_decay=0.0)
    states = {}
    for k in range(4):
        _grads(model, k)
        _grads(ref, k)
        opt.step()
        with torch.no_grad():
            for name, p in ref.named_parameters():
                if p.ndim == 2:  # one unbatched functional call per matrix
                    s = states.get(name) or f_mat.init(p.detach().clone())
                    X, states[name] = f_mat.step(p.detach().clone(), p.grad.clone(), s)
                    p.copy_(X)
        ref_bias.step()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def _bucket_sizes(model, opt):
    """The number of parameters in each functional call of one ``opt.step()`` (sorted)."""
    calls = []
    real, real_one = opt._step_bucket, opt._step_one

    def spy(group, gi, idx, *a):
        calls.append(len(idx))
        return real(group, gi, idx, *a)

    def spy_one(group, gi, i, *a):
        calls.append(1)
        return real_one(group, gi, i, *a)

    opt._step_bucket, opt._step_one = spy, spy_one
    _grads(model, 0)
    opt.step()
    opt._step_bucket, opt._step_one = real, real_one
    return sorted(calls)


def test_same_shape_matrices_share_one_call():
    model = _model()
    opt = Muon(model.parameters(), lr=0.01)
    # weights 12x5, 12x12 (two), 3x12: 3 calls; the four biases (entrywise AdamW): one call
    assert _bucket_sizes(model, opt) == [1, 1, 2, 4]


def test_large_matrices_are_stepped_one_by_one(monkeypatch):
    from adago_theory.torch_optim import engine

    monkeypatch.setattr(engine, "STACK_MAX_NUMEL", 12 * 12)   # 12x12 matrices: one per call
    model = _model()
    opt = Muon(model.parameters(), lr=0.01)
    assert _bucket_sizes(model, opt) == [1, 1, 1, 1, 4]
    # the same steps as the stacked call (the default for 12x12)
    monkeypatch.setattr(engine, "STACK_MAX_NUMEL", 10**6)
    ref = _model()
    ref_opt = Muon(ref.parameters(), lr=0.01)
    _grads(ref, 0)
    ref_opt.step()
    for k in (1, 2):
        _grads(model, k)
        _grads(ref, k)
        monkeypatch.setattr(engine, "STACK_MAX_NUMEL", 12 * 12)
        opt.step()
        monkeypatch.setattr(engine, "STACK_MAX_NUMEL", 10**6)
        ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


def _ns_float64(self, *args, **kwargs):
    return self.to(torch.float64)


def test_muon_equals_torch_optim_muon_with_float64_newton_schulz():
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("torch.optim.Muon needs torch >= 2.9")
    model, ref = _model(), _model()
    mats = [p for p in model.parameters() if p.ndim == 2]
    rmats = [p for p in ref.parameters() if p.ndim == 2]
    # torch's default adjust_lr_fn ("original") is the toolkit's scale="jordan"; its eps clamps the norm
    # from below, ours is added to it: a tiny eps makes both the plain Frobenius normalisation
    ours = Muon(mats, lr=0.02, beta=0.95, nesterov=True, scale="jordan", weight_decay=0.1)
    theirs = torch.optim.Muon(rmats, lr=0.02, momentum=0.95, nesterov=True, weight_decay=0.1, eps=1e-300)
    for k in range(5):
        _grads(model, k)
        _grads(ref, k)
        ours.step()
        with mock.patch.object(torch.Tensor, "bfloat16", _ns_float64):  # its Newton–Schulz in float64
            theirs.step()
    for p, q in zip(mats, rmats):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-11, atol=1e-13)
    # the closest wrong thing: scale="none" differs on the tall 12x5 layer (sqrt(12/5))
    m2 = _model()
    other = Muon([p for p in m2.parameters() if p.ndim == 2], lr=0.02, scale="none", weight_decay=0.1)
    for k in range(5):
        _grads(m2, k)
        other.step()
    assert not np.allclose(m2[0].weight.detach().numpy(), rmats[0].detach().numpy(), atol=1e-6)


def test_bfloat16_params_step_in_float32():
    model = _model(torch.bfloat16)
    ref = _model(torch.float32)
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters()):
            q.copy_(p.float())
    opt = AdaGO(model.parameters(), lr=0.1, gamma=10.0, eps=1e-3)
    f = F.adago(0.1, gamma=10.0, eps=1e-3)
    _grads(model, 0, torch.bfloat16)
    opt.step()
    w = model[0].weight
    st = opt.state[w]
    assert st["M"].dtype == torch.float32 and st["v_sq"].dtype == torch.float32
    X, _ = f.step(ref[0].weight.detach(), w.grad.float(), f.init(ref[0].weight.detach()))
    assert torch.equal(w.detach(), X.to(torch.bfloat16))
    # load_state_dict keeps the float32 state of bfloat16 parameters
    opt2 = AdaGO(model.parameters(), lr=0.1, gamma=10.0, eps=1e-3)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[w]["M"].dtype == torch.float32
    assert torch.equal(opt2.state[w]["M"], st["M"])


@pytest.mark.parametrize("cls,factory,hyper,lr", RULES, ids=[r[0].__name__ for r in RULES])
def test_state_dict_round_trip(cls, factory, hyper, lr):
    a = _model()
    opt_a = cls(a.parameters(), lr=lr, **hyper)
    for k in range(3):
        _grads(a, k)
        opt_a.step()
    buf = io.BytesIO()
    torch.save({"model": a.state_dict(), "opt": opt_a.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    b = _model(seed=1)
    b.load_state_dict(saved["model"])
    opt_b = cls(b.parameters(), lr=lr, **hyper)
    opt_b.load_state_dict(saved["opt"])
    _in_lockstep([(a, opt_a), (b, opt_b)], range(3, 5))
    assert _same_parameters(a, b)
    # the closest wrong thing: a fresh optimizer (state dropped) lands elsewhere
    c = _model(seed=1)
    c.load_state_dict(saved["model"])
    opt_c = cls(c.parameters(), lr=lr, **hyper)
    for k in range(3, 5):
        _grads(c, k)
        opt_c.step()
    assert not torch.equal(c[0].weight, a[0].weight)


def test_lr_is_read_from_the_group_each_step():
    model = _model()
    opt = Muon(model.parameters(), lr=0.1, orth="svd")
    w0 = model[2].weight.detach().clone()
    opt.param_groups[0]["lr"] = 0.0
    _grads(model, 0)
    opt.step()
    assert torch.equal(model[2].weight, w0)
    opt.param_groups[0]["lr"] = 0.1
    _grads(model, 1)
    opt.step()
    d = (model[2].weight - w0).detach().numpy()
    assert np.allclose(np.linalg.svd(d, compute_uv=False), 0.1, atol=1e-10)  # a spectral step of length lr


def test_batch_dims_treats_leading_axis_as_independent_runs():
    torch.manual_seed(3)
    W = torch.nn.Parameter(torch.randn(3, 6, 4, dtype=torch.float64))
    G = torch.randn(3, 6, 4, dtype=torch.float64)
    G[1] *= 100.0  # a larger gradient in one run: AdaGO's accumulators must stay separate
    opt = AdaGO([W], lr=0.5, gamma=1.0, eps=1e-3, batch_dims=1, orthogonalize=True)
    outs = []
    for s in range(3):
        f = F.adago(0.5, gamma=1.0, eps=1e-3)
        X = W.detach()[s].clone()
        st = f.init(X)
        for _ in range(2):
            X, st = f.step(X, G[s], st)
        outs.append(X)
    for _ in range(2):
        W.grad = G.clone()
        opt.step()
    np.testing.assert_allclose(W.detach().numpy(), torch.stack(outs).numpy(), rtol=1e-12, atol=1e-14)


def test_split_params_embeddings_and_heads():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.body = torch.nn.Linear(4, 4)
            self.head = torch.nn.Linear(4, 10)

    groups = split_params(Net(), fallback_names=("head",))
    assert groups[0]["param_names"] == ["body.weight"] and groups[0]["orthogonalize"] is True
    assert set(groups[1]["param_names"]) == {"emb.weight", "body.bias", "head.weight", "head.bias"}
    opt = Muon(groups, lr=0.01)
    assert [g["orthogonalize"] for g in opt.param_groups] == [True, False]


def test_errors_name_the_parameter():
    m = _model()
    with pytest.raises(ValueError, match=r"parameter '0\.bias'.*not a matrix"):
        Muon([{"params": list(m.named_parameters()), "orthogonalize": True}], lr=0.01)
    with pytest.raises(ValueError, match=r"parameter 1 of group 0.*dtype torch.float32"):
        Muon([m[0].weight, torch.nn.Parameter(torch.zeros(3, 3))], lr=0.01)
    with pytest.raises(ValueError, match=r"parameter 1 of group 0.*meta.*one device"):
        Muon([m[0].weight, torch.nn.Parameter(torch.zeros(3, 3, dtype=torch.float64, device="meta"))], lr=0.01)
    with pytest.raises(ValueError, match=r"lr must be a finite real number >= 0, got -1"):
        AdaGO(m.parameters(), lr=-1, gamma=1.0, eps=0.0)
    with pytest.raises(ValueError, match=r"gamma"):
        AdaGO(m.parameters(), lr=0.1, gamma=0.0, eps=0.0)
    with pytest.raises(ValueError, match=r"fallback must be one of"):
        Muon(m.parameters(), lr=0.1, fallback="lion")
    opt = Muon(m.named_parameters(), lr=0.01)
    _grads(m, 0)
    m[2].weight.grad[0, 0] = float("nan")
    w = m[2].weight.detach().clone()
    with pytest.raises(ValueError, match=r"'2\.weight'.*NaN"):
        opt.step()
    assert torch.equal(m[2].weight, w)
    # a parameter stepped alone (12 x 5: its own shape): named, and neither it nor its momentum moved
    _grads(m, 3)
    opt.step()                                       # (a finite step first: a momentum to protect)
    _grads(m, 1)
    m[0].weight.grad[1, 1] = float("inf")
    w, M = m[0].weight.detach().clone(), opt.state[m[0].weight]["M"].clone()
    with pytest.raises(ValueError, match=r"'0\.weight'.*Inf"):
        opt.step()
    assert torch.equal(m[0].weight, w) and torch.equal(opt.state[m[0].weight]["M"], M)
    with pytest.raises(ValueError, match=r"check_finite must be True or False, got 1"):
        Muon(m.parameters(), lr=0.1, check_finite=1)


def test_check_finite_false_skips_the_screen():
    """check_finite=False is torch.optim's contract: no error, the NaN flows into the step; with the
    screen on the same step raises and moves nothing; finite steps are identical either way."""
    a, b = _model(), _model()
    checked, unchecked = Muon(a.parameters(), lr=0.01), Muon(b.parameters(), lr=0.01, check_finite=False)
    _in_lockstep([(a, checked), (b, unchecked)], range(2))
    assert _same_parameters(a, b)
    _grads(a, 2)
    _grads(b, 2)
    a[2].weight.grad[0, 0] = float("nan")
    b[2].weight.grad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        checked.step()
    unchecked.step()
    assert bool(torch.isnan(b[2].weight).any()) and not bool(torch.isnan(a[2].weight).any())


def test_import_without_torch_says_which_extra(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "import adago_theory\n"
            "try:\n    import adago_theory.torch_optim\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'adago-theory[torch]'" in out
    code2 = "import sys, adago_theory; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_orth_dtype_runs_only_the_orthogonalization_in_that_dtype():
    from adago_theory import orthogonalize

    model, ref = _model(torch.float32), _model(torch.float32)
    ours = Muon([p for p in model.parameters() if p.ndim == 2], lr=0.02, scale="jordan", orth_dtype=torch.bfloat16)
    seen = []

    def orth_bf16(M):  # the reference: the kernel's Newton-Schulz iterating in bfloat16, cast back by hand
        seen.append(M.dtype)
        return orthogonalize(M, "newton-schulz", dtype=torch.bfloat16, check_finite=False).to(M.dtype)

    f = F.muon(0.02, scale="jordan", orth=orth_bf16)
    _grads(model, 0, torch.float32)
    _grads(ref, 0, torch.float32)
    ours.step()
    by_shape = {}                   # the reference steps each shape's matrices as one stack, as the engine does
    for p, q in zip(model.parameters(), ref.parameters()):
        if p.ndim == 2:
            by_shape.setdefault(tuple(p.shape), []).append((p, q))
    for pairs in by_shape.values():
        Xq = torch.stack([q.detach() for _, q in pairs])
        X, st = f.step(Xq, torch.stack([q.grad for _, q in pairs]), f.init(Xq))
        for k, (p, _) in enumerate(pairs):
            assert torch.equal(p.detach(), X[k])
            assert ours.state[p]["M"].dtype == torch.float32        # the state stays in the compute dtype
    assert set(seen) == {torch.float32}
    # the closest wrong thing: float32 Newton-Schulz gives a different step
    m32 = _model(torch.float32)
    o32 = Muon([p for p in m32.parameters() if p.ndim == 2], lr=0.02, scale="jordan")
    _grads(m32, 0, torch.float32)
    o32.step()
    assert not torch.equal(m32[2].weight, model[2].weight)


def _in_bf16_by_hand(orth):
    """The reference of orth_dtype=bfloat16: the orthogonalizer in bfloat16, cast back by hand."""
    from adago_theory import orthogonalize
    from adago_theory.optim import resolve_orth

    if orth == "newton-schulz":
        return lambda M: orthogonalize(M, "newton-schulz", dtype=torch.bfloat16, check_finite=False).to(M.dtype)
    fn = resolve_orth(orth)
    return lambda M: fn(M.to(torch.bfloat16)).to(M.dtype)


_POLAR_FIRST = (PolarGrad, F.polargrad, dict(beta=0.5, polar_first=True), 0.01)


@pytest.mark.parametrize("cls,factory,hyper,lr", RULES + [_POLAR_FIRST],
                         ids=[r[0].__name__ for r in RULES] + ["PolarGrad-polar_first"])
def test_orth_dtype_direction_left_in_bfloat16_is_exact(cls, factory, hyper, lr):
    """The engine leaves an orth_dtype direction in bfloat16 (no cast back): every rule's arithmetic
    promotes it exactly, so the steps equal the functional step with the cast written by hand."""
    import inspect

    model, ref = _model(torch.float32), _model(torch.float32)
    opt = cls(model.parameters(), lr=lr, orth_dtype=torch.bfloat16, fallback_lr=1e-2,
              fallback_options={"weight_decay": 0.0}, **hyper)
    orth = inspect.signature(factory).parameters["orth"].default
    f = factory(lr, **{**hyper, "orth": _in_bf16_by_hand(orth)})
    ref_bias = torch.optim.AdamW([q for q in ref.parameters() if q.ndim == 1], lr=1e-2, weight_decay=0.0)
    states = {}
    for k in range(3):
        _grads(model, k, torch.float32)
        _grads(ref, k, torch.float32)
        opt.step()
        ref_bias.step()
        by_shape = {}                   # the engine steps each shape's matrices as one stack
        for (name, p), q in zip(model.named_parameters(), ref.parameters()):
            if p.ndim == 2:
                by_shape.setdefault(tuple(p.shape), []).append((name, p, q))
        with torch.no_grad():
            for shape, items in by_shape.items():
                Xq = torch.stack([q.detach() for _, _, q in items])
                s = states.get(shape) or f.init(Xq)
                X, states[shape] = f.step(Xq, torch.stack([q.grad for _, _, q in items]), s)
                for j, (name, p, q) in enumerate(items):
                    q.copy_(X[j])
                    assert torch.equal(p.detach(), q.detach()), f"step {k}, {name}"
