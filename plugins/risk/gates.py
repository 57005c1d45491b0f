"""The 7-gate entry framework as pure functions of one analysed candle (``../shared/seeds``).

Every gate answers pass/deny with a reason; an entry needs all seven. Inputs are plain values
read from the analysed candle (and the context the mixin knows): no gate reads the clock or
Freqtrade. Missing inputs fail closed (deny, reason ``missing``), except the regime and
confidence gates, which pass with a note when the strategy provides no regime or confidence
column at all (``None``), so strategies without a regime model or a confidence still trade.

Gates, in order: regime, EMA-200 distance band, RSI not overbought, news blackout, cooldown,
momentum not deteriorating, confidence >= threshold. Units: distances and momentum are
fractions (0.05 = 5 %), RSI is 0-100, confidence 0-1. Band edges are inclusive (to the
breakers' 1e-12 tolerance).

Not wired into ``RiskGuardMixin`` yet: the EMA-200 needs several hundred startup candles
before its value stops depending on where the data starts (``recursive-analysis``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from plugins.risk.breakers import EPSILON


class GateConfig(BaseModel):
    """Thresholds of the seven gates (``ai_suite.risk.gates`` once wired into the mixin).

    Attributes:
        blocked_regimes: regime names in which no long entry is allowed.
        ema_band_low_frac / ema_band_high_frac: allowed close / EMA-200 - 1 (e.g. -0.05..0.20).
        rsi_max: RSI above this is overbought.
        momentum_drop_max: momentum may fall at most this much (fraction) versus its value
            ``momentum_lookback`` candles earlier while below zero.
        min_confidence: model confidence needed (0-1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocked_regimes: tuple[str, ...] = ("bear", "high_volatility")
    ema_band_low_frac: float = -0.05
    ema_band_high_frac: float = 0.20
    rsi_max: float = Field(default=75, gt=0, le=100)
    momentum_drop_max: float = Field(default=0.01, ge=0)
    min_confidence: float = Field(default=0.5, ge=0, le=1)


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict: ``gate`` name, ``passed``, and ``reason`` (figures or ``missing``)."""

    gate: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateInputs:
    """What the gates read for one candle of one pair.

    Attributes:
        close: candle close (quote currency).
        ema200: EMA-200 of the close at that candle (NaN if not enough history).
        rsi: RSI(14), 0-100.
        momentum / momentum_before: rate of change now and ``momentum_lookback`` candles ago
            (fractions).
        in_blackout: inside an FOMC/CPI blackout window.
        cooling_down: the pair is inside its post-trade cooldown.
        regime: regime name, or ``None`` when the strategy has no regime model.
        confidence: model confidence 0-1, or ``None`` when the strategy gives none.
    """

    close: float
    ema200: float
    rsi: float
    momentum: float
    momentum_before: float
    in_blackout: bool
    cooling_down: bool
    regime: str | None = None
    confidence: float | None = None


def _missing(*values: float) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def regime_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """Deny in a blocked regime; pass with a note when there is no regime model."""
    if x.regime is None:
        return GateResult("regime", True, "no regime model")
    ok = x.regime not in cfg.blocked_regimes
    return GateResult("regime", ok, f"regime {x.regime}" + ("" if ok else " is blocked"))


def ema_band_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """Close within ``[ema_band_low_frac, ema_band_high_frac]`` of the EMA-200."""
    if _missing(x.close, x.ema200) or x.ema200 <= 0:
        return GateResult("ema200_band", False, "missing")
    distance = x.close / x.ema200 - 1
    ok = cfg.ema_band_low_frac - EPSILON <= distance <= cfg.ema_band_high_frac + EPSILON
    return GateResult("ema200_band", ok, f"close {distance:+.2%} from EMA-200 "
                      f"(band {cfg.ema_band_low_frac:+.0%}..{cfg.ema_band_high_frac:+.0%})")


def rsi_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """RSI at or below ``rsi_max``."""
    if _missing(x.rsi):
        return GateResult("rsi", False, "missing")
    ok = x.rsi <= cfg.rsi_max
    return GateResult("rsi", ok, f"RSI {x.rsi:.1f}" + ("" if ok else f" > {cfg.rsi_max:g}"))


def blackout_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """No entry inside an FOMC/CPI blackout window."""
    return GateResult("news_blackout", not x.in_blackout,
                      "FOMC/CPI blackout" if x.in_blackout else "clear")


def cooldown_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """No entry while the pair cools down after a trade."""
    return GateResult("cooldown", not x.cooling_down,
                      "cooling down" if x.cooling_down else "clear")


def momentum_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """Deny when momentum is negative and fell more than ``momentum_drop_max``."""
    if _missing(x.momentum, x.momentum_before):
        return GateResult("momentum", False, "missing")
    drop = x.momentum_before - x.momentum
    ok = x.momentum >= 0 or drop <= cfg.momentum_drop_max + EPSILON
    return GateResult("momentum", ok, f"momentum {x.momentum:+.2%} (was {x.momentum_before:+.2%})")


def confidence_gate(x: GateInputs, cfg: GateConfig) -> GateResult:
    """Confidence at or above ``min_confidence``; pass with a note when none is given."""
    if x.confidence is None:
        return GateResult("confidence", True, "no confidence given")
    if _missing(x.confidence):
        return GateResult("confidence", False, "missing")
    ok = x.confidence >= cfg.min_confidence
    return GateResult("confidence", ok, f"confidence {x.confidence:.2f} "
                      f"({'>=' if ok else '<'} {cfg.min_confidence:.2f})")


GATES = (regime_gate, ema_band_gate, rsi_gate, blackout_gate, cooldown_gate, momentum_gate,
         confidence_gate)


def evaluate_gates(x: GateInputs, cfg: GateConfig) -> list[GateResult]:
    """All seven verdicts, in order; an entry may proceed only if every one passed."""
    return [gate(x, cfg) for gate in GATES]
