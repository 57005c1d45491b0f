"""``ai_suite.costs``: the execution-cost model's settings, defaults in one place.

Basis points (bps): 1 bp = 0.0001 = 0.01 % of the price. Windows count candles of the
strategy's timeframe (720 candles of 1h = 30 days).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Tóth, Lempérière, Deremble, de Lataillade, Kockelkoren & Bouchaud (2011), "Anomalous price
#: impact and the critical nature of liquidity in financial markets", Phys. Rev. X 1, 021006:
#: the square-root law's prefactor ``Y`` is "of order unity" across futures, equities and
#: currencies (Bouchaud, Bonart, Donier & Gould 2018, "Trades, Quotes and Prices", ch. 12,
#: quote 0.5-1 for liquid markets). 1.0 is the upper, conservative end.
DEFAULT_IMPACT_Y = 1.0


class CostConfig(BaseModel):
    """``ai_suite.costs``: the cost every fill pays beyond the exchange fee.

    A buy fills at ``reference x (1 + cost)``, a sell at ``reference x (1 - cost)``, with
    ``cost = half_spread + impact + latency`` (fractions; :mod:`plugins.execution.costs`).

    Attributes:
        enabled: apply the model. On by default; off only when set to ``false`` explicitly
            (then fills are at Freqtrade's prices and only its fee is charged).
        latency_bps: fixed extra per fill, in bps, for the price moving while the order
            travels (default 1 bp).
        impact_y: ``Y`` of the square-root impact law
            ``impact = Y x sigma_daily x sqrt(order_notional / daily_notional_volume)``
            (default :data:`DEFAULT_IMPACT_Y`, Tóth et al. 2011). Must be > 0.
        spread_window_candles: candles over which the Abdi-Ranaldo half-spread is averaged
            (default 720 = 30 days of 1h; their paper averages over a month).
        volatility_window_candles: candles over which the daily volatility and the daily
            notional volume are measured (default 720).
        fixed_bps: when set, every fill costs exactly this many bps instead of the model
            (spread, impact and latency are ignored): for sensitivity runs
            (``bench/cost_sensitivity.py``). ``None`` = the model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    latency_bps: float = 1.0
    impact_y: float = DEFAULT_IMPACT_Y
    spread_window_candles: int = Field(default=720, ge=2, le=100_000)
    volatility_window_candles: int = Field(default=720, ge=2, le=100_000)
    fixed_bps: float | None = None

    @field_validator("latency_bps", "fixed_bps")
    @classmethod
    def _bps(cls, value: float | None, info) -> float | None:
        if value is not None and not 0 <= value <= 10_000:
            raise ValueError(f"{info.field_name}={value}: a cost in basis points must be between 0 "
                             "and 10000 (1 bp = 0.01 %); use e.g. 1.0 for one basis point")
        return value

    @field_validator("impact_y")
    @classmethod
    def _impact_y(cls, value: float) -> float:
        if not 0 < value <= 100:
            raise ValueError(f"impact_y={value}: the square-root law's Y must be > 0 (Tóth et al. "
                             "2011 measure it of order 1; default 1.0); to turn costs off set "
                             "ai_suite.costs.enabled to false")
        return value

    def required_candles(self) -> int:
        """Candles of history the model needs before its first estimate (both windows + 1)."""
        return max(self.spread_window_candles, self.volatility_window_candles) + 1

    def describe(self) -> str:
        """One line for logs and reports, e.g. ``half-spread Abdi-Ranaldo (720 candles) +
        impact 1.0 x sigma_daily x sqrt(notional / daily notional volume) (720 candles) +
        latency 1.0 bps``."""
        if not self.enabled:
            return "off (ai_suite.costs.enabled = false): fills at Freqtrade's prices, fees only"
        if self.fixed_bps is not None:
            return f"fixed {self.fixed_bps:g} bps per fill (ai_suite.costs.fixed_bps)"
        return (f"half-spread Abdi-Ranaldo ({self.spread_window_candles} candles, at least half "
                f"a tick) + impact {self.impact_y:g} x sigma_daily x sqrt(notional / daily "
                f"notional volume) ({self.volatility_window_candles} candles) + latency "
                f"{self.latency_bps:g} bps")
