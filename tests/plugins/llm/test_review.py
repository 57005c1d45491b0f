"""The review on a real backtest's trades and decision journal; approve -> a new tree version."""

from __future__ import annotations

import json
import shutil

import pytest
from freqtrade.data.btanalysis import load_backtest_stats

from plugins.llm.__main__ import main
from plugins.llm.review import ReviewError, approve, run_review
from plugins.llm.review_stats import compute_stats, load_trades
from plugins.llm.testing import script
from plugins.risk.journal import DecisionJournal
from plugins.strategy_tree.io import load_tree
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SEED_TREE = REPO_ROOT / "strategies" / "trees" / "btc_fear_accumulation_v1.yaml"


@pytest.fixture
def trees(tmp_path):
    folder = tmp_path / "trees"
    folder.mkdir()
    shutil.copy(SEED_TREE, folder / "BTC_fear_accumulation_v1.yaml")
    return folder


@pytest.fixture
def stats_and_trades(backtest_results):
    trades, strategy, balance = load_trades(backtest_results)
    with DecisionJournal(backtest_results / "journal.backtest.sqlite") as journal:
        rows = journal.query()
    return compute_stats(trades, rows, strategy, balance), trades, rows


def test_stats_when_real_backtest_then_match_freqtrade_and_the_journal(backtest_results, stats_and_trades):
    stats, _, rows = stats_and_trades
    result = load_backtest_stats(backtest_results)["strategy"]["RiskScenario"]

    assert stats.trades == result["total_trades"] > 0
    assert (stats.wins, stats.losses) == (result["wins"], result["losses"])
    assert stats.pnl_abs == pytest.approx(result["profit_total_abs"], abs=1e-6)
    assert stats.max_drawdown_abs == pytest.approx(result["max_drawdown_abs"], abs=1e-6)
    assert stats.signals_generated == sum(r.kind == "signal" and r.decision == "enter" for r in rows)
    denied_rsi = sum(r.kind == "gate" and r.reason == "rsi" and r.decision == "deny" for r in rows)
    assert stats.filtered_by_gate == {"rsi": denied_rsi} and denied_rsi > 0
    assert stats.entry_attempts == stats.attempts_filtered + stats.entries_taken
    assert stats.signals_generated > stats.entry_attempts


def test_review_when_recorded_then_replayed_identically_and_approved_as_new_version(
        fake_model, fake_server, make_llm, stats_and_trades, trees, tmp_path):
    fake_model.rules[:0] = script.default_model().rules
    stats, trades, _ = stats_and_trades
    tree = trees / "BTC_fear_accumulation_v1.yaml"

    live = run_review(make_llm(cassette_mode="auto"), stats, trades, tree, tmp_path / "live")
    fake_server.stop()
    replayed = run_review(make_llm(api_key=None, cassette_mode="replay"), stats, trades, tree,
                          tmp_path / "replay")
    approved = approve(live.review_id, tmp_path / "live", trees, tmp_path / "compiled")

    text = live.markdown.read_text()
    assert replayed.markdown.read_text() == text and replayed.review_id == live.review_id
    for section in ("### Stats", "### Signal Analysis", "### What Worked", "### What Didn't Work",
                    "### Suggested Adjustments", "### Proposed tree changes", "```diff",
                    "~ position.interval: 4h -> 8h", "### Rejected changes", "### Action Required"):
        assert section in text, section
    assert f"Trades executed: {stats.trades}" in text
    assert (live.folder / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [c.path for c in live.applied] == ["position.interval"]
    [(rejected, why)] = live.rejected
    assert rejected.path == "position.size_per_batch" and "exceeds max_total_exposure" in why
    assert approved.tree_path == trees / "BTC_fear_accumulation_v2.yaml"
    new = load_tree(approved.tree_path)
    assert new.name == "BTC_fear_accumulation_v2" and str(new.position.interval) == "8h"
    assert "compile failed" not in approved.compile_status, approved.compile_status
    assert {p.name for p in approved.compiled} == {"BtcFearAccumulationV2.py"}
    assert (tmp_path / "compiled" / "backtrader" / "BtcFearAccumulationV2.py").is_file()
    with pytest.raises(ReviewError, match="already approved"):
        approve(live.review_id, tmp_path / "live", trees)


def test_approve_when_next_version_exists_then_writes_the_one_after_never_overwriting(
        fake_model, fake_server, make_llm, stats_and_trades, trees, tmp_path):
    fake_model.rules[:0] = script.default_model().rules
    stats, trades, _ = stats_and_trades
    out = run_review(make_llm(), stats, trades, trees / "BTC_fear_accumulation_v1.yaml", tmp_path)
    (trees / "BTC_fear_accumulation_v2.yaml").write_text("# someone else's v2\n")

    result = approve(out.review_id, tmp_path, trees)

    assert result.tree_path.name == "BTC_fear_accumulation_v3.yaml"
    assert (trees / "BTC_fear_accumulation_v2.yaml").read_text() == "# someone else's v2\n"


def test_review_cli_when_no_llm_then_figures_only_and_nothing_to_approve(backtest_results, trees, tmp_path,
                                                                        capsys):
    status = main(["review", "--backtest", str(backtest_results), "--tree",
                   str(trees / "BTC_fear_accumulation_v1.yaml"), "--no-llm", "--output-dir", str(tmp_path),
                   "--ledger", str(tmp_path / "l.sqlite")])
    review_id = capsys.readouterr().out.split()[1].rstrip(":")

    assert status == 0
    text = (tmp_path / "reviews" / review_id / "review.md").read_text()
    assert "No LLM narrative: no LLM requested" in text and "nothing to approve" in text
    assert main(["approve", review_id, "--trees-dir", str(trees), "--output-dir", str(tmp_path),
                 "--no-compile"]) == 1
    assert "proposes no tree change" in capsys.readouterr().err


def test_review_cli_when_llm_answers_then_proposal_and_approve_cli(backtest_results, trees, tmp_path,
                                                                   fake_model, fake_server, capsys,
                                                                   monkeypatch):
    fake_model.rules[:0] = script.default_model().rules
    monkeypatch.setenv("ANTHROPIC_API_KEY", "local-test")
    common = ["--output-dir", str(tmp_path), "--ledger", str(tmp_path / "l.sqlite")]

    assert main(["review", "--backtest", str(backtest_results), "--tree",
                 str(trees / "BTC_fear_accumulation_v1.yaml"), "--base-url", fake_server.base_url,
                 "--cassette-dir", str(tmp_path / "cassettes"), *common]) == 0
    out = capsys.readouterr().out
    review_id = out.split()[1].rstrip(":")
    assert "1 change(s) proposed, 1 rejected" in out
    assert main(["approve", review_id, "--trees-dir", str(trees), "--compiled-dir", str(tmp_path / "ft"),
                 *common]) == 0
    out = capsys.readouterr().out
    assert "BTC_fear_accumulation_v2.yaml" in out and "freqtrade: compile" in out
    assert main(["budget", *common]) == 0
    assert "review" in capsys.readouterr().out


def test_review_cli_when_trades_come_from_a_dry_run_database_then_its_journal_is_found(
        backtest_results, trees, tmp_path, capsys):
    from freqtrade.persistence import Trade, init_db

    trades, _, _ = load_trades(backtest_results)
    db = tmp_path / "tradesv3.dryrun.sqlite"
    init_db(f"sqlite:///{db}")
    for row in trades.itertuples():
        Trade.session.add(Trade(
            pair=row.pair, stake_amount=row.stake_amount, amount=row.amount, open_rate=row.open_rate,
            close_rate=row.close_rate, open_date=row.open_date.to_pydatetime(),
            close_date=row.close_date.to_pydatetime(), is_open=False, fee_open=row.fee_open,
            fee_close=row.fee_close, exchange="binance", strategy="RiskScenario", timeframe=60,
            exit_reason=row.exit_reason, close_profit=row.profit_ratio, close_profit_abs=row.profit_abs,
            realized_profit=row.profit_abs))
    Trade.commit()
    Trade.session.remove()
    shutil.copy(backtest_results / "journal.backtest.sqlite", tmp_path / "tradesv3.dryrun.journal.sqlite")

    status = main(["review", "--db-url", f"sqlite:///{db}", "--strategy", "RiskScenario", "--tree",
                   str(trees / "BTC_fear_accumulation_v1.yaml"), "--starting-balance", "10000", "--no-llm",
                   "--output-dir", str(tmp_path), "--ledger", str(tmp_path / "l.sqlite")])

    assert status == 0
    review_id = capsys.readouterr().out.split()[1].rstrip(":")
    data = json.loads((tmp_path / "reviews" / review_id / "review.json").read_text())
    assert data["stats"]["trades"] == len(trades)
    assert data["stats"]["pnl_abs"] == pytest.approx(trades["profit_abs"].sum(), abs=1e-6)
    assert data["stats"]["signals_generated"] > 0, "the journal next to the database was read"
