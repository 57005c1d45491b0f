"""plugins.research.survival on a small hand-made variants x windows matrix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plugins.research.config import TierConfig
from plugins.research.survival import (
    kaplan_meier,
    km_table,
    plot_kaplan_meier,
    survival_analysis,
    tier_of,
    windows_until_first_failure,
)

# 5 windows; returns per window (fractions); NaN = the trial had no result there.
MATRIX = pd.DataFrame(
    [[0.02, 0.01, 0.03, 0.01, 0.02],       # v1: survives 5/5 -> S, profitable
     [0.01, 0.02, -0.01, 0.02, 0.01],      # v2: 4/5 = 0.8 -> S (inclusive), profitable
     [0.01, -0.02, 0.02, 0.01, -0.01],     # v3: 3/5 = 0.6 -> A, profitable (+0.9 %)
     [-0.01, 0.01, -0.02, 0.01, 0.00],     # v4: 2/5 = 0.4 -> B (0 is not > 0), loses
     [-0.01, -0.01, np.nan, 0.05, -0.02]], # v5: 1/5 -> C; a missing window: not profitable
    index=["v1", "v2", "v3", "v4", "v5"], columns=[f"w{i}" for i in range(1, 6)])
FAMILIES = {"v1": "trend", "v2": "trend", "v3": "trend", "v4": "meanrev", "v5": "meanrev"}


def test_survival_analysis_when_hand_made_matrix_then_rates_tiers_and_profitable_share():
    report = survival_analysis(MATRIX, threshold=0.0)

    np.testing.assert_allclose(report.window_rates, [3 / 5, 3 / 5, 2 / 5, 5 / 5, 2 / 5])
    assert report.survival_rate == pytest.approx(np.mean([0.6, 0.6, 0.4, 1.0, 0.4]))
    assert list(report.tiers) == ["S", "S", "A", "B", "C"]
    assert report.tier_counts == {"S": 2, "A": 1, "B": 1, "C": 1}
    assert report.sa_variants == 3
    assert list(report.profitable) == [True, True, True, False, False]
    assert report.profitable_share == pytest.approx(0.6)


def test_survival_analysis_when_threshold_raised_then_fewer_survive():
    report = survival_analysis(MATRIX, threshold=0.015)

    assert report.variant_survival["v1"] == pytest.approx(3 / 5)   # 0.02, 0.03, 0.02
    assert report.tiers["v1"] == "A"


def test_survival_analysis_when_sharpe_metric_then_profitable_means_positive_mean():
    sharpe = pd.DataFrame([[1.0, -0.5], [-1.0, 0.5]], index=["a", "b"], columns=["w1", "w2"])

    report = survival_analysis(sharpe, metric="sharpe")

    assert list(report.profitable) == [True, False]


def test_tier_of_when_on_each_bound_then_inclusive():
    tiers = TierConfig(s=0.8, a=0.6, b=0.4)

    assert [tier_of(x, tiers) for x in (1.0, 0.8, 0.79, 0.6, 0.4, 0.39)] == \
        ["S", "S", "A", "A", "B", "C"]


def test_tier_config_when_bounds_unordered_then_error():
    with pytest.raises(ValueError, match="s >= a >= b"):
        TierConfig(s=0.5, a=0.6, b=0.4)


def test_windows_until_first_failure_when_never_failed_then_censored_at_window_count():
    report = survival_analysis(MATRIX)

    durations = windows_until_first_failure(report.survived)

    assert durations.loc["v1"].tolist() == [5, False]     # censored
    assert durations.loc["v2"].tolist() == [3, True]      # first failure in w3
    assert durations.loc["v4"].tolist() == [1, True]
    assert durations.loc["v5"].tolist() == [1, True]


def test_kaplan_meier_when_two_families_then_product_limit_estimates_by_hand():
    report = survival_analysis(MATRIX)

    fitters = kaplan_meier(report.survived, FAMILIES)
    table = km_table(fitters).set_index(["family", "windows"])["survival"]

    # trend: durations 5 (censored), 3, 2 -> S(2) = 2/3, S(3) = 2/3 * 1/2 = 1/3, S(5) = 1/3
    assert table[("trend", 1)] == pytest.approx(1.0)
    assert table[("trend", 2)] == pytest.approx(2 / 3)
    assert table[("trend", 3)] == pytest.approx(1 / 3)
    assert table[("trend", 5)] == pytest.approx(1 / 3)
    # meanrev: both fail in window 1
    assert table[("meanrev", 1)] == pytest.approx(0.0)
    assert sorted(fitters) == ["meanrev", "trend"]


def test_plot_kaplan_meier_when_paths_given_then_png_and_self_contained_html(tmp_path):
    fitters = kaplan_meier(survival_analysis(MATRIX).survived, FAMILIES)

    written = plot_kaplan_meier(fitters, tmp_path / "km.png", tmp_path / "km.html")

    assert written == [tmp_path / "km.png", tmp_path / "km.html"]
    assert (tmp_path / "km.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "km.html").read_text()
    assert "trend" in html and 'src="https://' not in html     # plotly.js embedded: offline
    assert len(html) > 1_000_000


def test_survival_analysis_when_empty_matrix_then_error():
    with pytest.raises(ValueError, match="empty"):
        survival_analysis(pd.DataFrame())


def test_survival_rate_when_all_windows_missing_then_zero_not_nan():
    report = survival_analysis(pd.DataFrame([[math.nan, math.nan]], index=["x"],
                                            columns=["w1", "w2"]))

    assert report.survival_rate == 0.0 and report.tiers["x"] == "C"
