r"""The record every check returns: :class:`CheckResult`.

A check states one claim, measures it, puts the measured values next to what
theory predicts, and gives a verdict (PEPit's ``(pepit_tau, theoretical_tau)``
contract, ``style.md`` §2, extended with provenance and a negative control).
The record is plain data: host NumPy arrays, Python scalars, strings and
nested dicts, so that it serialises to JSON (``results.json``) and back.

JSON encoding: NumPy arrays become nested lists, non-finite floats become the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (strict JSON has no
literal for them), tuples become lists.  :meth:`CheckResult.from_dict` turns
numeric lists back into float arrays, so a round trip preserves every value
(tuples come back as arrays or lists).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np

__all__ = ["CheckResult", "PROVENANCES", "KINDS", "OUTCOMES", "to_jsonable", "from_jsonable"]

PROVENANCES = ("seed text", "official code", "secondary source", "derived here")
KINDS = ("upper bound", "tight rate", "equality", "qualitative")
#: What a check can conclude.
OUTCOMES = ("pass", "fail", "not reproduced", "not judged")

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode_float(x: float):
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def to_jsonable(obj: Any, *, path: str = "value"):
    """Convert ``obj`` (host arrays, scalars, str, dicts, lists, records) to JSON-ready data.

    Raises
    ------
    TypeError
        For objects that are not plain data (backend arrays must be moved to the host
        with :func:`adago_theory.to_numpy` first); the message names the offending entry.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _encode_float(float(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf":
            a = obj.astype(np.float64) if obj.dtype.kind == "f" else obj
            return to_jsonable(a.tolist(), path=path)
        if obj.dtype.kind in "UO":
            return to_jsonable(obj.tolist(), path=path)
        raise TypeError(f"{path}: arrays of dtype {obj.dtype} cannot be written to JSON")
    if isinstance(obj, CheckResult):
        return obj.to_dict()
    if hasattr(obj, "_asdict"):  # NamedTuple records (e.g. RateFit)
        return {k: to_jsonable(v, path=f"{path}.{k}") for k, v in obj._asdict().items()}
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: dictionary keys must be strings, got {k!r}")
            out[k] = to_jsonable(v, path=f"{path}.{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, path=f"{path}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"{path}: cannot write an object of type {type(obj).__module__}.{type(obj).__name__} to JSON; "
        "checks must store host NumPy arrays, Python scalars, strings, lists or dicts"
    )


def _is_numeric_tree(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    if isinstance(v, str):
        return v in _NONFINITE
    if isinstance(v, list):
        return len(v) > 0 and all(_is_numeric_tree(x) for x in v)
    return False


def _decode_numeric(v):
    if isinstance(v, list):
        return [_decode_numeric(x) for x in v]
    if isinstance(v, str):
        return _NONFINITE[v]
    return v


def from_jsonable(obj: Any):
    """Inverse of :func:`to_jsonable`: numeric (rectangular) lists become float arrays."""
    if isinstance(obj, dict):
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        if _is_numeric_tree(obj):
            try:
                return np.asarray(_decode_numeric(obj), dtype=np.float64)
            except ValueError:  # ragged
                pass
        return [from_jsonable(v) for v in obj]
    return obj


def _check_str(name, value):
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"CheckResult.{name} must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class CheckResult:
    r"""One verified claim: what was claimed, where it comes from, what was measured, the verdict.

    Attributes
    ----------
    name : str
        Registry name of the check (``verify.CHECKS`` key).
    claim : str
        The claim in words.
    claim_math : str
        The claim in (LaTeX) math.
    source : str
        Where the claim comes from, with a pinpoint (seed file and section, paper and
        theorem, code file, or ``theory.md`` section).
    provenance : str or tuple of str
        One or more of ``"seed text"``, ``"official code"``, ``"secondary source"``,
        ``"derived here"``.
    kind : str
        ``"upper bound"`` (measured ≤ predicted), ``"tight rate"`` (a fitted exponent
        against a predicted one), ``"equality"`` (measured = predicted to a stated
        tolerance) or ``"qualitative"`` (an ordering or a sign).
    measured, predicted : dict
        Host NumPy arrays, floats, strings or nested dicts; same keys where they are
        compared.
    fit : dict or None
        Fit statistics (e.g. a :class:`verify.fit.RateFit` as a dict).
    verdict : bool
        Whether the claim holds in the check's setting.
    verdict_text : str
        The verdict in words, with the numbers it rests on.
    negative_control : CheckResult, dict or None
        A setting where the claim must *not* hold, measured with the same criterion.
        A dict must carry a boolean ``"verdict"``.  A check passes only when its own
        verdict is True and the control's is False.
    params : dict
        Every parameter used (sizes, seeds, grids, tolerances, declared margins).
    quick : bool
        Whether this was the quick (test-suite) configuration.
    notes : str
        Decisions where the sources are silent, caveats.
    outcome : str, optional
        One of :data:`OUTCOMES`, when the check says more than pass/fail: ``"not reproduced"`` (a seed
        claim the toolkit measured and could not confirm: a first-class outcome, never re-worded into a
        pass) or ``"not judged"`` (e.g. a claim that quick mode cannot judge).  Empty (the default): the
        outcome follows from ``verdict`` and the negative control (``"pass"`` or ``"fail"``).
    """

    name: str
    claim: str
    claim_math: str
    source: str
    provenance: Any
    kind: str
    measured: dict
    predicted: dict
    fit: Any
    verdict: bool
    verdict_text: str
    negative_control: Any = None
    params: dict = field(default_factory=dict)
    quick: bool = False
    notes: str = ""
    outcome: str = ""

    def __post_init__(self):
        for name in ("name", "claim", "claim_math", "source", "verdict_text"):
            _check_str(name, getattr(self, name))
        prov = self.provenance
        prov_t = (prov,) if isinstance(prov, str) else tuple(prov) if isinstance(prov, (list, tuple)) else None
        if not prov_t or any(p not in PROVENANCES for p in prov_t):
            raise ValueError(f"CheckResult.provenance must be one or more of {PROVENANCES}, got {prov!r}")
        object.__setattr__(self, "provenance", prov_t[0] if len(prov_t) == 1 else prov_t)
        if self.kind not in KINDS:
            raise ValueError(f"CheckResult.kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.verdict, (bool, np.bool_)):
            raise TypeError(f"CheckResult.verdict must be a bool, got {self.verdict!r}")
        object.__setattr__(self, "verdict", bool(self.verdict))
        for name in ("measured", "predicted", "params"):
            if not isinstance(getattr(self, name), Mapping):
                raise TypeError(f"CheckResult.{name} must be a dict, got {type(getattr(self, name)).__name__}")
        if self.fit is not None and not isinstance(self.fit, Mapping) and not hasattr(self.fit, "_asdict"):
            raise TypeError(f"CheckResult.fit must be a dict, a NamedTuple record or None, got {self.fit!r}")
        nc = self.negative_control
        if nc is not None:
            if isinstance(nc, Mapping):
                if not isinstance(nc.get("verdict"), (bool, np.bool_)):
                    raise ValueError("CheckResult.negative_control as a dict must carry a boolean 'verdict'")
            elif not isinstance(nc, CheckResult):
                raise TypeError(
                    f"CheckResult.negative_control must be a CheckResult, a dict or None, got {type(nc).__name__}"
                )
        if self.outcome not in ("",) + OUTCOMES:
            raise ValueError(f"CheckResult.outcome must be one of {OUTCOMES} or empty, got {self.outcome!r}")
        if not isinstance(self.quick, (bool, np.bool_)):
            raise TypeError(f"CheckResult.quick must be a bool, got {self.quick!r}")

    # -- verdicts ---------------------------------------------------------------------------------
    @property
    def negative_verdict(self):
        """The negative control's verdict (None when there is no control)."""
        nc = self.negative_control
        if nc is None:
            return None
        return bool(nc.verdict) if isinstance(nc, CheckResult) else bool(nc["verdict"])

    @property
    def passed(self) -> bool:
        """True when the claim holds *and* the negative control's claim does not."""
        return self.verdict and self.negative_verdict is not True

    @property
    def status(self) -> str:
        """The outcome: ``outcome`` when set, else ``"pass"`` or ``"fail"`` from :attr:`passed`."""
        if self.outcome:
            return self.outcome
        return "pass" if self.passed else "fail"

    @property
    def provenances(self) -> tuple:
        """The provenance tags as a tuple."""
        p = self.provenance
        return (p,) if isinstance(p, str) else tuple(p)

    # -- serialisation ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready dict (see the module docstring for the encoding)."""
        out = {}
        for f in fields(self):
            out[f.name] = to_jsonable(getattr(self, f.name), path=f"{self.name}.{f.name}")
        out["passed"] = self.passed
        return out

    def to_json(self, **kwargs) -> str:
        """The record as a JSON string (``json.dumps`` keyword arguments pass through)."""
        kwargs.setdefault("indent", 1)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping) -> "CheckResult":
        """Rebuild a record from :meth:`to_dict` output (e.g. an entry of ``results.json``)."""
        if not isinstance(d, Mapping):
            raise TypeError(f"from_dict needs a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        missing = {"name", "claim", "claim_math", "source", "provenance", "kind", "verdict", "verdict_text"} - set(d)
        if missing:
            raise ValueError(f"not a CheckResult dict: missing keys {sorted(missing)}")
        kw = {}
        for k in names & set(d):
            v = d[k]
            if k in ("measured", "predicted", "params", "fit"):
                v = from_jsonable(v)
            elif k == "negative_control" and isinstance(v, Mapping):
                v = cls.from_dict(v) if "claim" in v and "kind" in v else from_jsonable(v)
            elif k == "provenance" and isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        return cls(**kw)

    @classmethod
    def from_json(cls, s: str) -> "CheckResult":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(s))
