"""The end of a sweep: the trial table, controls, deflated figures, plots, ``sweep.json``.

Every figure stands beside a control from the same run: each trial's IC beside the no-skill
``-close`` IC on the very same rows, and the table beside equal-weight buy-and-hold over the same
pairs and time range (same fee). The best trial's Sharpe ratio is deflated by **all** trials
run (DSR), PBO is computed over every complete trial's daily returns and the survival figures
over the trials x test-windows matrix, by :func:`plugins.research.gates.gate_report` with the
default thresholds of ``ai_suite.research`` (``promote`` applies the configured ones).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from plugins.core.clock import Clock
from plugins.research.export import SWEEP_SUMMARY, write_evidence

logger = logging.getLogger(__name__)

DEFAULT_FEE = 0.001
PLOTS = ("optimization_history", "param_importances", "parallel_coordinate")


def _fmt(value: Any, kind: str = "f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "int":
        return f"{int(value)}"
    return f"{value:+.3f}"


def select(results: list[dict], metric: str, direction: str) -> str | None:
    """The complete trial with the best ``metric`` (the first objective)."""
    scored = [(r["metrics"][metric], r["trial_id"]) for r in results
              if r.get("state") == "complete" and (r.get("metrics") or {}).get(metric) is not None]
    if not scored:
        return None
    return (max(scored) if direction == "maximize" else min(scored))[1]


def buy_and_hold(options, base: dict) -> dict[str, Any] | None:
    """Equal-weight buy-and-hold row over the sweep's pairs and range (same fee)."""
    from plugins.research import evaluation
    from plugins.research.controls import buy_and_hold_balance
    from plugins.research.scoring import load_closes, parse_timerange

    start, stop = parse_timerange(options.timerange)
    try:
        candles = load_closes(options.datadir, list(options.pairs), base.get("timeframe", "1h"),
                              base.get("dataformat_ohlcv", "feather"))
        fee = float(base.get("fee") or DEFAULT_FEE)
        balance = buy_and_hold_balance(candles, start, stop,
                                       float(base.get("dry_run_wallet") or 10000), fee)
        row, _ = evaluation.trading_row_from_balance(balance, len(candles))
    except (ValueError, KeyError) as err:
        logger.warning("buy-and-hold control not computed: %s", err)
        return None
    return {**row, "fee_per_side": fee}


def table_rows(results: list[dict], control: dict | None) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        m = r.get("metrics") or {}
        c = (r.get("controls") or {}).get("no_skill_neg_close") or {}
        ic = (f"{_fmt(m.get('ic_nonoverlap'))} ({_fmt(m.get('ic_nonoverlap_t'))})"
              if m.get("ic_nonoverlap") is not None else "n/a")
        rows.append((r["trial_id"], r.get("outcome", r.get("state", "?")), ic,
                     _fmt(c.get("ic_nonoverlap")), _fmt(m.get("sharpe_daily")),
                     _fmt(m.get("psr"), "pct"), _fmt(m.get("max_drawdown"), "pct"),
                     _fmt(m.get("profit_total"), "pct"), _fmt(m.get("trades"), "int"),
                     f"{r.get('wall_s', 0) or 0:.0f}",
                     ", ".join(f"{k.split('.')[-1]}={v:.4g}" if isinstance(v, float) else
                               f"{k.split('.')[-1]}={v}" for k, v in (r.get("params") or {}).items())
                     if r.get("state") == "complete" else str(r.get("reason", ""))))
    if control:
        rows.append(("control", "buy-and-hold", "n/a", "n/a", _fmt(control.get("sharpe_daily")),
                     _fmt(control.get("psr"), "pct"), _fmt(control.get("max_drawdown"), "pct"),
                     _fmt(control.get("profit_total"), "pct"), _fmt(control.get("trades"), "int"),
                     "", f"equal weight, fee {control['fee_per_side']:.2%} per side"))
    return rows


HEADERS = ("trial", "outcome", "IC non-overlap (t)", "no-skill IC", "daily Sharpe", "PSR",
           "max DD", "profit", "trades", "wall s", "params / reason")


def print_table(title: str, rows: list[tuple[str, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="left" if i in (0, 1, 10) else "right")
    for r in rows:
        table.add_row(*r)
    Console(width=200).print(table)


def save_plots(study, out: Path, metric_names: list[str]) -> list[str]:
    """optuna's HTML plots next to the study (plotly.js written once beside them)."""
    import optuna.visualization as vis

    written = []
    target = None if len(metric_names) == 1 else (lambda t: t.values[0])
    target_name = metric_names[0]
    for name in PLOTS:
        try:
            fig = getattr(vis, f"plot_{name}")(study, target=target, target_name=target_name)
            path = out / f"{name}.html"
            fig.write_html(path, include_plotlyjs="directory")
            written.append(path.name)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            logger.warning("plot %s skipped: %s", name, err)
    return written


def report(study, space, options, out: Path, storage_url: str, clock: Clock) -> dict[str, Any]:
    """Write ``evidence.json``, the plots and ``sweep.json``; print the table and the deflated
    figures. Returns the summary."""
    from plugins.research.config import ResearchConfig
    from plugins.research.evidence import Evidence
    from plugins.research.export import ExportError
    from plugins.research.gates import gate_report
    from plugins.research.space import merged_base
    from plugins.research.sweep_results import evidence_of, outcome_of, trial_results

    results = trial_results(study, out)
    objective = space.objectives[0]
    selected = select(results, objective.metric, objective.direction)
    now = clock.now()
    gates: dict[str, Any] = {}
    try:
        evidence = evidence_of(study, space, results, selected, now)
        write_evidence(evidence, out / "evidence.json")
        gates = gate_report(Evidence.model_validate(evidence), ResearchConfig()).to_dict()
    except ExportError as err:
        logger.warning("no evidence written: %s", err)
    base = merged_base(space)
    control = buy_and_hold(options, base)
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[outcome_of(t)] = counts.get(outcome_of(t), 0) + 1
    print_table(f"sweep {study.study_name}: {space.strategy}, {' '.join(options.pairs)}, "
                f"{options.timerange} (out of sample, net of fees)", table_rows(results, control))
    figures = gates.get("figures", {})
    dsr = figures.get("dsr") or {}
    pbo = figures.get("pbo") or {}
    surv = figures.get("survival") or {}
    print(f"selected (best {objective.metric}): {selected or 'none'}; trials run "
          f"{len(results)} (outcomes {counts})")
    print(f"Deflated Sharpe of the selected trial given all {len(results)} trials: "
          f"{_fmt(dsr.get('dsr'), 'pct')} (Sharpe {_fmt(dsr.get('sharpe_annualized'))} vs "
          f"{_fmt(dsr.get('sr0_annualized'))} expected of the best of {len(results)} "
          f"skill-less trials); PBO {_fmt(pbo.get('pbo'), 'pct')}; survival rate "
          f"{_fmt(surv.get('survival_rate'), 'pct')}")
    plots = save_plots(study, out, [o.metric for o in space.objectives])
    summary = {
        "study": study.study_name, "storage": storage_url, "strategy": space.strategy,
        "space_file": str(options.space_file), "space_fingerprint": space.fingerprint(),
        "arguments": {"pairs": list(options.pairs), "timerange": options.timerange,
                      "datadir": str(options.datadir), "trials": options.trials,
                      "address": options.address, "exchange": options.exchange},
        "sampler": space.sampler_kind(), "seed": space.sampler.seed,
        "objectives": [o.model_dump() for o in space.objectives],
        "counts": counts, "selected": selected,
        "trials": [{"trial_id": r["trial_id"], "number": r.get("number"),
                    "outcome": r.get("outcome", r.get("state")), "reason": r.get("reason"),
                    "params": r.get("params", {}),
                    "family": str((r.get("params") or {}).get(space.family)) if space.family
                    else "default",
                    "metrics": {k: (r.get("metrics") or {}).get(k) for k in (
                        "sharpe_daily", "psr", "ic_nonoverlap", "ic_nonoverlap_t",
                        "max_drawdown", "profit_total", "trades")},
                    "result": f"trials/{r['trial_id']}/result.json"} for r in results],
        "controls": {"buy_and_hold": control},
        "gates": gates, "plots": plots, "evidence": "evidence.json",
        "finished_at": now.isoformat(),
    }
    (out / SWEEP_SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    print(f"written: {out / SWEEP_SUMMARY}, {out / 'evidence.json'}, "
          f"{', '.join(plots) or 'no plots'} in {out}")
    return summary
