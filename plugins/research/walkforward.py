"""Walk-forward optimization: optimize in sample, apply out of sample, roll, stitch.

    python -m plugins.research walkforward --strategy FreqaiBaseline --datadir DIR \\
        --pairs BTC/USDT ETH/USDT --timerange 20240101-20240701 \\
        --in-sample-days 60 --out-of-sample-days 14 [--step-days 14] \\
        [--optimizer hyperopt --epochs 100 --spaces buy sell --hyperopt-loss SharpeHyperOptLossDaily]
        [--optimizer sweep --space config/sweeps/moe.yaml --trials 30]
        [--top-k 3] [-c CONFIG ...] [--workers N] [--address ...] [--out DIR]

**Windows** (:func:`make_windows`): from the range start, in-sample window ``i`` is
``[start + i*step, + in_sample_days)`` and its out-of-sample window the next
``out_of_sample_days``; windows are made while the out-of-sample end stays within the range.
Out-of-sample windows never overlap their own in-sample window, nor each other (``step`` >=
the out-of-sample length is required), so stitching them never counts a day twice.

**Optimization per window.** ``hyperopt``: ``freqtrade hyperopt`` of the strategy's
hyperoptable parameters on the in-sample range (``--epochs``, ``--spaces``, ``--hyperopt-loss``,
``--random-state`` = ``--seed`` + window), in its own user-data folder; FreqAI strategies train
their walk-forward models inside the in-sample range as in any hyperopt. ``sweep``: a sweep
(:mod:`plugins.research.sweep`) of ``--space`` on the in-sample range (FreqAI, ``ai_suite`` or
strategy settings; ``--trials`` per window; its study is kept under the window's folder).
The ``--top-k`` best in-sample candidates (by hyperopt loss, or the space's first objective)
are then each backtested on the out-of-sample range with their parameters applied
(a trial of :func:`plugins.research.trial.run_trial`: isolated, scored with the same
statistics). Rank 1 is the walk-forward's choice.

**Report** (``walkforward.json``, ``evidence.json``, ``equity.csv`` under ``--out``; a table
printed): per window the dates, rank 1's parameters, in-sample and out-of-sample Sharpe, the
out-of-sample return, drawdown and trades; the stitched out-of-sample equity of rank 1 (daily
returns of the windows in time order, non-compounded: balance = start x (1 + cumulative sum))
with its Sharpe, PSR, drawdown and profit beside buy-and-hold over the same days; parameter
stability across windows (numeric: mean, std, coefficient of variation; categorical: the
most chosen value and its share); the in-sample vs out-of-sample Sharpe decay
(1 - mean OOS / mean IS); and the survival analysis (:mod:`plugins.research.survival`) of the
variants x windows matrix, where the variants are the in-sample ranks 1..k and the values
their out-of-sample returns. The evidence file holds the k rank rows with their stitched
daily returns and that matrix (``n_trials`` = k: the out-of-sample series compared; each
window's in-sample search is already out of the figures).

Runs on Ray like the sweep (all windows' in-sample searches at once for ``hyperopt``, then all
out-of-sample runs). A rerun with the same ``--out`` reuses every step whose result is there.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plugins.core.clock import Clock
from plugins.research import evaluation, stats
from plugins.research.export import WALKFORWARD_SUMMARY, evidence_from_results, write_evidence
from plugins.research.scoring import parse_timerange
from plugins.research.space import REPO, deep_merge, split_params
from plugins.research.trial import (
    TrialSpec,
    _tail,
    freqtrade_command,
    pack_data,
    run_command,
    run_trial,
    trial_config,
)

logger = logging.getLogger(__name__)


class WalkForwardError(ValueError):
    """Bad walk-forward input (the message names the option and the fix; exit 2)."""


@dataclass(frozen=True)
class Window:
    """One walk-forward step: in-sample ``[is_start, is_end)`` then out-of-sample
    ``[oos_start, oos_end)`` (UTC midnights, ends exclusive, ``oos_start == is_end``)."""

    index: int
    is_start: pd.Timestamp
    is_end: pd.Timestamp
    oos_start: pd.Timestamp
    oos_end: pd.Timestamp

    @property
    def name(self) -> str:
        return f"{self.oos_start:%Y-%m-%d}/{self.oos_end - pd.Timedelta(days=1):%Y-%m-%d}"

    def timerange(self, sample: str) -> str:
        a, b = (self.is_start, self.is_end) if sample == "is" else (self.oos_start, self.oos_end)
        return f"{a:%Y%m%d}-{b:%Y%m%d}"

    def to_dict(self) -> dict[str, str]:
        return {"window": self.index, "in_sample": self.timerange("is"),
                "out_of_sample": self.timerange("oos")}


def make_windows(start: pd.Timestamp, stop: pd.Timestamp, in_sample_days: int,
                 out_of_sample_days: int, step_days: int) -> list[Window]:
    """The rolling windows (module docstring).

    Raises:
        WalkForwardError: a length below 1 day, a step shorter than the out-of-sample window
            (stitched windows would overlap), or a range too short for one window.
    """
    if in_sample_days < 1 or out_of_sample_days < 1:
        raise WalkForwardError("--in-sample-days and --out-of-sample-days must be >= 1")
    if step_days < out_of_sample_days:
        raise WalkForwardError(f"--step-days {step_days} is shorter than --out-of-sample-days "
                               f"{out_of_sample_days}: out-of-sample windows would overlap")
    windows = []
    day = pd.Timedelta(days=1)
    first = start.floor("D")
    while True:
        is_start = first + len(windows) * step_days * day
        is_end = is_start + in_sample_days * day
        oos_end = is_end + out_of_sample_days * day
        if oos_end > stop:
            break
        windows.append(Window(len(windows), is_start, is_end, is_end, oos_end))
    if not windows:
        raise WalkForwardError(f"--timerange is shorter than one window ({in_sample_days} + "
                               f"{out_of_sample_days} days)")
    return windows


@dataclass(frozen=True)
class WalkForwardOptions:
    """The command line of a walk-forward run (module docstring)."""

    datadir: Path
    pairs: list[str]
    timerange: str
    in_sample_days: int
    out_of_sample_days: int
    step_days: int | None = None
    strategy: str | None = None
    configs: list[Path] = field(default_factory=list)
    optimizer: str = "hyperopt"
    epochs: int = 50
    spaces: list[str] = field(default_factory=lambda: ["buy", "sell"])
    hyperopt_loss: str = "SharpeHyperOptLossDaily"
    min_trades: int = 1
    freqaimodel: str | None = None
    space_file: Path | None = None
    trials: int = 20
    top_k: int = 3
    seed: int = 42
    timeout_s: float = 3600
    workers: int | None = None
    address: str | None = None
    data_mode: str = "auto"
    exchange: str = "replay"
    cpus_per_trial: float = 1.0
    out: Path = Path("user_data/walkforward")


def options_from_args(args) -> WalkForwardOptions:
    """:class:`WalkForwardOptions` from the CLI's namespace."""
    return WalkForwardOptions(
        datadir=args.datadir, pairs=args.pairs, timerange=args.timerange,
        in_sample_days=args.in_sample_days, out_of_sample_days=args.out_of_sample_days,
        step_days=args.step_days, strategy=args.strategy, configs=args.config,
        optimizer=args.optimizer, epochs=args.epochs, spaces=args.spaces,
        hyperopt_loss=args.hyperopt_loss, min_trades=args.min_trades,
        freqaimodel=args.freqaimodel, space_file=args.space, trials=args.trials,
        top_k=args.top_k, seed=args.seed, timeout_s=args.timeout, workers=args.workers,
        address=args.address, data_mode=args.data_mode, exchange=args.exchange,
        cpus_per_trial=args.cpus_per_trial, out=args.out)


def _base_config(options: WalkForwardOptions) -> dict:
    files = options.configs or [REPO / "config/base.json"]
    merged: dict = {}
    for path in files:
        try:
            merged = deep_merge(merged, json.loads(Path(path).read_text()))
        except OSError as err:
            raise WalkForwardError(f"-c {path}: cannot read it ({err.strerror or err})") from err
        except json.JSONDecodeError as err:
            raise WalkForwardError(f"-c {path}: not JSON ({err.msg})") from err
    return merged


def check_options(options: WalkForwardOptions) -> tuple[list[Window], dict]:
    """Validate before anything runs; returns (windows, merged base config).

    Raises:
        WalkForwardError: naming the option.
    """
    try:
        start, stop = parse_timerange(options.timerange)
    except ValueError as err:
        raise WalkForwardError(str(err)) from err
    windows = make_windows(start, stop, options.in_sample_days, options.out_of_sample_days,
                           options.step_days or options.out_of_sample_days)
    if options.top_k < 1:
        raise WalkForwardError(f"--top-k {options.top_k}: must be >= 1")
    if options.optimizer == "hyperopt" and options.epochs < options.top_k:
        raise WalkForwardError(f"--epochs {options.epochs} is below --top-k {options.top_k}")
    if options.optimizer == "sweep":
        if options.space_file is None:
            raise WalkForwardError("--optimizer sweep needs --space FILE")
        from plugins.research.space import load_space

        load_space(options.space_file)           # SpaceError names the bad key
    if not options.datadir.is_dir():
        raise WalkForwardError(f"--datadir {options.datadir}: no such folder")
    base = _base_config(options)
    timeframe, fmt = base.get("timeframe", "1h"), base.get("dataformat_ohlcv", "feather")
    for pair in options.pairs:
        name = f"{pair.replace('/', '_')}-{timeframe}.{fmt}"
        if not (options.datadir / name).is_file():
            raise WalkForwardError(f"--pairs {pair}: no {timeframe} candles in {options.datadir} "
                                   f"(expected {name})")
    if options.optimizer == "hyperopt" and not (options.strategy or base.get("strategy")):
        raise WalkForwardError("--strategy is needed (the configs name none)")
    return windows, base


# --------------------------------------------------------------------------- in sample


def _spec(options: WalkForwardOptions, base: dict, trial_id: str, number: int, timerange: str,
          work_root: str, repo: str | None, datadir: str | None, **extra: Any) -> TrialSpec:
    return TrialSpec(trial_id=trial_id, number=number, study="wf", base_config=base,
                     strategy=options.strategy or base.get("strategy"),
                     freqaimodel=options.freqaimodel, overlay={}, strategy_params={},
                     param_spaces={}, pairs=list(options.pairs), timerange=timerange,
                     timeout_s=options.timeout_s, datadir=datadir, work_root=work_root,
                     repo=repo, exchange=options.exchange, window_days=10_000, **extra)


def _is_returns(metrics: dict, window: Window) -> list[float]:
    """In-sample daily returns of a hyperopt epoch from Freqtrade's ``daily_profit`` (profit
    of the trades closed each UTC day / starting balance; 0 on days without a close)."""
    balance = float(metrics.get("starting_balance") or 0) or 1.0
    by_day = {str(d): float(v) for d, v in metrics.get("daily_profit") or []}
    days = pd.date_range(window.is_start, window.is_end - pd.Timedelta(days=1), freq="D")
    return [by_day.get(f"{d:%Y-%m-%d}", 0.0) / balance for d in days]


def run_hyperopt(spec: TrialSpec, window: dict, epochs: int, spaces: list[str], loss: str,
                 min_trades: int, seed: int, top_k: int, data_blob: bytes | None = None) -> dict:
    """``freqtrade hyperopt`` on one window's in-sample range (a Ray task); never raises for
    the run's failure. Returns ``state``, ``candidates`` (the ``top_k`` best distinct epochs:
    ``params`` (Freqtrade's ``params_dict``), ``param_file`` (``params_details`` merged with
    ``params_not_optimized``, the strategy's parameter-file block), ``loss``,
    ``is_returns``, ``is_sharpe``, ``is_trades``), ``epochs`` run, ``log_tail`` on failure."""
    from freqtrade.misc import deep_merge_dicts

    from plugins.research.trial import unpack_data

    w = Window(window["index"], *(pd.Timestamp(window[k]) for k in
                                  ("is_start", "is_end", "oos_start", "oos_end")))
    root = Path(spec.repo) if spec.repo else Path.cwd()
    folder = Path(spec.work_root) / spec.trial_id
    result: dict[str, Any] = {"trial_id": spec.trial_id, "state": "failed", "folder": str(folder)}
    try:
        if folder.exists():
            shutil.rmtree(folder)
        user_data = folder / "user_data"
        for sub in ("models", "backtest_results", "logs", "hyperopt_results"):
            (user_data / sub).mkdir(parents=True)
        altdata = None
        if data_blob is not None:
            datadir, altdata = unpack_data(data_blob, folder / "data")
            altdata = altdata if altdata.is_dir() else None
        else:
            datadir = Path(spec.datadir)
        config = trial_config(spec, root, user_data, None, altdata)
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        extra = ["--strategy", spec.strategy, "--epochs", str(epochs), "--spaces", *spaces,
                 "--hyperopt-loss", loss, "--min-trades", str(min_trades), "-j", "1",
                 "--random-state", str(seed), "--disable-param-export", "--print-json"]
        cmd = freqtrade_command(folder / "config.json", folder / "exchange.json", datadir, spec,
                                user_data / "backtest_results", folder / "freqtrade.log",
                                subcommand="hyperopt", extra=extra)
        status, timed_out = run_command(cmd, root, folder / "freqtrade.out", spec.timeout_s)
        files = sorted((user_data / "hyperopt_results").glob("*.fthypt"))
        if timed_out or status != 0 or not files:
            result.update(reason="timeout" if timed_out else f"exit status {status}",
                          log_tail=_tail(folder / "freqtrade.log") or _tail(folder / "freqtrade.out"))
            return result
        epochs_run = [json.loads(line) for line in files[-1].read_text().splitlines() if line]
        seen, candidates = set(), []
        for epoch in sorted(epochs_run, key=lambda e: e["loss"]):
            key = json.dumps(epoch["params_dict"], sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            metrics = epoch.get("results_metrics") or {}
            returns = _is_returns(metrics, w)
            candidates.append({
                "params": epoch["params_dict"], "loss": epoch["loss"],
                "param_file": deep_merge_dicts(epoch.get("params_details") or {},
                                               epoch.get("params_not_optimized") or {}),
                "is_returns": returns,
                "is_sharpe": _finite(stats.annualized_sharpe(returns)),
                "is_trades": metrics.get("total_trades")})
            if len(candidates) == top_k:
                break
        result.update(state="complete", candidates=candidates, epochs=len(epochs_run))
        shutil.rmtree(user_data / "models", ignore_errors=True)
    except Exception as err:  # noqa: BLE001 - a window's failure is data
        logger.exception("in-sample hyperopt %s failed", spec.trial_id)
        result.update(reason="error", detail=f"{type(err).__name__}: {err}")
    return result


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _sweep_candidates(options: WalkForwardOptions, window: Window, out: Path,
                      clock: Clock) -> dict:
    """In-sample sweep of one window; its top-k complete trials as candidates."""
    from plugins.research.space import load_space
    from plugins.research.sweep import SweepOptions, run_sweep

    folder = out / f"w-{window.index:02d}" / "sweep"
    status = run_sweep(SweepOptions(
        space_file=options.space_file, trials=options.trials, datadir=options.datadir,
        pairs=list(options.pairs), timerange=window.timerange("is"), out=folder,
        workers=options.workers, address=options.address, study_name=f"wf-{window.index:02d}",
        data_mode=options.data_mode, exchange=options.exchange,
        cpus_per_trial=options.cpus_per_trial), clock)
    if status != 0:
        return {"state": "failed", "reason": f"sweep exit status {status}"}
    space = load_space(options.space_file)
    objective = space.objectives[0]
    summary = json.loads((folder / "sweep.json").read_text())
    rows = [t for t in summary["trials"] if t["outcome"] == "complete"
            and t["metrics"].get(objective.metric) is not None]
    rows.sort(key=lambda t: t["metrics"][objective.metric],
              reverse=objective.direction == "maximize")
    candidates = []
    for t in rows[:options.top_k]:
        result = json.loads((folder / t["result"]).read_text())
        candidates.append({"params": t["params"], "loss": None,
                           "is_returns": result.get("daily_returns"),
                           "is_sharpe": t["metrics"].get("sharpe_daily"),
                           "is_trades": t["metrics"].get("trades")})
    return {"state": "complete", "candidates": candidates, "epochs": len(summary["trials"])}


# --------------------------------------------------------------------------- report


def parameter_stability(chosen: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stability of rank 1's parameters across windows: numeric ``mean``, ``std`` (ddof 1),
    ``cv`` (std / |mean|), ``min``, ``max``; other values ``mode`` and ``mode_share``."""
    out: dict[str, dict[str, Any]] = {}
    names = sorted({k for params in chosen for k in params})
    for name in names:
        values = [p[name] for p in chosen if name in p]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            arr = np.asarray(values, dtype=float)
            std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
            mean = float(arr.mean())
            out[name] = {"mean": mean, "std": std, "cv": std / abs(mean) if mean else None,
                         "min": float(arr.min()), "max": float(arr.max()), "windows": len(values)}
        else:
            mode, count = Counter(json.dumps(v) for v in values).most_common(1)[0]
            out[name] = {"mode": json.loads(mode), "mode_share": count / len(values),
                         "windows": len(values)}
    return out


def stitch(rows: list[dict | None], windows: list[Window]) -> pd.Series:
    """Rank 1's out-of-sample daily returns of every window, in time order (a failed
    window's days are 0: no position)."""
    parts = []
    for window, row in zip(windows, rows, strict=True):
        days = pd.date_range(window.oos_start, window.oos_end - pd.Timedelta(days=1), freq="D")
        values = dict(zip(row.get("days", []), row.get("daily_returns", []), strict=True)) if row else {}
        parts.append(pd.Series([values.get(f"{d:%Y-%m-%d}", 0.0) for d in days], index=days))
    return pd.concat(parts)


def _table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"walk-forward {report['strategy']}: {' '.join(report['pairs'])} "
                        f"(in sample {report['in_sample_days']} d, out of sample "
                        f"{report['out_of_sample_days']} d, {report['optimizer']})")
    for h in ("window", "in sample", "out of sample", "IS Sharpe", "OOS Sharpe", "OOS return",
              "OOS max DD", "OOS trades", "rank-1 params"):
        table.add_column(h, justify="left" if h in ("window", "rank-1 params") else "right")

    def f(v, pct=False):
        return "n/a" if v is None else (f"{v:.2%}" if pct else f"{v:+.2f}")

    for w in report["windows"]:
        table.add_row(str(w["window"]), w["in_sample"], w["out_of_sample"], f(w["is_sharpe"]),
                      f(w["oos_sharpe"]), f(w["oos_return"], True), f(w["oos_max_drawdown"], True),
                      "n/a" if w["oos_trades"] is None else str(w["oos_trades"]),
                      ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in (w["params"] or {}).items())
                      if w["params"] is not None else str(w.get("reason")))
    Console(width=200).print(table)
    s, c, d = report["stitched"], report["controls"].get("buy_and_hold") or {}, report["decay"]
    print(f"stitched out of sample ({s['days']} days): Sharpe {f(s['sharpe_daily'])}, PSR "
          f"{f(s['psr'], True)}, profit {f(s['profit_total'], True)}, max DD "
          f"{f(s['max_drawdown'], True)}, trades {s['trades']}; buy-and-hold: Sharpe "
          f"{f(c.get('sharpe_daily'))}, profit {f(c.get('profit_total'), True)}, max DD "
          f"{f(c.get('max_drawdown'), True)}")
    print(f"in-sample vs out-of-sample Sharpe: {f(d['is_sharpe_mean'])} -> "
          f"{f(d['oos_sharpe_mean'])} (decay {f(d['decay'], True)})")
    for name, st in report["parameter_stability"].items():
        print(f"  {name}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in st.items()))
    surv = report.get("survival") or {}
    if surv:
        print(f"survival (ranks 1..{report['top_k']} x {len(report['windows'])} windows): rate "
              f"{f(surv.get('survival_rate'), True)}, tiers {surv.get('tier_counts')}")


def run_walkforward(options: WalkForwardOptions, clock: Clock) -> int:
    """Run (or resume) a walk-forward optimization (module docstring); exit status 0.

    Raises:
        WalkForwardError: bad input (before anything runs).
    """
    import ray

    windows, base = check_options(options)
    if options.optimizer == "sweep":
        # out of sample exactly as in sample: the space's configs, overrides and classes
        from plugins.research.space import load_space, merged_base

        space = load_space(options.space_file)
        base = merged_base(space)
        options = replace(options, strategy=space.strategy,
                          freqaimodel=options.freqaimodel or space.freqaimodel)
    strategy = options.strategy or base.get("strategy")
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    remote = bool(options.address)
    ship = options.data_mode == "ship" or (options.data_mode == "auto" and remote)
    work_root = str(Path("/tmp/ft-walkforward") if remote else out)
    repo = None if remote else str(REPO)
    in_sample: dict[int, dict] = {}
    for w in windows:
        path = out / f"w-{w.index:02d}" / "in_sample.json"
        if path.is_file():
            in_sample[w.index] = json.loads(path.read_text())

    def ray_start() -> tuple[Any, Any]:
        from plugins.research.sweep import SweepOptions, _ray_init

        _ray_init(SweepOptions(space_file=Path("."), trials=1, datadir=options.datadir,
                               pairs=list(options.pairs), timerange=options.timerange,
                               workers=options.workers, address=options.address,
                               cpus_per_trial=options.cpus_per_trial))
        blob = None
        if ship:
            cache = ((base.get("ai_suite") or {}).get("altdata") or {}).get("cache_dir")
            blob = ray.put(pack_data(options.datadir.resolve(), list(options.pairs),
                                     (REPO / cache) if cache else None))
        return blob, ray.remote(num_cpus=options.cpus_per_trial, max_retries=1)

    datadir = None if ship else str(options.datadir.resolve())
    todo = [w for w in windows if w.index not in in_sample]
    if options.optimizer == "sweep":
        for w in todo:
            in_sample[w.index] = _sweep_candidates(options, w, out, clock)
            _save(out, w, "in_sample.json", in_sample[w.index])
    blob, remote_fn = ray_start()
    try:
        if options.optimizer == "hyperopt" and todo:
            task = remote_fn(run_hyperopt)
            refs = {task.remote(_spec(options, base, f"w-{w.index:02d}-is", w.index,
                                      w.timerange("is"), work_root, repo, datadir),
                                {"index": w.index, "is_start": str(w.is_start),
                                 "is_end": str(w.is_end), "oos_start": str(w.oos_start),
                                 "oos_end": str(w.oos_end)},
                                options.epochs, options.spaces, options.hyperopt_loss,
                                options.min_trades, options.seed + w.index, options.top_k,
                                blob): w for w in todo}
            for ref, w in refs.items():
                in_sample[w.index] = _get(ref)
                _save(out, w, "in_sample.json", in_sample[w.index])
                print(f"[walkforward] window {w.index} in sample {w.timerange('is')}: "
                      f"{in_sample[w.index]['state']}, "
                      f"{len(in_sample[w.index].get('candidates', []))} candidates", flush=True)
        oos: dict[tuple[int, int], dict] = {}
        task = remote_fn(run_trial)
        refs = {}
        for w in windows:
            for rank, cand in enumerate(in_sample[w.index].get("candidates", []), start=1):
                path = out / f"w-{w.index:02d}" / f"oos-r{rank}.json"
                if path.is_file():
                    oos[(w.index, rank)] = json.loads(path.read_text())
                    continue
                spec = _spec(options, base, f"w-{w.index:02d}-oos-r{rank}", w.index,
                             w.timerange("oos"), work_root, repo, datadir)
                if "param_file" in cand:
                    spec = replace(spec, param_file=cand["param_file"])
                else:
                    overlay, strategy_params = split_params(cand["params"])
                    spec = replace(spec, overlay=overlay, strategy_params=strategy_params,
                                   param_spaces=_spaces_of(options, base, strategy_params))
                refs[task.remote(spec, blob)] = (w, rank)
        for ref, (w, rank) in refs.items():
            oos[(w.index, rank)] = _get(ref)
            _save(out, w, f"oos-r{rank}.json", oos[(w.index, rank)])
            print(f"[walkforward] window {w.index} rank {rank} out of sample "
                  f"{w.timerange('oos')}: {oos[(w.index, rank)]['state']}", flush=True)
    finally:
        ray.shutdown()
    report = build_report(options, strategy, base, windows, in_sample, oos, clock)
    (out / WALKFORWARD_SUMMARY).write_text(json.dumps(report, indent=2, default=str))
    write_evidence(report["evidence"], out / "evidence.json")
    _table(report)
    print(f"written: {out / WALKFORWARD_SUMMARY}, {out / 'evidence.json'}, {out / 'equity.csv'}")
    return 0


def _spaces_of(options, base, strategy_params) -> dict[str, str]:
    if not strategy_params:
        return {}
    from plugins.research.space import strategy_parameters

    path = Path(base.get("strategy_path") or "strategies")
    return strategy_parameters(options.strategy or base.get("strategy"),
                               path if path.is_absolute() else REPO / path)


def _get(ref) -> dict:
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        return {"state": "failed", "reason": "worker lost", "detail": str(err)[-2000:]}


def _save(out: Path, window: Window, name: str, data: dict) -> None:
    folder = out / f"w-{window.index:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data, indent=2, default=str))


def build_report(options: WalkForwardOptions, strategy: str, base: dict, windows: list[Window],
                 in_sample: dict[int, dict], oos: dict[tuple[int, int], dict],
                 clock: Clock) -> dict[str, Any]:
    """The report dict (module docstring), with ``evidence`` and the stitched equity written
    to ``equity.csv``."""
    from plugins.research.config import ResearchConfig
    from plugins.research.controls import buy_and_hold_balance
    from plugins.research.scoring import load_closes
    from plugins.research.survival import survival_analysis

    k = options.top_k
    per_window, rank_rows = [], {r: [] for r in range(1, k + 1)}
    for w in windows:
        cands = in_sample[w.index].get("candidates", [])
        first = oos.get((w.index, 1))
        metrics = (first or {}).get("metrics") or {}
        per_window.append({
            **w.to_dict(), "params": cands[0]["params"] if cands else None,
            "reason": in_sample[w.index].get("reason"),
            "is_sharpe": cands[0]["is_sharpe"] if cands else None,
            "is_trades": cands[0].get("is_trades") if cands else None,
            "oos_state": (first or {}).get("state"),
            "oos_sharpe": metrics.get("sharpe_daily"), "oos_return": metrics.get("profit_total"),
            "oos_max_drawdown": metrics.get("max_drawdown"), "oos_trades": metrics.get("trades"),
            "candidates": len(cands), "search_size": in_sample[w.index].get("epochs")})
        for r in range(1, k + 1):
            row = oos.get((w.index, r))
            rank_rows[r].append(row if row and row.get("state") == "complete" else None)
    stitched = stitch(rank_rows[1], windows)
    balance0 = float(base.get("dry_run_wallet") or 10000)
    equity = balance0 * (1 + stitched.cumsum())
    equity.rename("balance").to_frame().assign(daily_return=stitched).to_csv(
        options.out.resolve() / "equity.csv", index_label="date")
    head = pd.Series([balance0], index=[stitched.index[0] - pd.Timedelta(days=1)])
    figures = stats.balance_figures(pd.concat([head, equity]))
    trades = sum(int(r["metrics"]["trades"] or 0) for r in rank_rows[1] if r)
    stitched_row = {"days": int(len(stitched)),
                    "sharpe_daily": _finite(stats.annualized_sharpe(stitched.to_numpy())),
                    "psr": _finite(stats.psr_from_returns(stitched.to_numpy())),
                    "profit_total": float(stitched.sum()),
                    "max_drawdown": figures["max_drawdown"], "trades": trades}
    control = None
    try:
        closes = load_closes(options.datadir, list(options.pairs), base.get("timeframe", "1h"),
                             base.get("dataformat_ohlcv", "feather"))
        bh = buy_and_hold_balance(closes, windows[0].oos_start, windows[-1].oos_end, balance0,
                                  float(base.get("fee") or 0.001))
        control, _ = evaluation.trading_row_from_balance(bh, len(closes))
    except (ValueError, KeyError) as err:
        logger.warning("buy-and-hold control not computed: %s", err)
    is_sh = [w["is_sharpe"] for w in per_window if w["is_sharpe"] is not None]
    oos_sh = [w["oos_sharpe"] for w in per_window if w["oos_sharpe"] is not None]
    is_mean = float(np.mean(is_sh)) if is_sh else None
    oos_mean = float(np.mean(oos_sh)) if oos_sh else None
    decay = (1 - oos_mean / is_mean) if is_mean and oos_mean is not None else None
    names = [w.name for w in windows]
    matrix = pd.DataFrame({f"rank-{r}": [None if row is None else row["metrics"]["profit_total"]
                                         for row in rows] for r, rows in rank_rows.items()},
                          index=names).T.astype("float64")
    config = ResearchConfig()
    survival = None
    if not matrix.empty:
        survival = survival_analysis(matrix, config.survival_threshold, config.tiers).to_dict()
    results = []
    for r, rows in rank_rows.items():
        series = stitch(rows, windows)
        done = [row for row in rows if row is not None]
        results.append({
            "trial_id": f"rank-{r}", "state": "complete" if done else "failed",
            "params": {"rank": r}, "days": [f"{d:%Y-%m-%d}" for d in series.index],
            "daily_returns": [float(v) for v in series.to_numpy()],
            "windows": {"names": names, "returns": matrix.loc[f"rank-{r}"].tolist()}})
    for res in results:
        res["windows"]["returns"] = [None if isinstance(v, float) and math.isnan(v) else v
                                     for v in res["windows"]["returns"]]
    evidence = evidence_from_results(results, strategy=strategy, source=(
        f"walkforward {options.optimizer} {options.timerange} IS {options.in_sample_days} d / "
        f"OOS {options.out_of_sample_days} d"), created_at=clock.now(), selected="rank-1",
        family_of={f"rank-{r}": "walkforward" for r in rank_rows})
    return {
        "strategy": strategy, "pairs": list(options.pairs), "timerange": options.timerange,
        "optimizer": options.optimizer, "in_sample_days": options.in_sample_days,
        "out_of_sample_days": options.out_of_sample_days,
        "step_days": options.step_days or options.out_of_sample_days, "top_k": k,
        "windows": per_window, "stitched": stitched_row,
        "controls": {"buy_and_hold": control},
        "decay": {"is_sharpe_mean": is_mean, "oos_sharpe_mean": oos_mean, "decay": decay},
        "parameter_stability": parameter_stability(
            [w["params"] for w in per_window if w["params"] is not None]),
        "matrix": {"variants": list(matrix.index), "windows": names,
                   "returns": [[None if math.isnan(v) else v for v in row]
                               for row in matrix.to_numpy().tolist()]},
        "survival": survival, "evidence": evidence,
        "finished_at": clock.now().isoformat(), "pid": os.getpid(),
    }
