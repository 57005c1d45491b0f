"""Errors of the LLM layer. Each docstring says what happens next.

The hooks abstain (no idea, no verdict above 0, no trade) on ``LlmCallError`` and
``LlmOutputError``; ``LlmUnavailableError`` and ``BudgetExceededError`` reach the CLI, which
exits 2 with the message. Nothing here is ever raised on Freqtrade's order path: no LLM call is.
"""

from __future__ import annotations

from plugins.core.errors import SuiteError


class LlmError(SuiteError):
    """Base class of the LLM layer's errors."""


class LlmUnavailableError(LlmError):
    """No answer can be had: no API key in the environment and no cassette for the prompt.
    The CLI exits 2 with the message (which names the variable and the cassette folder)."""


class CassetteMissError(LlmUnavailableError):
    """``cassette_mode: replay`` and no cassette holds this prompt: a reproducible run (a
    backtest using LLM verdicts) cannot go on. Record the cassettes first (mode ``auto`` or
    ``record`` with an API key or against a local server)."""


class LedgerUnreadableError(LlmUnavailableError):
    """The call ledger (``ai_suite.llm.ledger_path``) cannot be read or written (not an SQLite
    file, a foreign table, a permission, a lock held too long): the budget cannot be checked,
    so no LLM call is made (fail closed). The message names the file and the fix; the CLI
    exits 2, the bot's commands answer ``not available``."""


class BudgetExceededError(LlmError):
    """The call would cross ``daily_budget_usd`` or ``monthly_budget_usd``; it was refused
    before anything was sent. Raise the cap or wait for the next UTC day / month."""


class LlmCallError(LlmError):
    """The API call failed after the SDK's retries (HTTP error status, timeout, connection).
    The hook abstains with this as its reason.

    Attributes:
        prompt_hash: the request's hash.
    """

    def __init__(self, message: str, prompt_hash: str = "") -> None:
        super().__init__(message)
        self.prompt_hash = prompt_hash


class LlmOutputError(LlmError):
    """The model's output failed validation (malformed JSON, schema mismatch, refusal,
    truncation, an invalid strategy tree) on every one of the allowed attempts. The hook
    abstains with this as its reason.

    Attributes:
        hook: which hook asked.
        attempts: how many answers were rejected.
        problems: the rejection reason of each attempt, in order.
    """

    def __init__(self, hook: str, attempts: int, problems: list[str]) -> None:
        self.hook = hook
        self.attempts = attempts
        self.problems = list(problems)
        last = problems[-1] if problems else "no answer"
        super().__init__(f"{hook}: no valid output after {attempts} attempt(s); last problem: {last}")
