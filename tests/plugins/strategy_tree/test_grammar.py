"""The condition grammar: parsing into the typed AST, canonical rendering, and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.strategy_tree.errors import ConditionSyntaxError, RuleError
from plugins.strategy_tree.grammar import (
    And,
    Compare,
    Cross,
    InList,
    Not,
    Number,
    Or,
    Series,
    String,
    make_and,
    make_or,
    parse_condition,
)
from plugins.strategy_tree.registry import known_names
from plugins.strategy_tree.units import Duration


def test_parse_when_seed_conditions_then_typed_series_and_numbers():
    rsi = parse_condition("RSI(BTC, 1D) < 30")
    netflow = parse_condition("exchange_netflow(BTC, 48h) < -3000  ")
    fear = parse_condition("fear_greed_index < 25")
    dominance = parse_condition("BTC_dominance < 40%")

    assert rsi == Compare(Series("RSI", "BTC", "1d", None, (14,)), "<", Number(30))
    assert netflow == Compare(Series("exchange_netflow", "BTC", None, Duration("48h")), "<",
                              Number(-3000))
    assert fear == Compare(Series("fear_greed_index"), "<", Number(25))
    assert dominance == Compare(Series("btc_dominance"), "<", Number(40, percent=True))


def test_parse_when_period_argument_then_params_filled_and_defaults_left_out_of_render():
    ema = parse_condition("close crosses_above EMA(BTC, 1D, 200)")
    macd = parse_condition("MACD(BTC, 4h) > MACD_SIGNAL(BTC, 4h, 12, 26, 9)")

    assert ema == Cross(Series("close"), "above", Series("EMA", "BTC", "1d", None, (200,)))
    assert macd.right == Series("MACD_SIGNAL", "BTC", "4h", None, (12, 26, 9))
    assert macd.render() == "MACD(BTC, 4h) > MACD_SIGNAL(BTC, 4h)"


def test_parse_when_boolean_logic_then_precedence_not_and_or_and_flattening():
    node = parse_condition("RSI < 30 or rsi(1d) < 20 AND NOT adx > 40 and ADX > 10")

    assert isinstance(node, Or) and len(node.items) == 2
    right = node.items[1]
    assert isinstance(right, And) and len(right.items) == 3
    assert isinstance(right.items[1], Not)
    assert node.render() == "RSI < 30 OR (RSI(1d) < 20 AND NOT (ADX > 40) AND ADX > 10)"


def test_parse_when_regime_membership_then_in_list_of_strings():
    node = parse_condition("regime in ['calm_bull', \"calm_bear\"] AND regime != 'crash'")

    assert node == And((InList(Series("regime"), ("calm_bull", "calm_bear")),
                        Compare(Series("regime"), "!=", String("crash"))))


@pytest.mark.parametrize("text", [
    "RSI(BTC, 1D) < 30",
    "exchange_netflow(BTC, 48h) < -3000",
    "fear_greed_index(7d) >= 20.5",
    "close crosses_below BBANDS_LOWER(BTC, 4h, 20, 2.5)",
    "ROC(1d, 10) > 5% AND (dxy < 104 OR fred_dgs10 <= 4.25%)",
    "NOT (funding_rate(BTC) > 0.01%) AND hours_to_fomc > 24",
    'regime in ["calm_bull"] OR regime == "calm_bear"',
    "EMA(ETH/USDT, 1w, 21) < close(ETH/USDT, 1w)",
    "MOM(BTC, 1d) > 0 AND volume > 1e+20 AND ATR(BTC, 1d, 7) < 1e-07",
])
def test_render_when_parsed_then_reparse_is_identical(text):
    node = parse_condition(text)

    assert parse_condition(node.render()) == node
    assert parse_condition(node.render()).render() == node.render()


def test_parse_when_unknown_function_then_error_lists_the_known_ones():
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition("RSX(BTC, 1D) < 30")

    assert "unknown series 'RSX'" in info.value.message and info.value.position == 0
    assert "did you mean RSI?" in info.value.fix
    assert all(name in info.value.fix for name in known_names())


@pytest.mark.parametrize("text, expected", [
    ("RSI(BTC, 1D) <", "expected a series, a number or a string"),
    ("RSI(BTC, 1D) = 30", "unexpected '='"),
    ("RSI(BTC, 1D) < 30 40", "unexpected text after a complete condition"),
    ("(RSI(BTC) < 30", "expected ')'"),
    ("20 < RSI < 30", "comparisons cannot be chained"),
    ("3 < 4", "compares two constants"),
    ("RSI(BTC) < 30%", "not a percentage"),
    ("RSI < close", "compares RSI (index 0-100) with close (price)"),
    ("regime < 'bull'", "only compare with == or !="),
    ("close == 'bull'", "a string compares only with the regime"),
    ("EMA(BTC, 1D) > close", "EMA needs its period"),
    ("RSI(BTC, 1D, 14, 3) < 30", "takes at most 1 number"),
    ("RSI(BTC, 1D, 14.5) < 30", "must be a whole number"),
    ("RSI(BTC, 1D, 0) < 30", "must be between 2 and 100000"),
    ("RSI(BTC, 7h) < 30", "not a supported candle timeframe"),
    ("RSI(BTC, 1M) < 30", "ambiguous"),
    ("exchange_netflow(ETH, 48h) < 0", "no data for asset 'ETH'"),
    ("exchange_netflow(BTC, 36h) < 0", "not a whole number of its 1d observations"),
    ("exchange_netflow < 0", "needs an asset"),
    ("fear_greed_index(BTC) < 25", "takes no asset"),
    ("MACD(BTC, 1d, 26, 12) > 0", "fast period must be shorter"),
    ("__import__('os').system('true')", "unexpected '.'"),
    ("RSI('1') < 3", "expected an argument"),
    ("exec < 3", "unknown series 'exec'"),
    ("RSI(BTC, 1D) < 30; import os", "unexpected ';'"),
    ("regime in [bull]", "expected a quoted string"),
    ("(" * 40 + "RSI < 30" + ")" * 40, "nest deeper than 32 levels"),
])
def test_parse_when_malformed_then_condition_syntax_error_with_message_and_fix(text, expected):
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)

    assert expected in info.value.message, info.value.message
    assert info.value.fix and 0 <= info.value.position <= len(text)


@pytest.mark.parametrize("value", [None, 3, 2.5, True, ["RSI < 30"], {"a": 1}, "", "   ", "x" * 3000])
def test_parse_when_not_a_nonempty_string_then_rule_error(value):
    with pytest.raises(RuleError) as info:
        parse_condition(value)

    assert info.value.fix


# ------------------------------------------------------------------- generated round trips
ASSETS = st.sampled_from([None, "BTC", "ETH/USDT"])
TIMEFRAMES = st.sampled_from([None, "1h", "4h", "1d", "1w"])
FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)

numeric_series = st.one_of(
    st.builds(lambda a, tf, p: Series("RSI", a, tf, None, (p,)), ASSETS, TIMEFRAMES,
              st.integers(2, 500)),
    st.builds(lambda a, tf, p: Series("ADX", a, tf, None, (p,)), ASSETS, TIMEFRAMES,
              st.integers(2, 50)),
    st.builds(lambda w: Series("fear_greed_index", None, None, w, ()),
              st.sampled_from([None, Duration("7d"), Duration("2w")])),
)
price_series = st.one_of(
    st.builds(lambda a, tf, p: Series("EMA", a, tf, None, (p,)), ASSETS, TIMEFRAMES,
              st.integers(2, 400)),
    st.builds(lambda a, tf, p, d: Series("BBANDS_UPPER", a, tf, None, (p, d)), ASSETS, TIMEFRAMES,
              st.integers(2, 50), st.floats(0.01, 10, allow_nan=False)),
    st.builds(lambda a, tf, f, s: Series("MACD", a, tf, None, (f, s + f, 9)), ASSETS, TIMEFRAMES,
              st.integers(2, 50), st.integers(1, 50)),
    st.builds(lambda a, tf, c: Series(c, a, tf, None, ()), ASSETS, TIMEFRAMES,
              st.sampled_from(["open", "high", "low", "close"])),
)
percent_series = st.builds(lambda tf: Series("ROC", None, tf, None, (10,)), TIMEFRAMES)
OPS = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])

tests = st.one_of(
    st.builds(Compare, numeric_series, OPS, st.builds(Number, FINITE)),
    st.builds(Compare, st.builds(Number, FINITE), OPS, numeric_series),
    st.builds(Compare, price_series, OPS, price_series),
    st.builds(Compare, percent_series, OPS, st.builds(Number, FINITE, st.booleans())),
    st.builds(Cross, price_series, st.sampled_from(["above", "below"]), price_series),
    st.builds(Cross, numeric_series, st.sampled_from(["above", "below"]), st.builds(Number, FINITE)),
    st.builds(lambda values: InList(Series("regime"), tuple(values)),
              st.lists(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), min_size=1, max_size=3)),
    st.builds(lambda op, v: Compare(Series("regime"), op, String(v)), st.sampled_from(["==", "!="]),
              st.from_regex(r"[a-z_ ]{0,12}", fullmatch=True)),
)
conditions = st.recursive(tests, lambda inner: st.one_of(
    st.builds(Not, inner),
    st.lists(inner, min_size=2, max_size=3).map(make_and),
    st.lists(inner, min_size=2, max_size=3).map(make_or),
), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(conditions)
def test_render_when_any_valid_ast_then_parse_render_parse_is_identical(node):
    text = node.render()

    assert parse_condition(text) == node
    assert parse_condition(text).render() == text


TOKENS = ["RSI", "(", ")", "BTC", ",", "1D", "48h", "14", "<", "<=", "==", ">", "-3000", "30%",
          "AND", "OR", "NOT", "crosses_above", "in", "[", "]", '"bull"', "regime", "close",
          "exchange_netflow", "fear_greed_index", "EMA", "=", "1e5", ".", "%", "'", "M", " "]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join)))
def test_parse_when_random_text_then_only_rule_errors(text):
    try:
        node = parse_condition(text)
    except RuleError as err:
        assert err.fix
    else:
        assert parse_condition(node.render()) == node
