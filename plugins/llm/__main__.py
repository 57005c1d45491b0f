"""CLI of the LLM hooks.

    python -m plugins.llm brief   [--pair BTC/USDT] [--at ISO] [--out FILE]
    python -m plugins.llm ideas   --thesis "TEXT" | --thesis @FILE [--news FILE] [--pair ..] [--at ..]
    python -m plugins.llm structure "DESCRIPTION" | --file FILE [--trees-dir strategies/trees]
                                  [--compiled-dir strategies/compiled | --no-compile]
    python -m plugins.llm council [--pair ..] (--at ISO | --from ISO --to ISO --every 1d)
                                  [--verdicts CSV] [--journal SQLITE] [--replay-only]
    python -m plugins.llm review  (--backtest DIR|FILE | --db-url URL) --tree FILE [--journal FILE]
                                  [--since ISO] [--until ISO] [--starting-balance X] [--notes FILE]
                                  [--no-llm]
    python -m plugins.llm approve REVIEW_ID [--trees-dir strategies/trees]
                                  [--compiled-dir strategies/compiled | --no-compile]
    python -m plugins.llm budget  [--last N]
    python -m plugins.llm score-news [--since ISO] [--until ISO] [--batch-size N] [--altdata-dir DIR]
        score the stored news headlines with the model into the score cache (each title once;
        cassettes make reruns free; the budget caps it; a failed batch abstains)

Common options: ``--config FILE`` (a Freqtrade config whose ``ai_suite.llm`` / ``ai_suite.altdata``
are used), ``--model``, ``--cassette-mode auto|replay|record|off``, ``--cassette-dir``,
``--base-url``, ``--output-dir``, ``--datadir`` (``user_data/data/binance``).

Exit status: 0 done (an abstention is a result, printed as ``ABSTAIN``); 1 bad input or data
(message on stderr); 2 a usage error (e.g. a review id not of the shape ``review`` prints), the
LLM is unavailable (no ``ANTHROPIC_API_KEY`` and no cassette) or the budget refused the call.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path

import pandas as pd

from plugins.core.cli import ArgumentParser
from plugins.core.errors import DataNotFoundError
from plugins.llm.config import LlmConfig
from plugins.llm.errors import BudgetExceededError, LlmOutputError, LlmUnavailableError

logger = logging.getLogger(__name__)


def text_or_file(value: str) -> str:
    """argparse type: the text itself, or with a leading ``@`` the UTF-8 text of that file
    (``--thesis "BTC dips after FOMC"`` / ``--thesis @thesis.md``).

    Raises:
        argparse.ArgumentTypeError: ``@FILE`` cannot be read (argparse exits 2 naming the option).
    """
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise argparse.ArgumentTypeError(
            f"cannot read {path}: {getattr(err, 'strerror', None) or err}; give the text itself "
            "or @FILE of an existing UTF-8 file") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="Freqtrade config with an ai_suite section "
                                                    "(default: none, ai_suite.llm defaults)")
    parser.add_argument("--model", help="Messages API model name (default: ai_suite.llm.model, "
                                        "claude-sonnet-4-6)")
    parser.add_argument("--cassette-mode", choices=("auto", "replay", "record", "off"),
                        help="auto: replay a stored answer, else call and store it; replay: stored "
                             "answers only; record: always call and store; off: call, store nothing "
                             "(default: ai_suite.llm.cassette_mode, auto)")
    parser.add_argument("--cassette-dir", type=Path, help="folder of stored answers (default: "
                        "ai_suite.llm.cassette_dir, user_data/llm/cassettes)")
    parser.add_argument("--base-url", help="Messages API base URL, e.g. a local server for "
                                           "recording (default: the SDK's, or ANTHROPIC_BASE_URL)")
    parser.add_argument("--output-dir", type=Path, help="where ideas, verdicts and reviews are "
                        "written (default: ai_suite.llm.output_dir, user_data/llm)")
    parser.add_argument("--ledger", type=Path, help="call ledger, SQLite (default: "
                        "ai_suite.llm.ledger_path, user_data/llm/ledger.sqlite)")


def _briefing_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pair", default="BTC/USDT", help="the pair briefed")
    parser.add_argument("--at", help="ISO time (UTC); default: close of the newest 1h candle")
    parser.add_argument("--datadir", type=Path, default=Path("user_data/data/binance"),
                        help="Freqtrade candle folder")
    parser.add_argument("--altdata-dir", type=Path, help="alt-data cache (default from config)")
    parser.add_argument("--timeframes", default="1h,4h,1d",
                        help="RSI timeframes, comma-separated Freqtrade timeframes")
    parser.add_argument("--detector", default="rules", choices=("rules", "hmm", "jump"),
                        help="regime detector (plugins/regime)")
    parser.add_argument("--news", type=Path, help="file of headlines, one a line (untrusted text; "
                                                  "default: none)")


def _review_id_arg(text: str) -> str:
    """argparse type: a review id of the shape the suite generates (else a usage error, 2)."""
    from plugins.llm.review import ReviewIdError, check_review_id

    try:
        return check_review_id(text)
    except ReviewIdError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.llm", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    brief = sub.add_parser("brief", help="deterministic market briefing (no LLM)")
    _briefing_args(brief)
    brief.add_argument("--out", type=Path, help="also write the markdown to this file")
    ideas = sub.add_parser("ideas", help="briefing + thesis -> 1-3 trade ideas")
    _briefing_args(ideas)
    ideas.add_argument("--thesis", type=text_or_file, required=True,
                       help='your thesis: the text itself ("BTC dips after FOMC") or @FILE to '
                            'read it from a file (untrusted text)')
    structure = sub.add_parser("structure", help="description -> validated strategy tree file")
    structure.add_argument("description", nargs="?",
                           help="the strategy in plain words (or --file)")
    structure.add_argument("--file", type=Path, help="read the description from a file")
    structure.add_argument("--trees-dir", type=Path, default=Path("strategies/trees"),
                           help="where the tree file is written")
    structure.add_argument("--compiled-dir", type=Path, default=Path("strategies/compiled"),
                           help="compiled strategies (backtrader ones in its backtrader/)")
    structure.add_argument("--no-compile", action="store_true",
                           help="write the tree only, do not compile it")
    council = sub.add_parser("council", help="analysts + judge -> verdict (journal, CSV)")
    _briefing_args(council)
    council.add_argument("--from", dest="start", help="first time of a range (ISO, UTC)")
    council.add_argument("--to", dest="end", help="last time of a range (ISO, UTC)")
    council.add_argument("--every", default="1d", help="range step (pandas offset: 1h, 4h, 1d)")
    council.add_argument("--verdicts", type=Path,
                         help="verdict CSV (default <output-dir>/council/verdicts.csv)")
    council.add_argument("--journal", type=Path, help="decision journal (default ai_suite.llm.journal_path)")
    council.add_argument("--replay-only", action="store_true",
                         help="cassettes only (reproducible backtest input); a miss is an error")
    review = sub.add_parser("review", help="trade statistics + narrative + tree proposal")
    review.add_argument("--backtest", type=Path, help="backtest result file or folder")
    review.add_argument("--db-url", help="trades database, e.g. sqlite:///tradesv3.dryrun.sqlite")
    review.add_argument("--strategy", help="strategy class name (needed when the backtest "
                                           "result holds several)")
    review.add_argument("--journal", type=Path, help="decision journal (default: next to the trades)")
    review.add_argument("--tree", type=Path, required=True, help="the strategy tree under review")
    review.add_argument("--since", help="ISO time (UTC): trades closed from then (default: all)")
    review.add_argument("--until", help="ISO time (UTC): trades closed before then (default: all)")
    review.add_argument("--starting-balance", type=float,
                        help="account balance at the start, stake currency (default: the "
                             "backtest's starting balance)")
    review.add_argument("--notes", type=Path, help="owner's notes for the reviewer (untrusted text)")
    review.add_argument("--no-llm", action="store_true", help="figures only")
    approve = sub.add_parser("approve", help="write a review's proposal as a new tree version")
    approve.add_argument("review_id", type=_review_id_arg,
                         help="the id `review` printed")
    approve.add_argument("--trees-dir", type=Path, default=Path("strategies/trees"),
                         help="where the new tree version is written")
    approve.add_argument("--compiled-dir", type=Path, default=Path("strategies/compiled"),
                         help="compiled strategies (backtrader ones in its backtrader/)")
    approve.add_argument("--no-compile", action="store_true",
                         help="write the tree only, do not compile it")
    budget = sub.add_parser("budget", help="spend today / this month and the latest calls")
    budget.add_argument("--last", type=int, default=10, help="how many of the latest calls to list")
    score_news = sub.add_parser("score-news", help="LLM scores of the stored news headlines")
    score_news.add_argument("--since", help="ISO time (UTC): headlines published from then")
    score_news.add_argument("--until", help="ISO time (UTC): headlines published before then")
    score_news.add_argument("--batch-size", type=int, default=40,
                            help="headlines per LLM call (count)")
    score_news.add_argument("--altdata-dir", type=Path, help="alt-data cache (default from config)")
    for p in (brief, ideas, structure, council, review, approve, budget, score_news):
        _common(p)
    return parser


def _section(args: argparse.Namespace, key: str, model):
    """Section ``ai_suite.<key>`` of ``--config`` (absent: defaults), validated by ``model``."""
    from plugins.core.config import load_section

    data = json.loads(args.config.read_text()) if args.config else {}
    return load_section(data, key, model)


def _altdata_cache(args: argparse.Namespace) -> Path:
    """``--altdata-dir``, else ``ai_suite.altdata.cache_dir`` of ``--config``."""
    from plugins.altdata.config import AltDataConfig

    return args.altdata_dir or _section(args, "altdata", AltDataConfig).cache_dir


def _llm_config(args: argparse.Namespace) -> LlmConfig:
    base = _section(args, "llm", LlmConfig)
    updates = {"model": args.model, "cassette_mode": args.cassette_mode, "cassette_dir": args.cassette_dir,
               "base_url": args.base_url, "output_dir": args.output_dir, "ledger_path": args.ledger}
    if getattr(args, "replay_only", False):
        updates["cassette_mode"] = "replay"
    updates = {k: v for k, v in updates.items() if v is not None}
    return LlmConfig.model_validate({**base.model_dump(), **updates})


def _client(config: LlmConfig):
    from plugins.llm.client import AnthropicLlm

    return AnthropicLlm(config)


def _read(path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path else ""


def _briefing(args: argparse.Namespace):
    from plugins.llm.briefing import build_briefing, last_closed_time, utc_time

    cache = _altdata_cache(args)
    at = utc_time(args.at) if args.at else last_closed_time(args.datadir, args.pair)
    news = tuple(line.strip() for line in _read(args.news).splitlines() if line.strip())
    return build_briefing(args.datadir, cache, args.pair, at, tuple(args.timeframes.split(",")),
                          args.detector, news)


def _brief(args: argparse.Namespace) -> int:
    from plugins.core.atomic import atomic_write
    from plugins.llm.briefing import render_markdown

    text = render_markdown(_briefing(args))
    print(text, end="")
    if args.out:
        atomic_write(args.out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return 0


def _ideas(args: argparse.Namespace) -> int:
    from plugins.llm.ideas import generate_ideas, write_ideas

    config = _llm_config(args)
    briefing = _briefing(args)
    thesis = args.thesis
    result = generate_ideas(_client(config), briefing, thesis)
    digest = hashlib.sha256((briefing.model_dump_json() + thesis).encode()).hexdigest()[:8]
    json_path, md_path = write_ideas(result, config.output_dir, f"{briefing.at:%Y%m%d-%H%M}-{digest}")
    if result.status == "abstain":
        print(f"ABSTAIN: no ideas: {result.reason}")
    for idea in result.ideas:
        print(f"- {idea.direction} {idea.pair} entry {idea.entry_zone.low:g}-{idea.entry_zone.high:g} "
              f"stop {idea.stop_loss:g} targets {', '.join(f'{t:g}' for t in idea.targets)} "
              f"(conviction {idea.conviction:.2f})")
    print(f"Written: {md_path} and {json_path}")
    return 0


def _structure(args: argparse.Namespace) -> int:
    from plugins.llm.structure import structure_tree
    from plugins.llm.treefiles import compile_engines, write_draft

    description = _read(args.file) if args.file else (args.description or "")
    if not description.strip():
        print("structure: give a DESCRIPTION or --file FILE", file=sys.stderr)
        return 1
    config = _llm_config(args)
    result = structure_tree(_client(config), description)
    path = write_draft(result.tree, args.trees_dir)
    from plugins.strategy_tree.io import load_tree

    tree = load_tree(path)
    _, status = compile_engines(tree, None if args.no_compile else args.compiled_dir)
    print(f"Tree {tree.name} written for review: {path} (after {len(result.problems)} rejected "
          f"attempt(s)); {status}")
    return 0


def _council(args: argparse.Namespace) -> int:
    from plugins.llm.briefing import utc_time
    from plugins.llm.council import journal_verdict, record_verdicts, run_council, run_council_range
    from plugins.risk.journal import DecisionJournal

    config = _llm_config(args)
    client = _client(config)
    if args.start or args.end:
        if not (args.start and args.end):
            print("council: give both --from and --to", file=sys.stderr)
            return 1
        cache = _altdata_cache(args)
        verdicts = run_council_range(client, args.datadir, cache, args.pair, utc_time(args.start),
                                     utc_time(args.end), pd.Timedelta(args.every).to_pytimedelta())
    else:
        verdicts = [run_council(client, _briefing(args))]
    with DecisionJournal(args.journal or config.journal_path) as journal:
        for v in verdicts:
            journal_verdict(journal, v)
    path = record_verdicts(args.verdicts or config.output_dir / "council" / "verdicts.csv", verdicts)
    for v in verdicts:
        dissent = "; ".join(f"{d.role}: {d.view}" for d in v.dissent) or "none"
        label = "ABSTAIN" if v.decision == "abstain" else v.decision
        print(f"{v.at:%Y-%m-%d %H:%M} {v.pair}: {label} confidence {v.confidence:.2f} "
              f"{v.reason or v.summary} (dissent: {dissent}; ${v.cost_usd:.4f})")
    print(f"Verdicts: {path}; journal: {args.journal or config.journal_path}")
    return 0


def _default_journal(args: argparse.Namespace) -> Path:
    if args.journal:
        return args.journal
    if args.backtest:
        folder = args.backtest if args.backtest.is_dir() else args.backtest.parent
        return folder / "journal.backtest.sqlite"
    from plugins.risk.journal import journal_path

    return journal_path({"runmode": "dry_run", "user_data_dir": "user_data", "db_url": args.db_url})


def _review(args: argparse.Namespace) -> int:
    from plugins.llm.briefing import utc_time
    from plugins.llm.review import run_review
    from plugins.llm.review_stats import compute_stats, load_trades
    from plugins.risk.journal import DecisionJournal

    config = _llm_config(args)
    trades, strategy, balance = load_trades(args.backtest, args.db_url, args.strategy)
    journal_file = _default_journal(args)
    if not journal_file.is_file():
        raise DataNotFoundError(f"No decision journal at {journal_file}; pass --journal FILE")
    with DecisionJournal(journal_file) as journal:
        rows = journal.query()
    since = utc_time(args.since) if args.since else None
    until = utc_time(args.until) if args.until else None
    stats = compute_stats(trades, rows, strategy, args.starting_balance or balance, since, until)
    client = None if args.no_llm else _client(config)
    out = run_review(client, stats, trades, args.tree, config.output_dir, _read(args.notes))
    status = "no narrative" if out.narrative is None else f"{len(out.applied)} change(s) proposed"
    print(f"Review {out.review_id}: {out.markdown} ({status}, {len(out.rejected)} rejected)")
    if out.proposal:
        print(f"Approve with: python -m plugins.llm approve {out.review_id}")
    return 0


def _approve(args: argparse.Namespace) -> int:
    from plugins.llm.review import approve

    config = _llm_config(args)
    result = approve(args.review_id, config.output_dir, args.trees_dir,
                     None if args.no_compile else args.compiled_dir)
    print(f"Approved: {result.tree_path}; {result.compile_status}")
    return 0


def _budget(args: argparse.Namespace) -> int:
    from plugins.llm.ledger import Budget, Ledger

    config = _llm_config(args)
    ledger = Ledger(config.ledger_path)
    budget = Budget(ledger, config.daily_budget_usd, config.monthly_budget_usd)
    today, month = budget.spent()
    print(f"Billed today (UTC) ${today:.4f} of ${config.daily_budget_usd:.2f}; this month "
          f"${month:.4f} of ${config.monthly_budget_usd:.2f}; in flight ${budget.in_flight():.4f}")
    for c in ledger.calls(args.last):
        u = c.usage
        print(f"{c.ts:%Y-%m-%d %H:%M:%S} {c.hook:<18} {c.prompt_hash[:12]} {c.model} {c.source:<8} "
              f"{c.outcome:<22} in={u.input_tokens} out={u.output_tokens} "
              f"cache_w={u.cache_creation_input_tokens} cache_r={u.cache_read_input_tokens} "
              f"${c.cost_usd:.5f} billed ${c.billed_usd:.5f}")
    ledger.close()
    return 0


def _score_news(args: argparse.Namespace) -> int:
    from plugins.altdata.config import AltDataConfig
    from plugins.altdata.news.scoring import score_headlines
    from plugins.altdata.news.store import NewsStore, ScoreCache
    from plugins.core.clock import SYSTEM_CLOCK
    from plugins.llm.briefing import utc_time
    from plugins.llm.news_scorer import LlmHeadlineScorer

    news = _section(args, "altdata", AltDataConfig).news
    folder = _altdata_cache(args) / "news"
    headlines = NewsStore(folder).read_all(news.providers)
    if args.since:
        headlines = headlines[headlines["published_at"] >= utc_time(args.since)]
    if args.until:
        headlines = headlines[headlines["published_at"] < utc_time(args.until)]
    scorer = LlmHeadlineScorer(_client(_llm_config(args)), batch_size=args.batch_size)
    scores = score_headlines(headlines, scorer, ScoreCache(folder), scorer.version,
                             pd.Timestamp(SYSTEM_CLOCK.now()))
    print(f"{int(scores.notna().sum())} of {len(headlines)} headlines have a {scorer.version} "
          f"score in {folder}")
    for reason in scorer.abstained:
        print(f"ABSTAIN: {reason[:300]}")
    return 0


HANDLERS = {"brief": _brief, "ideas": _ideas, "structure": _structure, "council": _council,
            "review": _review, "approve": _approve, "budget": _budget, "score-news": _score_news}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    from plugins.core.config import SuiteConfigError
    from plugins.llm.review import ReviewError
    from plugins.strategy_tree.errors import TreeValidationError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except (LlmUnavailableError, BudgetExceededError) as err:
        print(f"{args.command}: {err}", file=sys.stderr)
        return 2
    except LlmOutputError as err:
        print(f"{args.command}: {err}", file=sys.stderr)
        for n, problem in enumerate(err.problems, 1):
            print(f"  attempt {n}: {problem}", file=sys.stderr)
        return 1
    except (DataNotFoundError, TreeValidationError, ReviewError, SuiteConfigError, FileExistsError,
            OSError, ValueError) as err:
        print(f"{args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
