"""RevisionCanary / LeakyRevisionCanary: the leak canary for revised alternative data.

``RevisionCanary`` buys fear: it enters at 02:00 UTC when the Fear & Greed index merged
point-in-time (``AltDataFeatures``, which reads the bitemporal cache) is below 50 and exits at
08:00. The e2e test revises every September 2024 value to ``100 - value`` a week after its
publication; a strategy that only sees what was known at each candle trades exactly the days
whose *first release* was below 50, and ``lookahead-analysis`` finds no bias.

``LeakyRevisionCanary`` reads the same cache the way the cache used to store revisions: the
latest version overwrites the value in place and keeps the first release's ``available_at``.
Its full run then trades on revised values its cut runs could not know yet, and
``lookahead-analysis`` must flag it. Never ship this.
"""

import pandas as pd
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.features import AltDataFeatures
from plugins.altdata.merge import merge_point_in_time
from plugins.core.config import load_section

FEAR = 50.0
ENTRY_HOUR, EXIT_HOUR = 2, 8


class RevisionCanary(IStrategy):
    """Enters at 02:00 UTC on fear (``fear_greed_fng < 50``, fresh), exits at 08:00."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    minimal_roi = {"0": 10}
    stoploss = -0.99
    use_exit_signal = True
    startup_candle_count = 0
    process_only_new_candles = True

    def bot_start(self, **kwargs) -> None:
        # no risk guard here: the blackout column is not read (no window)
        self.altdata = AltDataFeatures(load_section(self.config, "altdata", AltDataConfig),
                                       blackout_before_min=0, blackout_after_min=0)

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return self.altdata.add_features(dataframe, self.timeframe, feature_prefix="")

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fear = (dataframe["fear_greed_fng"] < FEAR) & (dataframe["fear_greed_stale"] == 0)
        dataframe.loc[fear & (dataframe["date"].dt.hour == ENTRY_HOUR), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["date"].dt.hour == EXIT_HOUR, "exit_long"] = 1
        return dataframe


class LeakyRevisionCanary(RevisionCanary):
    """``fear_greed_fng`` from the latest version known by the run's end, at the first
    release's ``available_at`` (the old in-place overwrite): a revision leaks backwards."""

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        provider = self.altdata.providers["fear_greed"]
        versions = self.altdata.cache.read_versions(provider)
        end = dataframe["date"].max() + pd.Timedelta(self.timeframe)
        known = versions[versions[AVAILABLE_AT] <= end]
        first_at = known.groupby(level=0)[AVAILABLE_AT].min()
        latest = known[~known.index.duplicated(keep="last")][["fng_value"]]
        overwritten = latest.assign(**{AVAILABLE_AT: first_at})
        merged = merge_point_in_time(dataframe, overwritten, timeframe=self.timeframe,
                                     prefix="fear_greed", max_staleness=provider.max_staleness)
        dataframe["fear_greed_fng"] = merged["fear_greed_fng_value"].to_numpy()
        dataframe["fear_greed_stale"] = merged["fear_greed_stale"].to_numpy()
        return dataframe
