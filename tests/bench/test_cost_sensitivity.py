"""``bench/cost_sensitivity.py``: the analysis on hand-made figures, and the whole bench on the
shipped pairs (a compiled strategy tree, three weeks of real 1h candles)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO_ROOT, load_bench

bench = load_bench("cost_sensitivity")


def test_sqrt_exponent_when_impact_follows_square_root_then_one_half():
    stakes = [100.0, 1e4, 1e6]

    assert bench.sqrt_exponent(stakes, [0.1 * (s / 100) ** 0.5 for s in stakes]) == \
        pytest.approx(0.5)
    assert bench.sqrt_exponent([100.0], [0.1]) is None


@pytest.mark.parametrize(("profits", "stake", "text"), [
    ([0.004, 0.002, -0.002], 1e5 * 10 ** 0.5, "edge gone"),
    ([-0.001, -0.002, -0.004], None, "no edge"),
    ([0.004, 0.003, 0.001], None, "capacity above the sweep"),
])
def test_capacity_when_return_crosses_zero_then_log_interpolated_stake(profits, stake, text):
    found, why = bench.capacity([1e3, 1e5, 1e6], profits)

    assert found == (pytest.approx(stake) if stake else None)
    assert text in why


@pytest.mark.slow
def test_bench_when_run_on_shipped_pairs_then_table_sqrt_law_control_and_plot(
        tmp_path, candle_datadir, altdata_cache, capsys):
    out = tmp_path / "cost.json"

    status = bench.main(["--datadir", str(candle_datadir), "--pairs", "BTC/USDT", "ETH/USDT",
                         "--timerange", "20240210-20240302", "--strategy", "CryptoRegimeTrendV1",
                         "--strategy-path", str(REPO_ROOT / "strategies" / "compiled"),
                         "--no-freqai", "--altdata-cache", str(altdata_cache),
                         "--fixed-bps", "0", "25", "--stakes", "100", "1000000", "--out", str(out)])

    assert status == 0
    report = json.loads(out.read_text())
    settings = {r["run"]: r for r in report["settings"]}
    assert set(settings) == {"model", "fixed 0 bps", "fixed 25 bps"}
    assert settings["fixed 25 bps"]["cost_bps"] == pytest.approx(25)
    assert settings["fixed 0 bps"]["cost_bps"] == 0
    assert settings["fixed 0 bps"]["profit_total"] > settings["fixed 25 bps"]["profit_total"]
    assert 0 < settings["model"]["cost_bps"]
    small, large = report["sweep"]
    assert large["impact_bps"] > 30 * small["impact_bps"], "10 000x the stake, ~100x the impact"
    assert report["sqrt_exponent"] == pytest.approx(0.5, abs=0.02)
    assert all(r["control_buy_and_hold"] is not None for r in report["settings"] + report["sweep"])
    assert report["capacity"]
    printed = capsys.readouterr().out
    assert "stake sweep (the model)" in printed and "b&h return" in printed
    assert all(r["return_per_stake"] is not None for r in report["sweep"])
    assert out.with_suffix(".png").stat().st_size > 0
    assert out.with_suffix(".html").stat().st_size > 0
