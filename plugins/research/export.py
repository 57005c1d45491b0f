"""Sweep and walk-forward results -> the evidence file ``python -m plugins.research promote`` reads.

    python -m plugins.research export --from DIR [--out FILE] [--selected TRIAL_ID]

``DIR`` is a sweep's ``--out`` folder (``sweep.json`` + ``trials/<id>/result.json``) or a
walk-forward's (``walkforward.json``). The evidence (schema: :mod:`plugins.research.evidence`)
lists **every** trial that ran, failed ones included (``n_trials`` counts them: the Deflated
Sharpe Ratio deflates by all of them), each complete trial with its out-of-sample daily returns
on one common list of UTC days (a day a trial has no value for is 0: no position closed), and
the variants x test-windows matrix of per-window returns for the survival analysis.
Interrupted trials (a sweep killed mid-trial; rerun as a new trial) are not trials and are left
out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from plugins.research.evidence import SCHEMA_VERSION, Evidence

SWEEP_SUMMARY = "sweep.json"
WALKFORWARD_SUMMARY = "walkforward.json"


class ExportError(ValueError):
    """A result folder that cannot be exported (the message names the file and the fix)."""


def evidence_from_results(results: Iterable[Mapping[str, Any]], *, strategy: str, source: str,
                          created_at: datetime, selected: str | None = None,
                          family_of: Mapping[str, str] | None = None,
                          window_metric: str = "return") -> dict[str, Any]:
    """Build the evidence dict (validated) from trial results.

    Args:
        results: one mapping per finished trial: ``trial_id``, ``state`` (``complete`` /
            ``failed``), ``params``, and when complete ``days`` (``YYYY-MM-DD``),
            ``daily_returns`` (fractions, same length) and ``windows`` (``names``,
            ``returns``).
        strategy, source, created_at: the evidence's header.
        selected: the candidate trial id (None: the gates pick the best daily Sharpe).
        family_of: trial id -> family (default ``"default"``).
        window_metric: ``return`` (fractions per window) or ``sharpe``.

    Raises:
        ExportError: no trial, or the evidence breaks its schema.
    """
    results = [r for r in results if r.get("state") in ("complete", "failed")]
    if not results:
        raise ExportError("no finished trial to export")
    complete = [r for r in results if r["state"] == "complete" and r.get("days")]
    days = sorted({d for r in complete for d in r["days"]})
    names: list[str] = []
    for r in complete:
        for name in r.get("windows", {}).get("names", []):
            if name not in names:
                names.append(name)
    names.sort()
    trials, window_rows = [], {}
    for r in results:
        trial: dict[str, Any] = {"id": r["trial_id"], "state": r["state"],
                                 "family": (family_of or {}).get(r["trial_id"], "default"),
                                 "params": dict(r.get("params") or {})}
        if r in complete:
            by_day = dict(zip(r["days"], r["daily_returns"], strict=True))
            trial["daily_returns"] = [float(by_day.get(d, 0.0)) for d in days]
            w = r.get("windows") or {}
            by_window = dict(zip(w.get("names", []), w.get("returns", []), strict=True))
            if names:
                window_rows[r["trial_id"]] = [by_window.get(n) for n in names]
        elif names:
            window_rows[r["trial_id"]] = [None] * len(names)
        trials.append(trial)
    evidence: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "strategy": strategy, "source": source,
        "created_at": created_at.isoformat(), "n_trials": len(results), "trials": trials,
    }
    if selected is not None:
        evidence["selected"] = selected
    if days:
        evidence["days"] = days
    if names and window_rows:
        evidence["windows"] = {"metric": window_metric, "names": names, "results": window_rows}
    try:
        Evidence.model_validate(evidence)
    except ValueError as err:
        raise ExportError(f"the exported evidence breaks schema version {SCHEMA_VERSION}: {err}") from err
    return evidence


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise ExportError(f"{path}: cannot read it ({err.strerror or err})") from err
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: not JSON ({err.msg} at line {err.lineno})") from err


def export_folder(folder: Path, selected: str | None = None) -> dict[str, Any]:
    """The evidence of a sweep or walk-forward result folder (module docstring).

    Raises:
        ExportError: the folder has neither summary, or a trial result is unreadable.
    """
    sweep, walkforward = folder / SWEEP_SUMMARY, folder / WALKFORWARD_SUMMARY
    if sweep.is_file():
        summary = _read_json(sweep)
        results = []
        for entry in summary["trials"]:
            if entry.get("outcome") == "interrupted":
                continue
            path = folder / entry["result"]
            results.append({**_read_json(path), "params": entry.get("params", {})})
        return evidence_from_results(
            results, strategy=summary["strategy"], source=f"sweep {summary['study']}",
            created_at=datetime.fromisoformat(summary["finished_at"]),
            selected=selected or summary.get("selected"),
            family_of={e["trial_id"]: e.get("family", "default") for e in summary["trials"]})
    if walkforward.is_file():
        summary = _read_json(walkforward)
        evidence = summary.get("evidence")
        if not evidence:
            raise ExportError(f"{walkforward} has no 'evidence' (rerun the walk-forward)")
        if selected is not None:
            evidence = {**evidence, "selected": selected}
        Evidence.model_validate(evidence)
        return evidence
    raise ExportError(f"--from {folder}: no {SWEEP_SUMMARY} or {WALKFORWARD_SUMMARY} there (the "
                      "--out folder of a sweep or a walk-forward)")


def write_evidence(evidence: Mapping[str, Any], path: Path) -> Path:
    """Write ``evidence`` as indented JSON (creating the folder); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(evidence, indent=2))
    return path
