"""``python -m plugins.strategy_tree``: validate, explain, diff, compile and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.strategy_tree.__main__ import main
from tests.conftest import REPO_ROOT
from tests.plugins.strategy_tree.trees import SEED_TREE


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugins.strategy_tree", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def edited_seed(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    text = SEED_TREE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_when_seed_tree_then_exit_0_and_ok_line():
    result = run_cli("validate", str(SEED_TREE))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"OK {SEED_TREE}: BTC_fear_accumulation_v1 (schema v1)"


def test_validate_when_invalid_tree_then_exit_1_and_path_message_fix_lines(tmp_path, capsys):
    bad = edited_seed(tmp_path, "bad.yaml", ("batches: 3", "batches: 4"),
                      ("RSI(BTC, 1D) < 30", "RSX(BTC, 1D) < 30"))

    status = main(["validate", str(SEED_TREE), str(bad)])

    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0].startswith("OK ") and out[1] == f"INVALID {bad}: 2 problem(s)"
    assert out[2].startswith("  strategy.entry.conditions[0]: unknown series 'RSX' at character 0")
    assert "(did you mean RSI? known: " in out[2]
    assert out[3] == ("  strategy.position.size_per_batch: 4 batches x 3.3% = 13.2% exceeds "
                      "max_total_exposure 10% (lower size_per_batch to at most 2.5%, use fewer "
                      "batches, or raise max_total_exposure)")


def test_validate_when_file_missing_then_exit_1_with_the_path(tmp_path, capsys):
    status = main(["validate", str(tmp_path / "nope.yaml")])

    assert status == 1 and "cannot read the file" in capsys.readouterr().out


def test_explain_when_seed_tree_then_plain_english_rules(capsys):
    status = main(["explain", str(SEED_TREE)])

    text = capsys.readouterr().out
    assert status == 0
    for line in ["Enter when all of these hold:",
                 "  1. the 14-period RSI of BTC on 1d candles is below 30",
                 "  2. the 48h sum of exchange netflow (BTC in minus out) for BTC is below -3000",
                 "  3. the latest Fear & Greed index is below 25",
                 "  - within 24h before or after an FOMC decision",
                 "  - while the latest BTC dominance (percent of crypto market cap) is below 40%",
                 "Stop loss: 8% below the average entry price, checked from the candle after "
                 "each entry.",
                 "  - at +15% over the average entry price, close 50% of the position",
                 "  - at +30% over the average entry price, close the remaining position",
                 "Expiry: if no entry happens within 30d of activation, the strategy expires "
                 "(no further entries)."]:
        assert line in text.splitlines(), line
    assert "scales in up to 3 batches of 3.3% of equity, at least 4h apart" in text


def test_diff_when_rules_changed_then_one_readable_line_per_change(tmp_path, capsys):
    new = edited_seed(tmp_path, "new.yaml", ("fear_greed_index < 25", "fear_greed_index < 20"),
                      ("batches: 3", "batches: 2"), ("- level: 30%", "- level: 35%"),
                      ("    - no_entry_if: BTC_dominance < 40%\n", ""),
                      ("      - RSI(BTC, 1D) < 30\n", "      - RSI(BTC, 1D) < 30\n"
                                                      "      - ADX(BTC, 1D) > 20\n"))

    status = main(["diff", str(SEED_TREE), str(new)])

    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "~ position.batches: 3 -> 2",
        "~ entry condition: fear_greed_index < 25 -> fear_greed_index < 20",
        "+ entry condition: ADX(BTC, 1d) > 20",
        "- filter: no_entry_if btc_dominance < 40%",
        "~ take_profit stage 2: at +30% close_remaining -> at +35% close_remaining",
    ]


def test_diff_when_only_spelling_differs_then_no_rule_changes(tmp_path, capsys):
    same = edited_seed(tmp_path, "same.yaml", ("size_per_batch: 3.3%", "size_per_batch: 0.033"),
                       ("timeframe: 1D", "timeframe: 1d"), ("logic: ALL", "logic: all"))

    assert main(["diff", str(SEED_TREE), str(same)]) == 0
    assert capsys.readouterr().out.strip() == "No rule changes."


def test_diff_when_a_tree_is_invalid_then_exit_1_with_its_problems(tmp_path, capsys):
    bad = edited_seed(tmp_path, "bad.yaml", ("value: 8%", "value: 8"))

    assert main(["diff", str(SEED_TREE), str(bad)]) == 1
    assert "strategy.risk.stop_loss.value: percentage 800%" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["freqtrade", "backtrader"])
def test_compile_cli_when_seed_tree_then_writes_the_compiled_file(engine, tmp_path):
    result = run_cli("compile", str(SEED_TREE), "--engine", engine, "--out", str(tmp_path / "o"))

    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "o").glob("*.py")] == ["BtcFearAccumulationV1.py"]


def test_schema_when_written_to_file_then_json_schema_of_the_document(tmp_path, capsys):
    out = tmp_path / "schema.json"

    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["$schema"].endswith("2020-12/schema") and "strategy" in schema["properties"]
