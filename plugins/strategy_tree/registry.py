"""The series a condition may name, and how the reference interpreter computes each one.

A series is written ``NAME`` or ``NAME(args)``; the arguments are told apart by their shape,
in any order, at most one of each of the first two:

- an *asset*: an identifier (``BTC``) or a pair (``BTC/USDT``); omitted = the pair the tree
  is evaluated on;
- a *duration*: the series' **timeframe** for market series (``RSI(BTC, 1D)``: RSI of daily
  candles; omitted = the tree's timeframe) or the **window** for alternative-data series
  (``exchange_netflow(BTC, 48h)``: the 48 h sum of daily netflow; omitted = one observation);
- numbers: the indicator's parameters, in the order ``params`` lists them; omitted trailing
  ones take their defaults (``RSI(BTC, 1D)`` = ``RSI(BTC, 1D, 14)``).

Kinds and how they are computed (``interpreter``):

- ``ohlcv``: a candle column (``open high low close volume``) of the series' timeframe.
- ``indicator``: a TA-Lib function (``talib``, 0.8) on the series' timeframe candles; the
  formulas are TA-Lib's (Wilder's smoothing for RSI/ATR/ADX; EMA seeded with an SMA). Values
  on higher-timeframe candles reach a tree only once that candle has closed (see
  ``inputs.resample_causal``).
- ``altdata``: a column of the alternative-data frame (``inputs.altdata_frame``), named
  ``<provider>_<column>`` like ``plugins.altdata.merge`` names them (``coinmetrics_netflow_btc``,
  ``fear_greed_fng_value``, ``fred_dgs10_value``, ``dxy_dxy``). The window aggregates the
  provider's own observations (``agg``: ``sum`` for flows, ``mean`` for levels) before the
  point-in-time merge on ``available_at``; a value older than ``max_staleness`` is missing.
- ``calendar``: hours to the next / since the last FOMC or CPI event at the candle's close
  (``plugins.altdata.calendar.EventCalendar``).
- ``regime``: the candles' ``regime`` column (a regime name per candle, e.g. from
  ``plugins.regime``), compared with strings only: ``regime == "calm_bull"``,
  ``regime in ["calm_bull", "calm_bear"]``.

Units decide what may be compared: two series only with the same unit, and a ``%`` literal
only with a ``percent`` series (``BTC_dominance < 40%`` compares with 40) or a ``fraction``
series (``funding_rate(BTC) > 0.01%`` compares with 0.0001).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

PRICE = "price"  # quote currency of the pair
VOLUME = "volume"  # base-asset units
INDEX = "index 0-100"
PERCENT = "percent"  # 0-100, a `%` literal compares with its number
FRACTION = "fraction"  # 0-1, a `%` literal compares with number / 100
LABEL = "label"  # strings (the regime)
HOURS = "hours"
PERCENT_UNITS = (PERCENT, FRACTION)

OHLCV = ("open", "high", "low", "close", "volume")
DAY = timedelta(days=1)
#: TA-Lib's largest period.
MAX_PERIOD = 100_000


@dataclass(frozen=True)
class Param:
    """A numeric parameter: ``default`` None = required; ``integer`` = whole numbers only."""

    name: str
    default: float | None
    minimum: float = 1
    integer: bool = True


@dataclass(frozen=True)
class SeriesSpec:
    """One known series.

    Attributes:
        name: canonical name (``RSI``, ``exchange_netflow``).
        kind: ``ohlcv`` | ``indicator`` | ``altdata`` | ``calendar`` | ``regime``.
        unit: ``PRICE``, ``INDEX``, ``PERCENT``, ``FRACTION``, ``LABEL``, ``HOURS`` or the
            data's own unit (``BTC``, ``USD``, ``ratio``, ...).
        noun: English noun phrase for ``explain`` (``{period}`` etc. are filled in).
        params: numeric parameters, in argument order.
        takes_asset: accepts an asset argument.
        assets: the assets data exists for (alt data), or None for any pair.
        duration: ``timeframe`` | ``window`` | None (what a duration argument means).
        aliases: other accepted names (matched case-insensitively, like ``name``).
        talib: TA-Lib function, its price inputs and which output to take.
        column: candle column (``ohlcv``) or alt-data column (``altdata``).
        agg: ``sum`` | ``mean``: how a window aggregates alt-data observations.
        period: the alt-data source's observation period (a window is a whole number of them).
        max_staleness: older values are missing (the provider's own limit).
        events: calendar kinds (``FOMC``/``CPI``); ``direction``: ``to`` | ``since``.
    """

    name: str
    kind: str
    unit: str
    noun: str
    params: tuple[Param, ...] = ()
    takes_asset: bool = False
    assets: tuple[str, ...] | None = None
    duration: str | None = None
    aliases: tuple[str, ...] = ()
    talib: tuple[str, tuple[str, ...], int] | None = None
    column: str | None = None
    agg: str = "mean"
    period: timedelta = DAY
    max_staleness: timedelta = timedelta(days=3)
    events: tuple[str, ...] = ()
    direction: str = ""
    notes: str = field(default="", compare=False)


def _period(default: float | None = None, minimum: float = 2, name: str = "period") -> Param:
    return Param(name, default, minimum)


def _ind(name: str, unit: str, noun: str, params: tuple[Param, ...], fn: str,
         inputs: tuple[str, ...] = ("close",), output: int = 0) -> SeriesSpec:
    return SeriesSpec(name, "indicator", unit, noun, params, takes_asset=True,
                      duration="timeframe", talib=(fn, inputs, output))


HLC = ("high", "low", "close")
_SPECS: list[SeriesSpec] = [
    *[SeriesSpec(c, "ohlcv", VOLUME if c == "volume" else PRICE, f"{c} price" if c != "volume"
                 else "volume", takes_asset=True, duration="timeframe", column=c) for c in OHLCV],
    _ind("RSI", INDEX, "{period}-period RSI", (_period(14),), "RSI"),
    _ind("EMA", PRICE, "{period}-period EMA of the close", (_period(),), "EMA"),
    _ind("SMA", PRICE, "{period}-period SMA of the close", (_period(),), "SMA"),
    _ind("ATR", PRICE, "{period}-period ATR", (_period(14, 1),), "ATR", HLC),
    _ind("ADX", INDEX, "{period}-period ADX", (_period(14),), "ADX", HLC),
    _ind("ROC", PERCENT, "{period}-period rate of change (percent)", (_period(10, 1),), "ROC"),
    _ind("MOM", PRICE, "{period}-period momentum", (_period(10, 1),), "MOM"),
    *[_ind(name, PRICE, noun + " ({fast}/{slow}/{signal})",
           (_period(12, 2, "fast"), _period(26, 2, "slow"), _period(9, 1, "signal")), "MACD",
           output=i)
      for i, (name, noun) in enumerate([("MACD", "MACD line"), ("MACD_SIGNAL", "MACD signal line"),
                                        ("MACD_HIST", "MACD histogram")])],
    *[_ind(name, PRICE, noun + " ({period}, {nbdev} std)",
           (_period(20), Param("nbdev", 2.0, 0.01, integer=False)), "BBANDS", output=i)
      for i, (name, noun) in enumerate([("BBANDS_UPPER", "upper Bollinger band"),
                                        ("BBANDS_MIDDLE", "middle Bollinger band"),
                                        ("BBANDS_LOWER", "lower Bollinger band")])],
    SeriesSpec("exchange_netflow", "altdata", "BTC", "exchange netflow (BTC in minus out)",
               takes_asset=True, assets=("BTC",), duration="window", aliases=("netflow",),
               column="coinmetrics_netflow_btc", agg="sum",
               notes="Coin Metrics FlowInExNtv - FlowOutExNtv, daily; negative = outflow"),
    SeriesSpec("exchange_inflow", "altdata", "BTC", "BTC sent to exchanges", takes_asset=True,
               assets=("BTC",), duration="window", column="coinmetrics_flow_in_btc", agg="sum"),
    SeriesSpec("exchange_outflow", "altdata", "BTC", "BTC withdrawn from exchanges",
               takes_asset=True, assets=("BTC",), duration="window",
               column="coinmetrics_flow_out_btc", agg="sum"),
    SeriesSpec("exchange_supply", "altdata", "BTC", "BTC held on exchanges", takes_asset=True,
               assets=("BTC",), duration="window", column="coinmetrics_exchange_supply_btc"),
    SeriesSpec("mvrv", "altdata", "ratio", "MVRV (market cap / realized cap)", takes_asset=True,
               assets=("BTC",), duration="window", column="coinmetrics_mvrv"),
    SeriesSpec("fear_greed_index", "altdata", INDEX, "Fear & Greed index", duration="window",
               aliases=("fear_greed", "fng"), column="fear_greed_fng_value",
               max_staleness=timedelta(hours=36)),
    SeriesSpec("stablecoin_supply", "altdata", "USD", "total stablecoin supply (USD)",
               duration="window", column="stablecoins_stablecoin_supply_usd"),
    SeriesSpec("dxy", "altdata", "index", "US dollar index (DXY)", duration="window",
               column="dxy_dxy", max_staleness=timedelta(days=5)),
    SeriesSpec("funding_rate", "altdata", FRACTION, "perpetual funding rate", takes_asset=True,
               assets=("BTC",), duration="window", column="funding_btc_funding_rate",
               period=timedelta(hours=8), max_staleness=timedelta(hours=9)),
    SeriesSpec("btc_dominance", "altdata", PERCENT, "BTC dominance (percent of crypto market cap)",
               duration="window", column="btc_dominance",
               notes="no plugins.altdata provider yet: supply a btc_dominance column "
                     "(percent, 0-100) with available_at in the alt-data frame"),
    *[SeriesSpec(f"hours_{d}_{e.lower()}", "calendar", HOURS,
                 f"number of hours {'to the next' if d == 'to' else 'since the last'} "
                 f"{'FOMC decision' if e == 'FOMC' else 'CPI release'}",
                 events=(e,), direction=d) for d in ("to", "since") for e in ("FOMC", "CPI")],
    SeriesSpec("regime", "regime", LABEL, "market regime", column="regime"),
]
SPECS: dict[str, SeriesSpec] = {s.name: s for s in _SPECS}
_BY_LOWER: dict[str, SeriesSpec] = {}
for _spec in _SPECS:
    for _name in (_spec.name, *_spec.aliases):
        _BY_LOWER[_name.lower()] = _spec

#: FRED series ids whose values are percentages (rates, spreads).
FRED_PERCENT = frozenset({"dgs10", "dgs2", "t10y2y", "fedfunds", "dgs5", "dgs30", "dff"})
FRED_RE = re.compile(r"^fred_([a-z0-9]+)$")


def fred_spec(series_id: str) -> SeriesSpec:
    """The spec of FRED series ``fred_<id>`` (alt-data column ``fred_<id>_value``)."""
    sid = series_id.lower()
    return SeriesSpec(f"fred_{sid}", "altdata", PERCENT if sid in FRED_PERCENT else "FRED units",
                      f"FRED {sid.upper()}", duration="window", column=f"fred_{sid}_value",
                      max_staleness=timedelta(days=5) if sid in FRED_PERCENT else timedelta(days=45))


def lookup(name: str) -> SeriesSpec:
    """The spec of ``name`` (case-insensitive; aliases and ``fred_<id>`` accepted).

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    lower = name.lower()
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    match = FRED_RE.match(lower)
    if match:
        return fred_spec(match.group(1))
    raise KeyError(name)


def known_names() -> list[str]:
    """Canonical names of every known series, plus the ``fred_<ID>`` pattern."""
    return [*SPECS, "fred_<ID>"]


def compute_indicator(spec: SeriesSpec, candles: pd.DataFrame, params: tuple[float, ...]) -> np.ndarray:
    """TA-Lib indicator ``spec`` over ``candles`` (float64 columns ``open high low close
    volume``) with ``params`` (all filled in); float64 array, NaN during the warm-up."""
    import talib

    assert spec.talib is not None
    fn_name, inputs, output = spec.talib
    arrays = [candles[c].to_numpy(dtype="float64") for c in inputs]
    fn = getattr(talib, fn_name)
    if fn_name == "MACD":
        fast, slow, signal = (int(p) for p in params)
        result = fn(*arrays, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    elif fn_name == "BBANDS":
        period, nbdev = params
        result = fn(*arrays, timeperiod=int(period), nbdevup=nbdev, nbdevdn=nbdev, matype=0)
    else:
        result = fn(*arrays, timeperiod=int(params[0]))
    values = result[output] if isinstance(result, tuple | list) else result
    return np.asarray(values, dtype="float64")
