"""Benchmark: the council's parallel analysts vs. their slowest single call, and its cost.

N analysts are asked through the real ``AsyncAnthropic`` client (``AnthropicLlm.acall``) of a
local Messages API server whose fake model answers each analyst after a simulated latency
(spread evenly from ``--latency-s`` to ``--latency-s * (1 + --spread)``). Baseline, measured in
the same run: each analyst alone, one after the other; the slowest of those single calls is what
a perfectly parallel council cannot beat. Reported: parallel wall time / slowest single call
(target <= 1.3), the sequential sum for reference, a full council (5 roles + judge) and its cost
per run at the configured model's list prices (cold: prompt-cache writes; warm: cache reads).

    python bench/council_latency.py [--analysts 5] [--latency-s 0.3] [--spread 0.5] [--repeat 5]
        [--datadir user_data/data/binance] [--altdata-dir user_data/altdata] [--at ISO]

Exit status 1 when the ratio exceeds 1.3; 2 on a bad option (one line naming it). Without
candle data the briefing is a stub.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from plugins.core.errors import DataNotFoundError
from plugins.llm.briefing import Briefing, build_briefing, last_closed_time, utc_time
from plugins.llm.client import AnthropicLlm, LlmRequest
from plugins.llm.config import COUNCIL_ROLES, LlmConfig
from plugins.llm.council import analyst_request, ask_analysts, run_council_async
from plugins.llm.testing.fake_server import Reply, serving
from plugins.llm.testing.script import ANALYSTS, default_model

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from _args import ArgumentProblem, check_positive, exit_on_problem, parse_time  # noqa: E402

TARGET_RATIO = 1.3


def _briefing(args: argparse.Namespace) -> tuple[Briefing, str]:
    try:
        at = utc_time(args.at) if args.at else last_closed_time(args.datadir, "BTC/USDT")
        briefing = build_briefing(args.datadir, args.altdata_dir, "BTC/USDT", at)
        return briefing, f"real data at {at:%Y-%m-%d %H:%M}"
    except DataNotFoundError as err:
        return Briefing(pair="BTC/USDT", at=utc_time("2024-03-15T12:00Z"), price=67757.76), f"stub ({err})"


def _requests(briefing: Briefing, n: int) -> dict[str, LlmRequest]:
    """N analyst requests: the council's roles in turn, each made distinct by its label."""
    out = {}
    for i in range(n):
        role = COUNCIL_ROLES[i % len(COUNCIL_ROLES)]
        request = analyst_request(role, briefing)
        out[f"analyst-{i}"] = request.model_copy(update={"system": f"{request.system}\nANALYST #{i}#"})
    return out


def _spread(latency_s: float, spread: float, n: int) -> list[float]:
    """``n`` latencies from ``latency_s`` to ``latency_s * (1 + spread)``, evenly."""
    return [latency_s * (1 + spread * i / max(1, n - 1)) for i in range(n)]


async def _timed(coro) -> float:
    started = time.perf_counter()
    await coro
    return time.perf_counter() - started


async def _run(llm: AnthropicLlm, requests: dict[str, LlmRequest], briefing: Briefing,
               repeat: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"slowest": [], "sequential": [], "parallel": [], "council": []}
    await ask_analysts(llm, requests)  # warm up: connections, prompt cache
    for _ in range(repeat):
        singles = [await _timed(ask_analysts(llm, {label: r})) for label, r in requests.items()]
        samples["slowest"].append(max(singles))
        samples["sequential"].append(sum(singles))
        samples["parallel"].append(await _timed(ask_analysts(llm, requests)))
        samples["council"].append(await _timed(run_council_async(llm, briefing)))
    await llm.aclose()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analysts", type=int, default=5)
    parser.add_argument("--latency-s", type=float, default=0.3)
    parser.add_argument("--spread", type=float, default=0.5, help="slowest = latency x (1 + spread)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--datadir", type=Path, default=Path("user_data/data/binance"))
    parser.add_argument("--altdata-dir", type=Path, default=Path("user_data/altdata"))
    parser.add_argument("--at")
    parser.add_argument("--model", default=LlmConfig().model)
    args = parser.parse_args()
    with exit_on_problem(parser.prog):
        check_positive(args.analysts, "--analysts", integer=True)
        check_positive(args.repeat, "--repeat", integer=True)
        check_positive(args.latency_s, "--latency-s")
        if not args.spread >= 0:
            raise ArgumentProblem(f"--spread {args.spread:g} must be 0 or more")
        if args.at is not None:
            parse_time(args.at, "--at")
    briefing, source = _briefing(args)
    requests = _requests(briefing, args.analysts)
    model = default_model()
    latencies = _spread(args.latency_s, args.spread, args.analysts)
    for role, latency in zip(COUNCIL_ROLES, _spread(args.latency_s, args.spread, len(COUNCIL_ROLES)),
                             strict=True):  # the full council's own analysts, same spread (added first: the
        # per-analyst rules below are tried before them)
        model.add(f"HOOK: council.{role}", Reply.json(ANALYSTS[role], delay_s=latency))
    for i, latency in enumerate(latencies):
        answer = ANALYSTS[COUNCIL_ROLES[i % len(COUNCIL_ROLES)]]
        model.add(f"ANALYST #{i}#", Reply.json(answer, delay_s=latency))
    with tempfile.TemporaryDirectory() as tmp, serving(model) as server:
        config = LlmConfig(model=args.model, base_url=server.base_url, cassette_mode="off",
                           ledger_path=Path(tmp) / "ledger.sqlite", daily_budget_usd=1e6,
                           monthly_budget_usd=1e6)
        llm = AnthropicLlm(config, api_key="local-bench")
        samples = asyncio.run(_run(llm, requests, briefing, args.repeat))
        cold, warm = asyncio.run(_costs(llm, briefing, model))
        llm.close()
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = med["parallel"] / med["slowest"]
    print(f"council_latency: N={args.analysts} analysts, simulated latency {latencies[0]:.2f}.."
          f"{latencies[-1]:.2f} s per call, median of {args.repeat}, model {args.model}, briefing: {source}")
    print(f"  slowest single call (baseline): {med['slowest']:.3f} s")
    print(f"  parallel analysts:              {med['parallel']:.3f} s   ratio {ratio:.2f} "
          f"(target <= {TARGET_RATIO})  {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    print(f"  sequential analysts:            {med['sequential']:.3f} s   (reference)")
    print(f"  full council (5 roles + judge): {med['council']:.3f} s")
    for label, (cost, usage) in (("cold", cold), ("warm", warm)):
        print(f"  cost per council run ({label}): ${cost:.5f}  tokens in={usage[0]} out={usage[1]} "
              f"cache_write={usage[2]} cache_read={usage[3]}")
    return 0 if ratio <= TARGET_RATIO else 1


async def _costs(llm: AnthropicLlm, briefing: Briefing, model):
    """Cost of a council on a cold prompt cache and right after it (warm)."""
    model._cached_prefixes.clear()
    out = []
    for _ in range(2):
        before = len(llm.ledger.calls())
        verdict = await run_council_async(llm, briefing)
        calls = llm.ledger.calls()[before:]
        usage = [sum(getattr(c.usage, f) for c in calls) for f in (
            "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")]
        out.append((verdict.cost_usd, usage))
    await llm.aclose()
    return out


if __name__ == "__main__":
    sys.exit(main())
