"""Every breaker in a real ``freqtrade backtesting`` run on real candles, table-driven.

The test strategy ``RiskScenario`` enters every second candle and exits the next; each
scenario sets ``ai_suite.risk`` so that one breaker trips, then checks the result file:
the breaker's global lock exists with its reason, it ends exactly when it should, and no trade
opened while it was active.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest
import talib
from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

from plugins.core.backtest_results import check_latest
from plugins.risk.journal import DecisionJournal
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

QUIET = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
         "max_consecutive_losses": 1000, "cooldown_after_win_min": 0,
         "cooldown_after_loss_min": 0, "blackout_before_min": 0, "blackout_after_min": 0,
         "gates": {"enabled": False}}


@dataclass(frozen=True)
class Scenario:
    name: str
    risk: dict
    check: Callable[[pd.DataFrame, list[dict]], None]
    strategy: str = "RiskScenario"


def locks_of(locks: list[dict], reason: str) -> list[dict]:
    return [lk for lk in locks if lk["reason"].startswith(f"ai_suite:{reason}")]


def no_entry_while_locked(trades: pd.DataFrame, locks: list[dict]) -> None:
    for lock in locks:
        start = pd.Timestamp(lock["lock_timestamp"], unit="ms", tz="UTC")
        end = pd.Timestamp(lock["lock_end_timestamp"], unit="ms", tz="UTC")
        inside = trades[(trades["open_date"] > start) & (trades["open_date"] < end)]
        assert inside.empty, f"{len(inside)} trades opened during {lock['reason']}"


def check_daily(trades, locks):
    daily = locks_of(locks, "daily_loss")
    assert daily
    for lock in daily:
        end = pd.Timestamp(lock["lock_end_timestamp"], unit="ms", tz="UTC")
        assert end == end.normalize(), "daily lock must end at 00:00 UTC"
    no_entry_while_locked(trades, daily)
    ends = [pd.Timestamp(lk["lock_end_timestamp"], unit="ms", tz="UTC") for lk in daily]
    resumed = [e for e in ends if ((trades["open_date"] >= e)
                                   & (trades["open_date"] <= e + pd.Timedelta(hours=2))).any()]
    assert resumed, "trading resumes with the new UTC day (first entry candle, 01:00)"


def check_weekly(trades, locks):
    weekly = locks_of(locks, "weekly_loss")
    assert weekly
    for lock in weekly:
        end = pd.Timestamp(lock["lock_end_timestamp"], unit="ms", tz="UTC")
        assert end.weekday() == 0 and end == end.normalize(), "ends Monday 00:00 UTC"
    no_entry_while_locked(trades, weekly)


def check_kill_switch(trades, locks):
    [kill] = locks_of(locks, "drawdown_kill_switch")
    start = pd.Timestamp(kill["lock_timestamp"], unit="ms", tz="UTC")
    assert pd.Timestamp(kill["lock_end_timestamp"], unit="ms", tz="UTC") > start + pd.Timedelta(
        days=3000)
    assert (trades["open_date"] <= start).all(), "no trade after the kill switch"


def check_streak(trades, locks):
    streak = locks_of(locks, "losing_streak")
    assert streak
    no_entry_while_locked(trades, streak)


def check_stake_cap(trades, locks):
    # equity ~ 10 000 USDT; 5 % of it is ~500, far below the configured 1 000 stake
    assert trades["stake_amount"].max() <= 0.05 * 10_000 * 1.01


def check_cooldown(trades, locks):
    for _, pair_trades in trades.sort_values("open_date").groupby("pair"):
        rows = pair_trades.to_dict("records")
        for before, after in zip(rows, rows[1:], strict=False):
            pause = 240 if before["profit_abs"] < 0 else 120
            assert after["open_date"] >= before["close_date"] + pd.Timedelta(minutes=pause)


def check_blackout(trades, locks):
    from plugins.altdata.calendar import EventCalendar
    from tests.conftest import bundle_dir

    calendar = EventCalendar.from_dir(bundle_dir() / "macro" / "calendar")
    blocked = calendar.in_blackout(trades["open_date"].reset_index(drop=True), 120, 120)
    assert not blocked.any()


def check_anomaly(trades, locks):
    anomalies = locks_of(locks, "signal_anomaly")
    assert anomalies
    starts = {pd.Timestamp(lk["lock_timestamp"], unit="ms", tz="UTC").strftime("%Y-%m-%d")
              for lk in anomalies}
    assert starts <= {"2024-03-15", "2024-03-16"}, "only the burst (and its window) trips"
    no_entry_while_locked(trades, anomalies)


def check_flatten(trades, locks):
    [kill] = locks_of(locks, "drawdown_kill_switch")
    start = pd.Timestamp(kill["lock_timestamp"], unit="ms", tz="UTC")
    flattened = trades[trades["exit_reason"] == "risk_halted_flatten"]
    assert not flattened.empty, "open trades are exited once HALTED"
    assert (flattened["close_date"] >= start).all()
    assert (trades["open_date"] <= start).all()


SCENARIOS = [
    Scenario("daily_loss", {"max_daily_loss_frac": 0.002}, check_daily),
    Scenario("weekly_loss", {"max_weekly_loss_frac": 0.004}, check_weekly),
    Scenario("kill_switch", {"max_drawdown_frac": 0.01}, check_kill_switch),
    Scenario("losing_streak", {"max_consecutive_losses": 3, "losing_streak_pause_min": 180},
             check_streak),
    Scenario("max_position_frac", {"max_position_frac": 0.05}, check_stake_cap),
    Scenario("cooldown", {"cooldown_after_win_min": 120, "cooldown_after_loss_min": 240},
             check_cooldown),
    Scenario("news_blackout", {"blackout_before_min": 120, "blackout_after_min": 120},
             check_blackout),
    Scenario("flatten_on_halt", {"max_drawdown_frac": 0.01, "flatten_on_halt": True},
             check_flatten, "RiskScenarioHold"),
    Scenario("signal_anomaly", {"signal_anomaly_factor": 5, "signal_window_candles": 12,
                                "anomaly_pause_min": 360}, check_anomaly, "RiskScenarioBurst"),
]


def run_backtest(tmp_path, server, datadir, altdata_cache, strategy: str, risk: dict,
                 stages: dict | None = None):
    """A real ``freqtrade backtesting`` of ``strategy`` on BTC/ETH in March 2024; returns the
    trades, the locks and the results folder (which holds the decision journal)."""
    started = int(time.time())
    configs = e2e_configs(tmp_path, server.api_url, datadir, {
        "strategy": strategy, "freqai": {"enabled": False},
        "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
        "stake_amount": 1000, "max_open_trades": 2,
        "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)},
                     "risk": {**QUIET, **risk}, "stages": stages or {}},
    })

    result = run_freqtrade(["backtesting", *configs, "--strategy-path",
                            str(REPO_ROOT / "tests/e2e/strategies"),
                            "--timerange", "20240301-20240401", "--cache", "none"],
                           tmp_path / "backtest.log", timeout=600)

    assert result.returncode == 0, (tmp_path / "backtest.log").read_text()[-3000:]
    results_dir = tmp_path / "user_data" / "backtest_results"
    check_latest(results_dir, not_before_s=started, min_trades=1)
    locks = load_backtest_stats(results_dir)["strategy"][strategy]["locks"]
    return load_backtest_data(results_dir), locks, results_dir


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_breaker_in_real_backtest(tmp_path, replay_server, candle_datadir, altdata_cache,
                                  scenario):
    trades, locks, results_dir = run_backtest(tmp_path, replay_server, candle_datadir,
                                              altdata_cache, scenario.strategy, scenario.risk)

    scenario.check(trades, locks)
    with DecisionJournal(results_dir / "journal.backtest.sqlite") as journal:
        signals = journal.query(kind="signal")
        trips = {r.reason for r in journal.query(kind="breaker")}
    assert signals and all(r.features_hash for r in signals), "every signal is journaled"
    assert {lk["reason"].split(":")[1] for lk in locks} <= trips, "every lock is journaled"


def test_entry_gates_in_real_backtest_deny_overbought_entries_and_journal_all_seven(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    # RSI <= 50 only; the other gates wide open, so the RSI gate alone decides.
    gates = {"enabled": True, "rsi_max": 50, "ema_band_low_frac": -1, "ema_band_high_frac": 10,
             "momentum_drop_max": 10}

    trades, _, results_dir = run_backtest(tmp_path, replay_server, candle_datadir, altdata_cache,
                                          "RiskScenario", {"gates": gates})

    candles = {pair: pd.read_feather(candle_datadir / f"{pair.replace('/', '_')}-1h.feather")
               for pair in ("BTC/USDT", "ETH/USDT")}
    for pair, frame in candles.items():
        frame["rsi"] = talib.RSI(frame["close"].astype("float64"), timeperiod=14)
        signal_candles = trades.loc[trades["pair"] == pair, "open_date"] - pd.Timedelta(hours=1)
        rsi = frame.set_index("date").loc[signal_candles, "rsi"]
        assert (rsi <= 50 + 1e-9).all(), "every trade's signal candle has RSI <= 50"
    with DecisionJournal(results_dir / "journal.backtest.sqlite") as journal:
        gate_rows = journal.query(kind="gate")
    by_attempt: dict[tuple, set[str]] = {}
    for row in gate_rows:
        by_attempt.setdefault((row.ts, row.pair), set()).add(row.reason)
    seven = {"regime", "ema200_band", "rsi", "news_blackout", "cooldown", "momentum", "confidence"}
    assert all(seven <= reasons for reasons in by_attempt.values()), "each attempt: 7 gates journaled"
    denied = [r for r in gate_rows if r.decision == "deny"]
    assert denied and {r.reason for r in denied} == {"rsi"}
    assert all(r.detail.startswith("RSI ") and r.detail.endswith("> 50") for r in denied)


def test_canary_stage_scales_stakes_and_active_rolls_back_on_drawdown(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    stages = {"enabled": True, "initial": "active", "canary_stake_frac": 0.15,
              "rollback_drawdown_frac": 0.005}

    trades, _, results_dir = run_backtest(tmp_path, replay_server, candle_datadir, altdata_cache,
                                          "RiskScenario", {}, stages)

    with DecisionJournal(results_dir / "journal.backtest.sqlite") as journal:
        [rollback] = journal.query(kind="stage")
        scaled = journal.query(kind="stake", reason="canary_stake_frac")
    assert (rollback.decision, rollback.reason) == ("canary", "active->canary")
    assert "rollback: drawdown" in rollback.detail and "(by rule)" in rollback.detail
    before = trades[trades["open_date"] < rollback.ts]  # the loop rolls back before entries
    after = trades[trades["open_date"] >= rollback.ts]
    assert not before.empty and not after.empty
    assert before["stake_amount"].min() > 900, "active: full stake (1000 USDT)"
    assert after["stake_amount"].max() <= 0.15 * 1000 * 1.01, "canary: 15 % of the stake"
    assert len(scaled) >= len(after)


def test_plot_dataframe_after_backtest_draws_breaker_state_from_its_journal(
        tmp_path, replay_server, candle_datadir, altdata_cache):
    _, locks, results_dir = run_backtest(tmp_path, replay_server, candle_datadir, altdata_cache,
                                         "RiskScenario", {"max_consecutive_losses": 3,
                                                          "losing_streak_pause_min": 180})
    assert locks, "the scenario trips the losing-streak breaker"
    configs = e2e_configs(tmp_path, replay_server.api_url, candle_datadir, {
        "strategy": "RiskScenario", "freqai": {"enabled": False},
        "exchange": {"pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
        "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)},
                     "risk": {**QUIET, "max_consecutive_losses": 3,
                              "losing_streak_pause_min": 180}},
    })

    result = run_freqtrade(["plot-dataframe", *configs, "--strategy-path",
                            str(REPO_ROOT / "tests/e2e/strategies"), "--pairs", "BTC/USDT",
                            "--timerange", "20240301-20240401"],
                           tmp_path / "plot.log", timeout=300)

    log = (tmp_path / "plot.log").read_text()
    assert result.returncode == 0, log[-3000:]
    flat = log.replace("\n", "")  # the console log wraps long lines
    spans = re.search(r"Breaker state for the plot: (\d+) breaker spans from ", flat)
    with DecisionJournal(results_dir / "journal.backtest.sqlite") as journal:
        trips = journal.query(kind="breaker")
    assert spans and int(spans[1]) == len(trips) > 0, log[-3000:]
    assert " - ERROR - " not in log, log[-3000:]
    assert f"spans from {results_dir / 'journal.backtest.sqlite'}" in flat
    html = (tmp_path / "user_data" / "plot" / "freqtrade-plot-BTC_USDT-1h.html").read_text()
    assert '"name":"risk_state"' in html
