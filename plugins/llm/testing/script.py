"""The default script of the fake model: one plausible, fixed answer per hook and role.

Used to record the shipped cassettes (``tests/plugins/llm/record_cassettes.py``), by the
benchmark and by ``python -m plugins.llm.testing``. The answers do not depend on
the data (a fake model); the structure hook's first answer is deliberately invalid so the
recorded conversation shows the validation feedback loop, and the review proposes one change
the tree validator rejects.
"""

from __future__ import annotations

from plugins.llm.testing.fake_server import FakeModel, Reply

IDEAS = {"ideas": [{
    "pair": "BTC/USDT", "direction": "long",
    "thesis": "A sharp 24h drop into support while exchanges see net outflows: a fear-driven dip "
              "inside a mid-cycle uptrend, with the FOMC still days away.",
    "supporting_signals": ["exchange netflow strongly negative (coins leaving exchanges)",
                           "RSI(1h) and RSI(4h) below 40 after the drop", "daily trend still up"],
    "invalidation": ["daily close below 61,500", "netflow turns to sustained inflows",
                     "hawkish FOMC surprise"],
    "entry_zone": {"low": 65000, "high": 67500}, "stop_loss": 61500, "targets": [72000, 76000],
    "horizon": "weeks", "conviction": 0.55}]}

SEED_TREE = {"strategy": {
    "name": "BTC_fear_accumulation_v1", "assets": ["BTC/USDT"], "timeframe": "1d",
    "entry": {"conditions": ["RSI(BTC, 1D) < 30", "exchange_netflow(BTC, 48h) < -3000",
                             "fear_greed_index < 25"], "logic": "ALL"},
    "position": {"type": "scaled_entry", "batches": 3, "size_per_batch": "3.3%", "interval": "4h",
                 "max_total_exposure": "10%"},
    "risk": {"stop_loss": {"type": "percentage", "value": "8%", "reference": "average_entry_price"}},
    "take_profit": [{"level": "15%", "action": "close_50%"}, {"level": "30%", "action": "close_remaining"}],
    "filters": [{"no_entry_within": "24h_of_FOMC"}, {"no_entry_if": "BTC_dominance < 40%"}],
    "expiry": "30d"}}

#: First structure answer: 3 x 5% exceeds the 10% cap (the validator says so; the model fixes it).
BAD_TREE = {"strategy": {**SEED_TREE["strategy"],
                         "position": {**SEED_TREE["strategy"]["position"], "size_per_batch": "5%"}}}

ANALYSTS = {
    "onchain": {"stance": "bullish", "confidence": 0.7, "rationale": "Large net outflows from "
                "exchanges: holders are withdrawing, not preparing to sell.",
                "key_signals": ["netflow_btc strongly negative"]},
    "momentum": {"stance": "neutral", "confidence": 0.55, "rationale": "Short-term RSI is low after a "
                 "sharp drop while the daily RSI is still elevated; no confirmed reversal.",
                 "key_signals": ["RSI(1h) < 40", "RSI(1d) > 70", "volatile regime"]},
    "macro": {"stance": "neutral", "confidence": 0.5, "rationale": "Dollar and yields edged up; the "
              "FOMC is several days away, outside any blackout.", "key_signals": ["DXY up", "US10Y up"]},
    "sentiment": {"stance": "bearish", "confidence": 0.6, "rationale": "Sentiment is still at greed "
                  "levels despite the drop; not yet a contrarian fear signal.",
                  "key_signals": ["Fear & Greed high"]},
    "risk": {"stance": "neutral", "confidence": 0.6, "rationale": "Volatile regime after a 7% daily "
             "drop: size small or wait for stabilisation.", "key_signals": ["volatile regime"]},
}

JUDGE = {"decision": "wait", "confidence": 0.42,
         "summary": "On-chain flows are constructive but momentum has not turned and sentiment is "
                    "not yet fearful; wait for stabilisation.",
         "dissent": [{"role": "onchain", "view": "Outflows argue for accumulating now."}]}

REVIEW = {"summary": "Frequent short trades lost slightly more than they won; the RSI gate filtered "
                     "most attempts.",
          "what_worked": ["The RSI gate blocked entries into overbought conditions"],
          "what_did_not": ["One-hour holds mostly paid fees and noise"],
          "suggestions": ["Space scaled entries further apart", "Keep the FOMC filter"],
          "tree_changes": [
              {"path": "position.interval", "value_yaml": "8h",
               "why": "Fewer, better-spaced entries"},
              {"path": "position.size_per_batch", "value_yaml": "5%",
               "why": "Bigger batches"}]}


def default_model() -> FakeModel:
    """A fresh fake model answering every hook of the suite."""
    model = FakeModel([])
    model.add("HOOK: ideas", Reply.json(IDEAS))
    model.add("HOOK: structure", Reply.tool("submit_strategy_tree", BAD_TREE))
    model.add("HOOK: structure", Reply.tool("submit_strategy_tree", SEED_TREE), user="Rejected:")
    for role, verdict in ANALYSTS.items():
        model.add(f"HOOK: council.{role}", Reply.json(verdict))
    model.add("HOOK: council.judge", Reply.json(JUDGE))
    model.add("HOOK: review", Reply.json(REVIEW))
    return model
