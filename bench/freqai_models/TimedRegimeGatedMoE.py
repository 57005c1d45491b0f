"""TimedRegimeGatedMoE: the suite's ``RegimeGatedMoE``, timing ``fit`` and ``predict``.

Bench-only (``bench/moe_vs_baseline.py`` passes ``--freqaimodel-path bench/freqai_models``).
Each call logs one WARNING line, parsed by the bench::

    BENCH_TIMING fit <pair> <rows> <seconds>
    BENCH_TIMING predict <pair> <rows> <seconds>

``rows``: training rows after FreqAI's filtering (fit) / candles predicted (predict);
``seconds``: ``time.perf_counter()`` wall time of the parent's method. Nothing else changes.
The parent is imported from ``<repo>/freqai_models`` (added to ``sys.path``).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

_MODELS = str(Path(__file__).resolve().parents[2] / "freqai_models")
if _MODELS not in sys.path:
    sys.path.insert(0, _MODELS)

from RegimeGatedMoE import RegimeGatedMoE  # noqa: E402  (the suite's model file)

logger = logging.getLogger(__name__)


class TimedRegimeGatedMoE(RegimeGatedMoE):
    """``RegimeGatedMoE`` that logs the wall time of each ``fit`` and ``predict``."""

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> Any:
        started = time.perf_counter()
        model = super().fit(data_dictionary, dk, **kwargs)
        logger.warning("BENCH_TIMING fit %s %d %.6f", dk.pair,
                       len(data_dictionary["train_features"]), time.perf_counter() - started)
        return model

    def predict(self, unfiltered_df, dk: FreqaiDataKitchen, **kwargs):
        started = time.perf_counter()
        result = super().predict(unfiltered_df, dk, **kwargs)
        logger.warning("BENCH_TIMING predict %s %d %.6f", dk.pair, len(unfiltered_df),
                       time.perf_counter() - started)
        return result
