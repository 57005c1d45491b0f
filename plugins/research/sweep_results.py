"""What a sweep's optuna study holds, read back: each trial's outcome, the finished trials'
result files and the sweep's evidence dict. Shared by the sweep loop (``sweep.py``) and its
report (``sweep_report.py``), so neither imports the other."""

from __future__ import annotations

import json
from pathlib import Path

from plugins.research.export import evidence_from_results
from plugins.research.space import SweepSpace

#: outcomes of a trial that ended (an interrupted one runs again)
OUTCOMES_FINISHED = ("complete", "failed", "worker_lost", "no_objective")


def outcome_of(trial) -> str:
    """``complete``, ``failed``, ``worker_lost``, ``no_objective``, ``interrupted`` or
    ``running`` / ``waiting`` of a frozen optuna trial."""
    from optuna.trial import TrialState

    if trial.state == TrialState.COMPLETE:
        return "complete"
    if trial.state == TrialState.FAIL:
        outcome = trial.user_attrs.get("outcome")
        return outcome if outcome in OUTCOMES_FINISHED else "interrupted"
    return trial.state.name.lower()


def finished_trials(study) -> list:
    """The study's trials that ended (any outcome of :data:`OUTCOMES_FINISHED`)."""
    return [t for t in study.get_trials(deepcopy=False)
            if outcome_of(t) in OUTCOMES_FINISHED]


def trial_results(study, out: Path) -> list[dict]:
    """Every finished trial's result.json (in trial order), with ``family`` unset."""
    results = []
    for t in sorted(finished_trials(study), key=lambda t: t.number):
        path = out / t.user_attrs.get("result", f"trials/t-{t.number:04d}/result.json")
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            results.append({"trial_id": t.user_attrs.get("trial_id", f"t-{t.number:04d}"),
                            "number": t.number, "state": "failed", "reason": "result lost",
                            "params": dict(t.params), "outcome": outcome_of(t)})
    return results


def evidence_of(study, space: SweepSpace, results: list[dict], selected: str | None,
                created_at) -> dict:
    """The evidence dict of a sweep (:func:`plugins.research.export.evidence_from_results`)."""
    family_of = ({r["trial_id"]: str(r.get("params", {}).get(space.family)) for r in results}
                 if space.family else None)
    return evidence_from_results(results, strategy=space.strategy,
                                 source=f"sweep {study.study_name}", created_at=created_at,
                                 selected=selected, family_of=family_of)
