"""The market briefing: a deterministic "Current Market State" from data, no LLM involved.

In the spirit of the seed's stage 2 briefing: price and 24 h change, RSI(14) on several
timeframes, BTC exchange netflow, Fear & Greed, DXY, the US 10-year yield, the next FOMC/CPI
event and the market regime. Point-in-time at ``at``: a candle counts once it has closed
(``date + timeframe <= at``), an alternative-data value once it was published
(``available_at <= at``), an event is "next" if scheduled after ``at``. The same ``at`` and the
same data always give the same briefing (and so the same prompt hash downstream).

Inputs: a Freqtrade data dir (``user_data/data/binance``, files ``BTC_USDT-1h.feather``) and the
alternative-data cache (``user_data/altdata``: provider parquet files and ``calendar/``).
Missing series are left out with a note; missing candles raise ``DataNotFoundError``.

News: the latest scored headlines from the news store (``<cache>/news``, ``plugins.altdata.news``)
that were visible at ``at`` (``available_at`` + the default processing lag <= ``at``) and at most
``NEWS_MAX_AGE`` old, newest first, with their publication time, source and VADER score
(deterministic, offline). Outside the news coverage there are none and the briefing is unchanged
(``facts`` leaves the empty field out, so prompt hashes of earlier briefings stay the same).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import talib
from freqtrade.exchange import timeframe_to_minutes
from pydantic import BaseModel, ConfigDict, Field

from plugins.altdata.cache import AltDataCache
from plugins.altdata.calendar import EventCalendar
from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.errors import CacheCorruptError
from plugins.altdata.news.config import NewsConfig
from plugins.altdata.news.scoring import VaderScorer
from plugins.altdata.news.store import NewsStore
from plugins.altdata.registry import build_providers
from plugins.core.errors import DataNotFoundError
from plugins.regime import DetectorConfig, make_detector, regime_inputs
from plugins.regime.base import RegimeDetectorError

logger = logging.getLogger(__name__)

RSI_PERIOD = 14
#: Candles the RSI is computed over (Wilder's recursion has converged long before).
RSI_HISTORY = 500
BASE_TIMEFRAME = "1h"
REGIME_TRAIN_DAYS = 90
#: Fear & Greed bands as the shipped alternative.me data labels them (fng_class column).
FEAR_GREED_BANDS = ((25, "Extreme Fear"), (46, "Fear"), (54, "Neutral"), (75, "Greed"),
                    (100, "Extreme Greed"))
#: Headlines in the briefing: at most this many, none older than ``NEWS_MAX_AGE``.
NEWS_MAX = 5
NEWS_MAX_AGE = pd.Timedelta(hours=48)


class NewsHeadline(BaseModel):
    """A scored headline: ``published_at`` (UTC), ``source``, ``title`` (untrusted text),
    ``score`` (-1..1, negative = bearish tone; None if the scorer abstained), ``scorer``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    published_at: datetime
    source: str
    title: str
    score: float | None
    scorer: str


class MacroEvent(BaseModel):
    """The next scheduled event: ``kind`` (FOMC | CPI), ``at`` (UTC), ``hours_until``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    at: datetime
    hours_until: float


class RegimeReading(BaseModel):
    """The regime of the last closed base candle: ``name``, its ``probability_frac`` (0-1),
    the ``detector`` kind and the ``timeframe`` it labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    probability_frac: float
    detector: str
    timeframe: str


class Briefing(BaseModel):
    """The market state of ``pair`` at ``at`` (see the module docstring). Units: ``price`` in
    the quote currency; ``*_frac`` fractions (0.023 = 2.3 %); RSI 0-100 per timeframe;
    ``netflow_btc`` BTC per day (negative = net outflow from exchanges); ``fear_greed`` 0-100;
    ``us10y_pct`` percent, its change in basis points; ``*_as_of`` the observation day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pair: str
    at: datetime
    price: float
    price_change_24h_frac: float | None = None
    rsi: dict[str, float | None] = Field(default_factory=dict)
    netflow_btc: float | None = None
    netflow_as_of: str | None = None
    fear_greed: float | None = None
    fear_greed_label: str | None = None
    fear_greed_as_of: str | None = None
    dxy: float | None = None
    dxy_change_1w_frac: float | None = None
    dxy_as_of: str | None = None
    us10y_pct: float | None = None
    us10y_change_1w_bp: float | None = None
    us10y_as_of: str | None = None
    next_event: MacroEvent | None = None
    regime: RegimeReading | None = None
    notes: tuple[str, ...] = ()
    news: tuple[str, ...] = ()
    headlines: tuple[NewsHeadline, ...] = ()

    def facts(self) -> dict:
        """Plain JSON data (what the LLM hooks send, inside a data block); ``headlines`` only
        when there are some."""
        return self.model_dump(mode="json", exclude=None if self.headlines else {"headlines"})


def utc_time(value: str | datetime | pd.Timestamp) -> datetime:
    """A UTC ``datetime`` from ISO text or a timestamp (naive input is read as UTC)."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def candle_path(datadir: Path, pair: str, timeframe: str) -> Path:
    """``<datadir>/BTC_USDT-1h.feather`` for spot ``BTC/USDT``."""
    return Path(datadir) / f"{pair.replace('/', '_').replace(':', '_')}-{timeframe}.feather"


def closed_candles(datadir: Path, pair: str, timeframe: str, at: datetime) -> pd.DataFrame:
    """Candles of ``pair`` that closed by ``at``.

    Raises:
        DataNotFoundError: no file, or no candle closed by ``at``.
    """
    path = candle_path(datadir, pair, timeframe)
    if not path.is_file():
        raise DataNotFoundError(f"No {timeframe} candles for {pair} at {path}; run `make data` or "
                                "`python -m plugins.marketdata` to fill the data dir")
    frame = pd.read_feather(path)
    close_time = frame["date"] + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
    frame = frame[close_time <= pd.Timestamp(at)].reset_index(drop=True)
    if frame.empty:
        raise DataNotFoundError(f"No {timeframe} candle of {pair} closed by {at:%Y-%m-%d %H:%M} UTC "
                                f"in {path}; pick a later --at")
    return frame


def last_closed_time(datadir: Path, pair: str, timeframe: str = BASE_TIMEFRAME) -> datetime:
    """Close time of the newest candle in the data dir (the default ``at``).

    Raises:
        DataNotFoundError: no candle file.
    """
    path = candle_path(datadir, pair, timeframe)
    if not path.is_file():
        raise DataNotFoundError(f"No {timeframe} candles for {pair} at {path}")
    last = pd.read_feather(path, columns=["date"])["date"].max()
    return (last + pd.Timedelta(minutes=timeframe_to_minutes(timeframe))).to_pydatetime()


def _rsi(frame: pd.DataFrame) -> float | None:
    closes = frame["close"].to_numpy(dtype="float64")[-RSI_HISTORY:]
    if len(closes) <= RSI_PERIOD:
        return None
    value = talib.RSI(closes, timeperiod=RSI_PERIOD)[-1]
    return None if np.isnan(value) else round(float(value), 2)


def _published(frame: pd.DataFrame | None, column: str, at: datetime) -> pd.Series:
    """``column`` values published by ``at``, NaN dropped (indexed by observation time)."""
    if frame is None or frame.empty:
        return pd.Series(dtype="float64")
    known = frame[frame[AVAILABLE_AT] <= pd.Timestamp(at)]
    return known[column].dropna()


def _week_change(series: pd.Series) -> tuple[float, float | None, str] | None:
    """(latest value, latest - value a week before it (or None), observation day)."""
    if series.empty:
        return None
    latest_at, latest = series.index[-1], float(series.iloc[-1])
    before = series[series.index <= latest_at - pd.Timedelta(days=7)]
    change = latest - float(before.iloc[-1]) if not before.empty else None
    return latest, change, f"{latest_at:%Y-%m-%d}"


def fear_greed_label(value: float) -> str:
    """The alternative.me band of a Fear & Greed value."""
    return next(label for top, label in FEAR_GREED_BANDS if value <= top)


def _regime(frame: pd.DataFrame, detector: str) -> RegimeReading:
    """Fit ``detector`` on the last ``REGIME_TRAIN_DAYS`` of base candles, label the last one."""
    window = frame.tail(REGIME_TRAIN_DAYS * 24).reset_index(drop=True)
    inputs = regime_inputs(window).dropna()
    model = make_detector(DetectorConfig(kind=detector)).fit(inputs)
    proba, _ = model.predict_proba(inputs.tail(1))
    k = int(proba[0].argmax())
    return RegimeReading(name=model.regime_names[k], probability_frac=round(float(proba[0][k]), 4),
                         detector=detector, timeframe=BASE_TIMEFRAME)


def build_briefing(datadir: Path, cache_dir: Path, pair: str, at: datetime,
                   timeframes: tuple[str, ...] = ("1h", "4h", "1d"), detector: str = "rules",
                   news: tuple[str, ...] = ()) -> Briefing:
    """The briefing of ``pair`` at ``at`` (UTC), point-in-time (see the module docstring).

    Args:
        datadir: Freqtrade data dir with ``<PAIR>-<tf>.feather`` files.
        cache_dir: alternative-data cache (``calendar/`` inside it).
        timeframes: RSI timeframes; the 1h candles also give the price and the regime.
        detector: regime detector kind (``rules`` | ``hmm`` | ``jump``); fitted on the 90 days
            before ``at``.
        news: headlines supplied by the user (untrusted text, passed through to the LLM hooks).

    Raises:
        DataNotFoundError: no 1h candles of ``pair`` closed by ``at``.
    """
    at = utc_time(at)
    notes: list[str] = []
    base = closed_candles(datadir, pair, BASE_TIMEFRAME, at)
    last_close = base["date"].iloc[-1] + pd.Timedelta(hours=1)
    if pd.Timestamp(at) - last_close > pd.Timedelta(hours=2):
        notes.append(f"price data is stale: the last 1h candle closed {last_close:%Y-%m-%d %H:%M} UTC")
    price = float(base["close"].iloc[-1])
    change = None
    if len(base) > 24:
        change = round(price / float(base["close"].iloc[-25]) - 1, 6)
    rsi: dict[str, float | None] = {}
    for tf in timeframes:
        try:
            rsi[tf] = _rsi(base if tf == BASE_TIMEFRAME else closed_candles(datadir, pair, tf, at))
        except DataNotFoundError as err:
            rsi[tf] = None
            notes.append(f"no RSI({tf}): {err}")
    fields: dict = {}
    providers = {p.name: p for p in build_providers(AltDataConfig(cache_dir=cache_dir))}
    cache = AltDataCache(cache_dir)

    def read(name: str, column: str) -> pd.Series:
        provider = providers.get(name)
        series = _published(cache.read(provider) if provider else None, column, at)
        if series.empty:
            notes.append(f"no {name} data published by {at:%Y-%m-%d %H:%M} UTC in {cache_dir}")
        return series

    netflow = read("coinmetrics", "netflow_btc")
    if not netflow.empty:
        fields.update(netflow_btc=round(float(netflow.iloc[-1]), 2),
                      netflow_as_of=f"{netflow.index[-1]:%Y-%m-%d}")
    fng = read("fear_greed", "fng_value")
    if not fng.empty:
        value = float(fng.iloc[-1])
        fields.update(fear_greed=value, fear_greed_label=fear_greed_label(value),
                      fear_greed_as_of=f"{fng.index[-1]:%Y-%m-%d}")
    dxy = _week_change(read("dxy", "dxy"))
    if dxy is not None:
        value, delta, day = dxy
        fields.update(dxy=round(value, 3), dxy_as_of=day,
                      dxy_change_1w_frac=None if delta is None else round(delta / (value - delta), 6))
    us10y = _week_change(read("fred_dgs10", "value"))
    if us10y is not None:
        value, delta, day = us10y
        fields.update(us10y_pct=round(value, 3), us10y_as_of=day,
                      us10y_change_1w_bp=None if delta is None else round(delta * 100, 1))
    next_event = _next_event(Path(cache_dir) / "calendar", at, notes)
    regime = None
    try:
        regime = _regime(base, detector)
    except RegimeDetectorError as err:
        notes.append(f"no regime: {err}")
    return Briefing(pair=pair, at=at, price=price, price_change_24h_frac=change, rsi=rsi,
                    next_event=next_event, regime=regime, notes=tuple(notes),
                    news=tuple(news), headlines=latest_headlines(cache_dir, at), **fields)


def latest_headlines(cache_dir: Path, at: datetime, limit: int = NEWS_MAX) -> tuple[NewsHeadline, ...]:
    """The newest ``limit`` headlines of the news store visible at ``at`` (``available_at`` +
    the default processing lag <= ``at``) and at most ``NEWS_MAX_AGE`` old, newest first, each
    scored with VADER. None when the store is missing or unreadable (logged)."""
    config = NewsConfig()
    try:
        frame = NewsStore(Path(cache_dir) / "news").read_all(config.providers)
    except CacheCorruptError as err:
        logger.warning("No headlines in the briefing: %s", err)
        return ()
    visible_at = frame[AVAILABLE_AT] + pd.Timedelta(minutes=config.processing_lag_minutes)
    at = pd.Timestamp(at)
    recent = frame[(visible_at <= at) & (frame["published_at"] > at - NEWS_MAX_AGE)]
    recent = recent.sort_values(["published_at", "headline_id"], ascending=False).head(limit)
    if recent.empty:
        return ()
    scorer = VaderScorer()
    scores = scorer.score(recent["title"].tolist())
    return tuple(NewsHeadline(published_at=row.published_at.to_pydatetime(), source=row.source,
                              title=row.title, score=score, scorer=scorer.version)
                 for row, score in zip(recent.itertuples(index=False), scores, strict=True))


def _next_event(folder: Path, at: datetime, notes: list[str]) -> MacroEvent | None:
    try:
        calendar = EventCalendar.from_dir(folder)
    except (FileNotFoundError, KeyError) as err:
        notes.append(f"no macro calendar in {folder} ({err}); run `python -m plugins.altdata "
                     "import-shared`")
        return None
    events = calendar.events
    upcoming = events[events["scheduled"] & (events["event_at"] > pd.Timestamp(at))]
    if upcoming.empty:
        notes.append("no scheduled FOMC/CPI event after this time in the calendar")
        return None
    row = upcoming.iloc[0]
    hours = (row["event_at"] - pd.Timestamp(at)) / pd.Timedelta(hours=1)
    return MacroEvent(kind=str(row["kind"]), at=row["event_at"].to_pydatetime(),
                      hours_until=round(float(hours), 1))


def _signed_pct(frac: float | None, digits: int = 1) -> str:
    return "n/a" if frac is None else f"{frac * 100:+.{digits}f}%"


def _money(value: float) -> str:
    return f"${value:,.0f}" if value >= 1000 else f"${value:,.4g}"


def _arrow(delta: float | None) -> str:
    return "" if delta is None else ("↑" if delta > 0 else "↓" if delta < 0 else "→")


def render_markdown(b: Briefing) -> str:
    """The briefing as the seed's "Current Market State" markdown block."""
    base = b.pair.split("/")[0]
    rsi = ", ".join(f"RSI({tf}): {'n/a' if v is None else f'{v:.0f}'}" for tf, v in b.rsi.items())
    lines = [f"## Current Market State ({b.pair}, {b.at:%Y-%m-%d %H:%M} UTC, auto-generated)",
             f"- {base}: {_money(b.price)} ({_signed_pct(b.price_change_24h_frac)} 24h), {rsi}"]
    if b.netflow_btc is not None:
        direction = "net outflow" if b.netflow_btc < 0 else "net inflow"
        lines.append(f"- Exchange netflow (BTC): {b.netflow_btc:+,.0f} BTC (24h, {b.netflow_as_of}) "
                     f"— {direction}")
    if b.fear_greed is not None:
        lines.append(f"- Fear & Greed: {b.fear_greed:.0f} ({b.fear_greed_label}, {b.fear_greed_as_of})")
    if b.dxy is not None:
        week = ("" if b.dxy_change_1w_frac is None else
                f" ({_arrow(b.dxy_change_1w_frac)}{abs(b.dxy_change_1w_frac) * 100:.1f}% this week)")
        lines.append(f"- DXY: {b.dxy:.1f}{week}, {b.dxy_as_of}")
    if b.us10y_pct is not None:
        week = ("" if b.us10y_change_1w_bp is None else
                f" ({_arrow(b.us10y_change_1w_bp)}{abs(b.us10y_change_1w_bp):.0f}bp this week)")
        lines.append(f"- US10Y: {b.us10y_pct:.2f}%{week}, {b.us10y_as_of}")
    if b.next_event is not None:
        lines.append(f"- Next macro event: {b.next_event.kind} in {b.next_event.hours_until:.0f} hours "
                     f"({b.next_event.at:%Y-%m-%d %H:%M} UTC)")
    if b.regime is not None:
        lines.append(f"- Regime ({b.regime.detector}, {b.regime.timeframe}): {b.regime.name} "
                     f"(p={b.regime.probability_frac:.2f})")
    for h in b.headlines:
        tone = "n/a" if h.score is None else f"{h.score:+.2f}"
        lines.append(f"- News {h.published_at:%Y-%m-%d %H:%M} UTC ({h.source}, tone {tone}): "
                     f"{h.title}")
    for headline in b.news:
        lines.append(f"- News (user-supplied): {headline}")
    for note in b.notes:
        lines.append(f"- Note: {note}")
    return "\n".join(lines) + "\n"


def now_utc() -> datetime:
    """The wall clock, for CLI defaults only (the library takes ``at`` explicitly)."""
    return datetime.now(UTC)
