"""NewsCanary / LeakyNewsCanary: the leak canary of the point-in-time news features.

``NewsCanary`` buys when a new BTC headline became visible at the candle's close (the
``news_pair_count`` of the last ``window_hours`` rose) and exits two candles later. It reads the
features exactly as ``FreqaiAltData`` does (``NewsFeatures.add_features``: a headline counts
only once ``available_at`` + the processing lag is strictly before the close), so
``lookahead-analysis`` finds no bias.

``LeakyNewsCanary`` treats every headline as visible two hours *before* it was published - what
a merge on the publication time of a mis-stamped source (or forgetting the CET offset) does.
It reads only headlines that were available by the run's last candle, as a bot would, so a cut
run cannot see them early: its full run trades on news its cut runs could not know, and
``lookahead-analysis`` must flag it. Never ship this.
"""

import pandas as pd
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from plugins.altdata.config import AltDataConfig
from plugins.altdata.contract import AVAILABLE_AT
from plugins.altdata.news.features import NewsFeatures, news_features
from plugins.altdata.news.schema import PUBLISHED_AT
from plugins.core.config import load_section

EARLY = pd.Timedelta(hours=2)


class NewsCanary(IStrategy):
    """Enters when a new BTC headline became visible at this close; exits after 2 candles."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    minimal_roi = {"0": 10}
    stoploss = -0.99
    use_exit_signal = True
    startup_candle_count = 0
    process_only_new_candles = True

    def bot_start(self, **kwargs) -> None:
        altdata = load_section(self.config, "altdata", AltDataConfig)
        self.news = NewsFeatures(altdata.news, altdata.cache_dir)
        self.news.reload(pd.Timestamp("2026-01-01", tz="UTC"))

    def news_columns(self, dataframe: DataFrame, pair: str) -> DataFrame:
        return self.news.add_features(dataframe, self.timeframe, pair, feature_prefix="",
                                      columns=("news_pair_count",))

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return self.news_columns(dataframe, metadata["pair"])

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fresh = dataframe["news_pair_count"] > dataframe["news_pair_count"].shift(1)
        dataframe.loc[fresh & (dataframe["news_covered"] == 1), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["enter_long"].shift(2) == 1, "exit_long"] = 1
        return dataframe


class LeakyNewsCanary(NewsCanary):
    """``news_pair_count`` with every headline visible 2 h before its publication."""

    def news_columns(self, dataframe: DataFrame, pair: str) -> DataFrame:
        end = dataframe["date"].max() + pd.Timedelta(self.timeframe)
        known = self.news.headlines(known_at=end)
        early = known.assign(**{AVAILABLE_AT: known[PUBLISHED_AT] - EARLY})
        features = news_features(dataframe, early, timeframe=self.timeframe, pair=pair,
                                 config=self.news.config)
        dataframe["news_pair_count"] = features["news_pair_count"].to_numpy()
        dataframe["news_covered"] = features["news_covered"].to_numpy()
        return dataframe
