"""Exception hierarchy of the suite. Each docstring says what happens next."""

from __future__ import annotations

from plugins.core.secrets import redact


class SuiteError(Exception):
    """Base class of every error raised by the suite's own code.

    Its message never holds a secret: string arguments pass through
    ``plugins.core.secrets.redact`` (registered keys, tokens, passwords and ``api_key=...``
    URL parameters become ``***``), and so does ``str()`` of any subclass.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        return redact(super().__str__())


class DataNotFoundError(SuiteError):
    """Required data is missing. CLIs exit non-zero with a message saying where data is
    expected and which command fetches it; bots refuse new entries (fail closed)."""


class BacktestResultError(SuiteError):
    """A backtest produced no usable result file (or one without trades where trades were
    required). ``make demo`` exits non-zero with this message."""
