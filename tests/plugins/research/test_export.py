"""Sweep / walk-forward results -> evidence files; walk-forward windows and stability."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from plugins.research.__main__ import main
from plugins.research.evidence import load_evidence, window_matrix
from plugins.research.export import ExportError, evidence_from_results
from plugins.research.walkforward import WalkForwardError, make_windows, parameter_stability

NOW = datetime(2024, 3, 10, tzinfo=UTC)


def result(trial_id: str, returns: list[float] | None, days=("2024-03-01", "2024-03-02")) -> dict:
    if returns is None:
        return {"trial_id": trial_id, "state": "failed", "reason": "exit status 1",
                "params": {"x": 1}}
    return {"trial_id": trial_id, "state": "complete", "params": {"x": 2}, "days": list(days),
            "daily_returns": returns,
            "windows": {"names": [f"{d}/{d}" for d in days], "returns": returns}}


def test_evidence_from_results_when_a_trial_failed_then_counted_and_left_without_returns():
    evidence = evidence_from_results(
        [result("t-0000", [0.01, -0.002]), result("t-0001", None),
         result("t-0002", [0.003], days=("2024-03-02",))],
        strategy="RegimeMoE", source="sweep s", created_at=NOW)

    assert evidence["n_trials"] == 3
    assert evidence["days"] == ["2024-03-01", "2024-03-02"]
    by_id = {t["id"]: t for t in evidence["trials"]}
    assert "daily_returns" not in by_id["t-0001"] and by_id["t-0001"]["state"] == "failed"
    assert by_id["t-0002"]["daily_returns"] == [0.0, 0.003], "a day without a close is 0"
    assert evidence["windows"]["results"]["t-0001"] == [None, None]


def test_evidence_from_results_when_nothing_finished_then_export_error():
    with pytest.raises(ExportError, match="no finished trial"):
        evidence_from_results([], strategy="S", source="sweep", created_at=NOW)


def write_sweep(folder, trials: list[dict]) -> None:
    entries = []
    for r in trials:
        (folder / "trials" / r["trial_id"]).mkdir(parents=True)
        (folder / "trials" / r["trial_id"] / "result.json").write_text(json.dumps(r))
        entries.append({"trial_id": r["trial_id"], "outcome": r.get("outcome", r["state"]),
                        "params": r["params"], "family": "hmm",
                        "result": f"trials/{r['trial_id']}/result.json"})
    (folder / "sweep.json").write_text(json.dumps({
        "study": "s", "strategy": "RegimeMoE", "selected": "t-0000", "trials": entries,
        "finished_at": NOW.isoformat()}))


def test_export_cli_when_sweep_folder_then_evidence_promote_reads_and_refuses(tmp_path, capsys):
    interrupted = {**result("t-0003", None), "outcome": "interrupted"}
    write_sweep(tmp_path, [result("t-0000", [0.01, 0.002]), result("t-0001", None),
                           result("t-0002", [-0.01, 0.004]), interrupted])

    assert main(["export", "--from", str(tmp_path)]) == 0
    evidence = load_evidence(tmp_path / "evidence.json")
    assert evidence.n_trials == 3, "the interrupted trial is not a trial"
    assert evidence.selected == "t-0000"
    assert {t.family for t in evidence.trials} == {"hmm"}
    assert list(window_matrix(evidence).index) == ["t-0000", "t-0001", "t-0002"]

    code = main(["promote", "--evidence", str(tmp_path / "evidence.json"), "--strategy",
                 "RegimeMoE", "--user-data-dir", str(tmp_path / "ud")])

    out = capsys.readouterr().out
    assert code == 1, "two days of returns cannot pass the gates"
    assert "dsr" in out and "pbo" in out


def test_export_cli_when_folder_has_no_result_then_exit_2_naming_it(tmp_path, capsys):
    assert main(["export", "--from", str(tmp_path)]) == 2
    assert "sweep.json" in capsys.readouterr().err


def test_make_windows_when_rolling_then_oos_follows_is_and_never_overlaps():
    start, stop = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC")

    windows = make_windows(start, stop, in_sample_days=10, out_of_sample_days=5, step_days=5)

    assert len(windows) == 4
    for w in windows:
        assert w.oos_start == w.is_end and w.oos_end - w.oos_start == pd.Timedelta(days=5)
        assert w.oos_end <= stop
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.oos_end <= b.oos_start
    assert windows[0].timerange("is") == "20240101-20240111"


@pytest.mark.parametrize(("is_days", "oos_days", "step", "match"), [
    (10, 5, 3, "overlap"), (20, 20, 20, "shorter than one window"), (0, 5, 5, ">= 1")])
def test_make_windows_when_bad_lengths_then_error_names_option(is_days, oos_days, step, match):
    with pytest.raises(WalkForwardError, match=match):
        make_windows(pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC"),
                     is_days, oos_days, step)


def test_parameter_stability_when_numeric_and_categorical_then_cv_and_mode_share():
    stability = parameter_stability([{"a": 1.0, "kind": "hmm"}, {"a": 3.0, "kind": "hmm"},
                                     {"a": 2.0, "kind": "rules"}])

    assert stability["a"]["mean"] == pytest.approx(2.0)
    assert stability["a"]["cv"] == pytest.approx(0.5)
    assert stability["kind"] == {"mode": "hmm", "mode_share": pytest.approx(2 / 3), "windows": 3}
