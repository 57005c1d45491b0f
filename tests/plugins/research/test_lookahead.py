"""plugins.research.lookahead: the unpredicted-candle rule and the verdict, without a backtest
(the end-to-end runs on shipped strategies and canaries are in tests/e2e/test_backtest_cli.py)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from freqtrade.optimize.analysis.lookahead import LookaheadAnalysis

from plugins.research import lookahead
from plugins.research.lookahead import StrategyVerdict

PATTERN = re.compile(lookahead.MODEL_OUTPUTS)
DATES = pd.date_range("2024-03-01", periods=4, freq="1h", tz="UTC")


def _frames(feature_last_cut: float = 4.0):
    """Full run and cut run of one pair; the cut run's last candle is unpredicted by FreqAI."""
    full = pd.DataFrame({"date": DATES, "close": [1.0, 2.0, 3.0, 4.0],
                         "%-feature": [1.0, 2.0, 3.0, 4.0], "&-s_close": [0.1, 0.2, 0.3, 0.4],
                         "do_predict": [1, 1, 1, 1], "regime": ["calm", "calm", "calm", "volatile"],
                         "gate_weight_0": [0.9, 0.8, 0.7, 0.6], "enter_long": [0, 0, 0, 1]})
    cut = full.copy()
    cut.loc[3, ["&-s_close", "do_predict", "gate_weight_0", "enter_long"]] = [0.0, 0, 0.0, 0]
    cut.loc[3, "regime"] = np.nan
    cut.loc[3, "%-feature"] = feature_last_cut
    return full, cut


def _compare(full, cut) -> list[str]:
    """Columns Freqtrade's own comparison flags (its ``analyze_indicators`` logic)."""
    diff = full.loc[cut.index].compare(cut)
    return sorted({c[0] for c in diff.columns})


def test_relax_when_last_cut_candle_after_signal_then_model_outputs_compare_equal():
    full, cut = _frames()
    assert _compare(full, cut) == ["&-s_close", "do_predict", "enter_long", "gate_weight_0", "regime"]

    relaxed = lookahead.relax_unpredicted_candle(cut, full, DATES[2], PATTERN)

    assert _compare(full, relaxed) == []


def test_relax_when_feature_peeks_one_candle_ahead_then_still_flagged():
    # close.shift(-1) as a feature: NaN on the cut run's last candle, a value in the full run
    full, cut = _frames(feature_last_cut=np.nan)

    relaxed = lookahead.relax_unpredicted_candle(cut, full, DATES[2], PATTERN)

    assert _compare(full, relaxed) == ["%-feature"]


def test_relax_when_last_cut_candle_is_the_signal_candle_then_nothing_relaxed():
    full, cut = _frames()

    relaxed = lookahead.relax_unpredicted_candle(cut, full, DATES[3], PATTERN)

    assert relaxed is cut


def test_strict_analysis_when_left_then_freqtrade_methods_restored():
    before = (LookaheadAnalysis.analyze_indicators, LookaheadAnalysis.start)

    with lookahead.strict_analysis() as verdicts:
        assert LookaheadAnalysis.start is not before[1]
        assert verdicts == []

    assert (LookaheadAnalysis.analyze_indicators, LookaheadAnalysis.start) == before


def _verdict(name, bias=False, checked=True, signals=10) -> StrategyVerdict:
    return StrategyVerdict(name, bias, checked, signals, int(bias), 0, ("%-x",) if bias else ())


def test_verdict_line_when_bias_unchecked_or_clean_then_status_1_2_0():
    assert lookahead.verdict_line([_verdict("A"), _verdict("B", bias=True)]) == (lookahead.BIAS, 1)
    assert lookahead.verdict_line([_verdict("A", checked=False, signals=2)]) == \
        (lookahead.INCONCLUSIVE, 2)
    assert lookahead.verdict_line([]) == (lookahead.INCONCLUSIVE, 2)
    assert lookahead.verdict_line([_verdict("A")]) == (lookahead.NO_BIAS, 0)


def test_summary_when_mixed_then_verdict_first_and_a_line_per_strategy():
    lines = lookahead.summary([_verdict("Clean"), _verdict("Leaky", bias=True),
                               _verdict("Short", checked=False, signals=2)])

    assert lines[0] == lookahead.BIAS
    assert "Clean: clean: 10 signals checked" in lines[1]
    assert "Leaky: BIASED: 1 entry / 0 exit signals of 10 differ; indicators: %-x" in lines[2]
    assert "Short: not checked: 2 signals" in lines[3]


def test_strict_analysis_when_active_then_freqai_keeps_its_features_in_the_strategy_frame():
    # FreqAI drops its "%" features before handing the frame back; a feature peeking one candle
    # ahead differs only there, so the strict check must see them.
    from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

    frame = pd.DataFrame({"date": DATES, "%-future": [1.0, 2.0, 3.0, np.nan],
                          "%%-raw": [1.0] * 4, "&-s_close": [0.1] * 4})
    original = FreqaiDataKitchen.remove_features_from_df
    assert list(original(None, frame).columns) == ["date", "%%-raw", "&-s_close"]

    with lookahead.strict_analysis():
        kept = FreqaiDataKitchen.remove_features_from_df(None, frame)

    assert list(kept.columns) == ["date", "%-future", "%%-raw", "&-s_close"]
    assert FreqaiDataKitchen.remove_features_from_df is original
