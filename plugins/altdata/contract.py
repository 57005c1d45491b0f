"""The provider contract: what every alternative-data source returns, and how.

``fetch(start, end)`` returns a ``pandas.DataFrame``:

- index ``observed_at``: ``DatetimeIndex``, tz UTC, strictly increasing, no duplicates - the
  start of the period a value describes (for a daily series, 00:00 UTC of that day);
- one ``float64`` column per entry of ``columns`` (units in each provider's docstring);
- ``available_at`` (``datetime64[*, UTC]``): when the value could first be known = end of
  the observation period + the source's publication lag, taken from the source's own schedule.

Values outside the provider's documented range (``valid_ranges``: e.g. Fear & Greed 0..100,
supplies >= 0), and infinite values, are dropped as missing in ``finalize``: the value becomes
NaN (the row's other fields stay) and a warning names the provider, field, value and time. A
missing value is never filled: the point-in-time merge flags the provider stale where it would
be used (``merge``), so strategies take no new entries that need it.

An empty frame (with those columns) means "the source has no data in that range". A source
that cannot be reached or answers garbage raises (``ProviderUnavailableError``,
``ProviderSchemaError``); it never returns an empty frame that would look like "no signal".

Each provider splits its work so the same parsing code serves the live API, the local test
servers and the shipped bundle: ``download`` (wire payload from the API), ``parse`` (wire
payload -> observation frame), ``wire_from_shared`` (the shipped file rendered in the API's
own wire format). ``finalize`` then validates, de-duplicates, sorts and adds ``available_at``.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from plugins.altdata.errors import ProviderSchemaError

logger = logging.getLogger(__name__)

OBSERVED_AT = "observed_at"
AVAILABLE_AT = "available_at"
#: Bitemporal cache (``cache``, ``versions``): the version number of an observation (1 = first
#: release, int64), and - in as-known timelines - when the observation was first published.
VERSION = "version"
FIRST_AVAILABLE_AT = "first_available_at"
#: Columns of provider / cache / timeline frames that are not values.
META_COLUMNS = (AVAILABLE_AT, FIRST_AVAILABLE_AT, VERSION)
#: Bitcoin's supply cap in BTC (the protocol's 21 million): no balance or daily flow exceeds it.
BTC_MAX_SUPPLY = 21_000_000.0


def utc(ts: Any) -> pd.Timestamp:
    """A timestamp as tz-aware UTC (naive input is read as UTC)."""
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class AltDataProvider(ABC):
    """Base class of every alternative-data provider (see the module docstring).

    Class attributes each provider sets:
        name: short id; the cache file name and the column prefix (``coinmetrics``).
        columns: the ``float64`` columns ``parse`` produces.
        max_staleness: default age (now - ``available_at``) beyond which a merged value is
            treated as missing; about one publication interval plus its usual delay.
        refresh_interval: how often live refresh asks the source for new data.
        docs_url: the source's API documentation (formats and schedule are cited there).
        publication_lag: for sources with a fixed lag: ``available_at`` = observation time +
            this (the module docstring of each provider justifies its value). Providers with
            a release calendar override ``available_at`` instead.
        valid_ranges: ``{column: (low, high)}``, inclusive, in the column's unit, for every
            column: the values the source can legitimately report (its documentation, or a
            physical bound such as BTC's 21 million supply; each provider cites it). Values
            outside, and infinite values, are dropped as missing by ``finalize``.
    """

    name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    max_staleness: ClassVar[pd.Timedelta]
    refresh_interval: ClassVar[pd.Timedelta] = pd.Timedelta(hours=1)
    docs_url: ClassVar[str] = ""
    publication_lag: ClassVar[pd.Timedelta | None] = None
    valid_ranges: ClassVar[Mapping[str, tuple[float, float]]] = {}

    def fetch(self, start: Any, end: Any) -> pd.DataFrame:
        """Observations in ``[start, end]`` (UTC) from the source, finalized.

        Raises:
            ProviderUnavailableError: the source could not be reached.
            ProviderSchemaError: the answer is not in the documented format.
        """
        start, end = utc(start), utc(end)
        return self.finalize(self.parse(self.download(start, end)), start, end)

    @abstractmethod
    def download(self, start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """The raw wire payload (decoded JSON or CSV text) covering ``[start, end]``."""

    @abstractmethod
    def parse(self, raw: Any) -> pd.DataFrame:
        """Wire payload -> frame indexed by observation time with ``columns``.

        May return rows unsorted or duplicated (``finalize`` fixes both). Raises
        ``ProviderSchemaError`` naming the missing or malformed field.
        """

    def available_at(self, observed: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Publication time (UTC) of each observation, from the source's schedule: by default
        ``observed + publication_lag``.

        Raises:
            NotImplementedError: the provider sets neither ``publication_lag`` nor an override.
        """
        if self.publication_lag is None:
            raise NotImplementedError(f"{self.name}: set publication_lag or override available_at")
        return observed + self.publication_lag

    @abstractmethod
    def wire_from_shared(self, bundle: Path) -> Any:
        """The series shipped in ``bundle`` (``../shared/data``), in the API's wire format.

        Used by ``import-shared`` and by the local test servers, so shipped data goes through
        ``parse`` exactly like a live answer. Raises ``FileNotFoundError`` naming the file.
        """

    def rows_frame(self, rows: list, required: tuple[str, ...], where: str) -> pd.DataFrame:
        """A list of JSON row objects as a DataFrame, after checking the ``required`` fields.

        Args:
            rows: the row objects of the answer (non-empty).
            required: field names every answer must carry.
            where: where the rows sit in the answer, for the message (``'data' rows``).

        Raises:
            ProviderSchemaError: a required field is absent, named in the message.
        """
        frame = pd.DataFrame(rows)
        missing = [f for f in required if f not in frame.columns]
        if missing:
            raise ProviderSchemaError(
                f"{self.name}: field(s) {', '.join(map(repr, missing))} missing from {where} "
                f"(got: {', '.join(map(str, frame.columns))}); see {self.docs_url}")
        return frame

    def epoch_index(self, values: Any, unit: str, field: str) -> pd.DatetimeIndex:
        """Epoch times from the answer as a UTC ``DatetimeIndex`` (unnamed).

        Args:
            values: the field's values (numbers or numeric strings), one per row.
            unit: ``"s"`` (Unix seconds) or ``"ms"`` (Unix milliseconds).
            field: the field's name in the answer, for the message.

        Raises:
            ProviderSchemaError: a value is missing, not a number, or outside the times pandas
                can hold - named with the field.
        """
        what = {"s": "Unix seconds", "ms": "Unix milliseconds"}[unit]
        try:
            numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="raise")
        except (TypeError, ValueError) as err:
            raise ProviderSchemaError(f"{self.name}: {field!r} is not {what}: {err}") from err
        if numbers.isna().any():
            raise ProviderSchemaError(f"{self.name}: {field!r} is missing in "
                                      f"{int(numbers.isna().sum())} row(s); see {self.docs_url}")
        try:
            return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit, utc=True))
        except (OverflowError, ValueError) as err:  # OutOfBoundsDatetime is a ValueError
            extreme = numbers.loc[numbers.abs().idxmax()]
            raise ProviderSchemaError(
                f"{self.name}: {field!r} holds a time out of range ({extreme:g} {what} is no "
                f"date pandas can hold: {err}); see {self.docs_url}") from err

    def empty(self) -> pd.DataFrame:
        """The frame that means "no data": right index and columns, no rows."""
        index = pd.DatetimeIndex([], tz="UTC", name=OBSERVED_AT)
        frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in self.columns}, index=index)
        frame[AVAILABLE_AT] = pd.Series(dtype="datetime64[ns, UTC]")
        return frame

    def finalize(self, frame: pd.DataFrame, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Validate and normalize a parsed frame (see the module docstring for the result).

        Duplicated observation times keep the last row (the latest revision); rows outside
        ``[start, end]`` are dropped; values must be numeric or empty; values outside
        ``valid_ranges`` or infinite become NaN, with a warning (``drop_out_of_range``).

        Raises:
            ProviderSchemaError: a column is missing or holds non-numeric values, or the index
                is not made of timestamps.
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ProviderSchemaError(
                f"{self.name}: fields missing from the answer: {', '.join(missing)} "
                f"(got: {', '.join(map(str, frame.columns)) or 'none'}); see {self.docs_url}")
        if frame.empty:
            return self.empty()
        try:
            index = pd.DatetimeIndex(frame.index)
        except (TypeError, ValueError) as err:
            raise ProviderSchemaError(f"{self.name}: observation times do not parse: {err}") from err
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        out = pd.DataFrame(index=index.rename(OBSERVED_AT))
        for column in self.columns:
            try:
                out[column] = pd.to_numeric(frame[column].to_numpy(), errors="raise").astype("float64")
            except (TypeError, ValueError) as err:
                raise ProviderSchemaError(f"{self.name}: field {column!r} is not numeric: {err}") from err
        out = self.drop_out_of_range(out)
        duplicated = out.index.duplicated(keep="last")
        if duplicated.any():
            logger.info("%s: %d duplicated observations, keeping the last of each",
                        self.name, int(duplicated.sum()))
            out = out[~duplicated]
        out = out.sort_index()
        if start is not None:
            out = out[out.index >= start]
        if end is not None:
            out = out[out.index <= end]
        out[AVAILABLE_AT] = self.available_at(out.index)
        return out

    def drop_out_of_range(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every value outside ``valid_ranges`` (or infinite) set to NaN; one
        warning per affected column names the provider, the field, how many values, the
        range and the first few values with their observation times."""
        out = frame
        for column in self.columns:
            if column not in frame.columns:
                continue
            low, high = self.valid_ranges.get(column, (-math.inf, math.inf))
            values = frame[column].to_numpy(dtype="float64")
            with np.errstate(invalid="ignore"):
                bad = np.isinf(values) | (values < low) | (values > high)
            if not bad.any():
                continue
            examples = ", ".join(f"{v:g} at {t}" for v, t in
                                 zip(values[bad][:3], frame.index[bad][:3], strict=False))
            logger.warning("%s: %d value(s) of field %s outside its valid range [%g, %g] dropped "
                           "as missing (the provider is stale where they would be used): %s",
                           self.name, int(bad.sum()), column, low, high, examples)
            if out is frame:
                out = frame.copy()
            out.loc[bad, column] = np.nan
        return out
