"""The answers of /regime, /breakers, /stage, journal, drift, /brief and /suite_help, built by
the pure functions of ``plugins.rpc.status`` from real frames, decisions and records."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from plugins.altdata.drift import DriftMonitor
from plugins.altdata.providers.fear_greed import FearGreedProvider
from plugins.risk.breakers import evaluate
from plugins.risk.config import RiskConfig, StageConfig
from plugins.risk.journal import JournalRow
from plugins.risk.snapshot import AccountSnapshot
from plugins.risk.stages import Stage, StageRecord, change_stage
from plugins.risk.state import RiskDecision, TradingState
from plugins.rpc import status
from plugins.rpc.status import BriefInputs, JournalFilters, LockView
from plugins.rpc.telegram import command_answers
from tests.conftest import bundle_dir
from tests.plugins.rpc.conftest import NOW, PAIRS, analysed_frame, running_guard, service_for


def real_frames() -> dict[str, pd.DataFrame]:
    return {pair: analysed_frame(pair) for pair in PAIRS}


def test_regime_when_frames_hold_moe_columns_then_last_candle_regime_and_probabilities_per_pair():
    frames = real_frames()

    answer = status.regime_answer(frames)

    for pair, entry in zip(PAIRS, answer.data["pairs"], strict=True):
        last = frames[pair].iloc[-1]
        assert entry["pair"] == pair and entry["regime"] == last["regime"]
        assert entry["date"] == pd.Timestamp(last["date"]).isoformat()
        assert entry["label"] == int(last["regime_label"])
        assert [p["label"] for p in entry["probabilities"]] == [0, 1, 2]
        assert sum(p["prob"] for p in entry["probabilities"]) == pytest.approx(1)
        named = next(p for p in entry["probabilities"] if p["label"] == entry["label"])
        assert named["name"] == entry["regime"]
        assert f"{pair} @ " in answer.text and entry["regime"] in answer.text


def test_regime_when_strategy_has_no_regime_model_then_note_instead_of_regime():
    candles = analysed_frame("BTC/USDT")[["date", "open", "high", "low", "close", "volume"]]

    answer = status.regime_answer({"BTC/USDT": candles, "ETH/USDT": candles.iloc[:0]})

    btc, eth = answer.data["pairs"]
    assert btc["regime"] is None and "RegimeGatedMoE" in btc["note"]
    assert eth["regime"] is None and eth["note"] == "no analysed candles yet"


def drawdown_decision() -> RiskDecision:
    snapshot = AccountSnapshot(now=NOW, equity=8000.0, equity_day_start=8400.0,
                               equity_week_start=8400.0, equity_peak=10000.0)
    return evaluate(snapshot, RiskConfig())


def test_breakers_when_kill_switch_and_daily_loss_tripped_then_reasons_and_time_to_reset():
    decision = drawdown_decision()
    locks = [LockView(7, "ai_suite:drawdown_kill_switch: drawdown 20.00% >= 15.00%; human reset "
                         "needed", NOW + timedelta(days=3650)),
             LockView(8, "ai_suite:daily_loss: day loss 4.76% >= 3.00%",
                      NOW + timedelta(hours=11, minutes=59, seconds=59))]

    answer = status.breakers_answer(decision, locks, NOW)

    assert answer.data["state"] == "HALTED" and answer.data["allows_entries"] is False
    assert {t["breaker"] for t in answer.data["trips"]} == {"drawdown_kill_switch", "daily_loss"}
    kill, daily = answer.data["locks"]
    assert kill["breaker"] == "drawdown_kill_switch" and kill["seconds_to_reset"] is None
    assert kill["resets"] == "human reset: /killswitch_reset"
    assert daily["detail"] == "day loss 4.76% >= 3.00%"
    assert daily["seconds_to_reset"] == 11 * 3600 + 59 * 60 + 59
    assert "in 11h 59m" in answer.text and "HALTED" in answer.text


def test_breakers_when_nothing_tripped_then_active_and_says_so():
    answer = status.breakers_answer(RiskDecision(TradingState.ACTIVE, ()), [], NOW)

    assert answer.data["state"] == "ACTIVE" and answer.data["locks"] == []
    assert "No breaker tripped" in answer.text


def canary_record() -> StageRecord:
    record = StageRecord(strategy="RegimeMoE", stage=Stage.SHADOW)
    record.ledger = {Stage.SHADOW: [0.01] * 30, Stage.CANARY: [0.004] * 10}
    change_stage(record, Stage.CANARY, NOW - timedelta(days=3), "promoted: 30 trades", "alice")
    return record


def test_stage_when_canary_short_of_trades_then_promotion_refused_with_figures():
    answer = status.stage_answer(canary_record(), StageConfig(enabled=True))

    assert answer.data["stage"] == "canary"
    assert answer.data["ledger"]["shadow"] == {"trades": 30, "mean_return": pytest.approx(0.01)}
    assert answer.data["promotion"] == {"allowed": False,
                                        "reason": "10 closed canary trades, promotion needs 25"}
    assert answer.data["history"][-1]["by"] == "alice"
    assert "Promotion refused" in answer.text


def test_stage_when_stages_disabled_then_says_so():
    answer = status.stage_answer(None, StageConfig(enabled=False))

    assert answer.data == {"enabled": False, "stage": None}


def real_fear_greed() -> pd.DataFrame:
    provider = FearGreedProvider()
    return provider.parse(provider.wire_from_shared(bundle_dir())).sort_index().astype(float)


def test_drift_when_real_fear_greed_jumps_then_finding_listed():
    monitor = DriftMonitor()
    monitor.check("fear_greed", real_fear_greed()[:"2018-04-25"])  # 64 after a month near 22

    answer = status.drift_answer(monitor.status())

    assert answer.data["monitored"] and answer.data["findings"] == 1
    [finding] = answer.data["providers"]["fear_greed"]
    assert finding["column"] == "fng_value" and finding["z"] > 3
    assert "fear_greed.fng_value (outlier)" in answer.text


def test_drift_when_strategy_has_no_monitor_then_not_monitored():
    assert status.drift_answer(None).data == {"monitored": False, "providers": {}}


def test_journal_answer_lists_rows_with_filters():
    rows = [JournalRow(NOW, "breaker", "trip", "daily_loss", None, "day loss 3.10 % >= 3.00 %")]
    filters = JournalFilters(reason="daily_loss", limit=5)

    answer = status.journal_answer(rows, filters)

    assert answer.data["count"] == 1 and answer.data["filters"]["reason"] == "daily_loss"
    assert answer.data["rows"][0]["ts"] == NOW.isoformat()
    assert "breaker trip daily_loss" in answer.text


def test_brief_when_halted_then_summary_of_state_regimes_stage_and_last_day(tmp_path):
    rows = [JournalRow(NOW - timedelta(hours=2), "breaker", "trip", "drawdown_kill_switch"),
            JournalRow(NOW - timedelta(hours=1), "gate", "deny", "breakers", "BTC/USDT"),
            JournalRow(NOW - timedelta(hours=1), "gate", "deny", "breakers", "ETH/USDT"),
            JournalRow(NOW - timedelta(hours=1), "signal", "enter", "enter_long", "BTC/USDT")]
    inputs = BriefInputs(
        regime=status.regime_answer(real_frames()),
        breakers=status.breakers_answer(drawdown_decision(), [], NOW),
        stage=status.stage_answer(canary_record(), StageConfig(enabled=True)),
        drift=status.drift_answer(None), last_day=rows)

    answer = status.brief_answer(inputs, NOW)

    assert answer.data["state"] == "HALTED"
    assert answer.data["last_24h"] == {
        "breaker_trips": {"drawdown_kill_switch": 1}, "entry_denials": {"breakers": 2},
        "entry_signals": 1, "stake_clamps": 0, "resets": 0}
    assert answer.text.splitlines()[0] == "Brief 2024-03-20 12:00 UTC"
    assert "Stage: canary" in answer.text and "denied entry checks: breakers x2" in answer.text
    assert answer.text.splitlines()[-1] == "Market briefing: not available: not requested"
    for pair in PAIRS:
        assert pair in answer.text


def test_suite_help_lists_every_command_the_telegram_module_registers(tmp_path):
    guard = running_guard({"runmode": "dry_run", "user_data_dir": str(tmp_path)}, pairs=())

    answer = status.help_answer()

    names = {c["command"].lstrip("/") for c in answer.data["commands"]}
    assert names == set(command_answers(service_for(guard)))
    assert {"regime", "breakers", "killswitch_reset", "stage", "brief", "ideas", "review",
            "approve", "council", "journal", "drift", "stage_promote", "stage_demote",
            "suite_metrics", "suite_help"} == names


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59, "59s"), (61, "1m 01s"),
                                               (3600, "1h 00m"), (90061, "1d 1h")])
def test_duration_text(seconds, text):
    assert status.duration_text(seconds) == text


def test_breakers_when_kill_switch_lock_active_but_last_loop_active_then_halted():
    # The drawdown recovered under the limit; the kill switch's lock still holds until a human
    # resets it, so the state is HALTED, whatever the last loop computed.
    kill = LockView(7, "ai_suite:drawdown_kill_switch: drawdown 20.00% >= 15.00%; human reset "
                       "needed", NOW + timedelta(days=3650))

    answer = status.breakers_answer(RiskDecision(TradingState.ACTIVE, ()), [kill], NOW)

    assert answer.data["state"] == "HALTED" and answer.data["allows_entries"] is False
    assert [t["breaker"] for t in answer.data["trips"]] == ["drawdown_kill_switch"]
    assert answer.text.startswith("Trading state: HALTED (no new entries)")
