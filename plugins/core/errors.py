"""Exception hierarchy of the suite. Each docstring says what happens next."""

from __future__ import annotations


class SuiteError(Exception):
    """Base class of every error raised by the suite's own code."""


class DataNotFoundError(SuiteError):
    """Required data is missing. CLIs exit non-zero with a message saying where data is
    expected and which command fetches it; bots refuse new entries (fail closed)."""


class BacktestResultError(SuiteError):
    """A backtest produced no usable result file (or one without trades where trades were
    required). ``make demo`` exits non-zero with this message."""
