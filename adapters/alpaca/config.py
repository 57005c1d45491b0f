"""Typed settings of the Alpaca adapter (``ai_suite.alpaca``), the sections a run reads, and the
API credentials.

Defaults live here only. URLs left at ``None`` mean alpaca-py's own endpoints for the mode
(paper: ``https://paper-api.alpaca.markets``, ``wss://paper-api.alpaca.markets/stream``; live:
``https://api.alpaca.markets``; data: ``https://data.alpaca.markets``,
``wss://stream.data.alpaca.markets/v2/<feed>``); tests point them at local servers on
127.0.0.1. Credentials never come from a file: ``AlpacaCredentials.from_env`` reads
``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` (Alpaca's documented variable names), and their
``repr`` hides the secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.alpaca.errors import AlpacaConfigError
from plugins.altdata.config import AltDataConfig
from plugins.core.config import load_section
from plugins.core.secrets import register_secret
from plugins.risk.config import RiskConfig

KEY_ENV = "APCA_API_KEY_ID"
SECRET_ENV = "APCA_API_SECRET_KEY"
Mode = Literal["paper", "live"]


class AlpacaConfig(BaseModel):
    """``ai_suite.alpaca``.

    Attributes:
        trading_url / data_url: REST base URLs without ``/v2`` (None: alpaca-py's defaults).
        trading_stream_url / data_stream_url: websocket URLs of ``trade_updates`` (JSON) and
            market data (msgpack); None: alpaca-py's defaults.
        feed: market-data feed, ``iex`` (free) or ``sip`` (subscription).
        adjustment: corporate-action adjustment of historical bars: ``raw``, ``split``,
            ``dividend`` or ``all`` (split and dividend adjusted; see the package docstring).
        time_in_force: Alpaca validity of orders given without one (``day`` | ``gtc``).
        fractional: send fractional quantities where Alpaca allows them (asset
            ``fractionable``, market/limit/stop/stop-limit, ``day``); otherwise quantities are
            rounded down to whole shares.
        extended_hours: let limit orders fill in pre/post-market sessions.
        retry_attempts: retries after a 429, a 5xx or no answer (0 = none).
        retry_backoff_s / retry_max_backoff_s: first wait and cap of the exponential backoff
            (a ``Retry-After`` header wins when larger).
        request_timeout_s: per HTTP request (alpaca-py sets none).
        stream_reconnect_min_s / stream_reconnect_max_s: websocket reconnect backoff.
        account_refresh_s: how often the broker re-reads cash and equity (0 = every bar).
        reconcile_interval_s: how often a paper/live session reconciles positions.
        state_dir: root of the per-mode state (``<state_dir>/paper`` and ``<state_dir>/live``
            never share a file: ledger, decision journal, order log, logs).
        client_order_prefix: first part of every ``client_order_id`` the suite sends; orders
            without it are not the suite's (the reconciliation's "unattributed").
        pdt_guard / pdt_min_equity_usd / pdt_max_day_trades: the pattern-day-trader rule:
            below ``pdt_min_equity_usd`` equity, no new entries once ``pdt_max_day_trades``
            day trades were made in the last 5 NYSE sessions.
        exchange_calendar: ``exchange_calendars`` code of the trading calendar (NYSE: XNYS).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    trading_url: str | None = None
    data_url: str | None = None
    trading_stream_url: str | None = None
    data_stream_url: str | None = None
    feed: Literal["iex", "sip"] = "iex"
    adjustment: Literal["raw", "split", "dividend", "all"] = "all"
    time_in_force: Literal["day", "gtc"] = "day"
    fractional: bool = True
    extended_hours: bool = False
    retry_attempts: int = Field(default=3, ge=0, le=10)
    retry_backoff_s: float = Field(default=1.0, gt=0)
    retry_max_backoff_s: float = Field(default=30.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    stream_reconnect_min_s: float = Field(default=1.0, gt=0)
    stream_reconnect_max_s: float = Field(default=30.0, gt=0)
    account_refresh_s: float = Field(default=30.0, ge=0)
    reconcile_interval_s: float = Field(default=300.0, gt=0)
    state_dir: Path = Path("user_data/alpaca")
    client_order_prefix: str = Field(default="ais", pattern=r"^[a-z0-9]{1,8}$")
    pdt_guard: bool = True
    pdt_min_equity_usd: float = Field(default=25_000.0, ge=0)
    pdt_max_day_trades: int = Field(default=3, ge=0)
    exchange_calendar: str = "XNYS"

    @model_validator(mode="after")
    def _backoffs_ordered(self) -> AlpacaConfig:
        if self.retry_backoff_s > self.retry_max_backoff_s:
            raise ValueError(f"retry_backoff_s ({self.retry_backoff_s}) exceeds "
                             f"retry_max_backoff_s ({self.retry_max_backoff_s})")
        if self.stream_reconnect_min_s > self.stream_reconnect_max_s:
            raise ValueError(f"stream_reconnect_min_s ({self.stream_reconnect_min_s}) exceeds "
                             f"stream_reconnect_max_s ({self.stream_reconnect_max_s})")
        return self

    def mode_dir(self, mode: Mode) -> Path:
        """``<state_dir>/<mode>``: everything one mode writes, never shared with the other."""
        return self.state_dir / mode


class AlpacaRunConfig(BaseModel):
    """The ``ai_suite`` sections an Alpaca run reads: ``alpaca`` (this adapter), ``risk`` (the
    breakers and entry checks, ``plugins.risk``) and ``altdata`` (where the FOMC/CPI calendar of
    the news blackout is cached). Each is validated once by its own model (:meth:`load`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpaca: AlpacaConfig = Field(default_factory=AlpacaConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    altdata: AltDataConfig = Field(default_factory=AltDataConfig)

    @classmethod
    def load(cls, freqtrade_config: Mapping) -> AlpacaRunConfig:
        """The three sections of a Freqtrade config (``plugins.core.config.load_section``).

        Raises:
            SuiteConfigError: ``ai_suite`` is invalid (the message names the field).
        """
        return cls(alpaca=load_section(freqtrade_config, "alpaca", AlpacaConfig),
                   risk=load_section(freqtrade_config, "risk", RiskConfig),
                   altdata=load_section(freqtrade_config, "altdata", AltDataConfig))


@dataclass(frozen=True)
class AlpacaCredentials:
    """An API key pair. ``repr`` shows the key id's last 4 characters only, never the secret;
    both halves are registered with ``plugins.core.secrets``, so no error message or log line
    (alpaca-py's, urllib3's, the websockets' frame logs included) shows either."""

    key_id: str
    secret_key: str

    def __post_init__(self) -> None:
        for value in (self.key_id, self.secret_key):  # masked in every error and log line
            register_secret(value)

    def __repr__(self) -> str:
        return f"AlpacaCredentials(key_id='...{self.key_id[-4:]}', secret_key='***')"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlpacaCredentials:
        """Read ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY``.

        Raises:
            AlpacaConfigError: either is missing or empty (the message names both variables).
        """
        env = os.environ if environ is None else environ
        key, secret = env.get(KEY_ENV, "").strip(), env.get(SECRET_ENV, "").strip()
        if not key or not secret:
            missing = [name for name, value in ((KEY_ENV, key), (SECRET_ENV, secret)) if not value]
            raise AlpacaConfigError(
                f"Alpaca credentials missing: set {' and '.join(missing)} (paper keys for "
                "paper trading, from https://app.alpaca.markets -> API keys).")
        return cls(key_id=key, secret_key=secret)
