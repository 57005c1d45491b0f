"""ideas, structure and council end to end on the real SDK against the local server."""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta

import pandas as pd
import pytest

from plugins.llm.__main__ import main
from plugins.llm.council import (
    journal_verdict,
    merge_council_confidence,
    read_verdicts,
    record_verdicts,
    run_council,
    run_council_range,
)
from plugins.llm.errors import LlmOutputError
from plugins.llm.ideas import generate_ideas, write_ideas
from plugins.llm.structure import structure_tree
from plugins.llm.testing import script
from plugins.llm.testing.fake_server import Reply
from plugins.llm.treefiles import compile_engine, write_draft
from plugins.risk.config import GateConfig
from plugins.risk.gates import confidence_gate, gate_indicators, gate_inputs
from plugins.risk.journal import DecisionJournal
from plugins.strategy_tree.io import load_tree
from tests.conftest import REPO_ROOT
from tests.plugins.llm.cases import AT, DESCRIPTION, THESIS


def _use_default_script(fake_model) -> None:
    fake_model.rules[:0] = script.default_model().rules


# --- ideas ------------------------------------------------------------------------------------

def test_ideas_when_answer_valid_then_written_with_briefing(fake_model, fake_server, make_llm, briefing,
                                                           tmp_path):
    _use_default_script(fake_model)

    result = generate_ideas(make_llm(), briefing, THESIS)
    json_path, md_path = write_ideas(result, tmp_path, "run")

    assert result.status == "ok" and result.ideas[0].stop_loss < result.ideas[0].entry_zone.low
    body = fake_model.requests[0].body
    assert "Current Market State" not in body["system"][0]["text"], "no data in the cached prefix"
    assert '"investment_thesis"' in body["messages"][0]["content"]
    assert "Idea 1: long BTC/USDT" in md_path.read_text()
    assert json.loads(json_path.read_text())["status"] == "ok"


def test_ideas_when_prices_inconsistent_then_fed_back_and_corrected(fake_model, fake_server, make_llm,
                                                                   briefing):
    bad = json.loads(json.dumps(script.IDEAS))
    bad["ideas"][0]["stop_loss"] = 70000  # above the entry zone of a long
    fake_model.add("HOOK: ideas", Reply.json(bad), Reply.json(script.IDEAS))

    result = generate_ideas(make_llm(), briefing, THESIS)

    assert result.status == "ok" and len(result.prompt_hashes) == 2
    feedback = fake_model.requests[1].body["messages"][-1]["content"]
    assert "ideas.0.stop_loss 70000.0 must be below the entry zone for a long" in feedback


def test_ideas_when_output_never_valid_then_abstain_with_no_idea(fake_model, fake_server, make_llm, briefing):
    fake_model.add("HOOK: ideas", Reply.refusal(), Reply.text("Buy everything!"), Reply.json({"ideas": []}))

    result = generate_ideas(make_llm(), briefing, THESIS)

    assert result.status == "abstain" and result.ideas == ()
    assert "after 3 attempt(s)" in result.reason


def test_ideas_when_call_times_out_then_abstain(fake_model, fake_server, make_llm, briefing):
    fake_model.add("HOOK: ideas", Reply.json(script.IDEAS, delay_s=2))

    result = generate_ideas(make_llm(timeout_s=0.2, max_retries=0), briefing, THESIS)

    assert result.status == "abstain" and "APITimeoutError" in result.reason


def test_ideas_cli_when_no_key_and_no_cassette_then_exit_2_with_clear_message(
        candle_datadir, altdata_cache, tmp_path, capsys):
    (tmp_path / "thesis.md").write_text(THESIS)

    status = main(["ideas", "--thesis", f"@{tmp_path / 'thesis.md'}", "--datadir", str(candle_datadir),
                   "--altdata-dir", str(altdata_cache), "--at", AT.isoformat(),
                   "--cassette-dir", str(tmp_path / "none"), "--ledger", str(tmp_path / "l.sqlite"),
                   "--output-dir", str(tmp_path)])

    assert status == 2
    assert "ANTHROPIC_API_KEY is not set and no cassette" in capsys.readouterr().err


# --- structure --------------------------------------------------------------------------------

def test_structure_when_first_tree_invalid_then_issues_fed_back_and_valid_tree_written(
        fake_model, fake_server, make_llm, tmp_path):
    _use_default_script(fake_model)

    result = structure_tree(make_llm(), DESCRIPTION)
    first = write_draft(result.tree, tmp_path / "trees")
    second = write_draft(result.tree, tmp_path / "trees")
    files, status = compile_engine(load_tree(first), tmp_path / "compiled")

    issue = "strategy.position.size_per_batch: 3 batches x 5% = 15% exceeds max_total_exposure 10%"
    assert issue in result.problems[0]
    tool_result = fake_model.requests[1].body["messages"][2]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["is_error"]
    assert issue in tool_result["content"]
    assert first.name == "BTC_fear_accumulation_v1.yaml" and load_tree(first) == result.tree
    assert second.name == "BTC_fear_accumulation_v2.yaml", "never overwrites"
    assert load_tree(second).name == "BTC_fear_accumulation_v2"
    assert status.startswith("compiled 1 file(s)"), status
    assert fake_model.requests[0].body["tool_choice"] == {"type": "tool", "name": "submit_strategy_tree"}


def test_write_draft_when_a_tree_of_that_name_exists_under_another_file_name_then_new_version(tmp_path):
    seed = REPO_ROOT / "strategies" / "trees" / "btc_fear_accumulation_v1.yaml"
    shutil.copy(seed, tmp_path / seed.name)  # file stem lower-case, tree name BTC_fear_accumulation_v1

    path = write_draft(load_tree(seed), tmp_path)

    assert path.name == "BTC_fear_accumulation_v2.yaml", "a same-named tree would compile over its code"
    assert (tmp_path / seed.name).read_bytes() == seed.read_bytes()


def test_structure_when_tree_never_valid_then_output_error_and_cli_writes_nothing(
        fake_model, fake_server, make_llm, tmp_path, capsys, monkeypatch):
    fake_model.add("HOOK: structure", Reply.tool("submit_strategy_tree", script.BAD_TREE))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "local-test")

    status = main(["structure", DESCRIPTION, "--trees-dir", str(tmp_path / "trees"), "--base-url",
                   fake_server.base_url, "--cassette-mode", "off", "--ledger", str(tmp_path / "l.sqlite")])

    assert status == 1
    err = capsys.readouterr().err
    assert "no valid output after 3 attempt(s)" in err and "attempt 3: the tree is invalid" in err
    assert not (tmp_path / "trees").exists()
    with pytest.raises(LlmOutputError, match="after 1 attempt"):
        structure_tree(make_llm(), DESCRIPTION, attempts=1)


# --- council ----------------------------------------------------------------------------------

def test_council_when_all_answer_then_verdict_journaled_and_usable_by_the_confidence_gate(
        fake_model, fake_server, make_llm, briefing, candle_datadir, tmp_path):
    _use_default_script(fake_model)

    verdict = run_council(make_llm(), briefing)
    with DecisionJournal(tmp_path / "journal.sqlite") as journal:
        journal_verdict(journal, verdict)
        rows = journal.query()
    csv = record_verdicts(tmp_path / "verdicts.csv", [verdict])
    candles = pd.read_feather(candle_datadir / "BTC_USDT-1h.feather")
    candles = candles[candles["date"] <= pd.Timestamp(verdict.candle)].tail(700).reset_index(drop=True)
    frame = merge_council_confidence(gate_indicators(candles, GateConfig()), csv, "BTC/USDT")
    gate = confidence_gate(gate_inputs(frame, GateConfig(), in_blackout=False, cooling_down=False),
                           GateConfig(min_confidence=0.4))

    assert (verdict.decision, verdict.confidence) == ("wait", 0.42)
    assert [d.role for d in verdict.dissent] == ["onchain"] and len(verdict.analysts) == 5
    [row] = rows
    assert (row.kind, row.reason, row.decision, row.pair) == ("gate", "council", "wait", "BTC/USDT")
    assert row.ts == AT
    assert json.loads(row.detail)["confidence"] == 0.42
    assert verdict.candle == AT - timedelta(hours=1)
    assert frame["confidence"].iloc[-1] == 0.42 and frame["confidence"].iloc[:-1].isna().all()
    assert gate.passed and gate.detail.startswith("confidence 0.42")
    hooks = sorted({r.body["system"][0]["text"].split("\n")[0] for r in fake_model.requests})
    assert hooks == sorted(f"HOOK: council.{r}" for r in
                           ("onchain", "momentum", "macro", "sentiment", "risk", "judge"))


def test_council_when_analysts_run_then_parallel_not_sequential(fake_model, fake_server, make_llm, briefing):
    _use_default_script(fake_model)
    for role, answer in script.ANALYSTS.items():
        fake_model.add(f"HOOK: council.{role}", Reply.json(answer, delay_s=0.4))

    started = time.monotonic()
    run_council(make_llm(), briefing)
    wall = time.monotonic() - started

    starts = sorted(r.at_s for r in fake_model.requests if "judge" not in r.body["system"][0]["text"])
    assert starts[-1] - starts[0] < 0.3, "all five analysts were asked at once"
    assert wall < 1.5, f"council took {wall:.2f} s; five sequential analysts need 2 s"


def test_council_when_two_analysts_fail_then_judge_sees_abstentions(fake_model, fake_server, make_llm,
                                                                   briefing):
    _use_default_script(fake_model)
    fake_model.add("HOOK: council.macro", Reply.text("not json"))
    fake_model.add("HOOK: council.sentiment", Reply.error(500))

    verdict = run_council(make_llm(max_retries=0), briefing)

    assert verdict.decision == "wait" and set(verdict.abstained) == {"macro", "sentiment"}
    judge = next(r for r in fake_model.requests if "council.judge" in r.body["system"][0]["text"])
    assert '"abstained"' in judge.body["messages"][0]["content"]


def test_council_when_below_quorum_then_abstain_with_zero_confidence(fake_model, fake_server, make_llm,
                                                                    briefing, tmp_path):
    _use_default_script(fake_model)
    for role in ("onchain", "macro", "sentiment"):
        fake_model.add(f"HOOK: council.{role}", Reply.json({"stance": "moon"}))

    verdict = run_council(make_llm(), briefing)

    assert (verdict.decision, verdict.confidence) == ("abstain", 0.0)
    assert "only 2 of 5 analysts answered (quorum 3)" in verdict.reason
    assert not any("council.judge" in r.body["system"][0]["text"] for r in fake_model.requests)


def test_council_range_when_recorded_then_replay_only_reproduces_the_verdict_csv(
        fake_model, fake_server, make_llm, candle_datadir, altdata_cache, tmp_path):
    _use_default_script(fake_model)
    span = (AT, AT + timedelta(hours=8), timedelta(hours=4))
    recorded = run_council_range(make_llm(cassette_mode="auto"), candle_datadir, altdata_cache, "BTC/USDT",
                                 *span)
    record_verdicts(tmp_path / "recorded.csv", recorded)
    fake_server.stop()

    replayed = run_council_range(make_llm(api_key=None, cassette_mode="replay"), candle_datadir,
                                 altdata_cache, "BTC/USDT", *span)
    record_verdicts(tmp_path / "replayed.csv", replayed)

    assert len(recorded) == 3
    pd.testing.assert_frame_equal(read_verdicts(tmp_path / "recorded.csv"),
                                  read_verdicts(tmp_path / "replayed.csv"))
    assert all(v.billed_usd == 0 for v in replayed)


def test_council_cli_replay_only_when_cassette_missing_then_exit_2(candle_datadir, altdata_cache, tmp_path,
                                                                   capsys):
    status = main(["council", "--datadir", str(candle_datadir), "--altdata-dir", str(altdata_cache),
                   "--at", AT.isoformat(), "--replay-only", "--cassette-dir", str(tmp_path / "empty"),
                   "--ledger", str(tmp_path / "l.sqlite"), "--output-dir", str(tmp_path)])

    assert status == 2 and "cassette_mode replay" in capsys.readouterr().err
    assert not (tmp_path / "council").exists(), "no verdict row: the gate sees no confidence"


# --- CLI end to end ---------------------------------------------------------------------------

@pytest.fixture
def cli(fake_model, fake_server, tmp_path, monkeypatch, candle_datadir, altdata_cache):
    """``cli(command, *args)``: run the CLI against the local server with the default script."""
    _use_default_script(fake_model)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "local-test")
    data = ["--datadir", str(candle_datadir), "--altdata-dir", str(altdata_cache), "--at", AT.isoformat()]
    common = ["--base-url", fake_server.base_url, "--output-dir", str(tmp_path / "llm"), "--ledger",
              str(tmp_path / "ledger.sqlite"), "--cassette-dir", str(tmp_path / "cassettes")]

    def run(command: str, *args: str, with_data: bool = True) -> int:
        return main([command, *args, *common, *(data if with_data else [])])
    return run


def test_cli_ideas_structure_council_when_model_answers_then_outputs_written(cli, tmp_path, capsys):
    (tmp_path / "thesis.md").write_text(THESIS)

    assert cli("ideas", "--thesis", f"@{tmp_path / 'thesis.md'}") == 0
    assert "- long BTC/USDT entry 65000-67500 stop 61500" in capsys.readouterr().out
    assert cli("structure", DESCRIPTION, "--trees-dir", str(tmp_path / "trees"), "--compiled-dir",
               str(tmp_path / "compiled"), with_data=False) == 0
    out = capsys.readouterr().out
    assert "written for review" in out and "after 1 rejected attempt(s)" in out
    assert (tmp_path / "trees" / "BTC_fear_accumulation_v1.yaml").is_file()
    assert "compile failed" not in out
    # both engines, make trees' layout
    assert [p.name for p in (tmp_path / "compiled").glob("*.py")] == ["BtcFearAccumulationV1.py"]
    assert (tmp_path / "compiled" / "backtrader" / "BtcFearAccumulationV1.py").is_file()
    assert cli("council", "--journal", str(tmp_path / "journal.sqlite")) == 0
    assert "BTC/USDT: wait confidence 0.42" in capsys.readouterr().out
    assert read_verdicts(tmp_path / "llm" / "council" / "verdicts.csv")["confidence"].tolist() == [0.42]
    with DecisionJournal(tmp_path / "journal.sqlite") as journal:
        assert [r.reason for r in journal.query(kind="gate")] == ["council"]
    assert list((tmp_path / "llm" / "ideas").glob("*.md"))
