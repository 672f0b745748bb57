"""Student-t quantiles: the one definition every interval of vaebounds uses.

t_{dof, (1 + confidence)/2} is ``scipy.special.stdtrit(dof, (1 + confidence)/2)``, the function
``scipy.stats.t.ppf`` itself evaluates (the same numbers, bit for bit), without importing
``scipy.stats`` (most of a second; a command pays it only if it needs more of scipy.stats).
Cached: intervals ask for the same few quantiles again and again.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1024)
def t_quantile(confidence: float, dof: float) -> float:
    """The two-sided Student-t quantile t_{dof, (1 + confidence)/2}.

    Args:
        confidence: The two-sided confidence, in (0, 1).
        dof: The degrees of freedom, > 0 (not necessarily an integer: Welch-Satterthwaite).

    Returns:
        The quantile.
    """
    from scipy.special import stdtrit

    return float(stdtrit(float(dof), 0.5 + float(confidence) / 2))
