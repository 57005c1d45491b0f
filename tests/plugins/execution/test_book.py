"""The model's order book: its walk (Freqtrade's dry-run fill) lands on the model's price."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.execution.book import (
    FIRST_LEVEL_NOTIONAL,
    LEVEL_RATIO,
    max_interpolation_excess,
    model_levels,
    walk_average,
)
from plugins.execution.config import CostConfig
from plugins.execution.costs import CostInputs, fill_price, order_cost

MID = 3000.0
INPUTS = CostInputs(half_spread_frac=3e-4, sigma_daily_frac=0.035, daily_notional=1.2e9)
CONFIG = CostConfig()


def _model(side: str, notional: float) -> float:
    return fill_price(MID, side, order_cost(CONFIG, INPUTS, notional).total_frac)


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_walk_when_order_ends_on_a_level_boundary_then_model_price(side):
    levels = model_levels(MID, side, CONFIG, INPUTS, 20)

    for i in range(20):
        notional = FIRST_LEVEL_NOTIONAL * LEVEL_RATIO ** i
        assert walk_average(levels, notional / MID) == pytest.approx(_model(side, notional),
                                                                     rel=1e-12)


def test_walk_when_order_between_boundaries_then_at_most_the_interpolation_excess_worse():
    levels = model_levels(MID, "buy", CONFIG, INPUTS, 20)

    for notional in np.geomspace(15, 4e6, 60):
        model = _model("buy", notional)
        impact = order_cost(CONFIG, INPUTS, notional).impact_frac * MID
        walk = walk_average(levels, notional / MID)
        assert model - 1e-9 <= walk <= model + max_interpolation_excess() * impact + 1e-9


def test_levels_when_built_then_sorted_best_first_with_positive_quantities():
    asks = model_levels(MID, "buy", CONFIG, INPUTS, 20)
    bids = model_levels(MID, "sell", CONFIG, INPUTS, 20)

    assert [a.price for a in asks] == sorted(a.price for a in asks)
    assert [b.price for b in bids] == sorted((b.price for b in bids), reverse=True)
    assert bids[0].price < MID < asks[0].price
    assert all(level.quantity > 0 for level in asks + bids)


def test_levels_when_fixed_cost_then_one_price_for_every_size():
    asks = model_levels(MID, "buy", CostConfig(fixed_bps=10), None, 5)

    assert {round(a.price, 9) for a in asks} == {round(MID * 1.001, 9)}


def test_interpolation_excess_when_ratio_two_then_under_five_percent():
    assert max_interpolation_excess(2.0) == pytest.approx(0.0455, abs=5e-4)
    assert max_interpolation_excess(1.5) < max_interpolation_excess(2.0)
