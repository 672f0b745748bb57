"""The sentences of notebook 03 on the seed paper's qualitative claims, computed from its table.

Each claim compares 95 % intervals over seeds: one quantity is "lower" than another only when
its whole interval is below the other's; overlapping intervals leave the claim unresolved at
the notebook's size. ``rows`` is the notebook's table (one dict per setting with ``study``,
``value``, ``observed``, ``held_out``, ``verdict``: each interval a (mean, lo, hi) triple),
``grid`` its study -> values, ``where`` the data's name in the sentences.
"""

from __future__ import annotations

Interval = tuple[float, float, float]


def show(t: Interval) -> str:
    """An interval as ``mean [lo, hi]``."""
    return f"{t[0]:.4g} [{t[1]:.4g}, {t[2]:.4g}]"


def order(a: Interval, b: Interval) -> str:
    """How interval a compares with interval b: lower, higher, or overlapping."""
    if a[2] < b[1]:
        return "lower than"
    if a[1] > b[2]:
        return "higher than"
    return "overlapping with"


def row_of(rows: list[dict], study: str, value) -> dict:
    """The table's row of one setting."""
    return next(r for r in rows if r["study"] == study and r["value"] == value)


def monotone_claim(rows: list[dict], grid: dict, where: str, study: str, symbol: str) -> str:
    """Does the largest value of the study give a lower observed average than the smallest?"""
    lo_v, hi_v = grid[study][0], grid[study][-1]
    a, b = row_of(rows, study, hi_v)["observed"], row_of(rows, study, lo_v)["observed"]
    verdict = {"lower than": "reproduced", "higher than": "contradicted", "overlapping with": "not resolved"}[
        order(a, b)
    ]
    return (
        f"Larger {symbol} speeds convergence: {verdict} on {where} — the observed average at "
        f"{symbol} = {hi_v} is {show(a)}, {order(a, b)} {show(b)} at {symbol} = {lo_v}."
    )


def activation_claim(rows: list[dict], grid: dict, where: str) -> str:
    """Soft-clip against ReLU on held-out -ELBO: as good, and closer as s grows?"""
    relu = row_of(rows, "activation", "relu")["held_out"]
    clips = [(v, row_of(rows, "activation", v)["held_out"]) for v in grid["activation"] if v != "relu"]
    best_s, best = min(clips, key=lambda c: c[1][0])
    rel = order(best, relu)
    as_well = {
        "lower than": "reproduced (better)",
        "overlapping with": "reproduced",
        "higher than": "contradicted",
    }[rel]
    gaps = [abs(c[1][0] - relu[0]) for c in clips]
    closer = (
        "reproduced" if all(g2 <= g1 for g1, g2 in zip(gaps, gaps[1:], strict=False)) else "not reproduced"
    )
    return (
        f"Soft-clip trains as well as ReLU: {as_well} on {where} — the best held-out -ELBO, "
        f"at s = {best_s:g}, is {show(best)}, {rel} {show(relu)} for ReLU. "
        f"Soft-clip comes closer to ReLU as s grows: {closer} — the gap in mean held-out -ELBO is "
        + ", ".join(f"{g:.3g} at s = {v:g}" for (v, _), g in zip(clips, gaps, strict=True))
        + f"; at s = {clips[-1][0]:g} the interval is {order(clips[-1][1], relu)} ReLU's."
    )


def beta_effect(rows: list[dict], grid: dict) -> str:
    """The observed average at the largest beta against the smallest (not a claim of the paper)."""
    lo_v, hi_v = grid["beta"][0], grid["beta"][-1]
    a, b = row_of(rows, "beta", hi_v)["observed"], row_of(rows, "beta", lo_v)["observed"]
    relation = order(a, b)
    return (
        f"(Not a claim of the paper.) At beta = {hi_v:g} the observed average is {show(a)}, "
        f"{relation} {show(b)} at beta = {lo_v:g}."
    )


def bound_holds(rows: list[dict]) -> str:
    """How many settings got each verdict."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    return "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + f" (of {len(rows)} settings)."


def claims(rows: list[dict], grid: dict, where: str) -> list[str]:
    """Every sentence of the notebook, in its order: activation, K, B, beta, verdicts."""
    return [
        activation_claim(rows, grid, where),
        monotone_claim(rows, grid, where, "K", "K"),
        monotone_claim(rows, grid, where, "B", "B"),
        beta_effect(rows, grid),
        bound_holds(rows),
    ]
