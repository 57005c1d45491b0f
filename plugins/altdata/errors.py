"""Errors of alternative-data providers. Each docstring says what happens next.

Providers raise these instead of returning an empty frame, so "the source failed" is never
mistaken for "the source has no data" (an empty frame means exactly the latter).
"""

from __future__ import annotations

from plugins.core.errors import SuiteError


class AltDataError(SuiteError):
    """Base class of alternative-data errors."""


class ProviderUnavailableError(AltDataError):
    """The source could not be reached or kept failing (timeout, connection error, HTTP 5xx or
    429 after the retries). The CLI exits non-zero; live refresh logs it once per incident,
    keeps the cached values and lets them go stale (no new entries that need them)."""


class ProviderSchemaError(AltDataError):
    """The source answered, but not in its documented format (malformed JSON/CSV, missing or
    renamed fields, wrong types). Nothing is written to the cache; the drift monitor reports
    it; live refresh treats it like an outage."""


class ProviderConfigError(AltDataError):
    """A provider is misconfigured (unknown name, missing API key for a key-gated source,
    rejected credentials). Raised at start-up so the bot refuses to start."""


class CacheCorruptError(AltDataError):
    """A cache file is unreadable or not in the cache's layout (not parquet, metadata that is not
    JSON, a missing ``available_at`` / value / ``version`` column, wrong dtypes). It is not
    rebuilt silently: it may hold revisions the source no longer serves, and a rebuilt cache
    would show later values as if known from the start. The message names the file and the fix
    (move it away or delete it, then ``python -m plugins.altdata import-shared`` or
    ``download``). The CLI exits 1; a strategy logs it once and treats the provider as stale (no
    new entries that need it); live refresh logs it as an incident."""
