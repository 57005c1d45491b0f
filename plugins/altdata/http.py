"""HTTP access for providers: ``requests`` with urllib3's retry/backoff, errors translated.

Retries (urllib3 ``Retry``): connection errors, read errors, HTTP 429 and 5xx, with exponential
backoff and the ``Retry-After`` header honoured up to ``max_retry_after_s`` (urllib3's
``retry_after_max``, urllib3 >= 2.5: a longer ``Retry-After`` is waited only that long; its
default is 6 h, which would stall the single live-refresh thread). Every
request has a (connect, read) timeout. Wire errors become ``ProviderUnavailableError`` /
``ProviderSchemaError`` / ``ProviderConfigError`` here, at the boundary.

Secrets: providers register their API keys with ``plugins.core.secrets`` (``register_secret``);
error messages (``SuiteError``) and every log line - urllib3's retry and debug lines show the
URL with its query - are redacted there, and a wire exception whose text holds a secret is not
chained (``safe_cause``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from plugins.altdata.errors import (
    ProviderConfigError,
    ProviderSchemaError,
    ProviderUnavailableError,
)
from plugins.core.secrets import install_log_redaction, safe_cause

logger = logging.getLogger(__name__)

USER_AGENT = "freqtrade-ai-suite/0.1 (+https://github.com/freqtrade/freqtrade)"


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry policy of one provider's HTTP client.

    Attributes:
        connect_timeout_s / read_timeout_s: per request, in seconds.
        retries: extra attempts after the first for 429, 5xx and connection/read errors.
        backoff_s: backoff factor in seconds (urllib3: ``backoff_s * 2 ** (attempt - 1)``).
        max_retry_after_s: longest wait, in seconds, between two attempts: a ``Retry-After``
            asking for more is cut to this, and exponential backoff never exceeds it. After
            the last retry the request fails (``ProviderUnavailableError``), so one request
            waits at most ``retries * max_retry_after_s`` plus its timeouts.
    """

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 1.0
    max_retry_after_s: float = 120.0


class HttpClient:
    """A small JSON/text GET client bound to one provider's base URL.

    Args:
        provider: provider name, used in error messages.
        base_url: e.g. ``https://community-api.coinmetrics.io/v4`` or a local test server.
        settings: timeouts and retries.
        headers: extra headers (API keys go here, read from the environment by the caller,
            who registers them with ``plugins.core.secrets.register_secret``).
    """

    def __init__(self, provider: str, base_url: str, settings: HttpSettings | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings()
        retry = Retry(
            total=self.settings.retries, connect=self.settings.retries,
            read=self.settings.retries, status=self.settings.retries,
            backoff_factor=self.settings.backoff_s, backoff_max=self.settings.max_retry_after_s,
            retry_after_max=self.settings.max_retry_after_s,
            status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True, raise_on_status=False)
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
        install_log_redaction()

    def get_text(self, path: str, params: dict[str, Any] | None = None) -> str:
        """GET ``base_url + path``; the body as text.

        Raises:
            ProviderUnavailableError: timeout, connection error, 429/5xx after retries, or
                another non-2xx status.
            ProviderConfigError: 401/403 (missing or rejected API key).
            ProviderSchemaError: an empty body.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self.session.get(
                url, params=params,
                timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s))
        except requests.Timeout as err:
            raise ProviderUnavailableError(f"{self.provider}: timeout on {url}") from safe_cause(err)
        except (requests.ConnectionError, requests.exceptions.RetryError) as err:
            raise ProviderUnavailableError(
                f"{self.provider}: {url} unreachable: {err}") from safe_cause(err)
        if response.status_code in (401, 403):
            raise ProviderConfigError(
                f"{self.provider}: {url} refused the credentials (HTTP {response.status_code}); "
                "check the API key environment variable.")
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailableError(
                f"{self.provider}: {url} still answered HTTP {response.status_code} after "
                f"{self.settings.retries} retries.")
        if not response.ok:
            raise ProviderUnavailableError(
                f"{self.provider}: {url} answered HTTP {response.status_code}: "
                f"{response.text[:200]}")
        if not response.text.strip():
            raise ProviderSchemaError(f"{self.provider}: {url} answered an empty body.")
        return response.text

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET and decode JSON. Raises what ``get_text`` raises, and ``ProviderSchemaError``
        for a body that is not JSON."""
        text = self.get_text(path, params)
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ProviderSchemaError(
                f"{self.provider}: malformed JSON from {path}: {err}") from safe_cause(err)
