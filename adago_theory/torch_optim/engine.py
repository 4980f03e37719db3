r"""The engine of the PyTorch classes: bucket, stack, one functional step, unstack.

For every parameter group, the parameters that have a gradient are put in buckets of equal
(rule, shape, step count); each bucket of small matrices (below ``STACK_MAX_NUMEL`` entries) is
one call of the toolkit's pure step, a larger matrix is a call of its own, and all the
non-matrix parameters of a group (same step count) are one call of the entrywise fallback,
concatenated along their last axis:

.. math::

    (X_{1..R},\ \text{state}_{1..R}) \mapsto \text{opt.step}(X, G, \text{state})

on the stacked tensors ``X = stack(params)``, ``G = stack(grads)`` (leading axis = the
independent matrices, exactly the toolkit's batch convention), after which the new
parameters are copied back and the new state is kept per parameter as views of the batch
(of the concatenation for the fallback; the next step finds the batch again without a copy)
(``self.state[p]`` holds the fields of the toolkit's state NamedTuple, so ``state_dict`` and
``load_state_dict`` work as for any torch optimizer).  The engine owns these arrays and
*donates* them to the step (:class:`~adago_theory.optim.donation.donating`): the momentum is
updated in place and a parameter stepped alone is written in place, with no copy back — the
pure step's operations on the engine's buffers, equal to it bit for bit.

Precision.  The step runs in ``compute_dtype``: by default the parameter dtype for float32
and float64 parameters and **float32 for bfloat16 / float16 parameters** (momentum, step
sizes and the orthogonalization all in float32; the state is stored in float32; the new
parameter is rounded to the parameter dtype when copied back).
"""

from __future__ import annotations

import math

import torch

from ..orthogonalize import newton_schulz_in_dtype
from ..optim import OPTIMIZERS, NonFiniteGradientError, donating, resolve_orth

__all__ = ["KernelOptimizer", "split_params", "FALLBACKS"]

#: Names of the fallback rules (toolkit factories applied entrywise to non-matrix parameters).
FALLBACKS = ("adamw", "sgd")

_ENGINE_KEYS = ("lr", "orthogonalize", "fallback", "fallback_lr", "fallback_options", "compute_dtype",
                "orth_dtype", "batch_dims", "check_finite")
_HALF = (torch.bfloat16, torch.float16)

#: Equal-shape matrix parameters with fewer entries than this (all runs of a ``batch_dims``
#: parameter counted) are stacked into one functional call; larger ones are stepped one by one
#: (each a view of its parameter: no copy).  Stacking saves the per-call overhead of many small
#: matrices; for large ones it only adds the copies and pushes the element-wise passes out of the
#: cache.  Measured 2026-12-02 (torch 2.13, one CPU thread, 4 equal matrices, Muon): stacking took
#: 0.12-0.92x the one-by-one time up to 256x256 and 1.08-1.28x from 362x362 (bfloat16 and float32
#: Newton-Schulz); see docs/performance.md, ``bench train``.
STACK_MAX_NUMEL = 100_000


def _describe(group, gi, i, p):
    names = group.get("param_names")
    if names is not None and i < len(names):
        return f"parameter {names[i]!r} (shape {tuple(p.shape)}, group {gi})"
    return f"parameter {i} of group {gi} (shape {tuple(p.shape)})"


class KernelOptimizer(torch.optim.Optimizer):
    r"""A :class:`torch.optim.Optimizer` whose step is a toolkit factory's functional step.

    Parameters
    ----------
    params : iterable
        Parameters, ``(name, parameter)`` pairs (``model.named_parameters()``: errors then
        name the parameter) or parameter groups (dicts; any option below may be set per group).
    rule : str
        The toolkit factory (a key of :data:`adago_theory.optim.OPTIMIZERS`) of the matrix
        parameters.
    lr : float
        :math:`\eta` of the rule, read from ``group["lr"]`` at every step (so learning-rate
        schedulers work).
    hyper : dict
        The rule's other keyword arguments (validated now by the factory).
    orthogonalize : bool or None, default None
        None: matrices (``ndim == 2 + batch_dims``) go to the rule, the rest to the fallback;
        True: every parameter of the group must be a matrix (else ``ValueError`` naming it);
        False: the whole group goes to the fallback (embeddings, heads).
    fallback : {"adamw", "sgd"}, default "adamw"
        The toolkit rule for non-matrix parameters, applied entrywise (the parameter is
        viewed as a ``(1, numel)`` matrix).
    fallback_lr : float, default 1e-3
        Its learning rate (``group["fallback_lr"]``).
    fallback_options : dict, optional
        Its other keyword arguments (e.g. ``{"weight_decay": 0.0}``).
    compute_dtype : torch.dtype, optional
        The dtype of the step and of the state (default: float32 for half parameters, else
        the parameter dtype).
    orth_dtype : torch.dtype, optional
        Run only the orthogonalization in this dtype (the input is cast to it and the result
        back to the compute dtype), e.g. ``torch.bfloat16`` as in Muon's reference code and
        ``torch.optim.Muon`` (on CPUs with AMX and on GPUs a bfloat16 product is several times
        faster).  Default: the compute dtype.
    batch_dims : int, default 0
        Leading axes of every parameter that index independent runs (a model replicated over
        seeds): a ``(S, m, n)`` parameter is then ``S`` matrices with their own step sizes.
    check_finite : bool, default True
        Screen every parameter and gradient for NaN/Inf before stepping (two reductions per
        bucket; :class:`~adago_theory.optim.NonFiniteGradientError` naming the parameter, and no
        parameter of its bucket stepped).  False skips the screen, as ``torch.optim`` does and as
        SciPy's ``check_finite=False``: faster, but a NaN gradient then flows into the state and
        the parameters.

    Raises
    ------
    ValueError
        A group mixes devices or dtypes; a non-matrix parameter in a group with
        ``orthogonalize=True``; an unknown fallback; a hyperparameter out of range (the
        factory's message).
    """

    def __init__(self, params, rule, *, lr, hyper=None, orthogonalize=None, fallback="adamw", fallback_lr=1e-3,
                 fallback_options=None, compute_dtype=None, orth_dtype=None, batch_dims=0, check_finite=True):
        if rule not in OPTIMIZERS:
            raise ValueError(f"rule must be one of {sorted(OPTIMIZERS)}, got {rule!r}")
        self._rule = rule
        self._cache = {}
        defaults = dict(hyper or {})
        defaults.update(lr=lr, orthogonalize=orthogonalize, fallback=fallback, fallback_lr=fallback_lr,
                        fallback_options=dict(fallback_options or {}), compute_dtype=compute_dtype,
                        orth_dtype=orth_dtype, batch_dims=batch_dims, check_finite=check_finite)
        super().__init__(params, defaults)

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        gi = len(self.param_groups) - 1
        group = self.param_groups[gi]
        self._check_group(group, gi)
        self._rules(group)  # validates the hyperparameters now

    def _check_group(self, group, gi):
        orth = group["orthogonalize"]
        if orth not in (None, True, False):
            raise ValueError(f"orthogonalize must be None, True or False, got {orth!r} (group {gi})")
        if group["fallback"] not in FALLBACKS:
            raise ValueError(f"fallback must be one of {list(FALLBACKS)}, got {group['fallback']!r} (group {gi})")
        if not isinstance(group["check_finite"], bool):
            raise ValueError(f"check_finite must be True or False, got {group['check_finite']!r} (group {gi})")
        bd = group["batch_dims"]
        if isinstance(bd, bool) or not isinstance(bd, int) or bd < 0:
            raise ValueError(f"batch_dims must be an integer >= 0, got {bd!r} (group {gi})")
        cd = group["compute_dtype"]
        if cd is not None and cd not in (torch.float32, torch.float64):
            raise ValueError(f"compute_dtype must be None, torch.float32 or torch.float64, got {cd!r} (group {gi})")
        od = group["orth_dtype"]
        if od is not None and od not in (torch.bfloat16, torch.float16, torch.float32, torch.float64):
            raise ValueError(f"orth_dtype must be None or a torch floating dtype, got {od!r} (group {gi})")
        for key in ("lr", "fallback_lr"):
            v = group[key]
            try:
                ok = not isinstance(v, bool) and math.isfinite(float(v)) and float(v) >= 0.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{key} must be a finite real number >= 0, got {v!r} (group {gi})")
        params = group["params"]
        if not params:
            return
        p0 = params[0]
        for i, p in enumerate(params):
            what = _describe(group, gi, i, p)
            if not p.is_floating_point():
                raise ValueError(f"{what} has dtype {p.dtype}; the optimizer needs real floating parameters")
            if p.device != p0.device:
                raise ValueError(f"{what} is on {p.device} but the group's first parameter is on {p0.device}; "
                                 "one group must live on one device")
            if p.dtype != p0.dtype:
                raise ValueError(f"{what} has dtype {p.dtype} but the group's first parameter has {p0.dtype}; "
                                 "one group must have one dtype (put the others in their own group)")
            if orth is True and p.ndim != 2 + bd:
                raise ValueError(
                    f"{what} is not a matrix (ndim={p.ndim}, expected {2 + bd} with batch_dims={bd}); "
                    f"the orthogonalized rule {self._rule!r} takes matrices only: put it in a group with "
                    "orthogonalize=False (the fallback) or leave orthogonalize=None")

    def _hyper(self, group):
        return {k: v for k, v in group.items() if k not in _ENGINE_KEYS and k not in ("params", "param_names")}

    def _rules(self, group):
        """The two toolkit optimizers of a group (rule, fallback), rebuilt when its options change."""
        hyper, fb_opts = self._hyper(group), group["fallback_options"]
        od = group["orth_dtype"]
        key = (repr(sorted(hyper.items())), group["fallback"], repr(sorted(fb_opts.items())), od)
        hit = self._cache.get(id(group))
        if hit is not None and hit[0] is group and hit[1] == key:
            return hit[2]
        if od is not None and "orth" in hyper:
            hyper["orth"] = _in_dtype(resolve_orth(hyper["orth"]), od)
        main = OPTIMIZERS[self._rule](lambda t: float(group["lr"]), **hyper)
        fb = OPTIMIZERS[group["fallback"]](lambda t: float(group["fallback_lr"]), **fb_opts)
        probe = torch.zeros(2, 2)
        rules = {True: (main, type(main.init(probe))), False: (fb, type(fb.init(probe)))}
        self._cache[id(group)] = (group, key, rules)
        return rules

    def _is_matrix(self, group, p):
        orth = group["orthogonalize"]
        if orth is None:
            return p.ndim == 2 + group["batch_dims"]
        return bool(orth)

    # ------------------------------------------------------------------ step

    @torch.no_grad()
    def step(self, closure=None):
        """One step of every parameter that has a gradient; returns the closure's loss (if any)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            rules = self._rules(group)
            bd = group["batch_dims"]
            buckets = {}
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError(f"{_describe(group, gi, i, p)} has a sparse gradient; not supported")
                is_mat = self._is_matrix(group, p)
                count = self.state[p].get("count", 0)
                # matrices: one bucket per shape; the entrywise fallback: one per run-axes shape
                shape = tuple(p.shape) if is_mat else (tuple(p.shape[:bd]) if p.ndim >= bd else ())
                buckets.setdefault((is_mat, shape, count), []).append(i)
            for (is_mat, shape, _), idx in buckets.items():
                opt, cls = rules[is_mat]
                if not is_mat:
                    self._step_bucket(group, gi, idx, opt, cls, is_mat)
                    continue
                if len(idx) > 1 and math.prod(shape) < STACK_MAX_NUMEL:   # entries of one parameter (all runs)
                    self._step_bucket(group, gi, idx, opt, cls, is_mat)
                else:
                    for i in idx:
                        self._step_one(group, gi, i, opt, cls)
        return loss

    def _step_one(self, group, gi, i, opt, cls):
        """A matrix parameter stepped alone: :meth:`_step_bucket` for one parameter, with no stacking.

        ``X`` is a view of the parameter (a copy in the compute dtype for half parameters) with a
        leading axis of one run, the state the stored tensors seen the same way; the step writes
        both in place (donation), so nothing is copied back unless the dtype differs.
        """
        p = group["params"][i]
        s = self.state[p]
        cdt = group["compute_dtype"] or (torch.float32 if p.dtype in _HALF else p.dtype)
        X = p.detach()
        X = (X if X.dtype == cdt else X.to(cdt)).unsqueeze(0)
        G = p.grad
        G = (G if G.dtype == cdt else G.to(cdt)).unsqueeze(0)
        if s:
            state = cls._make([v.unsqueeze(0) if isinstance(v, torch.Tensor) else v
                               for v in map(s.__getitem__, cls._fields)])
        else:
            state = opt.init(X)
        try:
            with donating(X, *state, finite=() if group["check_finite"] else (X, G)):
                X_new, new = opt.step(X, G, state)
        except NonFiniteGradientError:
            raise NonFiniteGradientError(
                f"the gradient of {_describe(group, gi, i, p)} contains NaN or Inf entries; it was not stepped"
            ) from None
        if not (X_new.data_ptr() == p.data_ptr() and X_new.dtype == p.dtype):
            p.copy_(X_new[0])
        for f, v in zip(cls._fields, new):
            s[f] = v[0] if isinstance(v, torch.Tensor) else v

    def _step_bucket(self, group, gi, idx, opt, cls, is_mat):
        ps = [group["params"][i] for i in idx]
        p0 = ps[0]
        cdt = group["compute_dtype"] or (torch.float32 if p0.dtype in _HALF else p0.dtype)
        bd = group["batch_dims"]
        states = [self.state[p] for p in ps]
        if is_mat:                                   # (R, ..., m, n): equal shapes stacked
            X = _batch([p.detach().to(cdt) for p in ps])
            G = _batch([p.grad.to(cdt) for p in ps])
            state = opt.init(X) if not states[0] else cls(**{f: _stack([s[f] for s in states])
                                                             for f in cls._fields})
        else:                                        # (..., 1, N): the entrywise fallback, concatenated
            X = _concat([_row(p.detach().to(cdt), bd) for p in ps])
            G = _concat([_row(p.grad.to(cdt), bd) for p in ps])
            state = opt.init(X) if not states[0] else cls(**{f: _join([s[f] for s in states], X.ndim)
                                                             for f in cls._fields})
        try:
            # X (a view of the parameter, or the engine's own stack or copy) and the state (the
            # engine's) are donated: the momentum is updated in place and the iterate written into
            # X, as torch's optimizers do; the arithmetic and the bits are the pure step's.
            with donating(X, *state, finite=() if group["check_finite"] else (X, G)):
                X_new, new = opt.step(X, G, state)
        except NonFiniteGradientError:
            bad = [_describe(group, gi, i, p) for i, p in zip(idx, ps) if not bool(torch.isfinite(p.grad).all())]
            raise NonFiniteGradientError(
                f"the gradient of {', '.join(bad)} contains NaN or Inf entries; no parameter of its bucket "
                "was stepped") from None
        if is_mat:                                   # (a parameter alone in its bucket goes to _step_one)
            for k, p in enumerate(ps):
                p.copy_(X_new[k])
            split = lambda v: v.unbind(0)  # noqa: E731
        else:
            widths = [_row_width(p, bd) for p in ps]
            for p, part in zip(ps, _split(X_new, widths, X_new.ndim)):
                p.copy_(part.reshape(p.shape))
            split = lambda v: _split(v, widths, X_new.ndim)  # noqa: E731
        for f in cls._fields:
            v = getattr(new, f)
            parts = [v] * len(ps) if (v is None or isinstance(v, (int, float))) else split(v)
            for s, part in zip(states, parts):
                s[f] = part

    # ------------------------------------------------------------------ state dict

    def load_state_dict(self, state_dict):
        """Load a state dict, keeping the saved state dtypes (float32 state of bf16 parameters stays float32)."""
        super().load_state_dict(state_dict)
        params = [p for g in self.param_groups for p in g["params"]]
        for pid, saved in state_dict["state"].items():
            p = params[pid] if isinstance(pid, int) else None
            if p is None or p not in self.state:
                continue
            for k, v in saved.items():
                if isinstance(v, torch.Tensor):
                    self.state[p][k] = v.to(device=p.device, dtype=v.dtype, copy=True)
        self._cache.clear()


def _in_dtype(orth_fn, dtype):
    """``M -> orth_fn(M in dtype)``, the direction left in ``dtype``.

    The kernel's Newton–Schulz takes the dtype itself (``orthogonalize(..., dtype=)``: the
    norm taken in ``M``'s precision, no float32 quotient); any other orthogonalizer gets a copy of
    ``M`` in ``dtype``.  The direction is not cast back: the factories' arithmetic on it
    (``descend``'s ``torch.add``, products with float32 step sizes, :func:`ema`) promotes it to
    the compute dtype exactly, which is what the cast would do, without its pass.
    """
    ns = newton_schulz_in_dtype(orth_fn, dtype)
    if ns is not None:
        return ns

    def orth_in_dtype(M):
        return orth_fn(M.to(dtype))

    return orth_in_dtype


def _stack(vals):
    """``torch.stack(vals)``, or the tensor they are views of when they are its rows in order (no copy)."""
    v0 = vals[0]
    if v0 is None or isinstance(v0, (int, float)):
        if any(v != v0 for v in vals):
            raise RuntimeError("internal: a bucket mixes step counts")
        return v0
    base = v0._base
    if (base is not None and base.shape[0] == len(vals) and tuple(base.shape[1:]) == tuple(v0.shape)
            and base.is_contiguous()):
        off, stride = base.storage_offset(), base.stride(0)
        if all(v._base is base and v.storage_offset() == off + k * stride for k, v in enumerate(vals)):
            return base
    return _batch(vals)


def _row(t, bd):
    """A non-matrix parameter as the ``lead + (1, numel)`` row the entrywise fallback steps."""
    lead = tuple(t.shape[:bd]) if t.ndim >= bd else ()
    return t.reshape(lead + (1, -1))


def _row_width(p, bd):
    lead = p.shape[:bd] if p.ndim >= bd else ()
    return p.numel() // max(1, math.prod(lead))


def _concat(rows):
    """The rows side by side (last axis); a view for a single one."""
    return rows[0] if len(rows) == 1 else torch.cat(rows, dim=-1)


def _split(v, widths, ndim):
    """Inverse of :func:`_concat` for a state field: entry fields (``ndim`` axes) are cut into views
    along the last axis; per-run fields (fewer axes, e.g. ``alpha``) are shared by every part."""
    if v.ndim != ndim:
        return [v] * len(widths)
    return v.split(widths, dim=-1) if len(widths) > 1 else [v]


def _join(vals, ndim):
    """Inverse of :func:`_split`: the base tensor when the parts are its consecutive column blocks
    (the state kept from the previous step: no copy), else their concatenation."""
    v0 = vals[0]
    if v0 is None or isinstance(v0, (int, float)):
        if any(v != v0 for v in vals):
            raise RuntimeError("internal: a bucket mixes step counts")
        return v0
    if v0.ndim != ndim or len(vals) == 1:
        return v0
    base = v0._base
    if (base is not None and base.is_contiguous() and base.shape[:-1] == v0.shape[:-1]
            and base.shape[-1] == sum(v.shape[-1] for v in vals)):
        off = base.storage_offset()
        for v in vals:
            if v._base is not base or v.storage_offset() != off:
                break
            off += v.shape[-1]
        else:
            return base
    return torch.cat(vals, dim=-1)


def _batch(ts):
    """``torch.stack(ts)``; a view for a single tensor (the kernel's steps never write their inputs)."""
    return ts[0].unsqueeze(0) if len(ts) == 1 else torch.stack(ts)


def split_params(model, *, fallback_names=(), fallback_types=(torch.nn.Embedding,)):
    r"""Parameter groups with the split Muon users expect.

    Matrix parameters go to a group with ``orthogonalize=True``; the others — biases and gains,
    every parameter of a module of one of ``fallback_types`` (embeddings by default) and every
    parameter whose name contains one of ``fallback_names`` (e.g. ``("head",)``) — to a group with
    ``orthogonalize=False``.  Both groups carry the parameter names.

    Returns
    -------
    list of dict
        ``[{"params", "param_names", "orthogonalize": True}, {..., "orthogonalize": False}]``
        (empty groups left out).
    """
    odd = set()
    for mname, mod in model.named_modules():
        if fallback_types and isinstance(mod, tuple(fallback_types)):
            for pname, _ in mod.named_parameters(recurse=False):
                odd.add(f"{mname}.{pname}" if mname else pname)
    mat, rest = ([], []), ([], [])
    for name, p in model.named_parameters():
        to_fb = p.ndim != 2 or name in odd or any(s in name for s in fallback_names)
        tgt = rest if to_fb else mat
        tgt[0].append(p)
        tgt[1].append(name)
    groups = []
    if mat[0]:
        groups.append({"params": mat[0], "param_names": mat[1], "orthogonalize": True})
    if rest[0]:
        groups.append({"params": rest[0], "param_names": rest[1], "orthogonalize": False})
    return groups

