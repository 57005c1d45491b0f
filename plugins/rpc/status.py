"""The answers of the suite's Telegram commands and REST routes, as pure functions.

Each builder takes plain inputs (analysed dataframes, the breakers' ``RiskDecision``, lock
views, a stage record, journal rows, drift findings) and ``now``, and returns an
:class:`Answer`: JSON-ready ``data`` for REST and the same content as plain ``text`` for
Telegram. Nothing here reads Freqtrade, the database or the clock (``service.py`` does), so
the answers are tested on real frames and records without a bot. Fractions stay fractions
in ``data``; percentages appear only in ``text``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from plugins.risk.breakers import held_by_locks
from plugins.risk.config import StageConfig
from plugins.risk.journal import JournalRow
from plugins.risk.stages import StageRecord, promotion_verdict
from plugins.risk.state import LOCK_PREFIX, BreakerReason, RiskDecision, lock_trip

PROB_COLUMN = re.compile(r"^regime_prob_(\d+)$")
KILL_SWITCH = BreakerReason.DRAWDOWN_KILL_SWITCH.value
#: Commands of ``/suite_help`` (Freqtrade's ``/help`` lists only its own).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("regime", "regime and its probabilities per pair (last analysed candle)"),
    ("breakers", "trading state, tripped breakers, their reasons and time to reset"),
    ("killswitch_reset", "lift the drawdown kill switch (asks; /killswitch_reset CONFIRM does it)"),
    ("stage", "deployment stage, filed trades and the promotion verdict"),
    ("brief", "deterministic summary: state, regimes, stage, last 24 h, drift"),
    ("ideas", "/ideas <thesis>: 1-3 LLM trade ideas (needs an API key or cassette)"),
    ("review", "LLM review of the last 7 days with a proposed tree change (tree strategies)"),
    ("approve", "/approve <id>: approve a review's tree change (new tree version)"),
    ("council", "/council [pair]: the analyst council's latest verdicts (from its journal)"),
    ("journal", "/journal [n] [reason]: the decision journal's last n rows (default 20)"),
    ("drift", "alternative-data drift findings of the live providers"),
    ("stage_promote", "promote the strategy one stage (asks; /stage_promote CONFIRM does it)"),
    ("stage_demote", "/stage_demote shadow|canary [reason]: demote (asks; add CONFIRM)"),
    ("suite_metrics", "seed 000 metrics table with red flags of the closed trades, vs buy & hold"),
    ("suite_help", "this list"),
)


@dataclass(frozen=True)
class Answer:
    """One answer: ``data`` (JSON-ready dict, the REST body) and ``text`` (Telegram)."""

    data: dict[str, Any]
    text: str


@dataclass(frozen=True)
class LockView:
    """A global lock of the suite as the answers need it (from Freqtrade's ``PairLock``).

    Attributes:
        id: Freqtrade's lock id.
        reason: the full lock reason, e.g. ``ai_suite:daily_loss: day loss 3.10 % >= 3.00 %``.
        until: lock end (UTC, tz-aware).
    """

    id: int
    reason: str
    until: datetime

    @property
    def breaker(self) -> str:
        """The breaker's name (``daily_loss``), or the raw reason for a foreign lock."""
        return self.reason.removeprefix(LOCK_PREFIX).split(":", 1)[0]

    @property
    def detail(self) -> str:
        """The figures after the breaker's name (``day loss 3.10 % >= 3.00 %``)."""
        _, _, detail = self.reason.removeprefix(LOCK_PREFIX).partition(":")
        return detail.strip()


@dataclass(frozen=True)
class JournalFilters:
    """The filters of a journal query (``None`` = not filtered)."""

    since: datetime | None = None
    pair: str | None = None
    reason: str | None = None
    kind: str | None = None
    limit: int = 100

    def as_dict(self) -> dict[str, Any]:
        return {"since": _iso(self.since), "pair": self.pair, "reason": self.reason,
                "kind": self.kind, "limit": self.limit}


@dataclass(frozen=True)
class BriefInputs:
    """What ``/brief`` summarises: the other answers, the last day's journal rows and the
    deterministic market briefing markdown (``plugins.llm.briefing``; ``None`` with the reason
    in ``market_missing``)."""

    regime: Answer
    breakers: Answer
    stage: Answer
    drift: Answer
    last_day: Sequence[JournalRow] = field(default_factory=tuple)
    market: str | None = None
    market_missing: str = "not requested"


def _iso(ts: datetime | pd.Timestamp | None) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat()


def _num(value: Any) -> float | None:
    """A finite float, or ``None`` (NaN / missing)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def duration_text(seconds: float) -> str:
    """``3h 05m`` / ``2d 4h`` / ``45s``: a human duration of ``seconds`` >= 0."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


# --- /regime ---------------------------------------------------------------------------------

def _regime_names(frame: pd.DataFrame) -> dict[int, str]:
    """Label -> regime name as seen in ``frame`` (the model names its labels)."""
    if not {"regime_label", "regime"} <= set(frame.columns):
        return {}
    seen = frame[["regime_label", "regime"]].dropna().drop_duplicates("regime_label")
    return {int(label): str(name) for label, name in seen.itertuples(index=False)}


def pair_regime(pair: str, frame: pd.DataFrame) -> dict[str, Any]:
    """The regime of ``pair`` on its last analysed candle (RegimeGatedMoE's columns, see
    ``freqai_models/RegimeGatedMoE.py``); ``regime`` is None with a ``note`` when absent."""
    if frame.empty:
        return {"pair": pair, "date": None, "regime": None, "note": "no analysed candles yet"}
    last = frame.iloc[-1]
    date = _iso(last["date"]) if "date" in frame.columns else None
    regime = last.get("regime")
    if "regime" not in frame.columns:
        return {"pair": pair, "date": date, "regime": None,
                "note": "no regime columns: the model has not predicted yet (FreqAI still "
                        "training), or the strategy does not use RegimeGatedMoE"}
    if not isinstance(regime, str) or not regime:
        return {"pair": pair, "date": date, "regime": None,
                "note": "no regime on the last candle (model warming up or not trained yet)"}
    names = _regime_names(frame)
    labels = sorted(int(m.group(1)) for c in frame.columns if (m := PROB_COLUMN.match(c)))
    probabilities = [{"label": k, "name": names.get(k), "prob": _num(last[f"regime_prob_{k}"]),
                      "gate_weight": _num(last.get(f"gate_weight_{k}"))} for k in labels]
    label = _num(last.get("regime_label"))
    return {"pair": pair, "date": date, "regime": regime,
            "label": None if label is None else int(label),
            "confidence": _num(last.get("confidence")), "probabilities": probabilities}


def regime_answer(frames: Mapping[str, pd.DataFrame]) -> Answer:
    """``/regime``: :func:`pair_regime` of every pair in ``frames`` (pair -> analysed frame)."""
    pairs = [pair_regime(pair, frame) for pair, frame in frames.items()]
    lines = []
    for p in pairs:
        if p["regime"] is None:
            lines.append(f"{p['pair']}: {p['note']}")
            continue
        conf = "" if p["confidence"] is None else f", confidence {p['confidence']:.0%}"
        lines.append(f"{p['pair']} @ {p['date']}: {p['regime']}{conf}")
        probs = ", ".join(f"{q['name'] or q['label']} {q['prob']:.0%}"
                          for q in p["probabilities"] if q["prob"] is not None)
        if probs:
            lines.append(f"  probabilities: {probs}")
    return Answer({"pairs": pairs}, "\n".join(lines) or "No pairs in the whitelist.")


# --- /breakers -------------------------------------------------------------------------------

def lock_entry(lock: LockView, now: datetime) -> dict[str, Any]:
    """One suite lock with its time to reset (``None`` for the kill switch: human reset)."""
    human = lock.breaker == KILL_SWITCH
    left = None if human else max(0.0, (lock.until - now).total_seconds())
    return {"id": lock.id, "breaker": lock.breaker, "detail": lock.detail,
            "until": None if human else _iso(lock.until), "seconds_to_reset": left,
            "resets": "human reset: /killswitch_reset" if human else
            f"in {duration_text(left)} ({lock.until:%Y-%m-%d %H:%M} UTC)"}


def breakers_answer(decision: RiskDecision, locks: Sequence[LockView], now: datetime) -> Answer:
    """``/breakers``: the state of the last bot loop, its trips, and the suite's active global
    locks with the time left until each resets by itself. The locks are the source of truth:
    an active kill-switch lock means HALTED (until a human resets it) even if the last loop's
    figures recovered, or no loop ran since (``breakers.held_by_locks``)."""
    decision = held_by_locks(decision, tuple(
        t for t in (lock_trip(lock.reason, lock.until) for lock in locks) if t is not None))
    trips = [{"breaker": t.reason.value, "state": t.state.name, "detail": t.detail,
              "until": _iso(t.until)} for t in decision.trips]
    entries = [lock_entry(lock, now) for lock in locks]
    data = {"as_of": _iso(now), "state": decision.state.name,
            "allows_entries": decision.allows_entries, "trips": trips, "locks": entries}
    lines = [f"Trading state: {decision.state.name} "
             f"({'entries allowed' if decision.allows_entries else 'no new entries'})"]
    lines += [f"- trip {t['breaker']} ({t['state']}): {t['detail']}" for t in trips]
    lines += [f"- lock {e['breaker']}: {e['detail']}; resets {e['resets']}" for e in entries]
    if not trips and not entries:
        lines.append("No breaker tripped, no suite lock active.")
    return Answer(data, "\n".join(lines))


# --- /stage ----------------------------------------------------------------------------------

def stage_answer(record: StageRecord | None, cfg: StageConfig) -> Answer:
    """``/stage``: stage, trades filed per stage with their mean return, the promotion
    verdict (``plugins.risk.stages.promotion_verdict``) and the history."""
    if not cfg.enabled:
        return Answer({"enabled": False, "stage": None},
                      "Deployment stages are off (ai_suite.stages.enabled is false).")
    if record is None:
        return Answer({"enabled": True, "stage": None},
                      "No stage record yet (created at the first bot loop).")
    ledger = {stage.value: {"trades": len(rets), "mean_return": sum(rets) / len(rets)}
              for stage, rets in record.ledger.items() if rets}
    verdict = promotion_verdict(record, cfg.promotion_min_trades, cfg.promotion_tolerance)
    history = [{"ts": _iso(c.ts), "from": c.from_stage.value if c.from_stage else None,
                "to": c.to_stage.value, "reason": c.reason, "by": c.by} for c in record.history]
    data = {"enabled": True, "strategy": record.strategy, "stage": record.stage.value,
            "ledger": ledger, "promotion": {"allowed": verdict.allowed, "reason": verdict.reason},
            "history": history}
    lines = [f"{record.strategy}: {record.stage.value}"]
    lines += [f"- {name}: {v['trades']} closed trades, mean {v['mean_return']:+.2%} per trade"
              for name, v in ledger.items()]
    lines.append(f"Promotion {'possible' if verdict.allowed else 'refused'}: {verdict.reason}")
    lines += [f"  {h['ts'][:16]} {h['from'] or '-'} -> {h['to']}: {h['reason']} (by {h['by']})"
              for h in history[-5:]]
    return Answer(data, "\n".join(lines))


# --- journal, drift --------------------------------------------------------------------------

def journal_row(row: JournalRow) -> dict[str, Any]:
    return {"ts": _iso(row.ts), "kind": row.kind, "decision": row.decision,
            "reason": row.reason, "pair": row.pair, "detail": row.detail, "stake": row.stake}


def journal_answer(rows: Sequence[JournalRow], filters: JournalFilters) -> Answer:
    """The decision journal's rows matching ``filters`` (oldest first)."""
    lines = [f"{r.ts:%Y-%m-%d %H:%M} {r.kind} {r.decision} {r.reason} {r.pair or '-'} {r.detail}"
             for r in rows]
    return Answer({"filters": filters.as_dict(), "count": len(rows),
                   "rows": [journal_row(r) for r in rows]},
                  "\n".join(lines) or "No decisions match.")


def drift_answer(status: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> Answer:
    """Alt-data drift findings (``DriftMonitor.status()``); ``None``: no monitor."""
    if status is None:
        return Answer({"monitored": False, "providers": {}},
                      "No drift monitor (the strategy has no live alternative data).")
    findings = [f for found in status.values() for f in found]
    lines = [f"- {f['provider']}.{f['column']} ({f['kind']}): {f['detail']}" for f in findings]
    return Answer({"monitored": True, "providers": {k: list(v) for k, v in status.items()},
                   "findings": len(findings)},
                  "\n".join(["Alt-data drift:", *lines]) if findings else
                  f"No drift findings ({len(status)} providers checked).")


# --- /brief, /suite_help ---------------------------------------------------------------------

def day_counts(rows: Sequence[JournalRow]) -> dict[str, Any]:
    """Counts of the last day's decisions: breaker trips, denied entry checks by reason,
    entry signals, stake clamps, resets."""
    trips = Counter(r.reason for r in rows if r.kind == "breaker")
    denied = Counter(r.reason for r in rows if r.kind == "gate" and r.decision == "deny")
    return {"breaker_trips": dict(trips), "entry_denials": dict(denied),
            "entry_signals": sum(r.kind == "signal" and r.decision == "enter" for r in rows),
            "stake_clamps": sum(r.kind == "stake" for r in rows),
            "resets": sum(r.kind == "reset" for r in rows)}


def brief_answer(inputs: BriefInputs, now: datetime) -> Answer:
    """``/brief``: a deterministic summary of the other answers, the last day's journal and
    the market briefing (no LLM involved)."""
    counts = day_counts(inputs.last_day)
    b, s = inputs.breakers.data, inputs.stage.data
    regimes = [f"{p['pair']} {p['regime']}" + ("" if p.get("confidence") is None
                                               else f" ({p['confidence']:.0%})")
               for p in inputs.regime.data["pairs"] if p["regime"] is not None]
    trips = ", ".join(f"{k} x{v}" for k, v in counts["breaker_trips"].items()) or "none"
    denials = ", ".join(f"{k} x{v}" for k, v in sorted(counts["entry_denials"].items(),
                                                         key=lambda kv: -kv[1])) or "none"
    lines = [
        f"Brief {now:%Y-%m-%d %H:%M} UTC",
        f"State: {b['state']}" + "".join(f"; {t['breaker']}: {t['detail']}" for t in b["trips"]),
        f"Regimes: {', '.join(regimes) or 'none available'}",
        f"Stage: {s['stage'] or 'off'}" + (f" ({s['promotion']['reason']})" if s.get("promotion")
                                          else ""),
        f"Last 24 h: {counts['entry_signals']} entry signals; breaker trips: {trips}; "
        f"denied entry checks: {denials}; stake clamps: {counts['stake_clamps']}",
        f"Drift: {inputs.drift.data.get('findings', 0)} finding(s)"
        if inputs.drift.data["monitored"] else "Drift: not monitored",
        inputs.market.strip() if inputs.market is not None else
        f"Market briefing: not available: {inputs.market_missing}",
    ]
    data = {"as_of": _iso(now), "state": b["state"], "trips": b["trips"], "locks": b["locks"],
            "regimes": inputs.regime.data["pairs"], "stage": s, "last_24h": counts,
            "drift": inputs.drift.data, "market_briefing": inputs.market,
            "market_briefing_missing": None if inputs.market is not None else inputs.market_missing}
    return Answer(data, "\n".join(lines))


def help_answer() -> Answer:
    """``/suite_help``: the suite's commands (Freqtrade's ``/help`` lists only its own)."""
    return Answer({"commands": [{"command": f"/{c}", "help": h} for c, h in COMMANDS]},
                  "\n".join(["freqtrade-ai-suite commands:",
                             *(f"/{c} - {h}" for c, h in COMMANDS)]))


# --- /council, /suite_metrics, stage changes ------------------------------------------------

def council_answer(rows: Sequence[JournalRow], pair: str | None) -> Answer:
    """The council's latest verdicts (journal rows of reason ``council``, oldest first; their
    ``detail`` is the verdict's JSON, ``plugins.llm.council.verdict_detail``)."""
    import json

    verdicts = []
    for r in rows:
        try:
            detail = json.loads(r.detail)
        except ValueError:
            detail = {"summary": r.detail}
        verdicts.append({"at": _iso(r.ts), "pair": r.pair, "decision": r.decision,
                         "confidence": _num(detail.get("confidence")),
                         "summary": detail.get("summary", ""), "abstained": detail.get("abstained", []),
                         "reason": detail.get("reason", "")})
    lines = []
    for v in verdicts:
        confidence = "" if v["confidence"] is None else f" (confidence {v['confidence']:.2f})"
        lines.append(f"{v['at'][:16]} {v['pair'] or '-'}: {v['decision']}{confidence} - "
                     f"{v['summary'] or v['reason']}")
    scope = f" for {pair}" if pair else ""
    return Answer({"pair": pair, "verdicts": verdicts},
                  "\n".join([f"Council verdicts{scope} (latest last):", *lines]) if verdicts else
                  f"No council verdict{scope} in the journal yet (python -m plugins.llm council "
                  "writes them).")


def metrics_answer(table: str, figures: Mapping[str, Any]) -> Answer:
    """Seed 000's metrics table (``plugins.research.metrics_table``) and its figures."""
    return Answer(dict(figures), table)


def stage_change_answer(strategy: str, change: Any) -> Answer:
    """A stage change done by a human command (``plugins.risk.stages.StageChange``)."""
    before = change.from_stage.value if change.from_stage is not None else "-"
    return Answer({"strategy": strategy, "from": before, "to": change.to_stage.value,
                   "reason": change.reason, "by": change.by, "at": _iso(change.ts)},
                  f"{strategy}: {before} -> {change.to_stage.value} ({change.reason}, "
                  f"by {change.by}). The bot applies it at its next loop.")
