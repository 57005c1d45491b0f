"""LeakyFreqaiBaseline: FreqaiBaseline plus one feature that peeks one candle ahead.

A canary of ``python -m plugins.research lookahead`` (``plugins/research/lookahead.py``): the
strict check must still report this strategy as biased. The leak shows only on the cut run's
last candle, the very candle whose model outputs the strict check does not compare, so this
proves that it still compares the features there. Never ship this.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "strategies"))
from FreqaiBaseline import FreqaiBaseline  # noqa: E402


class LeakyFreqaiBaseline(FreqaiBaseline):
    """FreqaiBaseline with ``%-future_return`` = next candle's close / close - 1 (a leak)."""

    def feature_engineering_standard(self, dataframe, metadata, **kwargs):
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        dataframe["%-future_return"] = dataframe["close"].shift(-1) / dataframe["close"] - 1
        return dataframe
