"""``python -m adapters.alpaca`` on bad input, as a real process: one clear line naming the bad
input and the fix on stderr, exit 2 (usage), no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

EXAMPLE = "adapters.alpaca.examples:RsiMeanReversion"


def run_cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    config = tmp_path / "c.json"
    config.write_text('{"ai_suite": {"alpaca": {"state_dir": "%s"}}}' % (tmp_path / "state"))
    return subprocess.run([sys.executable, "-m", "adapters.alpaca", *args, "-c", str(config)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("spec", "says"), [
    ("missing:X", "module 'missing' cannot be imported"),
    ("adapters.alpaca.examples:NoSuchClass", "has no class 'NoSuchClass'"),
    ("adapters.alpaca.examples", "is not module:Class"),
])
def test_backtest_when_strategy_spec_cannot_be_loaded_then_exit_2_naming_it(spec, says, tmp_path):
    # Act
    done = run_cli("backtest", "--strategy", spec, "--symbols", "SPY", "--start", "2024-01-01",
                   tmp_path=tmp_path)
    # Assert
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert says in line and "module:Class" in line


@pytest.mark.parametrize(("args", "says"), [
    (["--start", "2024-06-01", "--end", "2024-01-01"], "--start 2024-06-01 is not before --end 2024-01-01"),
    (["--start", "2024-01-01", "--end", "2024-01-01"], "--start 2024-01-01 is not before --end 2024-01-01"),
    (["--start", "2024-01-01", "--cash", "-5000"], "--cash -5000"),
    (["--start", "2024-01-01", "--cash", "0"], "--cash 0"),
    (["--start", "2024-01-01", "--cash", "nan"], "--cash nan"),
    (["--start", "2024-01-01", "--commission-frac", "-0.01"], "--commission-frac -0.01"),
])
def test_backtest_when_period_or_money_invalid_then_exit_2_naming_the_option(args, says, tmp_path):
    # Act
    done = run_cli("backtest", "--strategy", EXAMPLE, "--symbols", "SPY", *args, tmp_path=tmp_path)
    # Assert
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert says in line
    assert not (tmp_path / "state" / "backtest").exists(), "nothing ran"
