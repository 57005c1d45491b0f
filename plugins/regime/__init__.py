"""Market regime detectors: rule-based, Gaussian HMM and statistical jump model.

Compute the inputs with :func:`regime_inputs` from a Freqtrade candle frame, drop the warm-up
rows, fit a detector from :func:`make_detector` on a training window, then label candles
causally with ``predict_proba`` (see :mod:`plugins.regime.base` for the contract).
"""

from __future__ import annotations

from plugins.regime.base import RegimeDetector, RegimeDetectorError
from plugins.regime.config import DetectorConfig
from plugins.regime.features import REGIME_INPUTS, regime_inputs, warmup_candles

__all__ = ["REGIME_INPUTS", "DetectorConfig", "RegimeDetector", "RegimeDetectorError", "make_detector",
           "regime_inputs", "warmup_candles"]


def make_detector(cfg: DetectorConfig) -> RegimeDetector:
    """An unfitted detector of kind ``cfg.kind`` configured by ``cfg``."""
    if cfg.kind == "rules":
        from plugins.regime.rules import RuleBasedDetector
        return RuleBasedDetector(cfg)
    if cfg.kind == "hmm":
        from plugins.regime.hmm import HmmDetector
        return HmmDetector(cfg)
    from plugins.regime.jump import JumpModelDetector
    return JumpModelDetector(cfg)
