"""Typed settings of the risk layer (``ai_suite.risk``), defaults in one place.

Fractions are fractions of account equity (0.03 = 3 %); durations are in minutes. Every number
must be finite (``inf`` / ``NaN``, which JSON configs can spell ``Infinity`` / ``NaN``, are
refused naming the field), and a duration is at most ``MAX_PAUSE_MIN`` (ten years, the kill
switch's lock), so adding it to a date can never overflow in the bot loop.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Longest pause a duration may set (minutes): 3650 days, as long as the kill switch's lock.
MAX_PAUSE_MIN = 3650 * 24 * 60


class GateConfig(BaseModel):
    """``ai_suite.risk.gates``: the 7-gate entry framework (``plugins.risk.gates``).

    Attributes:
        enabled: evaluate all seven gates before each entry. When off, only the news
            blackout and the pair cooldown (breakers of their own) are checked.
        blocked_regimes: ``fnmatch`` patterns of regime names in which no long entry is
            allowed (e.g. ``*bear*`` matches ``calm_bear`` and ``high_vol_bear``).
        ema_period / ema_window_candles: the EMA (candles) and the window it is computed over
            (a windowed EMA, see ``gates.windowed_ema``; >= 2 x period).
        ema_band_low_frac / ema_band_high_frac: allowed ``close / EMA - 1`` (e.g. -0.05..0.20).
        rsi_period / rsi_max: RSI length (candles); RSI above ``rsi_max`` is overbought.
        momentum_period: rate-of-change length (candles).
        momentum_lookback / momentum_drop_max: momentum may fall at most ``momentum_drop_max``
            (fraction) versus its value ``momentum_lookback`` candles earlier while below zero.
        regime_column: analysed-dataframe column holding the regime name (absent = no regime
            model, the gate passes with a note).
        confidence_column / min_confidence: column with the model's confidence 0-1 (absent =
            none given, the gate passes with a note) and the confidence needed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool = True
    blocked_regimes: tuple[str, ...] = ("*bear*", "high_vol*", "volatile*")
    ema_period: int = Field(default=200, ge=2)
    ema_window_candles: int = Field(default=600, ge=4)
    ema_band_low_frac: float = Field(default=-0.05, le=0)
    ema_band_high_frac: float = Field(default=0.20, ge=0)
    rsi_period: int = Field(default=14, ge=2)
    rsi_max: float = Field(default=75, gt=0, le=100)
    momentum_period: int = Field(default=12, ge=1)
    momentum_lookback: int = Field(default=3, ge=1)
    momentum_drop_max: float = Field(default=0.01, ge=0)
    regime_column: str = "regime"
    confidence_column: str = "confidence"
    min_confidence: float = Field(default=0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _window_covers_period(self) -> GateConfig:
        if self.ema_window_candles < 2 * self.ema_period:
            raise ValueError(f"ema_window_candles ({self.ema_window_candles}) must be at least "
                             f"2 x ema_period ({2 * self.ema_period}); 3 x is recommended")
        return self

    def required_startup(self) -> int:
        """Candles of history the gate indicators need before their values are exact."""
        return max(self.ema_window_candles, 30 * self.rsi_period,
                   self.momentum_period + self.momentum_lookback)


class RiskConfig(BaseModel):
    """``ai_suite.risk``.

    Attributes:
        max_daily_loss_frac: loss since the start of the UTC day (realized + unrealized, on
            equity at 00:00 UTC) that trips the daily breaker until the next UTC midnight.
        max_weekly_loss_frac: the same for the ISO week (Monday 00:00 UTC), until next Monday.
        max_drawdown_frac: drop from the equity peak that trips the kill switch: HALTED until
            a human resets it.
        max_consecutive_losses: losing trades in a row that pause entries for
            ``losing_streak_pause_min``.
        max_position_frac: largest stake of one trade, as a fraction of equity.
        max_open_positions: open trades allowed at once.
        signal_anomaly_factor: entry signals in the last ``signal_window_candles`` above this
            multiple of the trailing median per window pause entries for ``anomaly_pause_min``.
        blackout_before_min / blackout_after_min: no entries this long before / after an FOMC
            decision or CPI release.
        cooldown_after_win_min / cooldown_after_loss_min: per-pair pause after a trade closes.
        flatten_on_halt: when HALTED, also exit open trades (else exits follow the strategy).
        gates: the 7-gate entry framework (:class:`GateConfig`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_daily_loss_frac: float = Field(default=0.03, gt=0, lt=1)
    max_weekly_loss_frac: float = Field(default=0.07, gt=0, lt=1)
    max_drawdown_frac: float = Field(default=0.15, gt=0, lt=1)
    max_consecutive_losses: int = Field(default=5, ge=1)
    losing_streak_pause_min: float = Field(default=720, gt=0, le=MAX_PAUSE_MIN)
    max_position_frac: float = Field(default=0.10, gt=0, le=1)
    max_open_positions: int = Field(default=3, ge=1)
    signal_anomaly_factor: float = Field(default=10, gt=1)
    signal_window_candles: int = Field(default=24, ge=1)
    signal_history_windows: int = Field(default=30, ge=3)
    anomaly_pause_min: float = Field(default=240, gt=0, le=MAX_PAUSE_MIN)
    blackout_before_min: float = Field(default=30, ge=0, le=MAX_PAUSE_MIN)
    blackout_after_min: float = Field(default=60, ge=0, le=MAX_PAUSE_MIN)
    cooldown_after_win_min: float = Field(default=180, ge=0, le=MAX_PAUSE_MIN)
    cooldown_after_loss_min: float = Field(default=360, ge=0, le=MAX_PAUSE_MIN)
    flatten_on_halt: bool = False
    gates: GateConfig = Field(default_factory=GateConfig)


class StageConfig(BaseModel):
    """``ai_suite.stages``: deployment stages (``plugins.risk.stages``).

    Attributes:
        enabled: apply stages (off: every strategy trades at full size, nothing is filed).
        initial: stage of a strategy seen for the first time.
        canary_stake_frac: stake multiplier in the canary stage (0.15 = 15 % of normal).
        promotion_min_trades: closed trades in the current stage needed to promote.
        promotion_tolerance: canary -> active needs the canary mean return per trade to be
            at least the shadow mean minus this (fraction per trade).
        rollback_drawdown_frac: active -> canary when equity falls this far below its peak
            since activation (a fraction; keep it below ``risk.max_drawdown_frac``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool = False
    initial: Literal["shadow", "canary", "active"] = "shadow"
    canary_stake_frac: float = Field(default=0.15, gt=0, le=1)
    promotion_min_trades: int = Field(default=25, ge=1)
    promotion_tolerance: float = Field(default=0.005, ge=0)
    rollback_drawdown_frac: float = Field(default=0.08, gt=0, lt=1)
