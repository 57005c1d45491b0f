"""The schema and its I/O: the seed tree as written, JSON Schema, round trips, and errors that
always name a path and a fix."""

from __future__ import annotations

import copy
import datetime as dt
import json
from datetime import timedelta

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.strategy_tree.errors import TreeValidationError
from plugins.strategy_tree.grammar import Compare, Number, Series
from plugins.strategy_tree.io import dump_tree, dumps_tree, load_tree, loads_tree, tree_data
from plugins.strategy_tree.schema import (
    SCHEMA_VERSION,
    CalendarFilter,
    ConditionFilter,
    StrategyTree,
    json_schema,
)
from plugins.strategy_tree.validation import validate_tree
from tests.plugins.strategy_tree.trees import BASE, SEED_ARTICLE, SEED_TREE, tree_dict


def test_seed_file_when_compared_with_the_article_then_copied_verbatim():
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    start = article.index('strategy:\n  name: "BTC_fear_accumulation_v1"')
    end = article.index("\n", article.index("expiry: 30d", start)) + 1

    assert SEED_TREE.read_text(encoding="utf-8") == article[start:end]


def test_load_tree_when_seed_as_written_then_every_value_in_canonical_units():
    tree = load_tree(SEED_TREE)

    assert tree.schema_version == SCHEMA_VERSION and tree.name == "BTC_fear_accumulation_v1"
    assert tree.assets == ("BTC/USDT",) and tree.timeframe == "1d"
    assert [c.render() for c in tree.entry.conditions] == [
        "RSI(BTC, 1d) < 30", "exchange_netflow(BTC, 48h) < -3000", "fear_greed_index < 25"]
    assert tree.entry.logic == "ALL"
    assert (tree.position.type, tree.position.batches) == ("scaled_entry", 3)
    assert tree.position.size_per_batch == 0.033 and tree.position.max_total_exposure == 0.10
    assert tree.position.interval == timedelta(hours=4) and str(tree.position.interval) == "4h"
    stop = tree.risk.stop_loss
    assert (stop.type, stop.value, stop.reference) == ("percentage", 0.08, "average_entry_price")
    assert [(s.level, s.action) for s in tree.take_profit] == [(0.15, 0.5), (0.30, None)]
    blackout, dominance = tree.filters
    assert isinstance(blackout, CalendarFilter) and blackout.events == ("FOMC",)
    assert blackout.no_entry_within == timedelta(hours=24)
    assert isinstance(dominance, ConditionFilter)
    assert dominance.no_entry_if == Compare(Series("btc_dominance"), "<", Number(40, True))
    assert tree.expiry == timedelta(days=30)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dumps_tree_when_loaded_back_then_equal_tree(fmt, tmp_path):
    tree = load_tree(SEED_TREE)

    assert loads_tree(dumps_tree(tree, fmt), fmt) == tree
    assert load_tree(dump_tree(tree, tmp_path / f"tree.{fmt}")) == tree


def test_json_schema_when_exported_then_valid_draft_2020_and_accepts_canonical_trees():
    schema = json.loads(json.dumps(json_schema()))
    text = json.dumps(schema)

    jsonschema.Draft202012Validator.check_schema(schema)
    tree_props = schema["$defs"]["StrategyTree"]["properties"]
    for field in StrategyTree.model_fields:
        assert field in tree_props and f'"{field}"' in text
    jsonschema.validate(tree_data(load_tree(SEED_TREE)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"strategy": {**tree_data(load_tree(SEED_TREE))["strategy"],
                                          "timeframe": "7h"}}, schema)


def _deep_set(data: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DELETE = object()


@pytest.mark.parametrize("path, value, where, says", [
    (("name",), _DELETE, "strategy.name", "Field required"),
    (("position", "batches"), 0, "strategy.position.batches", "greater than or equal to 1"),
    (("position", "size_per_batch"), "5%", "strategy.position.size_per_batch",
     "3 batches x 5% = 15% exceeds max_total_exposure 10%"),
    (("entry", "conditions"), ["RSX(BTC, 1D) < 30"], "strategy.entry.conditions[0]",
     "unknown series 'RSX'"),
    (("timeframe",), "7h", "strategy.timeframe", "not a supported candle timeframe"),
    (("take_profit",), [{"level": "10%", "action": "close_60%"},
                        {"level": "20%", "action": "close_50%"}],
     "strategy.take_profit", "110% of the position in total, more than 100%"),
    (("entry", "conditions"), ["RSI(BTC, 1D) < "], "strategy.entry.conditions[0]",
     "expected a series, a number or a string"),
    (("entry", "conditions"), ["RSI(BTC, 1h) < 30"], "strategy.entry.conditions[0]", None),
    (("timeframe",), "1d", "strategy.entry.conditions[0]", None),  # fine: 1d on 1d
    (("timeframe",), "1w", "strategy.entry.conditions[0]",
     "uses 1d candles, which cannot be built from the tree's 1w candles"),
    (("risk", "stop_loss", "value"), 8, "strategy.risk.stop_loss.value",
     "800% must be above 0% and below 100% (a bare number is a fraction)"),
    (("risk", "stop_loss", "type"), "atr", "strategy.risk.stop_loss.value",
     "an ATR stop's value is a multiple of the ATR"),
    (("position", "surprise"), 1, "strategy.position.surprise", "Extra inputs are not permitted"),
    (("schema_version",), 2, "strategy.schema_version", "schema_version 2 is not supported"),
    (("assets",), ["BTC-USDT"], "strategy.assets[0]", "not a BASE/QUOTE pair"),
    (("position", "interval"), _DELETE, "strategy.position.interval", "3 batches need an interval"),
    (("position", "interval"), "4 hours", "strategy.position.interval", "is not a duration"),
    (("take_profit",), [{"level": "30%", "action": "close_remaining"},
                        {"level": "40%", "action": "close_10%"}],
     "strategy.take_profit[0].action", "no stage can follow it"),
    (("take_profit",), [{"level": "30%", "action": "close_half"}], "strategy.take_profit[0].action",
     "is not close_<N>% or close_remaining"),
    (("filters",), [{"no_entry_within": "24h_of_NFP"}], "strategy.filters[0].no_entry_within",
     "unknown event(s) NFP"),
    (("filters",), [{"no_entry_when": "x"}], "strategy.filters[0]", "a filter needs one of the keys"),
    (("filters",), [{"no_entry_if": "BTC_dominance < 40"}, {"only_if": "regime == 3"}],
     "strategy.filters[1].only_if", "a string compares only with the regime"),
    (("entry", "logic"), "MOST", "strategy.entry.logic", "Input should be 'ALL' or 'ANY'"),
    (("entry", "conditions"), [], "strategy.entry.conditions", "at least 1 item"),
    (("expiry",), 30, "strategy.expiry", "is not a duration"),
    (("name",), "a..b", "strategy.name", "repeated or trailing separator"),
    (("name",), "a-_b", "strategy.name", "repeated or trailing separator"),
    (("name",), "a_b-", "strategy.name", "repeated or trailing separator"),
    (("name",), "a-b.c_d", "strategy.name", None),  # fine: single separators
])
def test_validate_tree_when_invalid_then_error_names_path_message_and_fix(path, value, where, says):
    data = _deep_set(BASE, path, value)

    if says is None:  # a control: the same edit that is valid
        validate_tree({"strategy": data})
        return
    with pytest.raises(TreeValidationError) as info:
        validate_tree({"strategy": data})

    issue = next((i for i in info.value.issues if i.path == where), None)
    assert issue is not None, str(info.value)
    assert says in issue.message and issue.fix, str(issue)
    assert f"{where}: " in str(info.value) and f"({issue.fix})" in str(info.value)


@pytest.mark.parametrize("text, fmt, where", [
    ("strategy:\n  name: [unclosed\n", "yaml", "line 3"),
    ("strategy:\n  name: a\n  name: b\n", "yaml", "line 3"),
    ('{"strategy": {"name": 1,}}', "json", "line 1"),
    ('{"strategy": {"name": 1, "name": 2}}', "json", "document"),
    ("- just\n- a list\n", "yaml", "strategy"),
    ("strategy: 5\n", "yaml", "strategy"),
    ("", "yaml", "strategy"),
])
def test_loads_tree_when_not_a_tree_document_then_validation_error_with_location(text, fmt, where):
    with pytest.raises(TreeValidationError) as info:
        loads_tree(text, fmt)

    assert info.value.issues[0].path == where and info.value.issues[0].fix


def test_validate_tree_when_seed_shorthands_and_canonical_forms_then_same_tree():
    seed = load_tree(SEED_TREE)
    canonical = json.loads(json.dumps(tree_data(seed)))
    spelled_out = copy.deepcopy(canonical)
    spelled_out["strategy"]["position"]["size_per_batch"] = 0.033
    spelled_out["strategy"]["timeframe"] = "1D"
    spelled_out["strategy"]["entry"]["logic"] = "all"

    assert validate_tree(canonical) == seed == validate_tree(spelled_out)


# --------------------------------------------------------------- hypothesis: only our error
JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              st.dates(), st.datetimes(),
              st.sampled_from(["3.3%", "-1%", "1e999%", "4h", "1D", "7M", "0h", "99999999999d",
                               "close_50%", "close_remaining", "24h_of_FOMC", "RSI(BTC, 1D) < 30",
                               "nan", "ALL", "atr", "BTC/USDT", "((((", "regime in ['a']"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


SEED_DATA = yaml.safe_load(SEED_TREE.read_text(encoding="utf-8"))
VALID_DOCS = [SEED_DATA, {"strategy": tree_dict()},
              {"strategy": tree_dict(exit={"conditions": ["close crosses_below EMA(1d, 50)"],
                                           "logic": "ANY"},
                                     filters=[{"only_if": "regime in ['calm_bull']"}])}]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_validate_tree_when_randomly_mutated_then_valid_or_tree_validation_error(data):
    doc = copy.deepcopy(data.draw(st.sampled_from(VALID_DOCS)))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["delete", "replace", "condition", "add_key"]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if action == "delete":
            del parent[path[-1]]
        elif action == "condition":
            parent[path[-1]] = data.draw(st.text(max_size=40))
        elif action == "add_key" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(JUNK)
        else:
            parent[path[-1]] = data.draw(JUNK)
    try:
        tree = validate_tree(doc)
    except TreeValidationError as err:
        assert err.issues
        for issue in err.issues:
            assert issue.path.startswith("strategy") and issue.message and issue.fix
    else:
        assert validate_tree(tree_data(tree)) == tree


def test_validate_tree_when_yaml_gives_dates_then_validation_error_not_crash():
    doc = _deep_set(tree_dict(), ("expiry",), dt.date(2026, 1, 1))

    with pytest.raises(TreeValidationError, match=r"strategy\.expiry: duration"):
        validate_tree({"strategy": doc})
