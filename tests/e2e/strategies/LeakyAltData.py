"""LeakyAltData: FreqaiAltData plus an on-chain indicator merged the naive way (a leak).

The canary for alt-data look-ahead: Coin Metrics' daily MVRV is merged on the candle's
*open* time against the *observation* time, ignoring the publication lag, so day D's value
(published D+1 06:00 UTC) shows up on day D's candles. ``lookahead-analysis`` must catch it.
Never ship this.
"""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "strategies"))
from FreqaiAltData import FreqaiAltData  # noqa: E402


class LeakyAltData(FreqaiAltData):
    """FreqaiAltData with ``leaky_mvrv`` merged on candle open vs. observation time."""

    def populate_indicators(self, dataframe, metadata):
        dataframe = super().populate_indicators(dataframe, metadata)
        close = dataframe["date"].max() + pd.Timedelta(self.timeframe)
        daily = self.altdata.derived("coinmetrics", known_at=close)[["mvrv"]].reset_index()
        daily["observed_at"] = daily["observed_at"].astype(dataframe["date"].dtype)
        merged = pd.merge_asof(dataframe[["date"]], daily, left_on="date",
                               right_on="observed_at", direction="backward")
        dataframe["leaky_mvrv"] = merged["mvrv"].to_numpy()
        return dataframe
