"""Review ids are data, not paths: ``approve`` accepts only the shape ``review_id`` generates
(``YYYYMMDD-<8 hex>`` or ``notrades-<8 hex>``); anything else is refused before a file is
touched, with one clear line (CLI exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from plugins.llm.review import ReviewIdError, approve, check_review_id, review_id
from plugins.llm.review_stats import ReviewStats
from plugins.strategy_tree.io import load_tree
from tests.conftest import REPO_ROOT

SEED_TREE = REPO_ROOT / "strategies" / "trees" / "btc_fear_accumulation_v1.yaml"
LONG = "2" * 5000

MALFORMED = [
    "../forged",                       # escapes reviews/
    "../../forged",
    "20240320-0123abcd/../../forged",  # a valid id, then an escape
    "/tmp/forged",                     # absolute: Path("reviews") / "/tmp/x" is /tmp/x
    LONG,                              # 5,000 characters: "File name too long" (was HTTP 500)
    "",
    "r-1",
    "20240320-0123ABCD",               # the suite writes lowercase hex
    "20240320-0123abcd\n",             # a trailing newline ($ would accept it)
    "２０２４０３２０-0123abcd",          # Unicode digits (\d would accept them)
    "20240320-0123abc",                # 7 hex
]


def _forged_review(folder) -> None:
    """A review folder with an approvable proposal, where no review should be read from."""
    folder.mkdir(parents=True)
    shutil.copy(SEED_TREE, folder / "proposal.yaml")
    (folder / "review.json").write_text(json.dumps({"proposal": "proposal.yaml",
                                                    "tree_name": "BTC_fear_accumulation_v1"}))


def _stats(until: datetime | None) -> ReviewStats:
    return ReviewStats(strategy="S", since=None, until=until, first_open=None, last_close=None,
                       trades=0, wins=0, losses=0, draws=0, win_rate_frac=None, pnl_abs=0.0,
                       starting_balance=None, pnl_frac=None, max_drawdown_abs=0.0,
                       max_drawdown_frac=None, avg_hours_in_position=None, per_pair={},
                       exit_reasons={}, signals_generated=0, entry_attempts=0,
                       attempts_filtered=0, filtered_by_gate={}, entries_taken=0,
                       breaker_trips={}, council_verdicts=0)


@pytest.mark.parametrize("rid", MALFORMED, ids=lambda r: repr(r[:30]))
def test_approve_when_id_is_not_of_the_generated_shape_then_refused_before_any_file_is_read(
        rid, tmp_path):
    # Arrange: a forged review outside reviews/ that a path-like id would reach
    out = tmp_path / "llm"
    (out / "reviews").mkdir(parents=True)
    _forged_review(out / "forged")
    _forged_review(tmp_path / "forged")
    trees = tmp_path / "trees"
    trees.mkdir()
    absolute = str(tmp_path / "forged") if rid == "/tmp/forged" else rid
    # Act
    with pytest.raises(ReviewIdError) as err:
        approve(absolute, out, trees, None)
    # Assert
    message = str(err.value)
    assert "not a review id" in message and "YYYYMMDD-" in message
    assert len(message) < 400  # a 5,000-character id is not echoed back whole
    assert list(trees.iterdir()) == []


def test_review_id_when_generated_then_it_passes_the_check():
    # Arrange
    tree = load_tree(SEED_TREE)
    with_trades = _stats(until=datetime(2024, 3, 20, tzinfo=UTC))
    without = _stats(until=None)
    # Act
    ids = [review_id(with_trades, tree), review_id(without, tree)]
    # Assert
    assert ids[0].startswith("20240320-") and ids[1].startswith("notrades-")
    assert [check_review_id(r) for r in ids] == ids


@pytest.mark.parametrize("rid", ["../forged", "/etc/passwd", LONG])
def test_approve_cli_when_id_malformed_then_exit_2_and_one_line_naming_the_shape(rid, tmp_path):
    # Act
    done = subprocess.run([sys.executable, "-m", "plugins.llm", "approve", rid, "--output-dir",
                           str(tmp_path), "--trees-dir", str(tmp_path / "trees"), "--no-compile"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    # Assert
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "review_id" in last and "not a review id" in last and "YYYYMMDD-" in last
    assert len(last) < 500
    assert not (tmp_path / "trees").exists()
