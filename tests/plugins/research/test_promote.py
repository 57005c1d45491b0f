"""Evidence files, the promotion gates and ``python -m plugins.research promote`` on evidence
built from real daily candles (trend-rule variants, tests/plugins/research/evidence_factory.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from plugins.research.__main__ import main
from plugins.research.config import ResearchConfig
from plugins.research.evidence import Evidence, EvidenceError, load_evidence
from plugins.research.gates import gate_report
from plugins.risk.stages import STORE_NAME, Stage, StageRecord, StageStore
from tests.conftest import REPO_ROOT
from tests.plugins.research.evidence_factory import dominant_evidence, trend_rule_evidence, write

LENGTHS = list(range(5, 125, 5))          # 24 variants: SMA 5 .. 120 days


@pytest.fixture(scope="module")
def bear_evidence(candle_datadir) -> dict:
    """BTC 2022: the trend rule loses in every variant."""
    return trend_rule_evidence(candle_datadir, "BTC/USDT", "2022-01-01", "2023-01-01", LENGTHS)


@pytest.fixture(scope="module")
def bull_evidence(candle_datadir) -> dict:
    """BTC 2020-10 .. 2021-04: strong, but only 14 S+A variants of 24."""
    return trend_rule_evidence(candle_datadir, "BTC/USDT", "2020-10-01", "2021-05-01", LENGTHS)


def _gates(report) -> dict:
    return {g.name: g for g in report.gates}


# --------------------------------------------------------------------------- evidence schema


def test_load_evidence_when_returns_shorter_than_days_then_error_names_trial_and_counts(tmp_path,
                                                                                    bear_evidence):
    document = json.loads(json.dumps(bear_evidence))
    document["trials"][3]["daily_returns"] = document["trials"][3]["daily_returns"][:-1]

    with pytest.raises(EvidenceError, match=r"trial 'sma20' has 364 daily returns for 365 days"):
        load_evidence(write(tmp_path / "e.json", document))


@pytest.mark.parametrize(("change", "message"), [
    ({"n_trials": 3}, r"n_trials \(3\) is below the 24 trials listed"),
    ({"selected": "nope"}, "selected 'nope' is not a listed trial id"),
    ({"bogus": 1}, r"bogus: Extra inputs are not permitted"),
    ({"schema_version": 2}, "schema_version"),
])
def test_load_evidence_when_field_invalid_then_error_names_the_field(tmp_path, bear_evidence, change,
                                                                     message):
    with pytest.raises(EvidenceError, match=message):
        load_evidence(write(tmp_path / "e.json", {**bear_evidence, **change}))


def test_load_evidence_when_not_json_then_error_names_the_file(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("{nope")

    with pytest.raises(EvidenceError, match=r"e\.json: not JSON"):
        load_evidence(path)


# --------------------------------------------------------------------------- gate report


def test_gate_report_when_bear_market_variants_then_every_gate_fails_with_value_and_threshold(
        bear_evidence):
    report = gate_report(Evidence.model_validate(bear_evidence), ResearchConfig())

    assert not report.admitted
    assert {g.name for g in report.failed} == {"dsr", "pbo", "survival_rate", "sa_variants",
                                               "profitable_share", "haircut_sharpe"}
    gates = _gates(report)
    assert gates["dsr"].value < 0.95 and gates["dsr"].threshold == 0.95
    assert gates["sa_variants"].value == 0 and gates["profitable_share"].value == 0
    assert gates["haircut_sharpe"].value < 0


def test_gate_report_when_bull_market_variants_then_only_the_seed_count_of_robust_variants_fails(
        bull_evidence):
    report = gate_report(Evidence.model_validate(bull_evidence), ResearchConfig())

    assert [g.name for g in report.failed] == ["sa_variants"]
    assert _gates(report)["sa_variants"].value == 14
    assert report.selected == "sma10"


def test_gate_report_when_many_more_trials_were_run_then_dsr_deflates_below_threshold(
        bull_evidence):
    config = ResearchConfig(min_sa_variants=10)
    few = gate_report(Evidence.model_validate(bull_evidence), config)
    many = gate_report(Evidence.model_validate({**bull_evidence, "n_trials": 100_000}), config)

    assert few.admitted
    assert _gates(many)["dsr"].value < _gates(few)["dsr"].value
    assert [g.name for g in many.failed] == ["dsr"]


def test_gate_report_when_measured_haircut_present_then_it_replaces_the_configured_one(
        bull_evidence):
    document = {**bull_evidence, "haircut": {"measured_frac": 0.9, "source": "test", "trades": 40}}

    report = gate_report(Evidence.model_validate(document), ResearchConfig(min_sa_variants=10))

    gate = _gates(report)["haircut_sharpe"]
    assert report.haircut == 0.9 and report.haircut_source == "measured"
    assert not gate.passed and "90% measured haircut" in gate.detail


def test_gate_report_when_no_windows_and_one_trial_then_gates_fail_closed_saying_what_is_missing():
    document = dominant_evidence(n_variants=1)
    document.pop("windows")

    report = gate_report(Evidence.model_validate(document), ResearchConfig())

    gates = _gates(report)
    assert gates["dsr"].value is None and "Sharpe ratios, the evidence has 1" in gates["dsr"].detail
    assert gates["pbo"].value is None and not gates["pbo"].passed
    assert "no windows matrix" in gates["survival_rate"].detail
    assert gates["haircut_sharpe"].passed          # the one figure that can be computed


def test_gate_report_when_one_trial_truly_dominates_then_admitted_and_json_ready():
    report = gate_report(Evidence.model_validate(dominant_evidence()), ResearchConfig())

    assert report.admitted and report.selected == "t00"
    assert json.loads(json.dumps(report.to_dict()))["gates"][0]["name"] == "dsr"


# --------------------------------------------------------------------------- promote CLI


def test_promote_when_gates_fail_then_exit_1_lists_every_failure_and_store_untouched(
        tmp_path, bear_evidence, capsys):
    evidence = write(tmp_path / "bear.json", bear_evidence)

    code = main(["promote", "--evidence", str(evidence), "--strategy", "TrendRule",
                 "--user-data-dir", str(tmp_path / "ud")])

    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("REFUSE TrendRule: 6 of 6 gates fail")
    for name in ("dsr", "pbo", "survival_rate", "sa_variants", "profitable_share", "haircut_sharpe"):
        assert re.search(rf"^FAIL {name} \S+ (>=|<=) \S+ \(", out, re.MULTILINE), name
    assert not (tmp_path / "ud" / STORE_NAME).exists()


def test_promote_when_gates_pass_then_shadow_record_with_the_figures_as_reason(tmp_path,
                                                                               bull_evidence):
    evidence = write(tmp_path / "bull.json", bull_evidence)
    config = write(tmp_path / "research.json", {"ai_suite": {"research": {"min_sa_variants": 10}}})
    user_data = tmp_path / "ud"

    code = main(["promote", "--evidence", str(evidence), "--strategy", "TrendRule", "-c", str(config),
                 "--user-data-dir", str(user_data), "--report", str(tmp_path / "report.json")])

    assert code == 0
    record = StageStore(user_data / STORE_NAME).load("TrendRule", Stage.CANARY, datetime.now(UTC))
    assert record.stage == Stage.SHADOW
    assert record.history[0].from_stage is None
    assert "dsr 0.99" in record.history[0].reason and "sa_variants 14 >= 10" in record.history[0].reason
    assert json.loads((tmp_path / "report.json").read_text())["admitted"] is True


def test_promote_when_strategy_already_canary_then_left_there(tmp_path, bull_evidence, capsys):
    user_data = tmp_path / "ud"
    store = StageStore(user_data / STORE_NAME)
    store.save(StageRecord(strategy="TrendRule", stage=Stage.CANARY))
    config = write(tmp_path / "research.json", {"ai_suite": {"research": {"min_sa_variants": 10}}})

    code = main(["promote", "--evidence", str(write(tmp_path / "e.json", bull_evidence)),
                 "--strategy", "TrendRule", "-c", str(config), "--user-data-dir", str(user_data)])

    assert code == 0 and "already canary; left there" in capsys.readouterr().out
    assert store.load("TrendRule", Stage.SHADOW, datetime.now(UTC)).stage == Stage.CANARY


def test_promote_when_evidence_is_about_another_strategy_then_exit_2_one_line(tmp_path,
                                                                             bear_evidence):
    evidence = write(tmp_path / "e.json", bear_evidence)

    result = subprocess.run([sys.executable, "-m", "plugins.research", "promote", "--evidence",
                             str(evidence), "--strategy", "RegimeMoE"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"python -m plugins.research promote: --evidence {evidence} is about strategy "
        "'TrendRule', not 'RegimeMoE'"]


def test_promote_when_config_threshold_invalid_then_exit_2_naming_the_field(tmp_path, bear_evidence,
                                                                           capsys):
    config = write(tmp_path / "bad.json", {"ai_suite": {"research": {"max_pbo": 2}}})

    code = main(["promote", "--evidence", str(write(tmp_path / "e.json", bear_evidence)),
                 "--strategy", "TrendRule", "-c", str(config)])

    assert code == 2 and "ai_suite.research.max_pbo" in capsys.readouterr().err


def test_survival_command_when_evidence_given_then_rates_and_plots_written(tmp_path, bull_evidence,
                                                                           capsys):
    code = main(["survival", "--evidence", str(write(tmp_path / "e.json", bull_evidence)),
                 "--out", str(tmp_path / "out")])

    out = capsys.readouterr().out
    assert code == 0 and "survival rate (mean over windows): 67.3%" in out
    assert (tmp_path / "out" / "kaplan_meier.png").exists()
    assert (tmp_path / "out" / "kaplan_meier.html").exists()
