"""Closed-form consequences of a bound.

Its leading order in n, the optimal step constant, the iterations to reach a target,
the sign of its derivative in any constant, and exploration over the batch size B
and the samples K (docs/theory.md, "Closed-form consequences" and "Which way a
constant moves a bound").
"""

from theory.orders import Order, leading_order, rate_exponent
from theory.rates.explore import (
    BudgetPoint,
    BudgetTradeoff,
    ComputeSplit,
    budget_tradeoff,
    compute_tradeoff,
    iterations_grid,
)
from theory.rates.signs import BatchSampleSigns, DerivativeSign, batch_sample_signs, derivative_sign
from theory.rates.step_constant import iterations_to_reach, optimal_step_constant, optimal_step_constant_of

__all__ = [
    "BatchSampleSigns",
    "BudgetPoint",
    "BudgetTradeoff",
    "ComputeSplit",
    "DerivativeSign",
    "Order",
    "batch_sample_signs",
    "budget_tradeoff",
    "compute_tradeoff",
    "derivative_sign",
    "iterations_grid",
    "iterations_to_reach",
    "leading_order",
    "optimal_step_constant",
    "optimal_step_constant_of",
    "rate_exponent",
]
