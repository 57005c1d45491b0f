"""Admission to the shadow stage on statistical evidence (``python -m plugins.research promote``).

The stage store (:class:`plugins.risk.stages.StageStore`, ``<user_data>/ai_suite/stages.json``)
gets a record at **shadow** for a strategy whose :class:`~plugins.research.gates.GateReport`
admits it, with the gates' figures as the recorded reason; the later stages stay behind the
human ``python -m plugins.risk stage promote`` and its trade-count rules. A refusal changes
nothing. A strategy already at canary or active is left where it is (this command never
demotes; ``python -m plugins.risk stage demote`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugins.research.gates import GateReport
from plugins.risk.stages import Stage, StageChange, StageRecord, StageStore


@dataclass(frozen=True)
class Admission:
    """What the store did: ``change`` (None when nothing changed) and ``note`` (one line)."""

    change: StageChange | None
    note: str


def admission_reason(report: GateReport) -> str:
    """The stage-history reason of an admission: every gate with its value and threshold."""
    figures = "; ".join(g.line().removeprefix("PASS ") for g in report.gates)
    return f"research gates passed (trial {report.selected}): {figures}"


def admit_to_shadow(store: StageStore, report: GateReport, now: datetime, by: str) -> Admission:
    """Record ``report.strategy`` at shadow if ``report.admitted``.

    - no record yet: a new record at shadow, its first history entry the admission;
    - a record at shadow: the admission is appended to its history (the evidence re-checked);
    - a record at canary/active: unchanged (note says so).

    Raises:
        ValueError: the report does not admit the strategy, or names none.
        plugins.risk.stages.StageError: the store exists but is unreadable.
    """
    if not report.admitted:
        raise ValueError(f"{report.strategy} is not admitted: "
                         f"{', '.join(g.name for g in report.failed)} failed")
    if not report.strategy:
        raise ValueError("the gate report names no strategy")
    reason = admission_reason(report)
    if report.strategy in store.strategies():
        record = store.load(report.strategy, Stage.SHADOW, now)
        if record.stage != Stage.SHADOW:
            return Admission(None, f"{report.strategy} is already {record.stage.value}; left "
                                   "there (demote with python -m plugins.risk stage demote)")
        change = StageChange(ts=now, from_stage=Stage.SHADOW, to_stage=Stage.SHADOW,
                             reason=f"re-admitted: {reason}", by=by)
        record.history.append(change)
        store.save(record)
        return Admission(change, f"{report.strategy} stays in shadow; the admission is recorded")
    change = StageChange(ts=now, from_stage=None, to_stage=Stage.SHADOW, reason=reason, by=by)
    store.save(StageRecord(strategy=report.strategy, stage=Stage.SHADOW, history=[change]))
    return Admission(change, f"{report.strategy} admitted to shadow")
