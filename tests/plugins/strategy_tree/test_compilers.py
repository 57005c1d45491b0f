"""The compilers: generated trees compile, import and give the interpreter's signals on real
candles (Freqtrade in process, backtrader in a Cerebro); invalid trees fail validation with a
path; the generated files carry the tree's identity and fail loudly when data is missing."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plugins.altdata.contract import AVAILABLE_AT
from plugins.strategy_tree.compilers import ENGINES, as_tree, build_backtrader_strategy, compile_tree
from plugins.strategy_tree.compilers.common import class_name, startup_candles, tree_sha256
from plugins.strategy_tree.compilers.ft_runtime import activation_start, take_profit_order
from plugins.strategy_tree.errors import TreeEvaluationError, TreeValidationError
from plugins.strategy_tree.interpreter import evaluate
from plugins.strategy_tree.io import load_tree
from plugins.strategy_tree.validation import validate_tree
from tests.conftest import REPO_ROOT, bundle_dir
from tests.plugins.strategy_tree.compiled import (
    assert_same_actions,
    backtrader_actions,
    freqtrade_frame,
    import_file,
    interpreter_actions,
    run_backtrader,
)
from tests.plugins.strategy_tree.trees import SEED_TREE, candles, make_tree

TREES = REPO_ROOT / "strategies" / "trees"


@pytest.fixture(scope="module")
def short_1h() -> pd.DataFrame:
    """BTC/USDT 1h, 2022-03-01 .. 2022-04-10: 960 real candles (a crash and a rally)."""
    return candles("1h", "2022-03-01", "2022-04-10")


# --------------------------------------------------------------------- generated valid trees
TIMEFRAMES = st.sampled_from(["1h", "4h", "1d"])
OPS = st.sampled_from(["<", "<=", ">", ">=", "!="])


@st.composite
def indicator_condition(draw) -> str:
    """One test over TA-Lib series of the traded pair (BTC), every timeframe the 1h tree can
    read."""
    kind = draw(st.integers(0, 7))
    tf = draw(TIMEFRAMES)
    op = draw(OPS)
    if kind == 0:
        return f"RSI(BTC, {tf}, {draw(st.integers(2, 20))}) {op} {draw(st.integers(5, 95))}"
    if kind == 1:
        return f"close {op} EMA({tf}, {draw(st.integers(2, 30))})"
    if kind == 2:
        direction = draw(st.sampled_from(["above", "below"]))
        return f"SMA(1h, {draw(st.integers(2, 10))}) crosses_{direction} EMA(1h, {draw(st.integers(11, 40))})"
    if kind == 3:
        return f"MACD_HIST({tf}) {op} 0"
    if kind == 4:
        return f"ADX({tf}) {op} {draw(st.integers(10, 40))}"
    if kind == 5:
        return f"ROC(1h, {draw(st.integers(1, 24))}) {op} {draw(st.sampled_from(['-1%', '0%', '0.5%']))}"
    if kind == 6:
        return f"close {op} BBANDS_LOWER({tf}, {draw(st.integers(5, 20))}, 2)"
    return f"ATR(1h) {op} {draw(st.integers(100, 1500))}"


@st.composite
def condition_text(draw) -> str:
    first = draw(indicator_condition())
    shape = draw(st.integers(0, 3))
    if shape == 1:
        return f"NOT ({first})"
    if shape == 2:
        return f"{first} OR {draw(indicator_condition())}"
    return first


@st.composite
def valid_tree(draw) -> dict:
    """A valid 1h BTC/USDT tree: 1-3 conditions ALL/ANY, maybe an exit group and a filter, a
    single or scaled position, a percentage stop, maybe take profits and an expiry."""
    entry = draw(st.lists(condition_text(), min_size=1, max_size=3))
    data: dict = {"name": f"gen_{draw(st.integers(0, 999))}", "assets": ["BTC/USDT"],
                  "timeframe": "1h",
                  "entry": {"conditions": entry, "logic": draw(st.sampled_from(["ALL", "ANY"]))}}
    if draw(st.booleans()):
        data["exit"] = {"conditions": draw(st.lists(condition_text(), min_size=1, max_size=2)),
                        "logic": draw(st.sampled_from(["ALL", "ANY"]))}
    batches = draw(st.integers(1, 3))
    size = draw(st.sampled_from([2, 3, 5]))
    data["position"] = ({"type": "single", "batches": 1, "size_per_batch": f"{size}%",
                         "max_total_exposure": f"{size}%"} if batches == 1 else
                        {"type": "scaled_entry", "batches": batches, "size_per_batch": f"{size}%",
                         "interval": draw(st.sampled_from(["1h", "2h", "4h"])),
                         "max_total_exposure": f"{size * batches}%",
                         "add_on": draw(st.sampled_from(["signal", "schedule"]))})
    data["risk"] = {"stop_loss": {"type": "percentage",
                                  "value": f"{draw(st.sampled_from([1.5, 3, 5, 8]))}%",
                                  "reference": draw(st.sampled_from(
                                      ["average_entry_price", "first_entry_price",
                                       "last_entry_price"]))}}
    stages = draw(st.integers(0, 2))
    if stages == 1:
        data["take_profit"] = [{"level": "2%", "action": "close_remaining"}]
    elif stages == 2:
        data["take_profit"] = [{"level": "1.5%", "action": "close_50%"},
                               {"level": "4%", "action": "close_remaining"}]
    if draw(st.booleans()):
        data["filters"] = [{"no_entry_if": draw(indicator_condition())}]
    if draw(st.booleans()):
        data["expiry"] = draw(st.sampled_from(["2d", "20d"]))
    return {"strategy": data}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=valid_tree())
def test_compile_when_any_valid_tree_then_both_engines_equal_the_interpreter_on_real_candles(
        data, short_1h, tmp_path_factory):
    tree = validate_tree(data)
    out = tmp_path_factory.mktemp("compiled")
    expected = evaluate(tree, short_1h)

    [ft_file] = compile_tree(tree, out / "freqtrade", "freqtrade")
    [bt_file] = compile_tree(tree, out / "backtrader", "backtrader")
    module = import_file(ft_file)
    frame = freqtrade_frame(getattr(module, class_name(tree)), short_1h, "BTC/USDT")
    strategy = run_backtrader(tree, {"BTC/USDT": short_1h})

    assert bt_file.name == ft_file.name == f"{class_name(tree)}.py"
    np.testing.assert_array_equal(frame["enter_long"].to_numpy(dtype=bool),
                                  expected.frame["enter_long"].to_numpy())
    np.testing.assert_array_equal(frame["tree_exit"].to_numpy(dtype=bool),
                                  expected.frame["exit_long"].to_numpy())
    for key in expected.series.columns:
        np.testing.assert_array_equal(frame[key].to_numpy(dtype="float64"),
                                      expected.series[key].to_numpy(dtype="float64"), err_msg=key)
    for path in expected.conditions.columns:
        if path in frame.columns:  # one column per condition path: 1.0 / 0.0 / NaN = unknown
            want = expected.conditions[path].astype("Float64").to_numpy(dtype="float64",
                                                                      na_value=np.nan)
            np.testing.assert_array_equal(frame[path].to_numpy(dtype="float64"), want, err_msg=path)
    assert_same_actions(interpreter_actions(expected.frame),
                        backtrader_actions(strategy.tree_log), tree.name)


# -------------------------------------------------------------------- generated invalid trees
BASE = {"name": "base", "assets": ["BTC/USDT"], "timeframe": "1h",
        "entry": {"conditions": ["RSI(BTC, 1h) < 30"], "logic": "ALL"},
        "position": {"type": "scaled_entry", "batches": 3, "size_per_batch": "3%",
                     "interval": "4h", "max_total_exposure": "10%"},
        "risk": {"stop_loss": {"type": "percentage", "value": "8%"}},
        "take_profit": [{"level": "15%", "action": "close_50%"},
                        {"level": "30%", "action": "close_remaining"}]}


def _mutations():
    def delete(key):
        return lambda d: d.pop(key)

    def setter(path, value):
        def apply(d):
            target = d
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        return apply

    return st.one_of(
        st.sampled_from(["name", "assets", "timeframe", "entry", "position", "risk"]).map(delete),
        st.text(max_size=40).map(lambda text: setter(("entry", "conditions"), [text])),
        st.sampled_from([
            ("position", "batches"), ("position", "size_per_batch"), ("risk", "stop_loss", "value"),
            ("timeframe",), ("assets",), ("take_profit", 0, "level"), ("expiry",),
            ("position", "interval"), ("entry", "logic"), ("name",),
        ]).flatmap(lambda path: st.one_of(
            st.just(None), st.just("three"), st.integers(-5, 0), st.just("150%"), st.just([1]),
            st.just({"x": 1})).map(lambda value, path=path: setter(path, value))),
        st.just(setter(("position", "size_per_batch"), "5%")),  # 3 x 5% > 10%
        st.just(setter(("take_profit", 1, "level"), "10%")),  # not rising
        st.just(setter(("unknown_key",), 1)),
        st.just(setter(("entry", "conditions"), ["RSI(BTC, 30m) < 30"])),  # finer than the tree
        st.just(setter(("entry", "conditions"), ["regime < 3"])),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutate=_mutations(), engine=st.sampled_from(ENGINES))
def test_compile_when_tree_invalid_then_validation_error_with_path_and_nothing_written(
        mutate, engine, tmp_path_factory):
    data = copy.deepcopy(BASE)
    mutate(data)
    try:
        validate_tree({"strategy": data})
    except TreeValidationError:
        pass
    else:
        assume(False)  # the mutation happened to give a valid tree
    out = tmp_path_factory.mktemp("invalid")

    with pytest.raises(TreeValidationError) as err:
        compile_tree({"strategy": data}, out / "o", engine)

    assert err.value.issues and all(i.path.startswith("strategy") for i in err.value.issues)
    assert all(i.message and i.fix for i in err.value.issues)
    assert not (out / "o").exists()


def test_cli_compile_when_tree_file_invalid_then_problems_printed_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy:\n  name: x\n  assets: [BTC/USDT]\n  timeframe: 1h\n"
                   "  entry: {conditions: ['RSI(BTC, 1h) <']}\n  position: {batches: 2}\n")

    result = subprocess.run([sys.executable, "-m", "plugins.strategy_tree", "compile", str(bad),
                             "--engine", "freqtrade", "--out", str(tmp_path / "o")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "strategy.entry.conditions[0]" in result.stderr and not (tmp_path / "o").exists()


def test_cli_compile_when_valid_then_prints_the_files_written(tmp_path):
    result = subprocess.run([sys.executable, "-m", "plugins.strategy_tree", "compile",
                             str(TREES / "us_equity_mean_reversion_v1.yaml"), "--engine",
                             "backtrader", "--out", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "UsEquityMeanReversionV1.py")


# --------------------------------------------------------------------------- generated files
def test_class_name_when_tree_names_vary_then_camel_case_and_valid_identifier():
    names = {"BTC_fear_accumulation_v1": "BtcFearAccumulationV1", "myTree.v2": "MyTreeV2",
             "a-b_c": "ABC", "none": "NoneTree", "IStrategy": "IStrategyTree"}
    for name, expected in names.items():
        tree = make_tree(["close > 0"], name=name)
        assert class_name(tree) == expected and expected.isidentifier()


def test_freqtrade_file_when_seed_compiled_then_header_identity_paths_and_mixin(tmp_path):
    tree = load_tree(SEED_TREE)

    [path] = compile_tree(SEED_TREE, tmp_path, "freqtrade")
    text = path.read_text()
    prose = " ".join(text.split())  # the header is wrapped at 110 columns

    assert path.name == "BtcFearAccumulationV1.py"
    assert "strategy tree BTC_fear_accumulation_v1" in text and "schema v1" in text
    assert f"sha256 {tree_sha256(tree)}" in text
    assert "class BtcFearAccumulationV1(ExecutionCostMixin, RiskGuardMixin, IStrategy):" in text
    for path_comment in ("# entry.conditions[0]: RSI(BTC, 1d) < 30", "# filters[0]: no entry within",
                         "# filters[1].no_entry_if: btc_dominance < 40%", "# risk.stop_loss: 8% below",
                         "# take_profit (+15%, +30%"):
        assert path_comment in text, path_comment
    assert "NO shipped provider" in prose and "cannot be backtested on the shipped data" in prose
    assert "position_adjustment_enable = True" in text and "max_entry_position_adjustment = 2" in text
    assert f"startup_candle_count: int = {startup_candles(tree)}" in text


def test_freqtrade_file_when_hand_edited_then_import_fails_naming_the_fix(tmp_path):
    [path] = compile_tree(SEED_TREE, tmp_path, "freqtrade")
    path.write_text(path.read_text().replace("'RSI(BTC, 1d) < 30'", "'RSI(BTC, 1d) < 35'"))

    with pytest.raises(TreeEvaluationError, match="edited by hand; recompile"):
        import_file(path)


def test_freqtrade_seed_when_no_dominance_data_then_bot_start_names_series_and_how(tmp_path,
                                                                                 altdata_cache):
    module = import_file(compile_tree(SEED_TREE, tmp_path, "freqtrade")[0])
    cls = module.BtcFearAccumulationV1
    strategy = cls({"stake_currency": "USDT", "timeframe": "1d",
                    "ai_suite": {"altdata": {"cache_dir": str(altdata_cache)}}})

    with pytest.raises(TreeEvaluationError) as err:
        cls.bot_start(strategy)  # the class's own bot_start (the risk guard wraps the instance's)

    message = str(err.value)
    assert "btc_dominance (read by filters[1].no_entry_if) has no data" in message
    assert "override load_tree_altdata" in message and "BtcFearAccumulationV1" in message


def test_freqtrade_when_config_timeframe_differs_then_bot_start_says_how_to_fix(tmp_path):
    module = import_file(compile_tree(TREES / "crypto_regime_trend_v1.yaml", tmp_path, "freqtrade")[0])
    cls = module.CryptoRegimeTrendV1
    strategy = cls({"stake_currency": "USDT", "timeframe": "1h"})
    strategy.timeframe = "4h"

    with pytest.raises(TreeEvaluationError, match='decides on 1h candles.*"timeframe": "1h"'):
        cls.bot_start(strategy)


def test_freqtrade_seed_with_dominance_stand_in_then_signals_equal_interpreter(tmp_path, altdata,
                                                                              calendar):
    days = pd.date_range("2020-01-01", "2026-01-01", freq="1D", tz="UTC", name="observed_at")
    dominance = pd.DataFrame({"btc_dominance": 55.0, AVAILABLE_AT: days + pd.Timedelta(days=1)},
                             index=days)
    frames = pd.concat([altdata, dominance])
    daily = candles("1d", "2022-01-01", "2023-01-01")
    start = pd.Timestamp("2022-06-01", tz="UTC")
    tree = load_tree(SEED_TREE)
    module = import_file(compile_tree(tree, tmp_path, "freqtrade")[0])

    frame = freqtrade_frame(module.BtcFearAccumulationV1, daily, "BTC/USDT", tree_altdata=frames,
                            tree_calendar=calendar, tree_start=start)
    expected = evaluate(tree, daily, frames, calendar=calendar, start=start).frame

    assert expected["enter_long"].any()
    np.testing.assert_array_equal(frame["enter_long"].to_numpy(dtype=bool),
                                  expected["enter_long"].to_numpy())
    np.testing.assert_array_equal(frame["tree_filter_block"].to_numpy(),
                                  expected["filter_block"].to_numpy())
    np.testing.assert_array_equal(frame["tree_expired"].to_numpy(), expected["expired"].to_numpy())


def test_compile_when_threshold_is_an_exact_float_then_compiled_literal_is_that_float(tmp_path,
                                                                                    short_1h):
    probe = evaluate(make_tree(["RSI(BTC, 1h) < 101"]), short_1h)
    values = probe.series["RSI(BTC, 1h)"]
    i = int(values.iloc[100:].idxmin())
    threshold = repr(float(values[i]))

    for op, hit in (("<", False), ("<=", True)):
        tree = make_tree([f"RSI(BTC, 1h) {op} {threshold}"], name=f"edge_{'lt' if op == '<' else 'le'}")
        module = import_file(compile_tree(tree, tmp_path, "freqtrade")[0])
        frame = freqtrade_frame(getattr(module, class_name(tree)), short_1h, "BTC/USDT")
        expected = evaluate(tree, short_1h).frame
        assert bool(frame["tree_entry_signal"][i]) is hit and bool(expected["entry_signal"][i]) is hit
        np.testing.assert_array_equal(frame["enter_long"].to_numpy(dtype=bool),
                                      expected["enter_long"].to_numpy())


def test_build_backtrader_strategy_when_tree_then_strategy_subclass_from_the_same_source(tmp_path):
    import backtrader as bt

    tree = load_tree(TREES / "us_equity_mean_reversion_v1.yaml")
    cls = build_backtrader_strategy(tree)

    assert issubclass(cls, bt.Strategy) and cls.__name__ == "UsEquityMeanReversionV1"
    assert cls.__module__ == "plugins.strategy_tree.compiled.UsEquityMeanReversionV1"
    [path] = compile_tree(tree, tmp_path, "backtrader")
    assert import_file(path).TREE_SHA256 == tree_sha256(tree)


def test_backtrader_when_alpaca_daily_bars_then_floored_to_days_and_equal_interpreter():
    bars = pd.read_csv(bundle_dir() / "equities/alpaca_style_daily_2021_2026/SPY_1Day.csv.gz")
    raw = pd.DataFrame({"date": pd.to_datetime(bars["Date"], utc=True),
                        **{c.lower(): bars[c].astype("float64")
                           for c in ("Open", "High", "Low", "Close", "Volume")}})
    daily = raw.assign(date=raw["date"].dt.floor("1D"))
    tree = as_tree(TREES / "us_equity_mean_reversion_v1.yaml")

    strategy = run_backtrader(tree, {"SPY/USD": raw})  # 05:00 UTC stamps, as Alpaca sends them
    expected = evaluate(tree, daily, pair="SPY/USD").frame

    actions = interpreter_actions(expected)
    assert len(actions) > 20
    assert_same_actions(actions, backtrader_actions(strategy.tree_log), "SPY")


def test_backtrader_when_precomputed_signals_given_then_same_fills_as_computing_them(short_1h):
    tree = make_tree(["RSI(BTC, 1h) < 35"], exit={"conditions": ["RSI(BTC, 1h) > 60"]},
                     risk={"stop_loss": {"type": "atr", "value": 2}})
    signals = evaluate(tree, short_1h)

    computed = run_backtrader(tree, {"BTC/USDT": short_1h})
    given_ = run_backtrader(tree, {"BTC/USDT": short_1h}, signals=signals)

    assert computed.tree_log and computed.tree_log == given_.tree_log


def test_backtrader_when_no_cheat_on_close_then_market_fills_at_next_open(short_1h):
    tree = make_tree(["RSI(BTC, 1h) < 35"], exit={"conditions": ["RSI(BTC, 1h) > 60"]})

    strategy = run_backtrader(tree, {"BTC/USDT": short_1h}, coc=False)

    opens = short_1h.set_index("date")["open"]
    market = [r for r in strategy.tree_log if r["action"] in ("enter", "add", "exit_signal")]
    assert market
    for row in market:  # logged on the signal bar; filled at the open of the bar after it
        assert row["price"] == opens[row["date"] + pd.Timedelta(hours=1)]


def test_backtrader_when_feed_named_after_no_asset_then_error_names_the_fix(short_1h):
    tree = make_tree(["close > 0"], assets=["BTC/USDT", "ETH/USDT"])

    with pytest.raises(TreeEvaluationError, match="name each feed after its pair"):
        run_backtrader(tree, {"BTC/USDT": short_1h, "DOGE/USDT": short_1h})


# --------------------------------------------------------------------------------- helpers
@pytest.mark.parametrize("done, high, expected", [
    (0, 114.9, (0.0, [])),
    (0, 115.0, (0.5, ["take_profit_1"])),
    (0, 131.0, (1.0, ["take_profit_1", "take_profit_2"])),
    (1, 129.0, (0.0, [])),
    (1, 130.0, (1.0, ["take_profit_2"])),
])
def test_take_profit_order_when_high_reaches_levels_then_fractions_of_peak(done, high, expected):
    assert take_profit_order(((0.15, 0.5), (0.30, None)), done, 100.0, high) == expected


def test_activation_start_when_config_start_or_timerange_then_that_time():
    config = {"ai_suite": {"strategy_tree": {"start": "2024-03-01 12:00"}}}
    assert activation_start(config) == pd.Timestamp("2024-03-01 12:00", tz="UTC")
    assert activation_start({"timerange": "20240301-20240315"}) == pd.Timestamp("2024-03-01", tz="UTC")
    assert activation_start({"timerange": "-20240315"}) is None


def test_backtrader_when_alt_data_not_passed_then_error_names_series_and_param(short_1h):
    tree = make_tree(["fear_greed_index < 30"])

    with pytest.raises(TreeEvaluationError, match=r"fear_greed_index needs alt-data column "
                                                  r"'fear_greed_fng_value'.*pass altdata="):
        run_backtrader(tree, {"BTC/USDT": short_1h})


def test_backtrader_when_bars_finer_than_the_tree_timeframe_then_error_says_resample(short_1h):
    tree = make_tree(["close > 0"], timeframe="1d")

    with pytest.raises(TreeEvaluationError, match="two bars fall into one 1d candle.*resampledata"):
        run_backtrader(tree, {"BTC/USDT": short_1h})
