"""Checking that a backtest run really wrote a result (freqtrade may exit 0 without one)."""

from __future__ import annotations

import pytest

from plugins.core.backtest_results import check_latest
from plugins.core.errors import BacktestResultError


def test_check_latest_when_no_result_then_error_names_the_folder(tmp_path):
    with pytest.raises(BacktestResultError, match=str(tmp_path)):
        check_latest(tmp_path, not_before_s=0)
