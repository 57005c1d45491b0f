"""Which features each provider contributes, as a declarative table.

Transforms run on the provider's own observation series (daily, weekly, ...), before the
point-in-time merge: each derived value uses only its own and earlier observations, and keeps
its row's ``available_at``, so it cannot see the future and does not depend on how many
candles a backtest loads (``freqtrade recursive-analysis``).

Transforms: ``level`` (the value), ``diff:N`` (value - value N observations earlier),
``pct:N`` (value / value N earlier - 1, a fraction), ``z:N`` ((value - mean of the last N) /
std of the last N, N observations including this one).
"""

from __future__ import annotations

import pandas as pd

from plugins.altdata.contract import AVAILABLE_AT

#: provider name prefix -> [(feature name, source column, transform)]
FEATURES: dict[str, list[tuple[str, str, str]]] = {
    "coinmetrics": [("netflow_z30", "netflow_btc", "z:30"), ("mvrv", "mvrv", "level"),
                    ("exchange_supply_pct30", "exchange_supply_btc", "pct:30"),
                    ("active_addresses_pct7", "active_addresses", "pct:7"),
                    ("hash_rate_pct30", "hash_rate", "pct:30")],
    "stablecoins": [("supply_pct7", "stablecoin_supply_usd", "pct:7"),
                    ("supply_pct30", "stablecoin_supply_usd", "pct:30")],
    "fear_greed": [("fng", "fng_value", "level"), ("fng_diff7", "fng_value", "diff:7")],
    "funding_": [("rate", "funding_rate", "level"), ("rate_z21", "funding_rate", "z:21")],
    "fred_": [("level", "value", "level"), ("diff20", "value", "diff:20")],
    "dxy": [("pct20", "dxy", "pct:20")],
}


def feature_spec(provider_name: str) -> list[tuple[str, str, str]]:
    """The feature table of ``provider_name`` (``fred_dgs10`` matches ``fred_``).

    Raises:
        KeyError: no feature table for that provider.
    """
    for key, spec in FEATURES.items():
        if provider_name == key or (key.endswith("_") and provider_name.startswith(key)):
            return spec
    raise KeyError(f"No feature table for alt-data provider {provider_name!r}; "
                   f"known: {', '.join(FEATURES)}")


def sources(provider_name: str) -> list[str]:
    """The provider columns ``derive_features`` reads (sorted)."""
    return sorted({column for _, column, _ in feature_spec(provider_name)})


def lookback(provider_name: str) -> int:
    """How many earlier observations a derived value uses at most (``diff:7`` -> 7; ``level``
    -> 0): what ``versions.as_known_timeline`` may cut a snapshot to."""
    return max(int(t.partition(":")[2] or 0) for _, _, t in feature_spec(provider_name))


def derive_features(provider_name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Derived feature series of one provider frame.

    Args:
        frame: finalized provider frame (``observed_at`` index, value columns, ``available_at``).

    Returns:
        Frame with the same kind of index, one float64 column per feature of
        ``feature_spec(provider_name)`` and ``available_at``. Observations with no value at
        all (holidays, unpublished days) are dropped first, so they neither blank a feature
        nor count as an observation.
    """
    spec = feature_spec(provider_name)
    frame = frame.dropna(how="all", subset=sources(provider_name))
    out = pd.DataFrame(index=frame.index)
    for name, column, transform in spec:
        values = frame[column]
        kind, _, arg = transform.partition(":")
        n = int(arg) if arg else 0
        if kind == "level":
            out[name] = values
        elif kind == "diff":
            out[name] = values.diff(n)
        elif kind == "pct":
            out[name] = values / values.shift(n) - 1
        elif kind == "z":
            rolling = values.rolling(n, min_periods=n)
            out[name] = (values - rolling.mean()) / rolling.std()
        else:
            raise ValueError(f"Unknown transform {transform!r} for {provider_name}.{name}")
    out[AVAILABLE_AT] = frame[AVAILABLE_AT]
    return out
