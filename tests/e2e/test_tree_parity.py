"""Parity table: strategy trees x real candle windows, through the reference interpreter, the
Freqtrade-compiled strategy (the real ``freqtrade backtesting`` CLI, offline against the
replay exchange) and the backtrader-compiled strategy.

=====================  ==================================  ===========================  =========
case                   tree                                candles                      engines
=====================  ==================================  ===========================  =========
trend_1h               crypto_regime_trend_v1 (shipped)    BTC+ETH/USDT 1h, 3 weeks     I F B
rsi_lt_edge            RSI(BTC, 1h) < X                    BTC+ETH/USDT 1h, 3 weeks     I F B
rsi_le_edge            RSI(BTC, 1h) <= X                   BTC+ETH/USDT 1h, 3 weeks     I F B
seed_1d                btc_fear_accumulation_v1 (shipped)  BTC/USDT 1d, 3 months        I F B
                       + a constant 55 % dominance stand-in
spy_mean_reversion     us_equity_mean_reversion_v1         SPY daily bars 2022-2025     I B
qqq_mean_reversion     (shipped)                           QQQ daily bars 2022-2025     I B
=====================  ==================================  ===========================  =========

X is a real value: the lowest RSI(BTC, 1h) of the window, as its exact float, so ``<`` never
holds and ``<=`` holds on exactly that candle - the compiled thresholds must be the tree's.

What must agree, and the documented differences (``compilers.freqtrade.DIFFERENCES`` /
``compilers.backtrader.DIFFERENCES``), each checked here:

- signals: ``enter_long`` / exit signal of every candle identical in all three; the series
  values the Freqtrade CLI computed (exported with ``--export signals``) equal the
  interpreter's bit for bit;
- trades: every interpreter action maps to one Freqtrade order - entries, added batches,
  signal exits and take profits one candle later (Freqtrade acts at the next open), stops on
  the same candle (inside it) - and to one backtrader fill on the same bar;
- fills: Freqtrade's market-like orders fill at the next candle's open and its stops at
  min(open, its stop level), the level computed from its own fills like the tree says;
  backtrader with cheat-on-close fills exactly at the interpreter's prices;
- fees: Freqtrade charges the exchange's 0.1 %, the interpreter and backtrader none;
- execution costs: off in these Freqtrade runs (``ai_suite.costs.enabled: false``), since the
  interpreter and backtrader have none; ``tests/e2e/test_execution_costs.py`` shows the
  compiled strategy's fills carry exactly the modelled cost when they are on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_analysis_data, load_backtest_data

from adapters.replay_exchange import ReplayExchangeConfig, serving
from plugins.altdata.calendar import EventCalendar
from plugins.altdata.contract import AVAILABLE_AT
from plugins.strategy_tree.compilers import compile_tree
from plugins.strategy_tree.compilers.common import class_name, startup_candles
from plugins.strategy_tree.inputs import altdata_frame
from plugins.strategy_tree.interpreter import evaluate
from plugins.strategy_tree.io import load_tree
from plugins.strategy_tree.schema import StrategyTree
from plugins.strategy_tree.validation import validate_tree
from tests.conftest import REPO_ROOT, bundle_dir
from tests.e2e.helpers import e2e_configs, run_freqtrade
from tests.plugins.strategy_tree.compiled import (
    STOPS,
    assert_same_actions,
    backtrader_actions,
    freqtrade_frame,
    import_file,
    interpreter_actions,
    run_backtrader,
)

pytestmark = pytest.mark.slow

TREES = REPO_ROOT / "strategies" / "trees"
HOUR, DAY = pd.Timedelta(hours=1), pd.Timedelta(days=1)
HOURLY = (pd.Timestamp("2024-02-10", tz="UTC"), pd.Timestamp("2024-03-02", tz="UTC"))
DAILY = (pd.Timestamp("2022-06-01", tz="UTC"), pd.Timestamp("2022-09-01", tz="UTC"))
PAIRS = ("BTC/USDT", "ETH/USDT")
QUIET = {"max_daily_loss_frac": 0.5, "max_weekly_loss_frac": 0.5, "max_drawdown_frac": 0.5,
         "max_consecutive_losses": 1000, "cooldown_after_win_min": 0,
         "cooldown_after_loss_min": 0, "blackout_before_min": 0, "blackout_after_min": 0,
         "gates": {"enabled": False}}
SEED_SUBCLASS = '''"""The seed tree's compiled strategy with a stand-in dominance series (none is shipped)."""
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from BtcFearAccumulationV1 import BtcFearAccumulationV1  # noqa: E402


class SeedWithDominance(BtcFearAccumulationV1):
    def load_tree_altdata(self, cache_dir):
        days = pd.date_range("2020-01-01", "2026-01-01", freq="1D", tz="UTC", name="observed_at")
        stand_in = pd.DataFrame({"btc_dominance": 55.0, "available_at": days + pd.Timedelta(days=1)},
                                index=days)
        return pd.concat([super().load_tree_altdata(cache_dir), stand_in])
'''


def rsi_edge_tree(name: str, op: str, threshold: str) -> StrategyTree:
    return validate_tree({"strategy": {
        "name": name, "assets": list(PAIRS), "timeframe": "1h",
        "entry": {"conditions": [f"RSI(BTC, 1h) {op} {threshold}"]},
        "exit": {"conditions": ["RSI(BTC, 1h) > 60"]},
        "position": {"type": "single", "size_per_batch": "5%", "max_total_exposure": "5%"},
        "risk": {"stop_loss": {"type": "percentage", "value": "5%"}}}})


def dominance_stand_in() -> pd.DataFrame:
    days = pd.date_range("2020-01-01", "2026-01-01", freq="1D", tz="UTC", name="observed_at")
    return pd.DataFrame({"btc_dominance": 55.0, AVAILABLE_AT: days + DAY}, index=days)


@dataclass
class Case:
    """One row of the table: the tree, its pairs and window, and the strategy the Freqtrade run
    loads (None: backtrader only)."""

    name: str
    tree: StrategyTree
    pairs: tuple[str, ...]
    window: tuple[pd.Timestamp, pd.Timestamp]
    strategy: str | None
    step: pd.Timedelta
    startup: int = 0  # candles before the window that Freqtrade analyses too
    covers: tuple[str, ...] = ()  # actions the window must exercise (so parity is not vacuous)


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def data(candle_datadir, altdata_cache) -> dict:
    """Alt data (with the dominance stand-in), the calendar and the 1h / 1d candles the
    Freqtrade runs analyse."""
    return {"altdata": pd.concat([altdata_frame(altdata_cache), dominance_stand_in()]),
            "calendar": EventCalendar.from_dir(altdata_cache / "calendar"),
            "candles": {(pair, tf): pd.read_feather(candle_datadir / f"{pair.replace('/', '_')}-{tf}.feather")
                        for pair in PAIRS for tf in ("1h", "1d")}}


def window_candles(data: dict, pair: str, tf: str, window, startup: int) -> pd.DataFrame:
    """The candles Freqtrade analyses: ``startup`` candles before the window start, to its end."""
    step = HOUR if tf == "1h" else DAY
    frame = data["candles"][(pair, tf)]
    keep = (frame["date"] >= window[0] - startup * step) & (frame["date"] <= window[1])
    return frame[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def cases(data) -> dict[str, Case]:
    trend = load_tree(TREES / "crypto_regime_trend_v1.yaml")
    edge = rsi_edge_tree("parity_rsi_lt", "<", "50")  # the startup does not depend on X
    startup = max(startup_candles(trend), startup_candles(edge))
    btc = window_candles(data, "BTC/USDT", "1h", HOURLY, startup)
    rsi = evaluate(edge, btc, pair="BTC/USDT").series["RSI(BTC, 1h)"]
    inside = (btc["date"] >= HOURLY[0]) & (btc["date"] < HOURLY[1])
    threshold = repr(float(rsi[inside].min()))
    seed = load_tree(TREES / "btc_fear_accumulation_v1.yaml")
    out = {
        "trend_1h": Case("trend_1h", trend, PAIRS, HOURLY, "CryptoRegimeTrendV1", HOUR, startup,
                         ("enter", "add", "take_profit_1", "stop", "exit_signal")),
        "rsi_lt_edge": Case("rsi_lt_edge", rsi_edge_tree("parity_rsi_lt", "<", threshold), PAIRS,
                            HOURLY, "ParityRsiLt", HOUR, startup),
        "rsi_le_edge": Case("rsi_le_edge", rsi_edge_tree("parity_rsi_le", "<=", threshold), PAIRS,
                            HOURLY, "ParityRsiLe", HOUR, startup),
        "seed_1d": Case("seed_1d", seed, ("BTC/USDT",), DAILY, "SeedWithDominance", DAY,
                        startup_candles(seed), ("enter", "add", "stop", "take_profit_1",
                                                "take_profit_2")),
    }
    equity = load_tree(TREES / "us_equity_mean_reversion_v1.yaml")
    for symbol in ("SPY", "QQQ"):
        out[f"{symbol.lower()}_mean_reversion"] = Case(
            f"{symbol.lower()}_mean_reversion", equity, (f"{symbol}/USD",),
            (pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2025-12-31", tz="UTC")), None, DAY)
    return out


@pytest.fixture(scope="module")
def strategy_dir(cases, tmp_path_factory) -> Path:
    """Every Freqtrade case compiled from its tree into one strategy folder (+ the seed's
    dominance stand-in subclass)."""
    folder = tmp_path_factory.mktemp("compiled")
    for case in cases.values():
        if case.strategy is not None:
            compile_tree(case.tree, folder, "freqtrade")
    (folder / "SeedWithDominance.py").write_text(SEED_SUBCLASS)
    return folder


def _backtest(tmp: Path, datadir: Path, altdata_cache: Path, strategy_dir: Path, strategies: list[str],
              window, extra: dict) -> Path:
    started = int(time.time())
    with serving(ReplayExchangeConfig(datadir=datadir, port=0)) as server:
        configs = e2e_configs(tmp, server.api_url, datadir, {
            "freqai": {"enabled": False}, "stake_amount": "unlimited",
            "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}, "risk": QUIET,
                         "costs": {"enabled": False}}, **extra})
        timerange = f"{window[0]:%Y%m%d}-{window[1]:%Y%m%d}"
        result = run_freqtrade(["backtesting", *configs, "--strategy-path", str(strategy_dir),
                                "--strategy-list", *strategies, "--timerange", timerange,
                                "--cache", "none", "--export", "signals"],
                               tmp / "backtest.log", timeout=600)
    log = (tmp / "backtest.log").read_text()
    assert result.returncode == 0, log[-4000:]
    results = tmp / "user_data" / "backtest_results"
    assert max(p.stat().st_mtime for p in results.glob("*.zip")) >= started, log[-2000:]
    return results


@pytest.fixture(scope="module")
def freqtrade_runs(cases, strategy_dir, candle_datadir, altdata_cache, tmp_path_factory) -> dict:
    """The real CLI, twice: the three 1h strategies in one run (--strategy-list), the seed on
    1d. Returns {strategy: (trades, exported signal candles per pair)}."""
    hourly = [c.strategy for c in cases.values() if c.strategy and c.step == HOUR]
    runs = [(hourly, HOURLY, {"exchange": {"pair_whitelist": list(PAIRS)}, "max_open_trades": 2}),
            (["SeedWithDominance"], DAILY, {"exchange": {"pair_whitelist": ["BTC/USDT"]},
                                            "max_open_trades": 1, "timeframe": "1d"})]
    out = {}
    for strategies, window, extra in runs:
        results = _backtest(tmp_path_factory.mktemp("ft"), candle_datadir, altdata_cache,
                            strategy_dir, strategies, window, extra)
        signals = load_backtest_analysis_data(results, "signals")
        for name in strategies:
            out[name] = (load_backtest_data(results, strategy=name), signals[name])
    return out


def case_candles(case: Case, data: dict, pair: str) -> pd.DataFrame:
    """The candles every engine sees: Freqtrade's (its startup included), or the equity bars."""
    if case.strategy is None:
        return equity_bars(pair)
    return window_candles(data, pair, case.tree.timeframe, case.window, case.startup)


def informative(case: Case, data: dict) -> dict[str, pd.DataFrame]:
    """BTC's candles for trees on other pairs that read them (``RSI(BTC, 1h)`` on ETH)."""
    return {"BTC/USDT": window_candles(data, "BTC/USDT", case.tree.timeframe, case.window,
                                       case.startup)}


def interpreter(case: Case, data: dict, pair: str):
    """The interpreter on the candles the engines see."""
    if case.strategy is None:
        return evaluate(case.tree, case_candles(case, data, pair), pair=pair)
    return evaluate(case.tree, case_candles(case, data, pair), data["altdata"], pair=pair,
                    calendar=data["calendar"], informative=informative(case, data),
                    start=case.window[0])


def equity_bars(pair: str) -> pd.DataFrame:
    """Alpaca-style daily bars of ``SPY/USD`` etc., dated by their trading day (00:00 UTC)."""
    folder = bundle_dir() / "equities" / "alpaca_style_daily_2021_2026"
    bars = pd.read_csv(folder / f"{pair.split('/')[0]}_1Day.csv.gz")
    return pd.DataFrame({"date": pd.to_datetime(bars["Date"], utc=True).dt.floor("1D"),
                         **{c.lower(): bars[c].astype("float64")
                            for c in ("Open", "High", "Low", "Close", "Volume")}})


def in_window(actions: list, window) -> list:
    return [(d, a) for d, a in actions if window[0] <= d <= window[1]]


# --------------------------------------------------------------------------- Freqtrade side
def freqtrade_events(trades: pd.DataFrame, pair: str) -> list[tuple[pd.Timestamp, str]]:
    """Every filled order of ``pair``'s trades as ``(fill time, action)``: enter / add /
    exit_signal / stop / take_profit_<n> (one per stage of a ``+``-joined tag); the forced exit
    at the end of the data is left out."""
    events = []
    if trades.empty:  # no trade: Freqtrade's frame has no columns either
        return events
    for _, trade in trades[trades["pair"] == pair].iterrows():
        entries = 0
        for order in trade["orders"]:
            when = pd.Timestamp(order["order_filled_timestamp"], unit="ms", tz="UTC")
            if order["ft_is_entry"]:
                events.append((when, "enter" if entries == 0 else "add"))
                entries += 1
                continue
            for tag in (order["ft_order_tag"] or "").split("+"):
                if tag in ("stop_loss", "trailing_stop_loss"):
                    events.append((when, "stop"))
                elif tag != "force_exit":
                    events.append((when, tag))
    return sorted(events)


def expected_freqtrade_events(actions: list, step: pd.Timedelta, last_row: pd.Timestamp) -> list:
    """Interpreter actions as Freqtrade fills them: stops inside the same candle, everything
    else at the next candle's open (none after the last row Freqtrade processes)."""
    out = []
    for date, action in actions:
        when = date if action in STOPS else date + step
        if when <= last_row:
            out.append((when, "stop" if action in STOPS else action))
    return sorted(out)


FREQTRADE_CASES = ["trend_1h", "rsi_lt_edge", "rsi_le_edge", "seed_1d"]
BACKTRADER_CASES = [*FREQTRADE_CASES, "spy_mean_reversion", "qqq_mean_reversion"]


@pytest.mark.parametrize("name", FREQTRADE_CASES)
def test_freqtrade_signals_when_compiled_then_every_candle_equals_interpreter(name, cases, data,
                                                                             strategy_dir):
    case = cases[name]
    module = import_file(strategy_dir / f"{class_name(case.tree)}.py")
    cls = getattr(module, class_name(case.tree))
    for pair in case.pairs:
        expected = interpreter(case, data, pair)
        candles = case_candles(case, data, pair)

        class DP:  # informative candles, as the backtest's DataProvider serves them
            @staticmethod
            def get_pair_dataframe(other, timeframe, _case=case):
                return informative(_case, data)[other]

        frame = freqtrade_frame(cls, candles, pair, dp=DP(), tree_altdata=data["altdata"],
                                tree_calendar=data["calendar"], tree_start=case.window[0])
        np.testing.assert_array_equal(frame["enter_long"].to_numpy(dtype=bool),
                                      expected.frame["enter_long"].to_numpy(), err_msg=f"{name} {pair}")
        np.testing.assert_array_equal(frame["tree_exit"].to_numpy(dtype=bool),
                                      expected.frame["exit_long"].to_numpy(), err_msg=f"{name} {pair}")


@pytest.mark.parametrize("name", FREQTRADE_CASES)
def test_freqtrade_cli_when_backtested_then_same_trades_as_interpreter_one_candle_later(
        name, cases, data, freqtrade_runs):
    case = cases[name]
    trades, exported = freqtrade_runs[case.strategy]
    seen = set()
    for pair in case.pairs:
        expected = interpreter(case, data, pair)
        actions = in_window(interpreter_actions(expected.frame), case.window)
        want = expected_freqtrade_events(actions, case.step, case.window[1])
        got = freqtrade_events(trades, pair)
        assert got == want, f"{name} {pair}: Freqtrade {got} != interpreter {want}"
        seen |= {action for _, action in got}
        # the CLI computed every series bit for bit like the interpreter (same data start)
        candles = exported[pair]
        if len(candles):
            series = expected.series.assign(date=expected.frame["date"]).set_index("date")
            for key in series.columns.drop("regime", errors="ignore"):
                np.testing.assert_array_equal(candles[key].to_numpy(dtype="float64"),
                                              series.loc[candles["date"], key].to_numpy(dtype="float64"),
                                              err_msg=f"{name} {pair} {key}")
    assert set(case.covers) <= seen, f"{name}: the window no longer exercises {set(case.covers) - seen}"
    assert len(trades) > 0 or name == "rsi_lt_edge"


def test_threshold_on_a_real_value_when_lt_vs_le_then_only_le_enters_on_that_candle(
        cases, data, freqtrade_runs):
    lt, le = cases["rsi_lt_edge"], cases["rsi_le_edge"]
    threshold = float(str(lt.tree.entry.conditions[0]).split("<")[-1])
    le_frame, lt_frame = (interpreter(c, data, "BTC/USDT").frame for c in (le, lt))
    inside = (le_frame["date"] >= HOURLY[0]).to_numpy()
    candle = le_frame["date"][le_frame["entry_signal"].to_numpy() & inside].tolist()

    assert len(candle) == 1  # the candle whose RSI is X, exactly
    assert not (lt_frame["entry_signal"].to_numpy() & inside).any()
    assert freqtrade_runs["ParityRsiLt"][0].empty
    le_trades, le_signals = freqtrade_runs["ParityRsiLe"]
    assert sorted(le_trades["pair"]) == sorted(PAIRS)  # ETH reads BTC's RSI (informative pair)
    assert (le_trades["open_date"] == candle[0] + HOUR).all()
    for pair in PAIRS:
        assert le_signals[pair]["RSI(BTC, 1h)"].tolist() == [threshold]


@pytest.mark.parametrize("name", FREQTRADE_CASES)
def test_freqtrade_fills_when_compared_then_documented_differences_only(name, cases, data,
                                                                      freqtrade_runs):
    case = cases[name]
    trades, _ = freqtrade_runs[case.strategy]
    for pair in case.pairs if not trades.empty else ():
        candles = data["candles"][(pair, case.tree.timeframe)].set_index("date")
        for _, trade in trades[trades["pair"] == pair].iterrows():
            assert trade["fee_open"] == trade["fee_close"] == pytest.approx(0.001)  # interpreter: 0
            entries = [o for o in trade["orders"] if o["ft_is_entry"]]
            for order in trade["orders"]:
                when = pd.Timestamp(order["order_filled_timestamp"], unit="ms", tz="UTC")
                tag = order["ft_order_tag"] or ""
                if tag in ("stop_loss", "trailing_stop_loss"):
                    # inside the candle at min(open, stop), the stop from Freqtrade's own fills
                    assert order["safe_price"] == pytest.approx(
                        min(candles["open"][when], trade["stop_loss_abs"]), rel=1e-6)
                    stop = case.tree.risk.stop_loss
                    if stop.type == "percentage" and case.tree.risk.trailing is None:
                        average = np.mean([o["safe_price"] for o in entries])
                        assert trade["stop_loss_abs"] == pytest.approx(average * (1 - stop.value),
                                                                       rel=1e-5)
                else:  # entries, batches, signal exits, take profits: the next candle's open
                    assert order["safe_price"] == pytest.approx(candles["open"][when], rel=1e-6)


@pytest.mark.parametrize("name", BACKTRADER_CASES)
def test_backtrader_when_cheat_on_close_then_fills_equal_interpreter(name, cases, data):
    case = cases[name]
    for pair in case.pairs:
        expected = interpreter(case, data, pair)
        candles = case_candles(case, data, pair)
        if case.strategy is None:
            strategy = run_backtrader(case.tree, {pair: candles})
            window = (candles["date"].iloc[0], candles["date"].iloc[-1])
        else:
            strategy = run_backtrader(case.tree, {pair: candles}, altdata=data["altdata"],
                                      calendar=data["calendar"], informative=informative(case, data),
                                      start=case.window[0])
            window = case.window
        actions = in_window(interpreter_actions(expected.frame), window)
        assert_same_actions(actions, backtrader_actions(strategy.tree_log, pair), f"{name} {pair}")
        _assert_interpreter_prices(candles, expected.frame, strategy.tree_log, f"{name} {pair}")
    assert name == "rsi_lt_edge" or strategy.tree_log


def _assert_interpreter_prices(candles: pd.DataFrame, frame: pd.DataFrame, log: list[dict],
                               what: str) -> None:
    """Market fills at the signal candle's close; stops at min(open, previous stop_price);
    take profits at max(open, previous take_profit_price): the interpreter's fill rules."""
    rows = candles.set_index("date")
    previous = frame.set_index("date")[["stop_price", "take_profit_price"]].shift(1)
    for fill in log:
        when, action = fill["date"], fill["action"]
        if action in STOPS:
            want = min(rows["open"][when], previous["stop_price"][when])
        elif action.startswith("take_profit_"):
            want = max(rows["open"][when], previous["take_profit_price"][when])
        else:
            want = rows["close"][when]
        assert fill["price"] == pytest.approx(want, rel=1e-12), f"{what}: {fill}"
