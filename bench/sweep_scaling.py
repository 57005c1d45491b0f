"""Sweep scaling on Ray: the same N-trial sweep at 1 and 2 workers, then on a separately
started local Ray cluster (``ray start --head`` in another process, joined with ``--address``).

    python bench/sweep_scaling.py --datadir user_data/data/binance --pairs BTC/USDT \\
        --timerange 20240301-20240305 [--trials 8] [--workers 1 2] [--space FILE]
        [--no-cluster] [--out result.json]

Each run is the real ``python -m plugins.research sweep`` in a subprocess with its own study
and folder, so every figure includes Ray's start, optuna and the trials' Freqtrade runs. The
default space is a tiny FreqaiBaseline / LightGBMRegressor search (short FreqAI training
windows, ``trial_timeout_s`` 900) so the bench takes minutes; ``--space`` runs any other.

Figures (printed as a table and written as JSON): wall seconds, trials per hour, speed-up
against the 1-worker run of the same bench (target >= 1.8x at 2 workers on 2 cores), the mean
trial wall time (a loaded machine shows here), completed / failed trials, and the peak resident
memory per worker (the Ray worker process and the largest Freqtrade child it ran, from
``getrusage``). The machine's load average before and after each run is printed beside it: on a
shared machine a speed-up is only meaningful at low load. Exit 0 when every run finished, 1
otherwise, 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROG = "sweep_scaling"
TARGET = 1.8
DEFAULT_SPACE = """
strategy: FreqaiBaseline
freqaimodel: LightGBMRegressor
overrides:
  max_open_trades: 1
  freqai: {backtest_period_days: 2}
sampler: {seed: 11, n_startup_trials: 8}
score: {window_days: 1}
trial_timeout_s: 900
params:
  freqai.train_period_days: {type: int, low: 5, high: 8}
  freqai.model_training_parameters.learning_rate: {type: float, low: 0.02, high: 0.2, log: true}
  strategy.entry_threshold: {type: float, low: 0.0, high: 0.006}
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--datadir", type=Path, required=True)
    parser.add_argument("--pairs", nargs="+", required=True)
    parser.add_argument("--timerange", required=True, help="YYYYMMDD-YYYYMMDD")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker counts of the local runs (default 1 2)")
    parser.add_argument("--space", type=Path, default=None, help="search space (default: a tiny "
                                                                  "FreqaiBaseline space)")
    parser.add_argument("--no-cluster", action="store_true",
                        help="skip the run on a separately started Ray cluster")
    parser.add_argument("--out", type=Path, default=None, help="JSON result file")
    args = parser.parse_args(argv)
    if args.trials < 1 or any(w < 1 for w in args.workers):
        parser.error("--trials and --workers must be >= 1")
    if not args.datadir.is_dir():
        parser.error(f"--datadir {args.datadir} is not a directory")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_sweep(args: argparse.Namespace, space: Path, folder: Path, label: str,
              extra: list[str], env: dict[str, str] | None = None) -> dict:
    """One sweep subprocess; its figures."""
    cmd = [sys.executable, "-m", "plugins.research", "sweep", "--space", str(space),
           "--trials", str(args.trials), "--datadir", str(args.datadir.resolve()),
           "--pairs", *args.pairs, "--timerange", args.timerange, "--out", str(folder),
           "--study-name", f"bench-{label}", *extra]
    load_before = os.getloadavg()
    print(f"[{label}] {' '.join(cmd[3:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with (folder.parent / f"{label}.log").open("w") as log:
        proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False,
                              env=env)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    row = {"label": label, "exit": proc.returncode, "wall_s": round(wall, 1),
           "load_before": [round(x, 2) for x in load_before],
           "load_after": [round(x, 2) for x in load_after], "log": str(folder.parent / f"{label}.log")}
    summary_file = folder / "sweep.json"
    if proc.returncode != 0 or not summary_file.is_file():
        return row
    summary = json.loads(summary_file.read_text())
    results = [json.loads((folder / t["result"]).read_text()) for t in summary["trials"]]
    done = [r for r in results if r.get("state") == "complete"]
    workers: dict[str, dict] = {}
    for r in results:
        key = f"{r.get('host')}:{r.get('pid')}"
        entry = workers.setdefault(key, {"trials": 0, "worker_peak_rss_mb": 0.0,
                                         "freqtrade_peak_rss_mb": 0.0})
        entry["trials"] += 1
        for k in ("worker_peak_rss_mb", "freqtrade_peak_rss_mb"):
            entry[k] = max(entry[k], float(r.get(k) or 0))
    walls = [float(r["wall_s"]) for r in results if r.get("wall_s")]
    row.update(trials=len(results), complete=len(done), failed=len(results) - len(done),
               trials_per_hour=round(len(results) / wall * 3600, 1),
               trial_wall_mean_s=round(sum(walls) / len(walls), 1) if walls else None,
               workers=workers)
    return row


def cluster_env(tmp: Path) -> dict[str, str]:
    """Token authentication for the bench's cluster: a fresh token file (0600) in the bench's
    temp folder, given to the head and to the sweep that joins it."""
    token = tmp / "ray_auth_token"
    if not token.exists():
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}


def start_cluster(tmp: Path, cpus: int) -> tuple[subprocess.Popen, str]:
    """``ray start --head --block`` in its own process (its own temp dir, ports, CPUs and
    auth token)."""
    port = free_port()
    ray = Path(sys.executable).with_name("ray")
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    log = (tmp / "ray_head.log").open("w")
    proc = subprocess.Popen([str(ray), "start", "--head", "--block", "--port", str(port),
                             "--num-cpus", str(cpus), "--include-dashboard", "false",
                             "--temp-dir", str(temp), "--disable-usage-stats"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=cluster_env(tmp))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited {proc.returncode}: "
                               f"{(tmp / 'ray_head.log').read_text()[-2000:]}")
        if "Ray runtime started" in (tmp / "ray_head.log").read_text():
            return proc, f"127.0.0.1:{port}"
        time.sleep(1)
    raise RuntimeError("ray start --head did not come up within 120 s")


def stop_cluster(proc: subprocess.Popen) -> None:
    """End the head started here (its process group only)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def print_table(rows: list[dict]) -> None:
    base = next((r for r in rows if r["label"] == "workers-1" and r.get("trials_per_hour")), None)
    header = ("run", "wall s", "trials/h", "speed-up", "trial mean s", "ok/failed",
              "worker peak MiB", "freqtrade peak MiB", "load 1m before/after")
    lines = [header]
    for r in rows:
        tph = r.get("trials_per_hour")
        speed = f"{tph / base['trials_per_hour']:.2f}x" if base and tph else "n/a"
        workers = r.get("workers") or {}
        wmax = max((w["worker_peak_rss_mb"] for w in workers.values()), default=0)
        fmax = max((w["freqtrade_peak_rss_mb"] for w in workers.values()), default=0)
        lines.append((r["label"], f"{r['wall_s']:.0f}", f"{tph or 'n/a'}", speed,
                      f"{r.get('trial_wall_mean_s') or 'n/a'}",
                      f"{r.get('complete', 0)}/{r.get('failed', 0)}"
                      if r["exit"] == 0 else f"exit {r['exit']}",
                      f"{wmax:.0f} ({len(workers)} workers)", f"{fmax:.0f}",
                      f"{r['load_before'][0]:.2f}/{r['load_after'][0]:.2f}"))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
    print(f"target: >= {TARGET}x trials/hour at 2 workers on 2 cores (meaningful only at low "
          f"load; this machine has {os.cpu_count()} CPUs)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-scaling-"))
    space = args.space.resolve() if args.space else tmp / "space.yaml"
    if not args.space:
        space.write_text(DEFAULT_SPACE)
    rows = []
    try:
        for n in args.workers:
            rows.append(run_sweep(args, space, tmp / f"w{n}", f"workers-{n}",
                                  ["--workers", str(n)]))
        if not args.no_cluster:
            head, address = start_cluster(tmp, max(args.workers))
            try:
                rows.append(run_sweep(args, space, tmp / "cluster", "cluster",
                                      ["--address", address, "--workers", str(max(args.workers))],
                                      env=cluster_env(tmp)))
                rows[-1]["address"] = address
            finally:
                stop_cluster(head)
    finally:
        print_table(rows)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"arguments": {k: str(v) for k, v in vars(args).items()},
                                            "runs": rows, "target_speedup": TARGET}, indent=2))
            print(f"JSON: {args.out}")
        print(f"logs and sweeps: {tmp}")
    ok = all(r["exit"] == 0 for r in rows)
    if ok:
        shutil.rmtree(tmp / "w1" / "trials", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
