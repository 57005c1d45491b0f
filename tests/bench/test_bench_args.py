"""Bad input to the benchmarks: one line naming the option and the fix, exit 2, no traceback
(``bench/_args.py``, used by every benchmark script), checked through the real scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from _args import (  # noqa: E402
    ArgumentProblem,
    check_dir,
    check_window,
    parse_timerange,
    validate_data_arguments,
)


def run_bench(script: str, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def assert_usage_error(done: subprocess.CompletedProcess, *says: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    for text in says:
        assert text in line, line


# ------------------------------------------------------------------------------ the helper
@pytest.mark.parametrize(("text", "says"), [
    ("20240301-20240101", "start 20240301 is not before end 20240101"),
    ("20240101-20240101", "the same day"),
    ("2024-01-01", "is not YYYYMMDD-YYYYMMDD"),
    ("20240101-", "needs both a start and an end"),
])
def test_parse_timerange_when_reversed_open_or_malformed_then_problem_naming_the_option(text, says):
    with pytest.raises(ArgumentProblem, match=says) as err:
        parse_timerange(text)
    assert str(err.value).startswith(f"--timerange {text}") or f"{text!r}" in str(err.value)


def test_parse_timerange_when_valid_then_utc_bounds_end_exclusive():
    assert parse_timerange("20240101-20240301") == (pd.Timestamp("2024-01-01", tz="UTC"),
                                                    pd.Timestamp("2024-03-01", tz="UTC"))


def test_check_window_when_not_a_date_then_problem_naming_the_option():
    with pytest.raises(ArgumentProblem, match="--start 'notadate' is not a date/time"):
        check_window("notadate", "2024-01-01")


def test_check_dir_when_the_default_is_missing_then_says_it_is_the_default_and_the_fix(tmp_path):
    missing = tmp_path / "altdata"
    with pytest.raises(ArgumentProblem) as err:
        check_dir(missing, "--altdata-cache", "run `make data`", default=missing)
    assert str(err.value) == (f"the default --altdata-cache {missing} is not a directory; run "
                              "`make data`, or pass --altdata-cache DIR")


def test_validate_data_arguments_when_pair_unknown_then_lists_the_pairs_there(candle_datadir):
    start, stop = parse_timerange("20240101-20240201")
    with pytest.raises(ArgumentProblem, match="--pairs NOPE/USDT: no 1h candles") as err:
        validate_data_arguments(candle_datadir, ["BTC/USDT", "NOPE/USDT"], start, stop, ["1h"])
    assert "BTC/USDT" in str(err.value) and "NOPE_USDT-1h.feather" in str(err.value)


def test_validate_data_arguments_when_window_after_the_data_then_says_where_it_ends(candle_datadir):
    start, stop = parse_timerange("20290101-20290201")
    with pytest.raises(ArgumentProblem, match="end .* before the end of the time range 2029-02-01"):
        validate_data_arguments(candle_datadir, ["BTC/USDT"], start, stop, ["1h"])


# ------------------------------------------------------------------------- through the scripts
BACKTEST_BENCHES = ["bench_altdata_overhead.py", "compiled_vs_handwritten.py"]


@pytest.mark.parametrize("script", BACKTEST_BENCHES)
def test_backtest_bench_when_pair_unknown_then_exit_2_naming_it(script, candle_datadir, altdata_cache):
    done = run_bench(script, "--datadir", str(candle_datadir), "--altdata-cache", str(altdata_cache),
                     "--pairs", "BTC/USDT", "NOPE/USDT", "--timerange", "20240101-20240201")
    assert_usage_error(done, "--pairs NOPE/USDT", "no 1h candles")


@pytest.mark.parametrize("script", BACKTEST_BENCHES)
def test_backtest_bench_when_timerange_reversed_then_exit_2_naming_it(script, candle_datadir):
    done = run_bench(script, "--datadir", str(candle_datadir), "--timerange", "20240301-20240101")
    assert_usage_error(done, "--timerange 20240301-20240101", "not before end")


@pytest.mark.parametrize("script", BACKTEST_BENCHES)
def test_backtest_bench_when_altdata_cache_missing_then_exit_2_naming_it(script, candle_datadir,
                                                                          tmp_path):
    done = run_bench(script, "--datadir", str(candle_datadir), "--altdata-cache",
                     str(tmp_path / "nowhere"), "--timerange", "20240101-20240201")
    assert_usage_error(done, f"--altdata-cache {tmp_path / 'nowhere'} is not a directory", "make data")


def test_replay_bench_when_default_datadir_missing_then_exit_2_saying_it_is_the_default(tmp_path):
    done = run_bench("bench_replay_exchange.py", cwd=tmp_path)  # its default is relative
    assert_usage_error(done, "the default --datadir", "make data")


def test_replay_bench_when_window_reversed_or_pair_unknown_then_exit_2(candle_datadir):
    reversed_ = run_bench("bench_replay_exchange.py", "--datadir", str(candle_datadir),
                          "--start", "2024-07-01", "--end", "2024-01-01")
    unknown = run_bench("bench_replay_exchange.py", "--datadir", str(candle_datadir),
                        "--pairs", "NOPE/USDT")
    assert_usage_error(reversed_, "--start 2024-07-01 00:00 is not before --end 2024-01-01 00:00")
    assert_usage_error(unknown, "--pairs NOPE/USDT", "no 1h candles")


def test_parity_bench_when_pair_unknown_or_cache_missing_then_exit_2(candle_datadir, altdata_cache,
                                                                     tmp_path):
    common = ["--datadir", str(candle_datadir), "--start", "2024-03-01", "--end", "2024-03-03",
              "--out", str(tmp_path / "p.json")]
    unknown = run_bench("dryrun_parity.py", *common, "--pairs", "NOPE/USDT", "--altdata-cache",
                        str(altdata_cache))
    no_cache = run_bench("dryrun_parity.py", *common, "--pairs", "BTC/USDT", "--altdata-cache",
                         str(tmp_path / "nowhere"))
    assert_usage_error(unknown, "--pairs NOPE/USDT", "no 1h candles")
    assert_usage_error(no_cache, "--altdata-cache", "is not a directory")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize(("args", "says"), [(["--analysts", "0"], "--analysts 0 must be"),
                                            (["--repeat", "-1"], "--repeat -1 must be"),
                                            (["--at", "notadate"], "--at 'notadate' is not")])
def test_council_bench_when_count_or_time_invalid_then_exit_2_naming_it(args, says):
    assert_usage_error(run_bench("council_latency.py", *args), says)


# ------------------------------------------------------------------ the checks, in process
@pytest.mark.parametrize(("text", "message"), [
    ("20240201-20240101", "start 20240201 is not before end 20240101"),
    ("2024-01", "is not YYYYMMDD-YYYYMMDD"),
    ("20240101-", "needs both a start and an end"),
])
def test_parse_timerange_when_bad_then_problem_names_the_argument(text, message):
    with pytest.raises(ArgumentProblem, match=message):
        parse_timerange(text)


def test_parse_timerange_when_closed_then_utc_start_and_exclusive_stop():
    start, stop = parse_timerange("20240301-20240315")

    assert start == pd.Timestamp("2024-03-01", tz="UTC")
    assert stop == pd.Timestamp("2024-03-15", tz="UTC")


def test_validate_data_arguments_when_pair_has_no_file_then_problem_names_pair_and_file(
        candle_datadir):
    start, stop = parse_timerange("20240301-20240315")

    with pytest.raises(ArgumentProblem, match=r"--pairs DOGE/USDT: no 1h candles .* "
                                                      r"DOGE_USDT-1h\.feather"):
        validate_data_arguments(candle_datadir, ["BTC/USDT", "DOGE/USDT"], start, stop,
                                        ["1h"], pd.Timedelta(days=30))


def test_validate_data_arguments_when_range_outside_the_data_then_problem_says_where_data_ends(
        candle_datadir):
    early = parse_timerange("20170101-20170201")
    late = parse_timerange("20240101-20300101")

    with pytest.raises(ArgumentProblem, match="ETH/USDT: 1h candles .* start"):
        validate_data_arguments(candle_datadir, ["ETH/USDT"], *early, ["1h"],
                                        pd.Timedelta(days=30))
    with pytest.raises(ArgumentProblem, match="end .* before the end of the time range"):
        validate_data_arguments(candle_datadir, ["ETH/USDT"], *late, ["1h"],
                                        pd.Timedelta(days=30))


def test_validate_data_arguments_when_covered_then_candles_of_the_first_timeframe(candle_datadir):
    start, stop = parse_timerange("20240301-20240315")

    candles = validate_data_arguments(candle_datadir, ["BTC/USDT", "ETH/USDT"], start,
                                              stop, ["1h", "4h"], pd.Timedelta(days=30))

    assert list(candles) == ["BTC/USDT", "ETH/USDT"]
    assert candles["BTC/USDT"]["date"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
