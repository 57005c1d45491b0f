"""Figures of analysed frames: the rolling IC of live predictions, out of sample only, beside
its permuted no-skill control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plugins.metrics.frames import live_ic, pair_model_figures, prediction_columns

HORIZON = 4


def frames(n: int = 600, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """A frame whose first half predicts the label's opposite (in-sample rows that must not
    count) and second half predicts it with noise; labels NaN on the last ``HORIZON`` candles
    (not matured)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2026-01-01", periods=n, freq="1h", tz="UTC")
    real = rng.normal(size=n)
    since = dates[n // 2]
    pred = np.where(dates < since, -real, real + rng.normal(scale=1.0, size=n))
    labels = pd.DataFrame({"&-s_close": real})
    labels.iloc[-HORIZON:] = np.nan
    return pd.DataFrame({"date": dates, "&-s_close": pred, "&-s_close_std": 1.0}), labels, since


def test_live_ic_when_live_half_predicts_then_positive_ic_and_control_near_zero():
    frame, labels, since = frames()

    result = live_ic(frame, labels, HORIZON, "1h", since)["&-s_close"]

    assert result.ic > 0.5 and result.t_stat > 3
    assert abs(result.control_ic) < 0.2
    assert result.n_obs == pytest.approx((300 - HORIZON) / HORIZON, abs=1), \
        "non-overlapping matured samples of the live half only"


def test_live_ic_when_window_holds_the_in_sample_half_then_it_counts_against_the_model():
    frame, labels, _ = frames()

    result = live_ic(frame, labels, HORIZON, "1h", frame["date"].iloc[0])["&-s_close"]

    assert result.ic < 0.3, "the anti-correlated half drags it down: since is what keeps it OOS"


def test_live_ic_when_too_few_matured_labels_then_no_figure():
    frame, labels, _ = frames()

    assert live_ic(frame, labels, HORIZON, "1h", frame["date"].iloc[-6]) == {}


def test_prediction_columns_when_freqai_statistics_present_then_only_targets():
    frame, _, _ = frames(10)

    assert prediction_columns(frame) == ["&-s_close"]
    assert pair_model_figures(frame.iloc[:0]).predictions == {}
