"""Value notations of strategy trees: percentages, durations and timeframes.

- Percentages: ``"3.3%"`` (a string with ``%``) or a bare number read as a *fraction*
  (``0.033``). Stored as the fraction (``float``); written back as ``"3.3%"``. Parsing goes
  through ``Decimal``, so ``"3.3%"`` -> ``0.033`` -> ``"3.3%"`` is exact.
- Durations: a number and a unit, ``m`` (minutes), ``h``, ``d``, ``w`` (``H``/``D``/``W`` also
  accepted; ``M`` is refused as it could mean months). Stored as ``Duration``, a ``timedelta``
  that remembers how it was written (``48h`` stays ``48h``; ``48h == 2d`` is still True).
- Timeframes: candle lengths Freqtrade and Binance know (``TIMEFRAMES``); ``1D`` is read as
  ``1d``. Stored as the canonical lower-case string.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from plugins.strategy_tree.errors import RuleError

#: Candle timeframes a tree may name, canonical spelling -> length.
TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1), "3m": timedelta(minutes=3), "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15), "30m": timedelta(minutes=30), "1h": timedelta(hours=1),
    "2h": timedelta(hours=2), "4h": timedelta(hours=4), "6h": timedelta(hours=6),
    "8h": timedelta(hours=8), "12h": timedelta(hours=12), "1d": timedelta(days=1),
    "3d": timedelta(days=3), "1w": timedelta(weeks=1),
}
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}
DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([mhdwHDW])$")
PERCENT_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*%$")
#: Longest duration accepted anywhere (10 years), so arithmetic on it cannot overflow.
MAX_DURATION = timedelta(days=3660)


class Duration(timedelta):
    """A positive ``timedelta`` that keeps its written form (``str(d)`` -> ``"48h"``)."""

    text: str

    def __new__(cls, text: str) -> Duration:
        match = DURATION_RE.match(text)
        if match is None:
            raise ValueError(text)
        number, unit = match.groups()
        unit = unit.lower()
        delta = _UNITS[unit] * float(number)
        self = super().__new__(cls, seconds=delta.total_seconds())
        self.text = f"{Decimal(number).normalize():f}{unit}"
        return self

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"

    def __reduce__(self):  # pickling / deepcopy keep the written form
        return (Duration, (self.text,))


def parse_percent(value: object, what: str = "value") -> float:
    """``"3.3%"`` -> 0.033; a bare int/float is already a fraction.

    Raises:
        RuleError: ``value`` is not a number or a ``N%`` string (booleans are refused).
    """
    if isinstance(value, bool):
        raise RuleError(f"{what} is a boolean ({value!r}), not a percentage",
                        "write a percentage like 8% or a fraction like 0.08")
    if isinstance(value, int | float):
        if value != value or abs(value) >= 10**12:
            raise RuleError(f"{what} is {value!r}", "write a finite percentage like 8%")
        return float(value)
    if isinstance(value, str):
        match = PERCENT_RE.match(value.strip())
        if match and abs(Decimal(match.group(1))) < 10**12:
            return float(Decimal(match.group(1)) / 100)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and abs(number) < 10**12:
            return float(number)
    raise RuleError(f"{what} {value!r} is not a percentage",
                    "write a percentage like 8% or a fraction like 0.08")


def format_percent(fraction: float) -> str:
    """0.033 -> ``"3.3%"`` (shortest exact decimal of ``fraction * 100``)."""
    text = format(Decimal(repr(float(fraction))) * 100, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def parse_duration(value: object, what: str = "duration") -> Duration:
    """``"4h"`` / ``"1D"`` / ``"30d"`` -> ``Duration``.

    Raises:
        RuleError: not a string of a positive number and one of the units m, h, d, w, or
            longer than ``MAX_DURATION``.
    """
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("M") and DURATION_RE.match(text[:-1] + "m"):
            raise RuleError(f"{what} {value!r} is ambiguous (M could mean months)",
                            f"write minutes as {text[:-1]}m, days as Nd or weeks as Nw")
        match = DURATION_RE.match(text)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2).lower()].total_seconds()
            if seconds > MAX_DURATION.total_seconds():
                raise RuleError(f"{what} {value!r} is longer than 10 years",
                                "write a shorter duration, e.g. 30d")
            if seconds < 1:
                raise RuleError(f"{what} {value!r} is shorter than a second",
                                "write e.g. 4h or 1d")
            return Duration(text)
    raise RuleError(f"{what} {value!r} is not a duration",
                    "write a number and a unit m/h/d/w, e.g. 4h, 48h, 1d, 30d")


def parse_timeframe(value: object, what: str = "timeframe") -> str:
    """``"1D"`` -> ``"1d"``; only ``TIMEFRAMES`` are accepted.

    Raises:
        RuleError: not one of ``TIMEFRAMES``.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("M"):
            raise RuleError(f"{what} {value!r} is ambiguous (M could mean months)",
                            f"use one of {', '.join(TIMEFRAMES)}")
        if text.lower() in TIMEFRAMES:
            return text.lower()
    raise RuleError(f"{what} {value!r} is not a supported candle timeframe",
                    f"use one of {', '.join(TIMEFRAMES)}")


def timeframe_delta(timeframe: str) -> timedelta:
    """Length of a canonical timeframe (``"4h"`` -> 4 hours)."""
    return TIMEFRAMES[timeframe]
