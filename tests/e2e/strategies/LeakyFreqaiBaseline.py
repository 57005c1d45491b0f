"""LeakyFreqaiBaseline: FreqaiBaseline plus one feature that peeks two candles ahead.

The canary of ``tests/e2e/strict_lookahead.py``: the strict harness must still report this
strategy as biased, so dropping FreqAI's unpredicted last candle cannot hide a real leak.
Never ship this.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "strategies"))
from FreqaiBaseline import FreqaiBaseline  # noqa: E402


class LeakyFreqaiBaseline(FreqaiBaseline):
    """FreqaiBaseline with ``%-future_return`` = close two candles ahead / close - 1 (a leak)."""

    def feature_engineering_standard(self, dataframe, metadata, **kwargs):
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        dataframe["%-future_return"] = dataframe["close"].shift(-2) / dataframe["close"] - 1
        return dataframe
