"""/ideas, /review and /approve of a running bot through ``plugins.llm``, against the local fake
Messages API (``plugins.llm.testing``: the real ``anthropic`` SDK, a scripted model) on real
candles and alternative data; "not available" without a key, a tree or candles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from plugins.llm.testing import script
from plugins.llm.testing.fake_server import FakeMessagesServer, serving
from plugins.rpc.llm_hooks import LlmHooks, LlmRefused, LlmUnavailable
from plugins.strategy_tree.io import load_tree
from tests.conftest import REPO_ROOT
from tests.plugins.rpc.conftest import (
    LLM_KEY_ENV,
    NOW,
    dry_run_config,
    running_guard,
    service_for,
)

THESIS = "Bitcoin tends to bottom when fear peaks while coins leave the exchanges."
#: The tree a compiled strategy was generated from (what ``GuardView.tree`` hands the review).
TREE = load_tree(REPO_ROOT / "strategies" / "trees" / "btc_fear_accumulation_v1.yaml")


@pytest.fixture
def messages_api(monkeypatch) -> Iterator[FakeMessagesServer]:
    monkeypatch.setenv(LLM_KEY_ENV, "sk-local-test-only")
    with serving(script.default_model()) as server:
        yield server


@pytest.fixture
def llm_config(tmp_path, freqtrade_db, messages_api, candle_datadir, altdata_cache) -> dict:
    return dry_run_config(tmp_path, freqtrade_db, datadir=str(candle_datadir), ai_suite={
        "altdata": {"cache_dir": str(altdata_cache)},
        "llm": {"base_url": messages_api.base_url, "max_retries": 0, "timeout_s": 10}})


def with_hooks(guard, tmp_path):
    service = service_for(guard, now=NOW + timedelta(days=1))
    trees = tmp_path / "trees"
    shutil.copytree(REPO_ROOT / "strategies" / "trees", trees)
    service.llm = LlmHooks(guard.config, trees_dir=trees, compiled_dir=tmp_path / "compiled")
    return service


def test_ideas_when_model_answers_then_ideas_from_the_bots_data_written_for_a_human(
        llm_config, messages_api, tmp_path):
    service = with_hooks(running_guard(llm_config), tmp_path)

    answer = service.ideas(THESIS)

    assert answer.data["status"] == "ok" and answer.data["ideas"]
    assert answer.data["ideas"][0]["pair"] == "BTC/USDT"
    assert (tmp_path / "llm" / "ideas").is_dir() and answer.text.startswith("- long BTC/USDT")
    assert '"investment_thesis"' in messages_api.model.requests[0].body["messages"][0]["content"]


def test_ideas_when_no_api_key_and_no_cassette_then_not_available_naming_the_variable(
        llm_config, monkeypatch, tmp_path):
    monkeypatch.delenv(LLM_KEY_ENV)
    service = with_hooks(running_guard(llm_config), tmp_path)

    with pytest.raises(LlmUnavailable, match=LLM_KEY_ENV):
        service.ideas(THESIS)


def test_review_then_approve_when_tree_strategy_then_ready_notification_and_new_tree_version(
        llm_config, tmp_path):
    service = with_hooks(replace(running_guard(llm_config), compiled_from=TREE), tmp_path)

    review = service.review()
    approved = service.approve(review.data["id"], by="telegram:alice")

    assert review.data["applied"] == 1 and review.data["proposal"]
    sent = []
    service.outbox.flush(sent.append)
    assert sent == [f"Review {review.data['id']} ready: {review.data['summary']} Approve with "
                    f"/approve {review.data['id']}"]
    assert approved.data["tree"].endswith("BTC_fear_accumulation_v2.yaml")
    assert (tmp_path / "trees" / "BTC_fear_accumulation_v2.yaml").is_file()
    with pytest.raises(LlmRefused, match="already approved"):
        service.approve(review.data["id"], by="telegram:alice")


def test_review_when_strategy_not_compiled_from_a_tree_then_not_available(llm_config, tmp_path):
    service = with_hooks(running_guard(llm_config), tmp_path)

    with pytest.raises(LlmUnavailable, match="not compiled from a strategy tree"):
        service.review()


def test_brief_when_bot_has_candles_then_deterministic_market_briefing_included(
        llm_config, messages_api, tmp_path):
    service = with_hooks(running_guard(llm_config), tmp_path)

    answer = service.brief()

    assert "Current Market State" in answer.data["market_briefing"]
    assert "Current Market State" in answer.text
    assert messages_api.model.requests == [], "no LLM call for /brief"
