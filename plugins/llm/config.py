"""Typed settings of the LLM layer (``ai_suite.llm`` in the Freqtrade config), defaults in one place.

Money is in USD; token prices are USD per million tokens (``_per_mtok``); durations in seconds.
The API key is never part of the config: it comes from the environment variable named by
``api_key_env`` (``ANTHROPIC_API_KEY``), so it cannot end up in a file or in ``/show_config``.

Default prices (``DEFAULT_PRICING``) are Anthropic's list prices per million tokens as published
on https://www.anthropic.com/pricing and https://platform.claude.com/docs/en/about-claude/pricing
when this was written: input / output / prompt-cache write (5-minute TTL = 1.25 x input; 1-hour
TTL = 2 x input) / prompt-cache read (0.1 x input). Prices change: they are configurable under
``ai_suite.llm.pricing`` and every model used must have an entry (the budget cannot be enforced
for a model without a price, so such a config is refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Analyst roles of the council, in the order their verdicts are shown to the judge.
COUNCIL_ROLES: tuple[str, ...] = ("onchain", "momentum", "macro", "sentiment", "risk")


class ModelPrice(BaseModel):
    """USD per million tokens of one model.

    Attributes:
        input_per_mtok: uncached input tokens.
        output_per_mtok: output tokens.
        cache_write_per_mtok: input tokens written to the prompt cache (5-minute TTL).
        cache_write_1h_per_mtok: the same with the 1-hour TTL.
        cache_read_per_mtok: input tokens read from the prompt cache.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cache_write_per_mtok: float = Field(ge=0)
    cache_write_1h_per_mtok: float = Field(ge=0)
    cache_read_per_mtok: float = Field(ge=0)

    @classmethod
    def from_base(cls, input_per_mtok: float, output_per_mtok: float) -> ModelPrice:
        """Prices with Anthropic's cache multipliers (write 1.25x / 2x, read 0.1x of input)."""
        return cls(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok,
                   cache_write_per_mtok=round(input_per_mtok * 1.25, 6),
                   cache_write_1h_per_mtok=round(input_per_mtok * 2, 6),
                   cache_read_per_mtok=round(input_per_mtok * 0.1, 6))


#: List prices (USD / million tokens; see the module docstring for the source). Configurable.
DEFAULT_PRICING: dict[str, ModelPrice] = {
    "claude-opus-4-1": ModelPrice.from_base(15.0, 75.0),
    "claude-opus-4-5": ModelPrice.from_base(5.0, 25.0),
    "claude-opus-4-6": ModelPrice.from_base(5.0, 25.0),
    "claude-sonnet-4-5": ModelPrice.from_base(3.0, 15.0),
    "claude-sonnet-4-6": ModelPrice.from_base(3.0, 15.0),
    "claude-haiku-4-5": ModelPrice.from_base(1.0, 5.0),
}


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeeklyReviewConfig(BaseModel):
    """``ai_suite.llm.weekly_review``: the review a running bot writes by itself once a week.

    Attributes:
        enabled: run it (off by default: it calls the LLM and spends budget).
        weekday: ``mon`` .. ``sun`` (UTC).
        time_utc: ``HH:MM`` (UTC, 24 h); the review runs at the first bot loop at or after
            that time and once per week (a restart does not repeat it; a week missed while the
            bot was down is reviewed once at the next start).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time_utc: str = Field(default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    @property
    def weekday_index(self) -> int:
        """Monday = 0 .. Sunday = 6 (``datetime.weekday()``)."""
        return WEEKDAYS.index(self.weekday)

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.time_utc.split(":")
        return int(hour), int(minute)


class LlmConfig(BaseModel):
    """``ai_suite.llm``.

    Attributes:
        model: Messages API model name; must have a ``pricing`` entry.
        max_tokens: output token limit of one call.
        timeout_s / connect_timeout_s: bound of one HTTP attempt (read / connect).
        max_retries: SDK retries of one call on 408/409/429/5xx (529 overloaded included),
            timeouts and connection errors; the SDK honours ``retry-after`` headers.
        max_output_attempts: tries to get output that passes validation (the first answer plus
            retries that feed the validation problems back); then the hook abstains.
        daily_budget_usd / monthly_budget_usd: caps on billed cost per UTC day / calendar
            month; a call whose worst-case cost would cross a cap is refused before it is sent.
        pricing: USD per million tokens per model (``DEFAULT_PRICING``).
        base_url: Messages API base URL (None: the SDK's default or ``ANTHROPIC_BASE_URL``);
            tests and cassette recording point it at a local server.
        api_key_env: environment variable holding the API key.
        cache_ttl: prompt-cache TTL of the static prefix (``5m`` or ``1h``).
        cassette_mode: ``auto`` replay a stored answer, else call and store it; ``replay``
            stored answers only (a miss is an error: reproducible backtests); ``record`` always
            call and (re)store; ``off`` always call, store nothing.
        cassette_dir: folder of the prompt-hash keyed cassettes.
        ledger_path: SQLite file of every call (prompt hash, model, tokens, cost).
        output_dir: where ideas, council verdicts and reviews are written.
        journal_path: decision journal the council writes its verdicts to.
        council_roles: analyst roles run in parallel before the judge.
        council_quorum: fewest analyst verdicts the judge needs; fewer means abstain.
        weekly_review: the scheduled weekly review (``WeeklyReviewConfig``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "claude-sonnet-4-6"
    max_tokens: int = Field(default=2048, ge=64, le=64_000)
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_output_attempts: int = Field(default=3, ge=1, le=10)
    daily_budget_usd: float = Field(default=5.0, ge=0)
    monthly_budget_usd: float = Field(default=50.0, ge=0)
    pricing: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICING))
    base_url: str | None = None
    api_key_env: str = "ANTHROPIC_API_KEY"
    cache_ttl: Literal["5m", "1h"] = "5m"
    cassette_mode: Literal["auto", "replay", "record", "off"] = "auto"
    cassette_dir: Path = Path("user_data/llm/cassettes")
    ledger_path: Path = Path("user_data/llm/ledger.sqlite")
    output_dir: Path = Path("user_data/llm")
    journal_path: Path = Path("user_data/llm/journal.council.sqlite")
    council_roles: tuple[str, ...] = COUNCIL_ROLES
    council_quorum: int = Field(default=3, ge=1)
    weekly_review: WeeklyReviewConfig = Field(default_factory=WeeklyReviewConfig)

    @model_validator(mode="after")
    def _consistent(self) -> LlmConfig:
        if self.model not in self.pricing:
            raise ValueError(f"model {self.model!r} has no entry in pricing (known: "
                             f"{', '.join(sorted(self.pricing))}); add pricing.{self.model}: "
                             "{input_per_mtok, output_per_mtok, cache_write_per_mtok, "
                             "cache_write_1h_per_mtok, cache_read_per_mtok} or pick a priced model")
        unknown = [r for r in self.council_roles if r not in COUNCIL_ROLES]
        if unknown or not self.council_roles or len(set(self.council_roles)) != len(
                self.council_roles):
            raise ValueError(f"council_roles {list(self.council_roles)}: use distinct roles "
                             f"from {list(COUNCIL_ROLES)}")
        if self.council_quorum > len(self.council_roles):
            raise ValueError(f"council_quorum {self.council_quorum} exceeds the "
                             f"{len(self.council_roles)} council_roles; lower it")
        if self.monthly_budget_usd < self.daily_budget_usd:
            raise ValueError(f"monthly_budget_usd {self.monthly_budget_usd} is below "
                             f"daily_budget_usd {self.daily_budget_usd}; raise the monthly cap")
        return self

    def price(self, model: str) -> ModelPrice:
        """Prices of ``model``.

        Raises:
            KeyError: no ``pricing`` entry (the message names the fix).
        """
        try:
            return self.pricing[model]
        except KeyError:
            raise KeyError(f"No price for model {model!r}; add ai_suite.llm.pricing.{model}") from None
