"""Typed settings of the Prometheus exporter (``ai_suite.metrics``), defaults in one place.

Off unless ``enabled``. It listens on the loopback interface by default: ``/metrics`` carries
no secret, but account figures are nobody else's business; bind ``0.0.0.0`` only inside a
container whose port is published to a private network (``docker-compose.yml``).
"""

from __future__ import annotations

from ipaddress import ip_address

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MetricsConfig(BaseModel):
    """``ai_suite.metrics``.

    Attributes:
        enabled: serve ``/metrics`` from the bot process in dry-run/live (never in
            backtesting, hyperopt or plot-dataframe).
        host: the address the HTTP server binds (an IP address, default ``127.0.0.1``).
        port: its TCP port (1024-65535; default 9108). A port in use stops the bot at start-up
            with an error naming ``ai_suite.metrics.port``.
        ic_window_days: the rolling out-of-sample IC of the live predictions uses the matured
            labels of the last this many days (``ai_suite_prediction_ic``).
        llm_refresh_s: seconds between two reads of the LLM call ledger (the other figures
            are refreshed at every bot loop).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=1024, le=65535)
    ic_window_days: float = Field(default=30.0, gt=0, le=3650)
    llm_refresh_s: float = Field(default=30.0, ge=0, le=86400)

    @field_validator("host")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            ip_address(value)
        except ValueError as err:
            raise ValueError(f"must be an IP address such as 127.0.0.1 or 0.0.0.0, got "
                             f"{value!r}") from err
        return value
