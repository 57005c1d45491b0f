"""``freqtrade lookahead-analysis`` with one FreqAI artifact removed, for a strict verdict.

Run as ``python tests/e2e/strict_lookahead.py <freqtrade lookahead-analysis args>``.

Why: in freqtrade 2026.9 every FreqAI strategy is reported ``has_bias`` by lookahead-analysis,
because the analysis backtests up to one candle *after* each signal (``to_dt = open_date +
1 candle``, ``freqtrade/optimize/analysis/lookahead.py``) while FreqAI predicts only candles
*before* its window end (``date < stopdt``, ``freqtrade/freqai/freqai_interface.py``). That
last candle gets no prediction in the cut run (zeros, ``do_predict`` 0) but one in the full
run, so every prediction column "differs" there - on a candle the signal never used.

This harness drops exactly that candle (the cut run's last row, strictly after the compared
signal candle) from the indicator comparison and changes nothing else; every other candle,
every signal and every exit must still match. Exit status 0 and the line
``STRICT LOOKAHEAD: no bias`` mean no look-ahead bias was found.
"""

from __future__ import annotations

import sys

from freqtrade.main import main as freqtrade_main
from freqtrade.optimize.analysis.lookahead import LookaheadAnalysis

_original = LookaheadAnalysis.analyze_indicators
_verdicts: list[bool] = []


def _analyze_without_unpredicted_tail(self, full_vars, cut_vars, current_pair):
    cut = cut_vars.indicators[current_pair]
    last_date = cut["date"].iloc[-1]
    if last_date > cut_vars.compared_dt:
        cut_vars.indicators[current_pair] = cut.iloc[:-1]
    return _original(self, full_vars, cut_vars, current_pair)


_original_start = LookaheadAnalysis.start


def _start_and_record(self, *args, **kwargs):
    result = _original_start(self, *args, **kwargs)
    _verdicts.append(self.current_analysis.has_bias)
    return result


if __name__ == "__main__":
    LookaheadAnalysis.analyze_indicators = _analyze_without_unpredicted_tail
    LookaheadAnalysis.start = _start_and_record
    try:
        freqtrade_main(["lookahead-analysis", *sys.argv[1:]])
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
    if not _verdicts:
        print("STRICT LOOKAHEAD: no analysis ran", flush=True)
        sys.exit(2)
    if any(_verdicts):
        print("STRICT LOOKAHEAD: bias detected", flush=True)
        sys.exit(1)
    print("STRICT LOOKAHEAD: no bias", flush=True)
