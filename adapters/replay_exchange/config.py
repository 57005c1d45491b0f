"""Typed configuration of the replay exchange, validated once at the edge (CLI or test)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugins.execution.config import CostConfig

DataFormat = Literal["feather", "parquet", "json", "jsongz"]


class ReplayExchangeConfig(BaseModel):
    """Settings of one replay-exchange server.

    Attributes:
        datadir: Folder holding Freqtrade candle files (``<BASE>_<QUOTE>-<tf>.<ext>``), e.g.
            ``user_data/data/binance``. Spot files only; a ``futures/`` subfolder is ignored.
        data_format: Freqtrade data format of those files (``dataformat_ohlcv``).
        host: Interface to bind. Keep ``127.0.0.1``: the server has no authentication.
        port: TCP port; 0 lets the OS pick a free one (tests).
        replay: False = *static* mode (candles served at their recorded timestamps). True =
            *replay* mode: timestamps are shifted by whole UTC days so the recorded candles end
            at the wall clock's "now" and new candles "close" as wall time passes.
        replay_start: Replay mode only. Historical UTC time that is mapped onto the start of the
            server (shift = whole days between the two). ``None`` = the end of the recorded
            data, i.e. the last recorded closed candle ends "now".
        spread_bps: Synthesized order book: distance between best bid and best ask, in basis
            points (1 bp = 0.0001 = 0.01 %) of the last close.
        depth_level_step_bps: Synthesized order book: price step between levels, in basis points.
        costs: ``ai_suite.costs`` of the strategy traded against the server: when given and
            enabled, the order book and tickers come from the execution-cost model
            (``adapters.replay_exchange.costs``: market orders walk it to the model's price)
            instead of ``spread_bps`` / ``depth_level_step_bps``. None = the plain book.
        cost_timeframe: candles the model's inputs are computed from: the strategy's
            timeframe (its ``cost_*`` columns are computed from the same candles).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    datadir: Path
    data_format: DataFormat = "feather"
    host: str = "127.0.0.1"
    port: int = Field(default=18765, ge=0, le=65535)
    replay: bool = False
    replay_start: datetime | None = None
    spread_bps: float = Field(default=2.0, gt=0, le=1000)
    depth_level_step_bps: float = Field(default=1.0, gt=0, le=1000)
    costs: CostConfig | None = None
    cost_timeframe: str = "1h"

    @field_validator("replay_start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Naive datetimes are read as UTC; aware ones are converted to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
