"""The one decision rule: the bound against an interval for the expectation of the left-hand side.

The interval (:mod:`empirical.mean_interval`) is over runs, at ``confidence``,
two-sided; the verdicts, their exit codes and the measured error rates:
docs/decision.md. numpy and scipy only: importing it does not import torch.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from empirical.errors import ConfigError, DataError
from empirical.mean_interval import PIVOT_METHOD, T_METHOD, interval_ends

#: The reason given for a single run.
ONE_RUN = "one run cannot estimate an expectation: train at least 2"


class Verdict(enum.Enum):
    """The four verdicts: the value is the display text.

    Attributes:
        HOLDS: The interval's upper end is at most the bound (exit 0).
        VIOLATED: Its lower end is above the bound (exit 1).
        NOT_COVERED: The theorem does not cover the run: an assumption row fails (exit 3).
        INCONCLUSIVE: The bound lies inside the interval, or there is one run (exit 4).
    """

    HOLDS = "holds at the estimated constants"
    VIOLATED = "violated"
    NOT_COVERED = "not covered"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code of the verdict."""
        return _EXIT_CODES[self]

    @property
    def text(self) -> str:
        """The display text."""
        return self.value


_EXIT_CODES = {Verdict.HOLDS: 0, Verdict.VIOLATED: 1, Verdict.NOT_COVERED: 3, Verdict.INCONCLUSIVE: 4}


@dataclass(frozen=True)
class Decision:
    """A verdict with what it rests on.

    Attributes:
        verdict: The verdict.
        comparison: What the interval says against the bound whatever the coverage
            (HOLDS, VIOLATED or INCONCLUSIVE; equal to ``verdict`` unless NOT_COVERED).
        bound: The bound's value.
        mean: The mean over runs of each run's point value (the middle of its bracket).
        lo: The interval's lower end at ``confidence``, unclipped; with one run, that
            run's lower bracket.
        hi: Its upper end, unclipped (inf when R is so small and the runs so spread that
            the lognormal end overflows); with one run, that run's upper bracket.
        confidence: The interval's two-sided level.
        runs: R.
        method: How the interval was made, in words.
        reasons: Why this verdict, in words.
    """

    verdict: Verdict
    comparison: Verdict
    bound: float
    mean: float
    lo: float
    hi: float
    confidence: float
    runs: int
    method: str
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """The CLI's exit code of the verdict."""
        return self.verdict.exit_code


def rule(lo: np.ndarray | float, hi: np.ndarray | float, bound: np.ndarray | float) -> np.ndarray:
    """The comparison of an interval with the bound, elementwise (R >= 2 runs, covered).

    Args:
        lo: The interval's lower ends, broadcastable.
        hi: Its upper ends (lo <= hi), broadcastable.
        bound: The bound's value, broadcastable.

    Returns:
        An object array of :class:`Verdict`: HOLDS where hi <= bound, VIOLATED
        where lo > bound, INCONCLUSIVE otherwise (the bound inside the interval).
    """
    lo, hi, bound = np.broadcast_arrays(
        np.asarray(lo, float), np.asarray(hi, float), np.asarray(bound, float)
    )
    out = np.full(lo.shape, Verdict.INCONCLUSIVE, dtype=object)
    out[hi <= bound] = Verdict.HOLDS
    out[lo > bound] = Verdict.VIOLATED
    return out


def run_brackets(per_run) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper), each (R,): the runs' values as brackets.

    Args:
        per_run: each run's value of the theorem's left-hand side: a number
            (lower = upper = it) or a (lower, upper) pair (its quadrature
            bracket), as an (R,) or (R, 2) array or a sequence of numbers and pairs.

    Returns:
        The lower and upper ends, finite, lower <= upper.

    Raises:
        DataError: empty, not numbers, not finite, or a pair with lower > upper.
    """
    if isinstance(per_run, str | bytes) or not isinstance(per_run, Sequence | np.ndarray):
        raise DataError(
            f"per_run must be a sequence of the runs' values (numbers or (lower, upper) pairs), "
            f"got {type(per_run).__name__}"
        )
    rows = [_bracket(i, item) for i, item in enumerate(per_run)]
    if not rows:
        raise DataError("per_run is empty: give each run's value of the left-hand side (at least 1 run)")
    both = np.stack(rows)
    return both[:, 0], both[:, 1]


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def _bracket(i: int, item) -> np.ndarray:
    """Run i's (lower, upper) from a number or a pair, checked."""
    if _is_real(item):
        row = np.array([item, item], dtype=np.float64)
    elif (
        isinstance(item, Sequence | np.ndarray)
        and not isinstance(item, str | bytes)
        and len(item) == 2
        and all(_is_real(x) for x in item)
    ):
        row = np.array([item[0], item[1]], dtype=np.float64)
    else:
        raise DataError(f"run {i}: {item!r} is not a number or a (lower, upper) pair of numbers")
    if not np.all(np.isfinite(row)):
        raise DataError(f"run {i}: {item!r} is not finite (NaN or inf); every run's value must be finite")
    if row[0] > row[1]:
        raise DataError(f"run {i}: the bracket ({row[0]:g}, {row[1]:g}) has lower > upper")
    return row


def _real(name: str, value) -> float:
    if not _is_real(value):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _method(lower: np.ndarray, upper: np.ndarray, confidence: float, lo_pivot: bool, hi_pivot: bool) -> str:
    """The interval's method in words."""
    runs, bracketed = lower.size, bool(np.any(lower != upper))
    if runs == 1:
        what = "that run's bracket (lower, upper)" if bracketed else "that run's value"
        return f"one run: the interval is {what}; it says nothing of the expectation over runs"
    wider = f"the wider of the {T_METHOD} end and the {PIVOT_METHOD} end"
    only = f"the {T_METHOD} end only (a run's value <= 0 has no logarithm)"
    if lo_pivot == hi_pivot:
        ends = f"each end {wider if lo_pivot else only}"
    else:
        ends = f"the lower end {wider if lo_pivot else only}, the upper end {wider if hi_pivot else only}"
    source = "; the lower end from the runs' lower brackets, the upper end from their upper brackets"
    return (
        f"{confidence:.0%} interval for the expectation over {runs} runs ({(1 - confidence) / 2:.1%} each "
        f"side): {ends}{source if bracketed else ''}; unclipped"
    )


@dataclass(frozen=True)
class Interval:
    """The interval for the expectation over runs of the theorem's left-hand side.

    The one interval of the rule (:func:`interval`).

    Attributes:
        mean: The mean over runs of each run's point value (the middle of its bracket).
        lo: The lower end at ``confidence``, unclipped; with one run, its lower bracket.
        hi: The upper end, unclipped (may be inf, see :class:`Decision`); with one run,
            its upper bracket.
        confidence: The two-sided level.
        runs: R.
        method: How it was made, in words.
    """

    mean: float
    lo: float
    hi: float
    confidence: float
    runs: int
    method: str


def interval(per_run, *, confidence: float = 0.95) -> Interval:
    """The rule's interval for the expectation over runs (docs/decision.md, "The interval").

    Args:
        per_run: each run's value or quadrature bracket (:func:`run_brackets`).
        confidence: two-sided level, in (0, 1).

    Returns:
        The :class:`Interval`: with R >= 2 runs, each end the wider of the Student-t end and,
        for positive values, the lognormal pivot's (:func:`empirical.mean_interval.interval_ends`),
        the lower end from the lower brackets and the upper end from the upper ones; with one
        run, its bracket.

    Raises:
        ConfigError: a confidence outside (0, 1).
        DataError: bad ``per_run`` (:func:`run_brackets`).
    """
    confidence = _real("confidence", confidence)
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1) (e.g. 0.95), got {confidence!r}")
    lower, upper = run_brackets(per_run)
    runs = lower.size
    middle = lower / 2.0 + upper / 2.0
    scale = float(np.max(np.abs(middle))) or 1.0
    mean = scale * float(np.mean(middle / scale))  # no overflow in the sum near 1e308
    if runs == 1:
        lo, hi, lo_pivot, hi_pivot = float(lower[0]), float(upper[0]), False, False
    else:
        ends = interval_ends(lower[None, :], upper[None, :], confidence)
        lo, hi, lo_pivot, hi_pivot = (x.item() for x in ends)
    method = _method(lower, upper, confidence, bool(lo_pivot), bool(hi_pivot))
    return Interval(mean, lo, hi, confidence, runs, method)


#: Why a run is not covered, when the caller does not say.
NOT_COVERED_REASON = "the theorem does not cover the run (an assumption fails)"


def assess(
    bound: float, per_run, *, confidence: float = 0.95, covered: bool = True, because: str | None = None
) -> Decision:
    """The decision rule, with the interval and the reasons (docs/decision.md, "The verdicts").

    Args:
        bound: the bound's value at the estimated constants, finite.
        per_run: each run's value of the theorem's left-hand side, or its
            quadrature bracket (lower, upper) (:func:`run_brackets`): the
            upper brackets make the interval's upper end, the lower brackets its lower end.
        confidence: two-sided level of the interval, in (0, 1).
        covered: False when an assumption row fails: the verdict is then
            NOT_COVERED and the comparison is reported for reference.
        because: why the run is not covered, in words (default :data:`NOT_COVERED_REASON`).

    Returns:
        The :class:`Decision`.

    Raises:
        ConfigError: a bound that is not a finite number, a confidence outside (0, 1),
            a ``covered`` that is not a bool.
        DataError: bad ``per_run`` (:func:`run_brackets`).
    """
    bound = _real("the bound", bound)
    if not math.isfinite(bound):
        raise ConfigError(f"the bound must be finite, got {bound!r}")
    if not isinstance(covered, bool | np.bool_):
        raise ConfigError(f"covered must be True or False, got {covered!r}")
    box = interval(per_run, confidence=confidence)
    lo, hi, runs = box.lo, box.hi, box.runs
    comparison = rule(lo, hi, bound).item() if runs >= 2 else Verdict.INCONCLUSIVE
    side = {
        Verdict.HOLDS: f"the upper end {hi:.6g} of the interval is at most the bound {bound:.6g}",
        Verdict.VIOLATED: f"the lower end {lo:.6g} of the interval is above the bound {bound:.6g}",
        Verdict.INCONCLUSIVE: f"the bound {bound:.6g} lies inside the interval [{lo:.6g}, {hi:.6g}]",
    }
    if runs == 1:
        relation = {Verdict.HOLDS: "is at most", Verdict.VIOLATED: "is above", Verdict.INCONCLUSIVE: "holds"}
        run_says = rule(lo, hi, bound).item()
        reasons = [
            ONE_RUN,
            f"for reference, that run's [{lo:.6g}, {hi:.6g}] {relation[run_says]} the bound {bound:.6g}",
        ]
    elif comparison is Verdict.INCONCLUSIVE:
        reasons = [side[comparison] + ": more runs, or a bound further from the truth, are needed"]
    else:
        reasons = [side[comparison]]
    if not covered:
        reasons = [f"{because or NOT_COVERED_REASON}; what follows is for reference", *reasons]
    return Decision(
        verdict=comparison if covered else Verdict.NOT_COVERED,
        comparison=comparison,
        bound=bound,
        mean=box.mean,
        lo=lo,
        hi=hi,
        confidence=box.confidence,
        runs=runs,
        method=box.method,
        reasons=tuple(reasons),
    )


def decide(bound: float, per_run, *, confidence: float = 0.95, covered: bool = True) -> Verdict:
    """The verdict of :func:`assess`: ``empirical.decide(bound, per_run)``.

    Args:
        bound: The bound's value at the estimated constants, finite.
        per_run: Each run's value of the left-hand side, or its quadrature bracket.
        confidence: The interval's two-sided level, in (0, 1).
        covered: False when an assumption row fails (the verdict is then NOT_COVERED).

    Returns:
        The verdict.

    Raises:
        ConfigError: A bad bound, confidence or ``covered``.
        DataError: Bad ``per_run``.
    """
    return assess(bound, per_run, confidence=confidence, covered=covered).verdict
