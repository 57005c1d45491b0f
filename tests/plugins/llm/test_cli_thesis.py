"""``python -m plugins.llm ideas --thesis`` takes the thesis text itself or ``@FILE``."""

from __future__ import annotations

import pytest

from plugins.llm.__main__ import _parser


def _thesis(*argv: str) -> str:
    return _parser().parse_args(["ideas", *argv]).thesis


def test_thesis_when_given_as_text_then_the_text_is_the_thesis():
    assert _thesis("--thesis", "BTC dips after FOMC") == "BTC dips after FOMC"


def test_thesis_when_given_as_at_file_then_the_file_is_read(tmp_path):
    (tmp_path / "t.md").write_text("ETH leads after CPI\n", encoding="utf-8")
    assert _thesis("--thesis", f"@{tmp_path / 't.md'}") == "ETH leads after CPI\n"


def test_thesis_when_at_file_is_missing_then_exit_2_names_the_option_and_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _thesis("--thesis", f"@{tmp_path / 'nope.md'}")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--thesis" in err and "nope.md" in err and "Traceback" not in err
