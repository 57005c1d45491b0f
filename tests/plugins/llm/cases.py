"""Inputs shared by the cassette recorder and the tests that replay the shipped cassettes."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import REPO_ROOT

PAIR = "BTC/USDT"
AT = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
CASSETTE_DIR = REPO_ROOT / "tests" / "fixtures" / "llm" / "cassettes"
GOLDEN_BRIEF = REPO_ROOT / "tests" / "fixtures" / "llm" / "brief_BTC_USDT_20240315T1200.md"
RECORD_COMMAND = "python -m tests.plugins.llm.record_cassettes"

THESIS = """I believe we're in a mid-cycle consolidation. Liquidity is slowly expanding.
I'm looking for high-conviction entries on BTC during fear-driven dips.
My risk tolerance: max 5% portfolio per trade, max 15% total exposure."""

DESCRIPTION = """I want to long BTC if RSI drops below 30 on the daily, exchange outflow stays above
3000 BTC for 2 consecutive days, and Fear & Greed is below 25. Scale in 3 batches. Stop at 8%
below average entry. Take profit in 2 stages: half at +15%, rest at +30%. No entries within 24h
of FOMC, none if BTC dominance is below 40%. Expire after 30 days."""
