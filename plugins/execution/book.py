"""An order book whose walk reproduces the cost model's average fill price.

Freqtrade prices a dry-run market order by walking the exchange's order book
(``Exchange.get_dry_market_fill_price`` in freqtrade 2026.9: it takes levels in order until the
amount is filled and returns the volume-weighted average, the rest beyond the last level at the
last level's price). A venue that serves these levels therefore makes Freqtrade's own fill logic
land on the model's price (:mod:`plugins.execution.costs`) without knowing the order's size:

- level ``i`` ends where the cumulative notional (at the mid) reaches
  ``q_i = first_notional x ratio**i`` (10, 20, 40, ... quote units by default);
- its price makes the cumulative cost up to ``q_i`` equal the model's:
  ``price_i = (q_i x avg(q_i) - q_{i-1} x avg(q_{i-1})) / (q_i - q_{i-1})`` (in base units),
  where ``avg(q) = mid x (1 +/- cost(q))``.

So a walk of exactly ``q_i`` averages the model's price; between two boundaries the walk is a
straight line between the two exact points. The model's cumulative cost ``q x cost(q)`` is
convex in ``q`` (``q^1.5`` impact), so in between the walk is a little worse than the model: by
at most ~4.6 % of the impact part with ``ratio = 2`` (:func:`max_interpolation_excess`). An
order below ``first_notional`` pays the price of the first level (the model's at
``first_notional``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugins.execution.config import CostConfig
from plugins.execution.costs import CostInputs, Side, fill_price, order_cost

#: Cumulative notional (quote currency, at the mid) at the end of the first level.
FIRST_LEVEL_NOTIONAL = 10.0
#: Growth of the cumulative notional from one level to the next (20 levels reach 5.2 M).
LEVEL_RATIO = 2.0


@dataclass(frozen=True)
class BookLevel:
    """One price level: ``price`` in quote currency, ``quantity`` in base units."""

    price: float
    quantity: float


def model_levels(mid: float, side: Side, config: CostConfig, inputs: CostInputs | None,
                 levels: int, min_half_spread_frac: float = 0.0,
                 first_notional: float = FIRST_LEVEL_NOTIONAL,
                 ratio: float = LEVEL_RATIO) -> list[BookLevel]:
    """``levels`` levels of one side: asks for ``side="buy"`` (what a buyer takes), bids for
    ``"sell"``, best first.

    Args:
        mid: reference price (quote currency, > 0).
        config, inputs, min_half_spread_frac: as for :func:`plugins.execution.costs.order_cost`.
        levels: how many (>= 1).
        first_notional, ratio: the level grid (module docstring).

    Returns:
        Levels best first; bids stop before a price <= 0.

    Raises:
        CostModelError: the model has no estimate (see ``order_cost``).
        ValueError: ``mid <= 0``, ``levels < 1``, ``first_notional <= 0`` or ``ratio <= 1``.
    """
    if not mid > 0 or levels < 1 or not first_notional > 0 or not ratio > 1:
        raise ValueError(f"mid={mid}, levels={levels}, first_notional={first_notional}, "
                         f"ratio={ratio}: need mid > 0, levels >= 1, first_notional > 0, ratio > 1")
    out: list[BookLevel] = []
    prev_amount = prev_value = 0.0
    for i in range(levels):
        notional = first_notional * ratio ** i
        cost = order_cost(config, inputs, notional, min_half_spread_frac).total_frac
        amount = notional / mid
        value = amount * fill_price(mid, side, cost)
        price = (value - prev_value) / (amount - prev_amount)
        if price <= 0:
            break
        out.append(BookLevel(price=price, quantity=amount - prev_amount))
        prev_amount, prev_value = amount, value
    return out


def walk_average(levels: list[BookLevel], amount: float) -> float:
    """Average price of ``amount`` (base units) taken from ``levels`` best first, the rest
    beyond the last level at its price: the walk of freqtrade 2026.9's
    ``Exchange.get_dry_market_fill_price`` (before its 5 % slippage cap and tick rounding).

    Raises:
        ValueError: no level or ``amount <= 0``.
    """
    if not levels or not amount > 0:
        raise ValueError("need at least one level and an amount > 0")
    remaining, value = amount, 0.0
    for level in levels:
        take = min(remaining, level.quantity)
        value += take * level.price
        remaining -= take
        if remaining <= 0:
            break
    else:
        value += remaining * levels[-1].price
    return value / amount


def max_interpolation_excess(ratio: float = LEVEL_RATIO, points: int = 2001) -> float:
    """Largest excess of the walk's impact over the model's between two level boundaries,
    as a fraction of the model's impact (0.046 for ``ratio = 2``): the chord of ``q^1.5``
    over ``[1, ratio]`` against the curve, per unit of the curve's average ``q^0.5``."""
    q = np.linspace(1.0, ratio, points)
    chord = 1.0 + (ratio ** 1.5 - 1.0) * (q - 1.0) / (ratio - 1.0)
    return float(np.max(chord / q ** 1.5 - 1.0))
