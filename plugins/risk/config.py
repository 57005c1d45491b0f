"""Typed settings of the risk layer (``ai_suite.risk``), defaults in one place.

Fractions are fractions of account equity (0.03 = 3 %); durations are in minutes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_daily_loss_frac: float = Field(default=0.03, gt=0, lt=1)
    max_weekly_loss_frac: float = Field(default=0.07, gt=0, lt=1)
    max_drawdown_frac: float = Field(default=0.15, gt=0, lt=1)
    max_consecutive_losses: int = Field(default=5, ge=1)
    losing_streak_pause_min: float = Field(default=720, gt=0)
    max_position_frac: float = Field(default=0.10, gt=0, le=1)
    max_open_positions: int = Field(default=3, ge=1)
    signal_anomaly_factor: float = Field(default=10, gt=1)
    signal_window_candles: int = Field(default=24, ge=1)
    signal_history_windows: int = Field(default=30, ge=3)
    anomaly_pause_min: float = Field(default=240, gt=0)
    blackout_before_min: float = Field(default=30, ge=0)
    blackout_after_min: float = Field(default=60, ge=0)
    cooldown_after_win_min: float = Field(default=180, ge=0)
    cooldown_after_loss_min: float = Field(default=360, ge=0)
    flatten_on_halt: bool = False
