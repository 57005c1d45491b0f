"""The hooks end to end on the shipped cassettes (recorded against the local server by
``record_cassettes``): no server, no API key, nothing billed, same answers every run."""

from __future__ import annotations

import pytest

from plugins.llm.client import AnthropicLlm
from plugins.llm.config import LlmConfig
from plugins.llm.council import run_council
from plugins.llm.errors import CassetteMissError
from plugins.llm.ideas import generate_ideas
from plugins.llm.structure import structure_tree
from tests.plugins.llm.cases import CASSETTE_DIR, DESCRIPTION, RECORD_COMMAND, THESIS


@pytest.fixture
def replay(tmp_path):
    config = LlmConfig(cassette_mode="replay", cassette_dir=CASSETTE_DIR, ledger_path=tmp_path / "l.sqlite",
                       base_url="http://127.0.0.1:9")  # nothing listens there: any live call would fail
    client = AnthropicLlm(config)
    yield client
    client.close()


def _replayed(call):
    try:
        return call()
    except CassetteMissError as err:
        pytest.fail(f"{err}\nThe prompt changed since the cassettes were recorded; re-record: "
                    f"{RECORD_COMMAND}")


def test_ideas_replay_from_shipped_cassette(replay, briefing):
    result = _replayed(lambda: generate_ideas(replay, briefing, THESIS))

    assert result.status == "ok" and [i.pair for i in result.ideas] == ["BTC/USDT"]
    assert result.billed_usd == 0 and result.cost_usd > 0


def test_structure_replay_from_shipped_cassettes_includes_the_feedback_round(replay):
    result = _replayed(lambda: structure_tree(replay, DESCRIPTION))

    assert result.tree.name == "BTC_fear_accumulation_v1"
    assert "strategy.position.size_per_batch" in result.problems[0]


def test_council_replay_from_shipped_cassettes(replay, briefing):
    verdict = _replayed(lambda: run_council(replay, briefing))

    assert (verdict.decision, verdict.confidence) == ("wait", 0.42)
    assert set(verdict.analysts) == {"onchain", "momentum", "macro", "sentiment", "risk"}
    assert verdict.billed_usd == 0
    assert {c.source for c in replay.ledger.calls()} == {"cassette"}
