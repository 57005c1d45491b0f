"""``python -m plugins.research haircut`` on a database of dry-run trades produced here: a real
Freqtrade dry-run loop (stepped over real candles, ``bench/dryrun_parity.py``) through the replay
exchange serving the cost model's book, and a real ``freqtrade backtesting`` of the same window."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from freqtrade.data.btanalysis import load_backtest_data

from adapters.replay_exchange import ReplayExchange, ReplayExchangeConfig, serving
from plugins.core.backtest_results import check_latest
from plugins.execution.book import max_interpolation_excess
from plugins.execution.config import CostConfig
from plugins.execution.costs import half_tick_frac, order_cost
from plugins.research.__main__ import main as research_main
from plugins.research.haircut import haircut_report, measured_haircut
from tests.conftest import REPO_ROOT, load_bench
from tests.e2e.helpers import e2e_configs, run_freqtrade

pytestmark = pytest.mark.slow

PAIRS = ["BTC/USDT", "ETH/USDT", "XRP/USDT"]
START, END = "2024-03-16", "2024-03-18"
PROBE = REPO_ROOT / "tests" / "e2e" / "strategies"


@pytest.fixture(scope="module")
def dry_run_and_backtest(tmp_path_factory, candle_datadir, altdata_cache):
    """(db_url of the dry-run's database, the backtest's trades, its results dir)."""
    tmp = tmp_path_factory.mktemp("haircut")
    parity = load_bench("dryrun_parity")
    out = tmp / "parity.json"
    assert parity.main(["--datadir", str(candle_datadir), "--altdata-cache", str(altdata_cache),
                        "--pairs", *PAIRS, "--start", START, "--end", END, "--strategy",
                        "CostProbe", "--strategy-path", str(PROBE), "--no-freqai", "--keep",
                        "--out", str(out)]) == 0
    workdir = json.loads(out.read_text())["workdir"]
    db_url = f"sqlite:///{workdir}/user_data/parity-dryrun.sqlite"
    started = int(time.time())
    with serving(ReplayExchangeConfig(datadir=candle_datadir, port=0)) as server:
        configs = e2e_configs(tmp, server.api_url, candle_datadir,
                              {"freqai": {"enabled": False}, "exchange": {"pair_whitelist": PAIRS}})
        result = run_freqtrade(["backtesting", *configs, "--strategy-path", str(PROBE),
                                "--strategy", "CostProbe", "--timerange",
                                f"{START.replace('-', '')}-{END.replace('-', '')}",
                                "--cache", "none", "--export", "trades"],
                               tmp / "backtest.log", timeout=600)
    assert result.returncode == 0, (tmp / "backtest.log").read_text()[-3000:]
    results = tmp / "user_data" / "backtest_results"
    check_latest(results, not_before_s=started)
    yield db_url, load_backtest_data(results), results
    shutil.rmtree(workdir, ignore_errors=True)


def test_haircut_when_dry_run_through_cost_model_then_slippage_is_the_models_cost(
        dry_run_and_backtest, candle_datadir):
    db_url, backtest, _ = dry_run_and_backtest

    report = haircut_report(db_url, candle_datadir, backtest, min_trades=5)

    fills = report.fills
    assert len(fills) >= 24 and set(fills["order_type"]) == {"market"}
    assert fills["slippage_bps"].notna().all()
    # The replay's mid is the signal candle's close, so each fill's slippage is the model's
    # cost for its size there (up to the book's interpolation and half a tick).
    replay = ReplayExchange(ReplayExchangeConfig(datadir=candle_datadir, costs=CostConfig()))
    for fill in fills.itertuples():
        symbol, at_ms = fill.pair.replace("/", ""), int(fill.placed_at.timestamp() * 1000)
        model = replay.model_fill_price(symbol, fill.side, fill.amount, at_ms)
        assert replay.mid_price(symbol, at_ms) == fill.signal_close
        sign = 1 if fill.side == "buy" else -1
        expected_bps = sign * (model / fill.signal_close - 1) * 1e4
        impact = order_cost(CostConfig(), replay.cost_book.inputs(symbol, at_ms),
                            fill.amount * fill.signal_close).impact_frac
        tolerance = (max_interpolation_excess() * impact
                     + half_tick_frac(replay.cost_book.ticks[symbol], fill.signal_close)) * 1e4
        assert abs(fill.slippage_bps - expected_bps) <= tolerance + 1e-9, fill
    overall = report.slippage.iloc[0]
    assert (overall["pair"], overall["order_type"]) == ("all", "all")
    assert overall["fills"] == len(fills)
    assert 0 < overall["median_bps"] <= overall["p95_bps"]
    assert set(report.slippage["pair"]) == {"all", *PAIRS}


def test_haircut_when_backtest_of_same_window_then_ratio_and_measured_haircut(
        dry_run_and_backtest, candle_datadir):
    db_url, backtest, _ = dry_run_and_backtest

    report = haircut_report(db_url, candle_datadir, backtest, min_trades=5)
    gate = measured_haircut(db_url, candle_datadir, backtest, min_trades=5)
    too_few = measured_haircut(db_url, candle_datadir, backtest, min_trades=10_000)

    profit = report.profit
    assert profit.live_trades == profit.backtest_trades == report.closed_trades
    assert profit.backtest_return > 0, "the window is one where the probe makes money"
    assert profit.ratio == pytest.approx(profit.live_return / profit.backtest_return)
    assert report.haircut_frac == pytest.approx(min(max(1 - profit.ratio, 0.0), 0.999))
    assert gate == {"measured_frac": report.haircut_frac, "trades": report.closed_trades,
                    "source": f"python -m plugins.research haircut --db {db_url}"}
    assert too_few is None, "fewer trades than needed: the gate keeps the configured haircut"


def test_haircut_cli_when_evidence_given_then_writes_the_measured_haircut(
        dry_run_and_backtest, candle_datadir, tmp_path, capsys):
    db_url, _, results = dry_run_and_backtest
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps({"n_trials": 1, "trials": [{"id": "t-1"}]}))

    status = research_main(["haircut", "--db", db_url, "--datadir", str(candle_datadir),
                            "--backtest", str(results), "--min-trades", "5",
                            "--evidence", str(evidence), "--report", str(tmp_path / "r.json")])

    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0].startswith("measured haircut: ")
    assert "XRP/USDT    market" in out
    written = json.loads(evidence.read_text())["haircut"]
    assert written["trades"] >= 5 and 0 <= written["measured_frac"] < 1
    assert json.loads((tmp_path / "r.json").read_text())["haircut_frac"] == written["measured_frac"]


def test_haircut_cli_when_database_unreadable_then_clear_error_and_exit_2(tmp_path, capsys):
    status = research_main(["haircut", "--db", f"sqlite:///{tmp_path}/none/x.sqlite",
                            "--datadir", str(tmp_path)])

    assert status == 2
    assert "--db sqlite:///" in capsys.readouterr().err
