"""The deterministic briefing on real data: content, point-in-time, CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from plugins.core.errors import DataNotFoundError
from plugins.llm.__main__ import main
from plugins.llm.briefing import build_briefing, render_markdown
from tests.plugins.llm.cases import AT, GOLDEN_BRIEF, PAIR, RECORD_COMMAND


def test_briefing_when_built_then_every_seed_line_present_and_values_point_in_time(briefing):
    text = render_markdown(briefing)

    for label in ("BTC: $", "24h), RSI(1h):", "RSI(4h):", "RSI(1d):", "Exchange netflow (BTC):",
                  "Fear & Greed:", "DXY:", "US10Y:", "Next macro event: FOMC", "Regime (rules, 1h):"):
        assert label in text
    assert briefing.price == 67757.76  # close of the 11:00 candle, the last closed by 12:00
    for day in (briefing.netflow_as_of, briefing.fear_greed_as_of, briefing.dxy_as_of, briefing.us10y_as_of):
        assert pd.Timestamp(day, tz="UTC") <= pd.Timestamp(AT)
    assert briefing.netflow_as_of == "2024-03-14", "coinmetrics publishes D at D+1 06:00"
    assert briefing.next_event.kind == "FOMC"
    assert briefing.next_event.at.isoformat().startswith("2024-03-20T18")
    assert briefing.notes == ()


def test_briefing_when_future_candles_removed_then_identical(candle_datadir, altdata_cache, tmp_path,
                                                             briefing):
    cut = tmp_path / "binance"
    cut.mkdir()
    for tf in ("1h", "4h", "1d"):
        frame = pd.read_feather(candle_datadir / f"BTC_USDT-{tf}.feather")
        past = frame[frame["date"] < pd.Timestamp(AT)].reset_index(drop=True)
        past.to_feather(cut / f"BTC_USDT-{tf}.feather")

    again = build_briefing(cut, altdata_cache, PAIR, AT)

    assert again == briefing


def test_briefing_matches_the_shipped_golden_file(briefing):
    assert render_markdown(briefing) == GOLDEN_BRIEF.read_text(), f"re-record: {RECORD_COMMAND}"


def test_briefing_when_no_candle_before_at_then_data_not_found(candle_datadir, altdata_cache):
    with pytest.raises(DataNotFoundError, match="pick a later --at"):
        build_briefing(candle_datadir, altdata_cache, PAIR, pd.Timestamp("2010-01-01", tz="UTC"))


def test_brief_cli_when_run_twice_then_same_markdown(candle_datadir, altdata_cache, tmp_path, capsys):
    args = ["brief", "--datadir", str(candle_datadir), "--altdata-dir", str(altdata_cache), "--at",
            "2024-03-15T12:00:00Z"]

    assert main([*args, "--out", str(tmp_path / "b.md")]) == 0
    first = capsys.readouterr().out
    assert main(args) == 0

    assert capsys.readouterr().out == first == (tmp_path / "b.md").read_text()
    assert main(["brief", "--datadir", str(tmp_path / "nothing"), "--altdata-dir", str(altdata_cache)]) == 1


def test_briefing_when_alt_data_cache_empty_then_notes_say_what_is_missing(candle_datadir, tmp_path):
    empty = tmp_path / "altdata"
    empty.mkdir()

    result = build_briefing(candle_datadir, empty, PAIR, AT)

    assert result.fear_greed is None and result.next_event is None
    assert any("no fear_greed data" in n for n in result.notes)
    assert any("no macro calendar" in n for n in result.notes)
