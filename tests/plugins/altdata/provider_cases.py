"""The case table every provider's real client is tested against (see test_provider_faults).

Each provider contributes one ``ProviderCase`` in a module ``cases_<provider>.py`` beside this
file (exporting ``CASE``); ``all_cases()`` collects them, so adding a provider adds it to every
fault test without touching the harness.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plugins.altdata.contract import AltDataProvider
from plugins.altdata.http import HttpSettings

#: Fast retries and short timeouts so fault tests take seconds.
FAST_HTTP = HttpSettings(connect_timeout_s=1.0, read_timeout_s=0.5, retries=2, backoff_s=0.01,
                         max_retry_after_s=2.0)


def json_body(payload: Any) -> tuple[str, str]:
    """The payload as a JSON HTTP body."""
    return json.dumps(payload), "application/json"


def reversed_with_duplicate(rows: list) -> list:
    """A deep copy of ``rows`` in reverse order, with the first row repeated at the end."""
    out = copy.deepcopy(rows)
    return out[::-1] + out[:1]


@dataclass(frozen=True)
class ProviderCase:
    """How to test one provider against a local server speaking its API.

    Attributes:
        name: test id.
        make: base URL -> provider instance using ``FAST_HTTP``.
        path: the URL path the provider requests.
        good_payload: a real, small payload in the API's wire format (from the shipped data).
        rename_field: payload -> the same payload with one required field renamed.
        duplicate_and_shuffle: payload -> the same rows, one duplicated, order scrambled.
        start / end: the range to ``fetch``.
        as_body: payload -> (HTTP body text, content type); JSON by default.
        make_keyed: (base URL, API key) -> provider instance using ``FAST_HTTP`` and that key;
            set for every provider that takes an API key (``test_secrets`` checks it).
    """

    name: str
    make: Callable[[str], AltDataProvider]
    path: str
    good_payload: Any
    rename_field: Callable[[Any], Any]
    duplicate_and_shuffle: Callable[[Any], Any]
    start: str
    end: str
    as_body: Callable[[Any], tuple[str, str]] = json_body
    make_keyed: Callable[[str, str], AltDataProvider] | None = None


def all_cases() -> list[ProviderCase]:
    """Every ``CASE`` of the ``cases_*`` modules in this package."""
    package = importlib.import_module(__package__)
    cases = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            cases.append(importlib.import_module(f"{__package__}.{info.name}").CASE)
    return cases
