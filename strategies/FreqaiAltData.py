"""FreqaiAltData: FreqaiBaseline plus on-chain, macro, sentiment and calendar features.

Same model, label, entries and exits as the yardstick ``FreqaiBaseline``; the only change is
``feature_engineering_standard``, which merges the alternative-data features point-in-time
(``plugins.altdata.features.AltDataFeatures``: each value appears on a candle only once it was
published before the candle's close). Configure the sources under ``ai_suite.altdata``; fill
the cache with ``make data`` (shipped series) or ``python -m plugins.altdata download``.

Stale-data rule: where any feature source has no fresh value (``altdata_stale == 1``) the
features are NaN, FreqAI sets ``do_predict = 0`` and no entry is made. In dry-run/live a
background thread refreshes the sources (``plugins.altdata.live``); backtests read the cache.

News group (optional, ``ai_suite.altdata.news.features``, off by default: ``bench/news_value.py``
found no edge): ``%-news_*`` features per pair and candle (``plugins.altdata.news.features``),
NaN outside news coverage - so with the group on, FreqAI predicts (and the strategy enters)
only where news is covered. Scores: VADER, or ``news.scorer: llm`` (recorded scores only in
backtests; new headlines scored by the model in dry-run/live, abstaining on failure).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
from pandas import DataFrame

sys.path.insert(0, str(Path(__file__).resolve().parent))
from FreqaiBaseline import FreqaiBaseline  # noqa: E402  (sibling strategy file)

from plugins.altdata.config import AltDataConfig  # noqa: E402
from plugins.altdata.drift import DriftMonitor  # noqa: E402
from plugins.altdata.features import ANY_STALE, AltDataFeatures  # noqa: E402
from plugins.altdata.live import LiveRefresher  # noqa: E402
from plugins.altdata.news.features import FEATURES as NEWS_COLUMNS  # noqa: E402
from plugins.altdata.news.features import NewsFeatures  # noqa: E402
from plugins.altdata.news.live import NewsRefresher  # noqa: E402
from plugins.altdata.news.shipped import build_news_providers  # noqa: E402
from plugins.core.clock import SYSTEM_CLOCK  # noqa: E402
from plugins.core.config import load_section  # noqa: E402

logger = logging.getLogger(__name__)


class FreqaiAltData(FreqaiBaseline):
    """FreqaiBaseline with alternative-data features. Extra columns (see ``add_features``):
    ``%-<provider>_<feature>`` and ``%-calendar_*`` (FreqAI features, seen by the model only),
    the same values without ``%-`` (plots, gates), ``<provider>_stale``, ``altdata_stale``
    and ``calendar_blackout`` (int8 flags)."""

    plot_config = {
        "main_plot": {},
        "subplots": {
            "prediction": {"&-s_close": {"color": "blue"}},
            "on-chain": {"coinmetrics_mvrv": {"color": "orange"},
                         "coinmetrics_netflow_z30": {"color": "green"}},
            "sentiment": {"fear_greed_fng": {"color": "purple"}},
            "macro": {"fred_vixcls_level": {"color": "red"},
                      "fred_dgs10_level": {"color": "grey"}},
            "stale / blackout": {"altdata_stale": {"color": "black"},
                                 "calendar_blackout": {"color": "brown"}},
        },
    }

    altdata: AltDataFeatures
    altdata_refresher: LiveRefresher | None = None
    news: NewsFeatures | None = None
    news_refresher: NewsRefresher | None = None

    def bot_start(self, **kwargs) -> None:
        """Load ``ai_suite.altdata`` and the cached series; in dry-run/live start the refresher.

        Raises:
            SuiteConfigError: invalid ``ai_suite`` (stops the bot with the field named).
        """
        risk = self.risk_config  # the risk guard's section: the news blackout's window
        altdata = load_section(self.config, "altdata", AltDataConfig)
        self.altdata = AltDataFeatures(altdata, blackout_before_min=risk.blackout_before_min,
                                       blackout_after_min=risk.blackout_after_min)
        live = self.dp.runmode.value in ("dry_run", "live")
        if altdata.news.features:
            self.news = self._news_features(altdata, live)
        if live:
            self.altdata_drift = DriftMonitor()
            self.altdata_refresher = LiveRefresher(self.altdata, drift=self.altdata_drift)
            self.altdata_refresher.start()
            if self.news is not None:
                self.news_refresher = NewsRefresher(
                    self.news, build_news_providers(altdata),
                    now=lambda: pd.Timestamp(SYSTEM_CLOCK.now()))
                self.news_refresher.start()

    def _news_features(self, altdata: AltDataConfig, live: bool) -> NewsFeatures:
        """The news group: VADER, or the LLM scorer (live: scores new headlines; backtests:
        recorded scores only, no call)."""
        scorer = version = None
        if altdata.news.scorer == "llm":
            from plugins.llm.config import LlmConfig
            from plugins.llm.news_scorer import LlmHeadlineScorer, scorer_version

            llm = load_section(self.config, "llm", LlmConfig)
            version = scorer_version(llm.model)
            if live:
                from plugins.llm.client import AnthropicLlm

                scorer = LlmHeadlineScorer(AnthropicLlm(llm))
        news = NewsFeatures(altdata.news, altdata.cache_dir, scorer=scorer, scorer_version=version,
                            shift=pd.Timedelta(days=altdata.replay_shift_days))
        news.reload(pd.Timestamp(SYSTEM_CLOCK.now()), score_missing=live or scorer is None)
        return news

    def ft_bot_cleanup(self) -> None:
        """Freqtrade's cleanup hook (stops FreqAI's threads); also stops the refresher."""
        super().ft_bot_cleanup()
        if self.altdata_refresher is not None:
            self.altdata_refresher.stop()
        if self.news_refresher is not None:
            self.news_refresher.stop()

    def feature_engineering_standard(self, dataframe: DataFrame, metadata: dict,
                                     **kwargs) -> DataFrame:
        """Baseline calendar-of-week features plus the alternative-data features."""
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        dataframe = self.altdata.add_features(dataframe, self.timeframe)
        if self.news is not None:
            dataframe = self.news.add_features(dataframe, self.timeframe, metadata["pair"])
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """FreqAI (which drops its ``%-`` feature columns afterwards), then the same alt-data
        values as plain columns (``coinmetrics_mvrv``, ...) for plots, gates and
        ``lookahead-analysis``, merged the same point-in-time way."""
        dataframe = super().populate_indicators(dataframe, metadata)
        dataframe = self.altdata.add_features(dataframe, self.timeframe, feature_prefix="")
        if self.news is not None:
            dataframe = self.news.add_features(dataframe, self.timeframe, metadata["pair"],
                                               feature_prefix="", columns=NEWS_COLUMNS)
        return dataframe

    def populate_entry_trend(self, df: DataFrame, metadata: dict) -> DataFrame:
        """Baseline entries, never where an alt-data source is stale."""
        df = super().populate_entry_trend(df, metadata)
        if ANY_STALE in df.columns:
            df.loc[df[ANY_STALE] == 1, ["enter_long", "enter_tag"]] = (0, None)
        return df
