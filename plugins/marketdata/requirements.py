"""Which candle files a Freqtrade config needs, and whether a data dir has them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from freqtrade.configuration.load_config import load_from_files
from freqtrade.misc import pair_to_filename

from plugins.core.errors import DataNotFoundError


@dataclass(frozen=True, order=True)
class CandleNeed:
    """One spot candle file: ``pair`` (``BTC/USDT``) at ``timeframe`` (``1h``)."""

    pair: str
    timeframe: str

    def filename(self, extension: str = "feather") -> str:
        """Freqtrade's file name for this need, e.g. ``BTC_USDT-1h.feather``."""
        return f"{pair_to_filename(self.pair)}-{self.timeframe}.{extension}"


def load_config(files: list[Path]) -> dict:
    """Freqtrade configs merged the way ``freqtrade -c A -c B`` merges them (later wins)."""
    return load_from_files([str(f) for f in files])


def candle_needs(config: dict) -> list[CandleNeed]:
    """Pairs x timeframes a config trades or uses as FreqAI features.

    Pairs: ``exchange.pair_whitelist`` plus ``freqai.feature_parameters.include_corr_pairlist``.
    Timeframes: ``timeframe`` plus ``freqai.feature_parameters.include_timeframes``.

    Raises:
        DataNotFoundError: the config names no pairs or no timeframe.
    """
    features = config.get("freqai", {}).get("feature_parameters", {})
    pairs = set(config.get("exchange", {}).get("pair_whitelist", []))
    timeframes = {config["timeframe"]} if config.get("timeframe") else set()
    if config.get("freqai", {}).get("enabled"):
        pairs |= set(features.get("include_corr_pairlist", []))
        timeframes |= set(features.get("include_timeframes", []))
    if not pairs or not timeframes:
        raise DataNotFoundError(
            "The config names no pairs (exchange.pair_whitelist) or no timeframe; "
            "pass the bot's config with --config.")
    return sorted(CandleNeed(p, t) for p in pairs for t in timeframes)


def missing_candles(datadir: Path, needs: list[CandleNeed],
                    extension: str = "feather") -> list[CandleNeed]:
    """The needs without a candle file in ``datadir``."""
    return [n for n in needs if not (datadir / n.filename(extension)).is_file()]
