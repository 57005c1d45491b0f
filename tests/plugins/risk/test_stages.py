"""Deployment stages: promotion at its thresholds, rollback, the store and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from plugins.risk.__main__ import main
from plugins.risk.stages import (
    STORE_NAME,
    Stage,
    StageError,
    StageRecord,
    StageStore,
    demote,
    entry_verdict,
    file_trade,
    promote,
    promotion_verdict,
    rollback_verdict,
    stake_factor,
    track_peak,
)

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def record(stage: Stage, **ledger: list[float]) -> StageRecord:
    return StageRecord(strategy="S", stage=stage, ledger={Stage(k): v for k, v in ledger.items()})


@pytest.mark.parametrize(("rec", "allowed"), [
    (record(Stage.SHADOW, shadow=[0.01] * 24), False),                      # one short
    (record(Stage.SHADOW, shadow=[0.01] * 25), True),                       # exactly N
    (record(Stage.CANARY, shadow=[0.01] * 25, canary=[0.01] * 24), False),
    (record(Stage.CANARY, shadow=[0.01] * 25, canary=[0.005] * 25), True),  # exactly at tolerance
    (record(Stage.CANARY, shadow=[0.01] * 25, canary=[0.0049] * 25), False),
    (record(Stage.CANARY, shadow=[0.01] * 25, canary=[0.02] * 25), True),   # better than shadow
    (record(Stage.CANARY, canary=[0.02] * 25), False),                      # nothing to compare
    (record(Stage.ACTIVE, shadow=[0.01] * 99, canary=[0.01] * 99), False),  # no later stage
], ids=["shadow-24", "shadow-25", "canary-24", "canary-at-tolerance", "canary-below",
        "canary-better", "canary-no-shadow", "active"])
def test_promotion_verdict_at_its_thresholds(rec, allowed):
    verdict = promotion_verdict(rec, min_trades=25, tolerance=0.005)

    assert verdict.allowed is allowed, verdict.reason


def test_shadow_places_no_live_orders_but_simulates_in_dry_run():
    shadow = record(Stage.SHADOW)

    assert not entry_verdict(shadow, live=True).allowed
    assert entry_verdict(shadow, live=False).allowed
    assert entry_verdict(record(Stage.CANARY), live=True).allowed


@pytest.mark.parametrize(("stage", "factor"), [(Stage.SHADOW, 1.0), (Stage.CANARY, 0.15),
                                               (Stage.ACTIVE, 1.0)])
def test_only_canary_scales_the_stake(stage, factor):
    assert stake_factor(record(stage), 0.15) == factor


@pytest.mark.parametrize(("equity", "rolls_back"), [(9300.0, False), (9200.0, True), (9000.0, True)])
def test_rollback_when_equity_falls_the_threshold_below_the_active_peak(equity, rolls_back):
    rec = record(Stage.ACTIVE)
    track_peak(rec, 10_000.0)

    assert not track_peak(rec, 9_000.0), "the peak only rises"
    assert rollback_verdict(rec, equity, 0.08).allowed is rolls_back


def test_a_trade_is_filed_once():
    rec = record(Stage.CANARY)

    assert file_trade(rec, "live:1", Stage.CANARY, 0.02)
    assert not file_trade(rec, "live:1", Stage.CANARY, 0.02)
    assert rec.returns(Stage.CANARY) == [0.02]


def test_store_round_trip_keeps_every_strategy(tmp_path):
    store = StageStore(tmp_path / STORE_NAME)
    a = store.load("A", Stage.SHADOW, NOW)
    store.load("B", Stage.ACTIVE, NOW)
    file_trade(a, "dry_run:1", Stage.SHADOW, 0.01)
    store.save(a)

    again = StageStore(tmp_path / STORE_NAME)
    assert again.strategies() == ["A", "B"]
    assert again.load("A", Stage.ACTIVE, NOW).returns(Stage.SHADOW) == [0.01]
    assert again.load("B", Stage.SHADOW, NOW).stage == Stage.ACTIVE
    assert [p.name for p in (tmp_path / "ai_suite").iterdir()] == ["stages.json"], "no temp files"


def test_store_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / STORE_NAME
    path.parent.mkdir(parents=True)
    path.write_text("{not json")

    with pytest.raises(StageError, match="stages.json is unreadable.*delete it"):
        StageStore(path).load("A", Stage.SHADOW, NOW)


def test_promote_refuses_until_the_rules_allow_then_moves_one_stage(tmp_path):
    store = StageStore(tmp_path / STORE_NAME)
    rec = store.load("S", Stage.SHADOW, NOW)
    with pytest.raises(StageError, match="S stays shadow: 0 closed shadow trades, promotion needs 2"):
        promote(store, "S", 2, 0.005, NOW, "alice")
    for i in range(2):
        file_trade(rec, f"dry_run:{i}", Stage.SHADOW, 0.01)
    store.save(rec)

    change = promote(store, "S", 2, 0.005, NOW, "alice")

    assert (change.from_stage, change.to_stage, change.by) == (Stage.SHADOW, Stage.CANARY, "alice")
    assert [c.to_stage for c in store.load("S", Stage.SHADOW, NOW).history] == [Stage.SHADOW,
                                                                               Stage.CANARY]


def test_demote_only_moves_backwards(tmp_path):
    store = StageStore(tmp_path / STORE_NAME)
    store.load("S", Stage.CANARY, NOW)

    with pytest.raises(StageError, match="not earlier"):
        demote(store, "S", Stage.ACTIVE, NOW, "bob", "x")
    assert demote(store, "S", Stage.SHADOW, NOW, "bob", "bad fills").to_stage == Stage.SHADOW


def test_cli_show_promote_demote(tmp_path, capsys):
    store = StageStore(tmp_path / STORE_NAME)
    rec = store.load("S", Stage.SHADOW, NOW)
    file_trade(rec, "dry_run:1", Stage.SHADOW, 0.01)
    store.save(rec)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"ai_suite": {"stages": {"promotion_min_trades": 1}}}))
    base = ["stage", "--user-data-dir", str(tmp_path)]

    assert main(["stage", "promote", *base[1:], "--strategy", "S"]) == 1, \
        "the default 25 trades are not met without the config"
    assert main(["stage", "promote", *base[1:], "--strategy", "S", "-c", str(config)]) == 0
    assert main(["stage", "demote", *base[1:], "--strategy", "S", "--to", "shadow"]) == 0
    assert main(["stage", "show", *base[1:]]) == 0

    out = capsys.readouterr()
    assert "S stays shadow: 1 closed shadow trades, promotion needs 25" in out.err
    assert "S: shadow (closed trades filed: shadow 1)" in out.out
    assert "shadow -> canary  promoted" in out.out and "canary -> shadow  demoted" in out.out


@pytest.mark.parametrize("content", ["[]", "null", '"shadow"', "42", '[{"strategy": "S"}]'])
def test_store_when_file_is_valid_json_but_not_a_mapping_then_stage_error_naming_file_and_fix(
        tmp_path, content):
    path = tmp_path / STORE_NAME
    path.parent.mkdir(parents=True)
    path.write_text(content)

    with pytest.raises(StageError) as err:
        StageStore(path).strategies()

    assert str(path) in str(err.value) and "not a mapping" in str(err.value)
    assert "restore it from a backup or delete it" in str(err.value)
    assert path.read_text() == content, "an unreadable store is never overwritten"


def test_cli_stage_show_when_store_not_a_mapping_then_exit_1_without_traceback(tmp_path, capsys):
    (tmp_path / STORE_NAME).parent.mkdir(parents=True)
    (tmp_path / STORE_NAME).write_text("[]")

    status = main(["stage", "show", "--user-data-dir", str(tmp_path)])

    err = capsys.readouterr().err
    assert status == 1 and err.startswith("risk: Stage store ") and "stages.json" in err


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]"])
def test_cli_stage_promote_when_config_missing_or_unreadable_then_exit_1_naming_it(
        tmp_path, capsys, content):
    store = StageStore(tmp_path / STORE_NAME)
    store.load("S", Stage.SHADOW, NOW)
    config = tmp_path / "missing.json"
    if content is not None:
        config.write_text(content)

    status = main(["stage", "promote", "--user-data-dir", str(tmp_path), "--strategy", "S",
                   "-c", str(config)])

    err = capsys.readouterr().err
    assert status == 1 and err.startswith("risk: ") and str(config) in err
    assert "-c" in err
