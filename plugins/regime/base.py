"""The one interface every regime detector implements.

A detector is fitted on a training window only, then labels candles causally: the regime
probabilities of candle ``t`` depend on candles ``<= t`` (and on the carried ``state``), never on
later candles. That lets the same code label a whole backtest window in one call and a live bot
one new candle at a time:

    proba_all, _ = det.predict_proba(X)
    p1, s = det.predict_proba(X.iloc[:m]); p2, _ = det.predict_proba(X.iloc[m:], state=s)
    # np.vstack([p1, p2]) == proba_all

Labels are stable across retrains: label ``k`` is the ``k``-th calmest regime, ranked by the
mean realized volatility (input column ``vol``) of the training candles assigned to it, so
label 0 always means the calmest regime. (The rule-based detector has fixed regimes whose order
rises with the volatility *tier*, calm then volatile; see :mod:`plugins.regime.rules`.) Names
(``regime_names``) are documented per detector; each is ``<volatility tier>_<direction>`` or a
fixed name, see the detector's docstring.

Input ``X``: a ``pandas.DataFrame`` whose columns include :data:`plugins.regime.features.REGIME_INPUTS`
(float64, raw, unscaled, computed by :func:`plugins.regime.features.regime_inputs`), rows in time
order, no NaN (drop the warm-up rows first). Extra columns are ignored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd


class RegimeDetectorError(ValueError):
    """Bad detector input or use (unfitted, NaN rows, missing input column)."""


class RegimeDetector(ABC):
    """Fit on a training window, then give causal per-candle regime probabilities.

    Attributes (set by :meth:`fit`):
        n_regimes: number of regimes ``K``.
        regime_names: ``K`` names, index = label (0 = calmest).
    """

    #: short identifier used in config (``ai_suite.regime.detector``) and logs.
    kind: str = "base"

    n_regimes: int
    regime_names: tuple[str, ...]

    @abstractmethod
    def fit(self, X: pd.DataFrame) -> RegimeDetector:
        """Learn the regimes from training rows ``X`` (time order, no NaN). Returns ``self``.

        Raises:
            RegimeDetectorError: missing input column, NaN rows, or too few rows.
        """

    @abstractmethod
    def predict_proba(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        """Causal regime probabilities for rows ``X`` (time order, no NaN).

        Args:
            X: rows to label, continuing the sequence that produced ``state``.
            state: what a previous call returned (``None`` = start fresh).

        Returns:
            ``(proba, state)``: ``proba`` float64 array of shape ``(len(X), n_regimes)``, rows sum
            to 1; ``state`` to pass to the next call on the following rows.

        Raises:
            RegimeDetectorError: unfitted detector, missing column or NaN rows.
        """

    def predict(self, X: pd.DataFrame, state: Any = None) -> tuple[np.ndarray, Any]:
        """Most probable regime label per row (int64 array of shape ``(len(X),)``) and the state."""
        proba, state = self.predict_proba(X, state)
        return proba.argmax(axis=1).astype(np.int64), state
