"""Scraping the suite's Prometheus exporter in end-to-end tests: the exposition parsed with
``prometheus_client.parser`` and compared with what the bot, its REST API and its journal say."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from freqtrade_client import FtRestClient
from prometheus_client.parser import text_string_to_metric_families

from plugins.risk.account import PEAK_KEY
from plugins.risk.journal import DecisionJournal

Samples = dict[tuple[str, frozenset], float]


def scrape(port: int) -> Samples | None:
    """``/metrics`` of the exporter on 127.0.0.1:``port`` as (name, labels) -> value; None
    while it does not answer."""
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except requests.ConnectionError:
        return None
    if not answer.ok:
        return None
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def journal_counts(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(breaker trips by breaker, entry denials by check) in the journal at ``path``."""
    with DecisionJournal(path) as journal:
        summary = journal.summary()
    trips = {r: n for (k, d, r), n in summary.items() if k == "breaker" and d == "trip"}
    denials = {r: n for (k, d, r), n in summary.items() if k == "gate" and d == "deny"}
    return trips, denials


class JournalMoved(Exception):
    """The journal was written during the scrape: scrape again."""


def counters_agree_with_journal(port: int, journal: Path) -> Samples:
    """A scrape whose trip and denial counters equal the journal's rows (read just before and
    just after it, for a journal that had no row before the bot started).

    Raises:
        JournalMoved: rows were written in between, or the exporter did not answer.
    """
    before = journal_counts(journal)
    samples = scrape(port)
    if samples is None or journal_counts(journal) != before:
        raise JournalMoved
    trips, denials = before
    scraped_trips = {dict(labels)["breaker"]: v for (name, labels), v in samples.items()
                     if name == "ai_suite_breaker_trips_total" and v}
    scraped_denials = {dict(labels)["reason"]: v for (name, labels), v in samples.items()
                       if name == "ai_suite_entry_denials_total" and v}
    assert (scraped_trips, scraped_denials) == (trips, denials)
    return samples


def check_halted_bot(port: int, client: FtRestClient, journal: Path, strategy: str,
                     stage: str, pair: str) -> Samples:
    """The exporter of a bot halted by the drawdown kill switch agrees with the bot: the
    risk state, the account figures (REST balance and status, the journal's equity peak), the
    stage (REST), the counters (journal) and the pair's candles (REST).

    Raises:
        JournalMoved: scrape again.
    """
    samples = counters_agree_with_journal(port, journal)
    assert value(samples, "ai_suite_breaker_trips_total", breaker="drawdown_kill_switch") >= 1
    assert value(samples, "ai_suite_kill_switch_engaged") == 1
    assert value(samples, "ai_suite_trading_state") == 2, "HALTED"
    assert value(samples, "ai_suite_breaker_tripped", breaker="drawdown_kill_switch") == 1
    assert value(samples, "ai_suite_breaker_tripped", breaker="daily_loss") == 0
    # the breakers' equity: starting balance + closed and open profit (Freqtrade's own figures)
    balance, profit = client.balance(), client.profit()
    equity = value(samples, "ai_suite_equity", stake_currency="USDT")
    expected = balance["starting_capital"] + profit["profit_all_coin"]
    assert equity == pytest.approx(expected), (equity, balance, profit)
    with DecisionJournal(journal) as j:
        peak = float(j.get_state(PEAK_KEY))
    assert value(samples, "ai_suite_equity_peak", stake_currency="USDT") == pytest.approx(peak)
    assert value(samples, "ai_suite_drawdown_ratio") == pytest.approx(1 - equity / peak)
    assert value(samples, "ai_suite_open_trades") == len(client.status())
    rest_stage = client._get("suite/stage")["stage"]
    assert rest_stage == stage
    assert value(samples, "ai_suite_stage", strategy=strategy, stage=stage) == 1
    assert sum(v for (name, _), v in samples.items() if name == "ai_suite_stage") == 1
    assert value(samples, "ai_suite_timeframe_seconds") == 3600
    assert value(samples, "ai_suite_bot_loop_duration_seconds") > 0
    assert value(samples, "ai_suite_last_candle_processed_timestamp_seconds", pair=pair) > 0
    last_open = client.pair_candles(pair, "1h", limit=1)["data_stop_ts"] / 1000
    assert value(samples, "ai_suite_last_candle_open_timestamp_seconds", pair=pair) in (
        last_open, last_open - 3600), "the last analysed candle (or the one before an hour turn)"
    assert value(samples, "ai_suite_llm_budget_usd", period="month") == 50.0
    assert value(samples, "ai_suite_llm_budget_remaining_usd", period="month") == 50.0
    return samples
