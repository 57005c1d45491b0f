"""Strict look-ahead analysis: ``freqtrade lookahead-analysis`` without FreqAI's false alarm.

    python -m plugins.research lookahead -c config/base.json -c config/offline.json \\
        --strategy RegimeMoE --timerange 20240301-20240401 [any lookahead-analysis option]

**Why.** In freqtrade 2026.9 ``lookahead-analysis`` reports *every* FreqAI strategy as biased.
For each checked signal it backtests up to one candle *after* the signal (``to_dt = open_date
+ 1 candle``, ``freqtrade/optimize/analysis/lookahead.py``) and compares the indicators with a
full run; but FreqAI predicts only candles *before* its window end (``date < stopdt``,
``freqtrade/freqai/freqai_interface.py``). That last candle of the cut run gets no prediction
(0, ``do_predict`` 0) but gets one in the full run, so every model output "differs" there, on
a candle the signal never used.

**What changes.** On exactly that candle (the cut run's last row, strictly after the compared
signal candle), the columns FreqAI's model writes are not compared: those matching
:data:`MODEL_OUTPUTS` (targets ``&...``, ``do_predict``, ``DI_values`` and the suite's
RegimeGatedMoE outputs, each with FreqAI's ``_mean``/``_std``), and the signal columns
(``enter_long`` ... ``exit_tag``), which there follow from the missing prediction; the
signals that matter are compared through the trades, as Freqtrade does. Pass
``--model-outputs REGEX`` for another model's extra columns. Every other column of that row
(features ``%-...``, plain indicators), every other row, every signal and every exit are
compared as Freqtrade compares them. An unlisted model output shows as bias: the check errs
towards "biased", never towards "clean".

**Features are compared too.** FreqAI drops its features (``%...`` columns, not ``%%...``) from
the frame it hands back to the strategy (``FreqaiDataKitchen.remove_features_from_df``, called
by ``IFreqaiModel.start``), so Freqtrade's comparison never sees them: a feature that peeks one
candle ahead differs only on the cut run's last candle (NaN there, a value in the full run),
which FreqAI leaves unpredicted, so neither a prediction nor a signal changes and plain
``lookahead-analysis`` cannot catch it. For the duration of the analysis the features stay in
the analysed frames (:func:`strict_analysis`), and every feature of every candle is compared.

**Verdict** (the first line of the summary printed at the end, and the exit status):

- ``STRICT LOOKAHEAD: no bias`` (0): every analysed strategy had enough signals and none
  differed.
- ``STRICT LOOKAHEAD: bias detected`` (1): a signal, an exit or an indicator differed; the
  summary names them.
- ``STRICT LOOKAHEAD: inconclusive`` (2): no analysis ran, or a strategy had fewer signals
  than ``--minimum-trade-amount`` (Freqtrade then reports no bias; it means nothing was checked).

**Canaries** (``tests/e2e/strategies/``, run by ``tests/e2e/test_backtest_cli.py``): the
check must flag ``LeakyFreqaiBaseline`` (a FreqAI feature peeking one candle ahead, visible only
on the very candle this module treats specially, so a harness that simply dropped that candle
would pass it) and ``LeakyAltData`` (on-chain data merged on candle open instead of
point-in-time), and must pass the shipped ``RegimeMoE``, ``FreqaiAltData`` and
``FreqaiBaseline``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Model-output columns not compared on the cut run's unpredicted last candle.
MODEL_OUTPUTS = (r"^(&.*|do_predict|DI_values|regime|regime_label|regime_prob_\d+|gate_weight_\d+|"
                 r"expert_pred_\d+|confidence)(_mean|_std)?$"
                 r"|^(enter|exit)_(long|short|tag)$")

NO_BIAS = "STRICT LOOKAHEAD: no bias"
BIAS = "STRICT LOOKAHEAD: bias detected"
INCONCLUSIVE = "STRICT LOOKAHEAD: inconclusive"


@dataclass(frozen=True)
class StrategyVerdict:
    """One strategy's analysis (Freqtrade's ``Analysis`` plus whether it ran at all)."""

    strategy: str
    has_bias: bool
    checked: bool
    total_signals: int
    biased_entry_signals: int
    biased_exit_signals: int
    biased_indicators: tuple[str, ...] = field(default=())


def relax_unpredicted_candle(cut, full, compared_dt, pattern: re.Pattern):
    """``cut`` (the cut run's indicator frame of one pair) with the model-output columns of
    its last row set to ``full``'s values when that row is strictly after ``compared_dt``
    (so they compare equal); otherwise ``cut`` unchanged. Frames share Freqtrade's index."""
    if cut.empty or not cut["date"].iloc[-1] > compared_dt:
        return cut
    last = cut.index[-1]
    if last not in full.index:
        return cut
    columns = [c for c in cut.columns if pattern.match(str(c)) and c in full.columns]
    if not columns:
        return cut
    relaxed = cut.copy()
    for column in columns:
        value = full.at[last, column]
        try:
            relaxed.loc[last, column] = value
        except (TypeError, ValueError):      # e.g. a str placed into a float column
            relaxed[column] = relaxed[column].astype(object)
            relaxed.loc[last, column] = value
    return relaxed


def keep_features(self, dataframe):
    """Stands in for ``FreqaiDataKitchen.remove_features_from_df`` during the analysis: the
    frame unchanged, FreqAI's ``%...`` feature columns included (module docstring)."""
    return dataframe


@contextlib.contextmanager
def strict_analysis(pattern: str = MODEL_OUTPUTS) -> Iterator[list[StrategyVerdict]]:
    """Patch Freqtrade's ``LookaheadAnalysis`` for the duration: relax the unpredicted candle
    (:func:`relax_unpredicted_candle`) and record each strategy's verdict into the yielded
    list; and keep FreqAI's features in the frames it returns to the strategy
    (:func:`keep_features`), so they are compared. The originals are restored on exit."""
    from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
    from freqtrade.optimize.analysis.lookahead import LookaheadAnalysis

    compiled = re.compile(pattern)
    original_analyze = LookaheadAnalysis.analyze_indicators
    original_start = LookaheadAnalysis.start
    original_remove = FreqaiDataKitchen.remove_features_from_df
    verdicts: list[StrategyVerdict] = []

    def analyze(self, full_vars, cut_vars, current_pair):
        cut_vars.indicators[current_pair] = relax_unpredicted_candle(
            cut_vars.indicators[current_pair], full_vars.indicators[current_pair],
            cut_vars.compared_dt, compiled)
        return original_analyze(self, full_vars, cut_vars, current_pair)

    def start(self, *args, **kwargs):
        result = original_start(self, *args, **kwargs)
        a = self.current_analysis
        verdicts.append(StrategyVerdict(
            strategy=str(self.local_config.get("strategy")), has_bias=bool(a.has_bias),
            checked=not self.failed_bias_check,
            total_signals=int(a.total_signals), biased_entry_signals=int(a.false_entry_signals),
            biased_exit_signals=int(a.false_exit_signals),
            biased_indicators=tuple(a.false_indicators)))
        return result

    LookaheadAnalysis.analyze_indicators = analyze
    LookaheadAnalysis.start = start
    FreqaiDataKitchen.remove_features_from_df = keep_features
    try:
        yield verdicts
    finally:
        LookaheadAnalysis.analyze_indicators = original_analyze
        LookaheadAnalysis.start = original_start
        FreqaiDataKitchen.remove_features_from_df = original_remove


def verdict_line(verdicts: list[StrategyVerdict]) -> tuple[str, int]:
    """The verdict and the exit status of a set of analyses (module docstring)."""
    if any(v.has_bias for v in verdicts):
        return BIAS, 1
    if not verdicts or not all(v.checked for v in verdicts):
        return INCONCLUSIVE, 2
    return NO_BIAS, 0


def summary(verdicts: list[StrategyVerdict]) -> list[str]:
    """Verdict first, then one line per strategy."""
    line, _ = verdict_line(verdicts)
    out = [line]
    if not verdicts:
        out.append("  no analysis ran (no strategy found, or it failed before analysing)")
    for v in verdicts:
        if not v.checked:
            state = (f"not checked: {v.total_signals} signals, fewer than --minimum-trade-amount; "
                     "extend --timerange")
        elif v.has_bias:
            state = (f"BIASED: {v.biased_entry_signals} entry / {v.biased_exit_signals} exit "
                     f"signals of {v.total_signals} differ; indicators: "
                     f"{', '.join(v.biased_indicators) or 'none'}")
        else:
            state = f"clean: {v.total_signals} signals checked"
        out.append(f"  {v.strategy}: {state}")
    out.append("  (model outputs on the cut run's unpredicted last candle not compared; see "
               "python -m plugins.research lookahead --help)")
    return out


def run(freqtrade_args: list[str], pattern: str = MODEL_OUTPUTS) -> tuple[list[str], int]:
    """Run ``freqtrade lookahead-analysis FREQTRADE_ARGS`` in this process under
    :func:`strict_analysis`; return the summary lines and the exit status.

    A failure of Freqtrade itself (bad config, unknown strategy) ends with Freqtrade's own
    message and its non-zero status, returned as is with an inconclusive summary.
    """
    from freqtrade.main import main as freqtrade_main

    status = 0
    with strict_analysis(pattern) as verdicts:
        try:
            freqtrade_main(["lookahead-analysis", *freqtrade_args])
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    lines = summary(verdicts)
    _, verdict_status = verdict_line(verdicts)
    return lines, status or verdict_status
