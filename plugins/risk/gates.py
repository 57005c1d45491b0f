"""The 7-gate entry framework as pure functions of one analysed candle (``../shared/seeds``).

Every gate answers pass/deny with a reason; an entry needs all seven. Inputs are plain values
read from the analysed candle (and the context the guard knows): no gate reads the clock or
Freqtrade. Missing inputs fail closed (deny, reason ``missing``), except the regime and
confidence gates, which pass with a note when the strategy provides no regime or confidence
column at all (``None``), so strategies without a regime model or a confidence still trade.

Gates, in order: regime, EMA-200 distance band, RSI not overbought, news blackout, cooldown,
momentum not deteriorating, confidence >= threshold. Units: distances and momentum are
fractions (0.05 = 5 %), RSI is 0-100, confidence 0-1. Band edges are inclusive (to the
breakers' 1e-12 tolerance).

The Freqtrade guard (``plugins.guard``) adds the indicator columns (:func:`gate_indicators`) to
every analysed dataframe; the entry-check core (``plugins.risk.entry``) evaluates the gates on the
signal candle (:func:`signal_candle`) in ``confirm_trade_entry``. The EMA is a
*windowed* EMA (:func:`windowed_ema`): exponential weights over exactly
``ema_window_candles`` candles, so its value depends on a fixed number of candles and not on
where the data starts (``freqtrade recursive-analysis`` finds no variance once the strategy's
startup covers the window; the guard raises ``startup_candle_count`` to
:meth:`GateConfig.required_startup`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
import talib

from plugins.risk.breakers import EPSILON
from plugins.risk.checks import Check, CheckResult
from plugins.risk.config import GateConfig

#: Columns :func:`gate_indicators` adds to the analysed dataframe.
EMA_COLUMN, RSI_COLUMN, MOMENTUM_COLUMN = "ai_gate_ema", "ai_gate_rsi", "ai_gate_momentum"


@dataclass(frozen=True)
class SignalCandle:
    """What the gates read of the signal candle of one pair (:func:`signal_candle`).

    Attributes:
        close: candle close (quote currency).
        ema200: EMA-200 of the close at that candle (NaN if not enough history).
        rsi: RSI(14), 0-100.
        momentum / momentum_before: rate of change now and ``momentum_lookback`` candles ago
            (fractions).
        regime: regime name, or ``None`` when the strategy has no regime model.
        confidence: model confidence 0-1, or ``None`` when the strategy gives none.
    """

    close: float
    ema200: float
    rsi: float
    momentum: float
    momentum_before: float
    regime: str | None = None
    confidence: float | None = None


#: A signal candle of a venue that analyses none (Alpaca's broker): only the news blackout and
#: the cooldown gates run on it (:func:`evaluate_gates` with ``candle_gates=False``).
NO_CANDLE = SignalCandle(close=math.nan, ema200=math.nan, rsi=math.nan, momentum=math.nan,
                         momentum_before=math.nan)


@dataclass(frozen=True)
class GateInputs(SignalCandle):
    """What the gates read: the signal candle, and the entry's context.

    Attributes:
        in_blackout: inside an FOMC/CPI blackout window.
        cooling_down: the pair is inside its post-trade cooldown.
    """

    in_blackout: bool = False
    cooling_down: bool = False


def _missing(*values: float) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def regime_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """Deny when the regime name matches a ``blocked_regimes`` pattern (``fnmatch``, e.g.
    ``*bear*``); pass with a note when there is no regime model."""
    if x.regime is None:
        return CheckResult(Check.REGIME, True, "no regime model")
    blocked = [p for p in cfg.blocked_regimes if fnmatchcase(x.regime, p)]
    return CheckResult(Check.REGIME, not blocked,
                      f"regime {x.regime}" + (f" is blocked ({blocked[0]})" if blocked else ""))


def regime_blocked(regimes: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Vectorized :func:`regime_gate`: True where the regime name matches a pattern.

    ``regimes``: str Series (NaN / missing = no regime yet, never blocked). Returns a bool
    Series on the same index.
    """
    def blocked(name: object) -> bool:
        return isinstance(name, str) and any(fnmatchcase(name, p) for p in patterns)
    return regimes.map(blocked).astype(bool)


def ema_band_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """Close within ``[ema_band_low_frac, ema_band_high_frac]`` of the EMA-200."""
    if _missing(x.close, x.ema200) or x.ema200 <= 0:
        return CheckResult(Check.EMA200_BAND, False, "missing")
    distance = x.close / x.ema200 - 1
    ok = cfg.ema_band_low_frac - EPSILON <= distance <= cfg.ema_band_high_frac + EPSILON
    return CheckResult(Check.EMA200_BAND, ok, f"close {distance:+.2%} from EMA-200 "
                      f"(band {cfg.ema_band_low_frac:+.0%}..{cfg.ema_band_high_frac:+.0%})")


def rsi_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """RSI at or below ``rsi_max``."""
    if _missing(x.rsi):
        return CheckResult(Check.RSI, False, "missing")
    ok = x.rsi <= cfg.rsi_max
    return CheckResult(Check.RSI, ok, f"RSI {x.rsi:.1f}" + ("" if ok else f" > {cfg.rsi_max:g}"))


def blackout_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """No entry inside an FOMC/CPI blackout window."""
    return CheckResult(Check.NEWS_BLACKOUT, not x.in_blackout,
                      "FOMC/CPI blackout" if x.in_blackout else "clear")


def cooldown_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """No entry while the pair cools down after a trade."""
    return CheckResult(Check.COOLDOWN, not x.cooling_down,
                      "cooling down" if x.cooling_down else "clear")


def momentum_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """Deny when momentum is negative and fell more than ``momentum_drop_max``."""
    if _missing(x.momentum, x.momentum_before):
        return CheckResult(Check.MOMENTUM, False, "missing")
    drop = x.momentum_before - x.momentum
    ok = x.momentum >= 0 or drop <= cfg.momentum_drop_max + EPSILON
    return CheckResult(Check.MOMENTUM, ok, f"momentum {x.momentum:+.2%} (was {x.momentum_before:+.2%})")


def confidence_gate(x: GateInputs, cfg: GateConfig) -> CheckResult:
    """Confidence at or above ``min_confidence``; pass with a note when none is given."""
    if x.confidence is None:
        return CheckResult(Check.CONFIDENCE, True, "no confidence given")
    if _missing(x.confidence):
        return CheckResult(Check.CONFIDENCE, False, "missing")
    ok = x.confidence >= cfg.min_confidence
    return CheckResult(Check.CONFIDENCE, ok, f"confidence {x.confidence:.2f} "
                      f"({'>=' if ok else '<'} {cfg.min_confidence:.2f})")


GATES = (regime_gate, ema_band_gate, rsi_gate, blackout_gate, cooldown_gate, momentum_gate,
         confidence_gate)


def windowed_ema(close: pd.Series, period: int, window: int) -> pd.Series:
    """EMA of ``close`` with smoothing ``2 / (period + 1)`` over exactly the last ``window``
    candles (weights ``(1 - a)**i``, ``i = 0..window-1``, normalised to sum to 1).

    The textbook EMA is recursive, so its value depends on where the data starts; this one
    depends on ``window`` candles only, which is what ``recursive-analysis`` needs. With
    ``window = 3 * period`` the weight left out is ``(1 - a)**window`` ~ 0.25 %.

    Returns:
        float64 Series on ``close``'s index, NaN for the first ``window - 1`` candles.
    """
    alpha = 2.0 / (period + 1)
    weights = (1 - alpha) ** np.arange(window)[::-1]  # oldest first
    weights /= weights.sum()
    values = close.to_numpy(dtype="float64")
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(values, window) @ weights
    return pd.Series(out, index=close.index)


def gate_indicators(dataframe: pd.DataFrame, cfg: GateConfig) -> pd.DataFrame:
    """Add the gates' indicator columns to an OHLCV ``dataframe`` (in place, also returned).

    Columns (float64, NaN during warm-up):
        ``ai_gate_ema``: :func:`windowed_ema` of the close (``ema_period``, ``ema_window_candles``).
        ``ai_gate_rsi``: TA-Lib RSI(``rsi_period``), 0-100.
        ``ai_gate_momentum``: TA-Lib ROC(``momentum_period``) / 100, a fraction.
    """
    close = dataframe["close"].astype("float64")
    dataframe[EMA_COLUMN] = windowed_ema(close, cfg.ema_period, cfg.ema_window_candles)
    dataframe[RSI_COLUMN] = talib.RSI(close, timeperiod=cfg.rsi_period)
    dataframe[MOMENTUM_COLUMN] = talib.ROC(close, timeperiod=cfg.momentum_period) / 100
    return dataframe


def signal_candle(frame: pd.DataFrame, cfg: GateConfig) -> SignalCandle | None:
    """The :class:`SignalCandle` of the last candle of an analysed ``frame``; ``None`` when
    the frame is empty or lacks :func:`gate_indicators`' columns (nothing to judge: the entry is
    denied, ``analysed_candle``). The regime and confidence columns are optional: absent means
    the strategy has no regime model / gives no confidence. Too short a frame gives NaN values,
    which the gates deny (fail closed).
    """
    if frame.empty or EMA_COLUMN not in frame.columns:
        return None
    last = frame.iloc[-1]
    regime = last.get(cfg.regime_column) if cfg.regime_column in frame.columns else None
    confidence = (float(last[cfg.confidence_column])
                  if cfg.confidence_column in frame.columns else None)
    return SignalCandle(
        close=float(last["close"]), ema200=float(last[EMA_COLUMN]), rsi=float(last[RSI_COLUMN]),
        momentum=float(last[MOMENTUM_COLUMN]),
        momentum_before=(float(frame[MOMENTUM_COLUMN].iloc[-1 - cfg.momentum_lookback])
                         if len(frame) > cfg.momentum_lookback else math.nan),
        regime=None if regime is None or (isinstance(regime, float) and math.isnan(regime))
        else str(regime),
        confidence=confidence)


def gate_inputs(frame: pd.DataFrame, cfg: GateConfig, *, in_blackout: bool,
                cooling_down: bool) -> GateInputs:
    """The :class:`GateInputs` of the last candle of an analysed ``frame`` that carries
    :func:`gate_indicators`' columns (:func:`signal_candle`) in this entry's context."""
    candle = signal_candle(frame, cfg)
    if candle is None:
        raise ValueError("no analysed candle with the gate columns")
    return GateInputs(**vars(candle), in_blackout=in_blackout, cooling_down=cooling_down)


def evaluate_gates(x: GateInputs, cfg: GateConfig, *,
                   candle_gates: bool = True) -> list[CheckResult]:
    """All seven verdicts, in order, when ``cfg.enabled``; else only the news-blackout and
    cooldown gates (breakers of their own, always on). ``candle_gates=False``: the venue
    analyses no candles (``NO_CANDLE``), so only those two run too. An entry may proceed only if
    every returned verdict passed."""
    gates = GATES if cfg.enabled and candle_gates else (blackout_gate, cooldown_gate)
    return [gate(x, cfg) for gate in gates]
