"""Position sizing of the regime strategy by predicted edge, a volatility target and per-regime
exposure caps (``ai_suite.regime.sizing``). Pure: values in, a stake multiplier out.

The stake of a new trade is Freqtrade's proposed stake times::

    multiplier = vol_part * edge_part * regime_cap           (then clipped to [0, max_multiplier])
    vol_part   = min(max_leverage, vol_target_annual / realized_vol_annual)
    edge_part  = min(edge_cap, (prediction - neutral) / (entry - neutral)) / edge_cap

- ``vol_part`` is volatility targeting (Moreira & Muir 2017, "Volatility-Managed Portfolios";
  the issue's trend rule sizes to a 50 % annual target the same way): the realized volatility is
  the sample std of the last ``vol_window`` one-candle log returns, annualised with
  ``sqrt(candles per year)`` (365-day crypto year), known at the candle's close.
- ``edge_part`` grows with the model's predicted edge beyond the entry threshold: 1 / edge_cap
  of the stake at the threshold, the full stake at ``edge_cap`` times the threshold's distance
  from the no-edge value ``neutral`` (0 for return and barrier targets, 0.5 for the ``sign``
  probability).
- ``regime_cap``: the first ``regime_caps`` pattern (``fnmatch``, as the risk gates) matching
  the regime's name gives its exposure cap (0-1); unmatched regimes 1.

The risk guard (``plugins/guard``) caps the result again (``custom_stake_amount``): sizing only
proposes. Bad inputs (NaN, non-positive volatility, a missing prediction) size 0: no trade,
with the reason returned for the log.
"""

from __future__ import annotations

import math
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: candles per 365-day year by Freqtrade timeframe (crypto trades every day).
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def candles_per_year(timeframe: str) -> float:
    """Candles in 365 days for a Freqtrade timeframe (``1h`` -> 8760).

    Raises:
        ValueError: unknown timeframe format.
    """
    try:
        minutes = int(timeframe[:-1]) * _MINUTES[timeframe[-1]]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"timeframe {timeframe!r}: expected e.g. '1h', '4h', '1d'") from exc
    return 365 * 1440 / minutes


class SizingConfig(BaseModel):
    """``ai_suite.regime.sizing``.

    Attributes:
        kind: ``fixed`` (default: Freqtrade's proposed stake, unchanged) or ``edge_vol``
            (module docstring).
        vol_target_annual: annualised volatility target (fraction; 0.5 = 50 %).
        vol_window: candles of the realized volatility (default 720 = 30 days of 1h candles).
        max_leverage: cap of ``vol_part`` (1.0: never more than the proposed stake from
            volatility alone).
        edge_cap: the predicted edge, in multiples of the entry threshold's distance from
            ``neutral``, that earns the full stake.
        regime_caps: regime name pattern -> exposure cap (0-1), first match wins, e.g.
            ``{"high_vol*": 0.5, "*bear*": 0.0}``.
        max_multiplier: overall cap of the multiplier.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fixed", "edge_vol"] = "fixed"
    vol_target_annual: float = Field(default=0.5, gt=0)
    vol_window: int = Field(default=720, ge=2)
    max_leverage: float = Field(default=1.0, gt=0)
    edge_cap: float = Field(default=2.0, ge=1)
    regime_caps: dict[str, float] = Field(default_factory=dict)
    max_multiplier: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _caps_are_fractions(self) -> SizingConfig:
        bad = {k: v for k, v in self.regime_caps.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"regime_caps {bad}: each cap is a fraction 0..1 of the stake")
        return self


def regime_cap(regime: object, caps: dict[str, float]) -> float:
    """The exposure cap of ``regime`` (first matching pattern of ``caps``), 1.0 if none matches
    or the regime is unknown (not a string)."""
    if isinstance(regime, str):
        for pattern, cap in caps.items():
            if fnmatchcase(regime, pattern):
                return float(cap)
    return 1.0


def stake_multiplier(prediction: float, vol_annual: float, regime: object, entry: float,
                     neutral: float, cfg: SizingConfig) -> tuple[float, str]:
    """``(multiplier, reason)`` of the proposed stake (module docstring); multiplier 0.0 with
    the reason when an input is unusable. ``fixed`` sizing always gives 1.0.

    Args:
        prediction: the model's prediction at the entry candle (target units).
        vol_annual: realized annualised volatility at that candle (fraction).
        regime: the regime name at that candle (or None).
        entry: the entry threshold (target units); ``neutral``: the no-edge prediction.
    """
    if cfg.kind == "fixed":
        return 1.0, "fixed"
    if not math.isfinite(prediction):
        return 0.0, f"prediction {prediction} is not finite"
    if not math.isfinite(vol_annual) or vol_annual <= 0:
        return 0.0, f"realized volatility {vol_annual} is not a positive number"
    if entry == neutral:
        return 0.0, f"entry threshold {entry} equals the no-edge value: edge sizing undefined"
    vol_part = min(cfg.max_leverage, cfg.vol_target_annual / vol_annual)
    edge = (prediction - neutral) / (entry - neutral)
    edge_part = min(cfg.edge_cap, max(edge, 0.0)) / cfg.edge_cap
    cap = regime_cap(regime, cfg.regime_caps)
    multiplier = min(cfg.max_multiplier, max(0.0, vol_part * edge_part * cap))
    return multiplier, (f"vol {vol_annual:.1%} -> {vol_part:.2f}, edge {edge:.2f}x -> {edge_part:.2f}, "
                        f"regime {regime} cap {cap:.2f}")
