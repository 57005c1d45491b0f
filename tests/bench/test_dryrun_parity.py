"""The comparison of ``bench/dryrun_parity.py`` on hand-made frames (no bot, no backtest)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from adapters.replay_exchange.stepped import SteppedRunError, step_times
from plugins.risk.journal import JournalRow
from tests.conftest import load_bench

parity = load_bench("dryrun_parity")


def _candles(pair: str, entries: list[int], pred: list[float]) -> pd.DataFrame:
    dates = pd.date_range("2024-03-01", periods=len(entries), freq="1h", tz="UTC")
    return pd.DataFrame({"pair": pair, "date": dates, "enter_long": entries,
                         "&-s_close": pred, "close": 100.0})


def test_compare_signals_when_one_entry_differs_then_share_and_the_differing_input():
    dry = _candles("BTC/USDT", [1, 0, 1, 1], [0.01, 0.0, 0.02, 0.005])
    backtest = _candles("BTC/USDT", [1, 0, 1, 0], [0.01, 0.0, 0.02, 0.003])

    result = parity.compare_signals(dry, backtest)

    assert (result.candles, result.dry_entries, result.backtest_entries) == (4, 3, 2)
    assert result.identical_share == pytest.approx(2 / 3)
    assert result.candle_agreement == pytest.approx(3 / 4)
    [diff] = result.differences
    assert (diff["dry"], diff["backtest"]) == (1, 0)
    assert [i["column"] for i in diff["inputs"]] == ["&-s_close"]
    assert diff["cause"].startswith("model output differs")
    assert diff["inputs"][0]["rel_diff"] == pytest.approx(0.4)


def test_compare_signals_when_no_entry_on_either_side_then_share_one():
    frame = _candles("ETH/USDT", [0, 0], [0.0, 0.0])
    result = parity.compare_signals(frame, frame.copy())
    assert result.identical_share == 1.0 and result.differences == []


def test_compare_signals_when_nan_signal_then_read_as_no_entry():
    dry = _candles("BTC/USDT", [1, 0], [0.01, 0.0]).astype({"enter_long": "float64"})
    dry.loc[1, "enter_long"] = float("nan")
    assert parity.compare_signals(dry, _candles("BTC/USDT", [1, 0], [0.01, 0.0])).differences == []


def test_compare_signals_when_no_common_candle_then_error_names_the_fix():
    dry = _candles("BTC/USDT", [1], [0.0])
    with pytest.raises(ValueError, match="window"):
        parity.compare_signals(dry, _candles("ETH/USDT", [1], [0.0]))


def test_differing_inputs_when_nan_on_one_side_then_counts_as_full_difference():
    dry = pd.Series({"a": float("nan"), "b": 1.0, "c": float("nan"), "date": 1})
    bt = pd.Series({"a": 2.0, "b": 1.0, "c": float("nan"), "date": 2})
    assert parity.differing_inputs(dry, bt, 1e-6) == [
        {"column": "a", "dry": None, "backtest": 2.0, "rel_diff": 1.0}]


def test_why_no_entry_when_pair_still_open_or_slots_full_or_gate_denied():
    at = pd.Timestamp("2024-03-01 10:00", tz="UTC")
    trades = pd.DataFrame({"pair": ["ETH/USDT", "XRP/USDT"],
                           "open_date": [at - pd.Timedelta(hours=3)] * 2,
                           "close_date": [pd.NaT, at + pd.Timedelta(hours=1)]})
    assert "ETH/USDT trade opened" in parity.why_no_entry("ETH/USDT", at, trades, [], 3)
    assert parity.why_no_entry("BTC/USDT", at, trades, [], 2).startswith("all 2 slots taken")
    denial = JournalRow(ts=at.to_pydatetime(), kind="gate", decision="deny", reason="rsi",
                        pair="BTC/USDT", detail="RSI 74 > 70")
    passed = JournalRow(ts=at.to_pydatetime(), kind="gate", decision="pass", reason="ema",
                        pair="BTC/USDT")
    assert parity.why_no_entry("BTC/USDT", at, trades, [denial, passed], 3) == \
        "gate deny rsi (RSI 74 > 70)"


def test_step_times_when_on_grid_then_every_candle_open_inclusive():
    start = datetime(2024, 3, 1, tzinfo=UTC)
    times = step_times(start, datetime(2024, 3, 1, 3, tzinfo=UTC), "1h")
    assert [t.hour for t in times] == [0, 1, 2, 3]


def test_step_times_when_start_off_grid_then_error_names_the_grid():
    with pytest.raises(SteppedRunError, match="not a 4h candle open"):
        step_times(datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC), "4h")


def test_difference_cause_when_features_or_only_model_outputs_differ_then_named():
    feature = {"column": "%-rsi-period_10", "dry": 1.0, "backtest": 2.0, "rel_diff": 0.5}
    output = {"column": "&-s_close", "dry": 0.004, "backtest": 0.003, "rel_diff": 0.25}
    stat = {"column": "&-s_close_mean", "dry": 0.1, "backtest": 0.2, "rel_diff": 0.5}
    assert parity.difference_cause([feature, output]) == "features differ: %-rsi-period_10"
    assert parity.difference_cause([stat, output]).startswith(
        "model output differs with identical features")
    assert parity.difference_cause([]) == "no input differs"


def _save_training(models: Path, side: str, coin: str, frame: pd.DataFrame,
                   dates: pd.Series) -> None:
    folder = models / f"parity-{side}" / f"sub-train-{coin}_1714521600"
    folder.mkdir(parents=True)
    frame.to_pickle(folder / f"cb_{coin.lower()}_1714521600_trained_df.pkl")
    dates.to_pickle(folder / f"cb_{coin.lower()}_1714521600_trained_dates_df.pkl")


def test_compare_training_when_one_feature_differs_in_last_bits_then_named_with_its_size(tmp_path):
    dates = pd.Series(pd.date_range("2024-04-01", periods=3, freq="1h", tz="UTC"))
    frame = pd.DataFrame({"%-rsi": [0.1, 0.2, 0.3], "%-bb_width": [0.5, 0.6, 0.7]})
    nudged = frame.assign(**{"%-bb_width": frame["%-bb_width"] * (1 + 1e-8)})
    _save_training(tmp_path, "dryrun", "ETH", frame, dates)
    _save_training(tmp_path, "backtest", "ETH", nudged, dates)
    _save_training(tmp_path, "dryrun", "BTC", frame, dates)
    _save_training(tmp_path, "backtest", "BTC", frame.copy(), dates)

    result = parity.compare_training(tmp_path, ["ETH/USDT", "BTC/USDT", "XRP/USDT"])

    assert result["BTC/USDT"]["identical"] is True
    eth = result["ETH/USDT"]
    assert (eth["identical"], eth["rows"], eth["same_dates"]) == (False, [3, 3], True)
    [worst] = eth["differing_columns"]
    assert worst["column"] == "%-bb_width" and worst["max_rel_diff"] == pytest.approx(1e-8, rel=1e-3)
    assert result["XRP/USDT"] == {"missing": "dryrun"}
    assert "training features differ" in parity.training_cause(eth)
    assert "%-bb_width 1.0e-08" in parity.training_cause(eth)
    assert "bit-identical" in parity.training_cause(result["BTC/USDT"])
    assert parity.training_cause(result["XRP/USDT"]) == ""
