"""Re-record the shipped cassettes and the golden briefing against the local Messages API server.

    python -m tests.plugins.llm.record_cassettes

Builds a data dir and an alt-data cache from the real bundle (like the session fixtures), starts
the fake server with the default script, runs ``ideas``, ``structure`` and ``council`` on the
briefing of ``cases.AT`` with ``cassette_mode: record`` into ``tests/fixtures/llm/cassettes``
(old cassettes removed first) and writes the golden briefing markdown. Needed after a prompt, a
schema or the briefing changes: ``test_cassettes.py`` then reports a cassette miss.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from plugins.altdata.__main__ import import_shared
from plugins.altdata.config import AltDataConfig
from plugins.llm.briefing import build_briefing, render_markdown
from plugins.llm.client import AnthropicLlm
from plugins.llm.config import LlmConfig
from plugins.llm.council import run_council
from plugins.llm.ideas import generate_ideas
from plugins.llm.structure import structure_tree
from plugins.llm.testing.fake_server import serving
from plugins.llm.testing.script import default_model
from plugins.marketdata.sync import sync_candles
from tests.conftest import bundle_dir
from tests.plugins.llm.cases import AT, CASSETTE_DIR, DESCRIPTION, GOLDEN_BRIEF, PAIR, THESIS


def record(cassette_dir: Path = CASSETTE_DIR) -> list[str]:
    """Record every cassette; returns what was recorded, one line per hook."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        datadir = work / "binance"
        sync_candles(bundle_dir(), datadir)
        import_shared(bundle_dir(), AltDataConfig(cache_dir=work / "altdata"))
        briefing = build_briefing(datadir, work / "altdata", PAIR, AT)
        GOLDEN_BRIEF.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_BRIEF.write_text(render_markdown(briefing))
        shutil.rmtree(cassette_dir, ignore_errors=True)
        with serving(default_model()) as server:
            config = LlmConfig(base_url=server.base_url, cassette_mode="record", cassette_dir=cassette_dir,
                               ledger_path=work / "ledger.sqlite")
            llm = AnthropicLlm(config, api_key="local-recording")
            ideas = generate_ideas(llm, briefing, THESIS)
            tree = structure_tree(llm, DESCRIPTION)
            verdict = run_council(llm, briefing)
            llm.close()
    return [f"ideas: {ideas.status}, {len(ideas.ideas)} idea(s)",
            f"structure: {tree.tree.name} after {len(tree.problems)} rejected attempt(s)",
            f"council: {verdict.decision} {verdict.confidence}",
            f"{len(list(cassette_dir.glob('*.json')))} cassettes in {cassette_dir}"]


if __name__ == "__main__":
    print("\n".join(record()))
    sys.exit(0)
