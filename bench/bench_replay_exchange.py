"""Benchmark: candles through the replay exchange (real ccxt client, HTTP) vs. from disk.

Prints, per pair, the time to fetch ``--limit`` candles with ``ccxt.binance.fetch_ohlcv``
from a replay exchange started in this process, and the baseline measured in the same run:
loading the same candles with Freqtrade's data handler (what ``freqtrade backtesting`` reads).
The ratio says what the offline exchange costs over reading files.

    python bench/bench_replay_exchange.py [--datadir DIR] [--pairs BTC/USDT ...]
        [--timeframe 1h] [--start 2024-01-01] [--end 2024-07-01] [--repeat 20]

Works on any data dir, pairs and time range; nothing is tuned to one window. A missing data
dir, a pair without candles of ``--timeframe``, a reversed window or a count below 1 ends it at
once with one line naming the option (exit 2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import ccxt
import pandas as pd
from freqtrade.configuration import TimeRange
from freqtrade.data.history.datahandlers.idatahandler import get_datahandlerclass
from freqtrade.enums import CandleType

from adapters.replay_exchange import ReplayExchangeConfig, serving

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from _args import (  # noqa: E402
    check_dir,
    check_positive,
    check_window,
    exit_on_problem,
    validate_data_arguments,
)

DEFAULT_DATADIR = Path("user_data/data/binance")


def _timed(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def _fetch_all(client: ccxt.binance, pair: str, timeframe: str, since_ms: int, end_ms: int,
               limit: int) -> list:
    """Paginate fetch_ohlcv from ``since_ms`` to ``end_ms`` like freqtrade's downloader."""
    rows, since = [], since_ms
    while since < end_ms:
        batch = client.fetch_ohlcv(pair, timeframe, since=since, limit=limit)
        batch = [r for r in batch if r[0] < end_ms]
        if not batch:
            break
        rows += batch
        since = batch[-1][0] + 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datadir", type=Path, default=DEFAULT_DATADIR)
    parser.add_argument("--pairs", nargs="+", default=["BTC/USDT", "ETH/USDT", "XRP/USDT"])
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--end", default="2024-07-01")
    parser.add_argument("--limit", type=int, default=1000, help="candles per request")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with exit_on_problem(parser.prog):
        check_dir(args.datadir, "--datadir", "run `make data` (fills user_data/data/binance)",
                  DEFAULT_DATADIR)
        start, end = check_window(args.start, args.end)
        check_positive(args.limit, "--limit", integer=True)
        check_positive(args.repeat, "--repeat", integer=True)
        validate_data_arguments(args.datadir, args.pairs, start, end, [args.timeframe])

    start_ms = int(start.timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000)
    handler = get_datahandlerclass("feather")(args.datadir)
    timerange = TimeRange("date", "date", start_ms // 1000, end_ms // 1000)
    with serving(ReplayExchangeConfig(datadir=args.datadir, port=0)) as server:
        url = server.api_url
        client = ccxt.binance({"urls": {"api": {"public": url, "private": url, "sapi": url}},
                               "options": {"fetchMarkets": {"types": ["spot"]}}})
        client.load_markets()
        print(f"{'pair':<10} {'candles':>8} {'replay ccxt [ms]':>17} {'disk [ms]':>10} {'ratio':>7}")
        ratios = []
        for pair in args.pairs:
            t_http, rows = _timed(lambda p=pair: _fetch_all(client, p, args.timeframe, start_ms,
                                                            end_ms, args.limit), args.repeat)
            t_disk, frame = _timed(lambda p=pair: handler.ohlcv_load(
                p, args.timeframe, CandleType.SPOT, timerange=timerange, fill_missing=False),
                args.repeat)
            frame = frame[frame["date"] < pd.Timestamp(end_ms, unit="ms", tz="UTC")]
            if len(rows) != len(frame):
                raise SystemExit(f"{pair}: {len(rows)} candles over HTTP, {len(frame)} on disk")
            ratios.append(t_http / t_disk)
            print(f"{pair:<10} {len(rows):>8} {t_http * 1000:>17.1f} {t_disk * 1000:>10.1f} "
                  f"{t_http / t_disk:>7.1f}x")
        print(f"median ratio replay/disk: {statistics.median(ratios):.1f}x "
              f"({args.timeframe}, {args.start} -> {args.end}, {args.limit} candles/request)")


if __name__ == "__main__":
    main()
