"""Did the advice help? A two-sample decision on per-run values (numpy and scipy only).

Welch's t interval for mean(advice) - mean(default), lower being better: helped, did not
help, or could not be told apart (:func:`compare`; docs/advise.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from empirical.errors import DataError

HELPED, NOT_HELPED, UNCLEAR = "helped", "did not help", "could not be told apart"
CONFIDENCE = 0.95
METHOD = (
    "Welch's t: {confidence:.0%} interval for mean(advice) - mean(default) over runs "
    "(Welch-Satterthwaite degrees of freedom); helped when it lies below 0, did not help when above 0"
)


@dataclass(frozen=True)
class Comparison:
    """Both sides of one quantity and the decision.

    Attributes:
        quantity: What the values are, in words.
        advice: The advice's per-run values.
        default: The default's per-run values.
        advice_interval: (mean, lo, hi), the Student-t interval of the advice's mean over runs.
        default_interval: (mean, lo, hi), the default's.
        difference: mean(advice) - mean(default).
        lo: The Welch interval's lower end.
        hi: Its upper end.
        dof: Its Welch-Satterthwaite degrees of freedom.
        p_value: The two-sided p-value.
        decision: "helped", "did not help" or "could not be told apart".
        confidence: The two-sided level.
        method: How the decision was made, in words.
    """

    quantity: str
    advice: tuple[float, ...]
    default: tuple[float, ...]
    advice_interval: tuple[float, float, float]
    default_interval: tuple[float, float, float]
    difference: float
    lo: float
    hi: float
    dof: float
    p_value: float
    decision: str
    confidence: float
    method: str

    def as_dict(self) -> dict:
        """The comparison, JSON-ready.

        Returns:
            The fields, each side's mean and interval spelt out.
        """
        keys = ("quantity", "advice", "default", "difference", "lo", "hi", "dof", "p_value", "decision")
        out = {k: getattr(self, k) for k in keys}
        out["advice_mean"], out["advice_lo"], out["advice_hi"] = self.advice_interval
        out["default_mean"], out["default_lo"], out["default_hi"] = self.default_interval
        out.update(advice=list(self.advice), default=list(self.default))
        return {**out, "confidence": self.confidence, "method": self.method}


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise DataError(f"{name}: a two-sample decision needs at least 2 runs per side, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name}: every run's value must be finite, got {x.tolist()}")
    return x


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """The Student-t interval of the mean over runs (R >= 2).

    Args:
        values: The per-run values.
        confidence: The two-sided level.

    Returns:
        (mean, lo, hi).
    """
    mean = float(values.mean())
    half = stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return mean, mean - float(half), mean + float(half)


def compare(
    quantity: str, advice: Sequence[float], default: Sequence[float], confidence: float = CONFIDENCE
) -> Comparison:
    """The two-sample decision for a quantity where lower is better.

    With a_1..a_R the advice's per-run values and d_1..d_R' the default's:
    diff = mean(a) - mean(d), se^2 = s_a^2/R + s_d^2/R', Welch-Satterthwaite
    nu = se^4 / ((s_a^2/R)^2/(R-1) + (s_d^2/R')^2/(R'-1)), interval diff -/+ t_{nu, 1-(1-c)/2} se.
    **helped** when the interval's upper end is below 0, **did not help** (worse) when its
    lower end is above 0, **could not be told apart** otherwise. Runs of both sides start from
    the same initialisations: positively correlated sides make the interval wider than it needs
    to be, never narrower, so the decision errs on "could not be told apart".

    Args:
        quantity: what the values are, in words.
        advice: the advice's per-run values (at least 2, finite).
        default: the default's per-run values (at least 2, finite).
        confidence: two-sided level, in (0, 1).

    Returns:
        The :class:`Comparison`.

    Raises:
        DataError: fewer than 2 runs on a side, or a value that is not finite.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be in (0, 1), got {confidence!r}")
    a, d = _values(f"{quantity} (advice)", advice), _values(f"{quantity} (default)", default)
    va, vd = a.var(ddof=1) / a.size, d.var(ddof=1) / d.size
    diff = float(a.mean() - d.mean())
    se = math.sqrt(va + vd)
    if se > 0:
        dof = (va + vd) ** 2 / (va**2 / (a.size - 1) + vd**2 / (d.size - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
        p = float(2 * stats.t.sf(abs(diff) / se, dof))
    else:  # both sides constant over runs: the difference is known exactly
        dof, half, p = float(a.size + d.size - 2), 0.0, (1.0 if diff == 0 else 0.0)
    lo, hi = diff - half, diff + half
    decision = HELPED if hi < 0 else NOT_HELPED if lo > 0 else UNCLEAR
    return Comparison(
        quantity,
        tuple(float(x) for x in a),
        tuple(float(x) for x in d),
        t_interval(a, confidence),
        t_interval(d, confidence),
        diff,
        lo,
        hi,
        float(dof),
        p,
        decision,
        confidence,
        METHOD.format(confidence=confidence),
    )
