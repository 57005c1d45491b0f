"""One sweep trial: a real ``freqtrade backtesting`` FreqAI walk-forward run, isolated, scored.

:func:`run_trial` is what a Ray worker executes (``plugins.research.sweep`` wraps it in a Ray
task); it never raises for a trial's own failure: a crash, a timeout or an unreadable result
is returned as ``state: "failed"`` with the reason and the tail of Freqtrade's log, so one bad
trial never stops a sweep.

**Isolation.** Each trial gets its own folder ``<work_root>/<trial_id>/`` with its own
``user_data`` (models, results, logs), its own FreqAI ``identifier``
(``<study>-<trial_id>``), its own copy of the strategy folder when strategy parameters are
swept (the ``<Strategy>.json`` parameter file is written there, never next to the shipped
strategy), one merged ``config.json`` (exchange keys, Telegram token and API passwords
blanked: a backtest needs none) and its own replay exchange on a free port. Nothing is shared
between trials but the read-only candles, so two trials can never read each other's models or
SQLite files. A retried trial starts from an empty folder.

**Data.** ``datadir`` is read in place (a path every worker can read: the local disk, or a
shared mount on a cluster), or, when ``data_blob`` is given, the tar.gz made by
:func:`pack_data` is unpacked into the trial folder first (``--data-mode ship``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugins.core.clock import SYSTEM_CLOCK, Clock
from plugins.research.replay_url import die_with_parent
from plugins.research.space import deep_merge

logger = logging.getLogger(__name__)

#: Config paths blanked in every trial config (a backtest needs no credential).
SECRET_PATHS = (("exchange", "key"), ("exchange", "secret"), ("exchange", "password"),
                ("exchange", "uid"), ("telegram", "token"), ("api_server", "password"),
                ("api_server", "jwt_secret_key"), ("api_server", "ws_token"))
#: Config keys holding paths, resolved against the repo (or the worker's working dir).
PATH_KEYS = (("strategy_path",), ("freqaimodel_path",), ("ai_suite", "altdata", "cache_dir"))
LOG_TAIL_LINES = 60
KILL_GRACE_S = 10.0


@dataclass(frozen=True)
class TrialSpec:
    """Everything a worker needs to run one trial (picklable, paths as strings).

    Attributes:
        trial_id: ``t-0007`` (folder name); ``number``: optuna's trial number.
        study: study name (FreqAI identifier prefix).
        strategy, freqaimodel: classes to run (freqaimodel None = the config's).
        base_config: the space's configs merged with its overrides.
        overlay: the sampled config values (nested dict).
        strategy_params: sampled ``strategy.*`` values, ``{name: value}``; ``param_spaces``
            their Freqtrade spaces (``buy``, ``sell`` ...).
        pairs, timerange (``YYYYMMDD-YYYYMMDD``), timeout_s (wall seconds).
        datadir: candles read in place (None with ``--data-mode ship``).
        work_root: folder of the trial folders on the worker.
        repo: root the configs' relative paths are resolved from (None = the worker's cwd,
            e.g. a Ray ``working_dir``).
        exchange: ``replay`` (own replay exchange) or ``config`` (the configs' exchange).
        label_column, window_days: scoring (:mod:`plugins.research.scoring`).
        keep_models: keep the FreqAI model files after scoring (they are large).
        extra_args: more ``freqtrade`` arguments.
        param_file: a whole ``params`` block of Freqtrade's parameter file (e.g. a hyperopt
            epoch's, with ``roi`` / ``stoploss``), merged under ``strategy_params``.
    """

    trial_id: str
    number: int
    study: str
    strategy: str
    freqaimodel: str | None
    base_config: dict
    overlay: dict
    strategy_params: dict
    param_spaces: dict
    pairs: list[str]
    timerange: str
    timeout_s: float
    datadir: str | None
    work_root: str
    repo: str | None
    exchange: str = "replay"
    label_column: str | None = "&-s_close"
    window_days: int = 7
    keep_models: bool = False
    extra_args: list[str] = field(default_factory=list)
    param_file: dict | None = None


# --------------------------------------------------------------------------- data shipping


def pack_data(datadir: Path, pairs: list[str], altdata_cache: Path | None) -> bytes:
    """tar.gz of the candle files of ``pairs`` (every timeframe, ``<BASE>_<QUOTE>-*``) in
    ``datadir`` and, if given and present, the alt-data cache folder: what a remote worker
    needs. Members: ``candles/...``, ``altdata/...``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for pair in pairs:
            for path in sorted(datadir.glob(f"{pair.replace('/', '_')}-*")):
                tar.add(path, arcname=f"candles/{path.name}")
        if altdata_cache is not None and altdata_cache.is_dir():
            tar.add(altdata_cache, arcname="altdata")
    return buffer.getvalue()


def unpack_data(blob: bytes, into: Path) -> tuple[Path, Path]:
    """Unpack :func:`pack_data` into ``into``; returns (candles dir, alt-data dir)."""
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    (into / "candles").mkdir(parents=True, exist_ok=True)
    return into / "candles", into / "altdata"


# --------------------------------------------------------------------------- config


def _get(config: dict, keys: tuple[str, ...]) -> Any:
    node: Any = config
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _set(config: dict, keys: tuple[str, ...], value: Any) -> None:
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def trial_config(spec: TrialSpec, root: Path, user_data: Path, strategy_path: Path | None,
                 altdata: Path | None) -> dict:
    """The trial's one merged config: base, sampled overlay, then the isolation keys."""
    config = deep_merge(spec.base_config, spec.overlay)
    for keys in PATH_KEYS:
        value = _get(config, keys)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            _set(config, keys, str(root / value))
    for keys in SECRET_PATHS:
        if _get(config, keys):
            _set(config, keys, "")
    if altdata is not None and _get(config, ("ai_suite", "altdata")) is not None:
        _set(config, ("ai_suite", "altdata", "cache_dir"), str(altdata))
    if strategy_path is not None:
        config["strategy_path"] = str(strategy_path)
    config["user_data_dir"] = str(user_data)
    config["strategy"] = spec.strategy
    if spec.freqaimodel and "freqaimodel" not in spec.overlay:
        config["freqaimodel"] = spec.freqaimodel
    config.setdefault("exchange", {})["pair_whitelist"] = list(spec.pairs)
    freqai = config.get("freqai")
    if isinstance(freqai, dict) and freqai.get("enabled"):
        freqai["identifier"] = f"{spec.study}-{spec.trial_id}"
        features = freqai.setdefault("feature_parameters", {})
        swept = ((spec.overlay.get("freqai") or {}).get("feature_parameters") or {})
        if "include_corr_pairlist" not in swept:
            configured = features.get("include_corr_pairlist") or []
            features["include_corr_pairlist"] = ([p for p in configured if p in spec.pairs]
                                                 or list(spec.pairs[:1]))
    return config


def write_strategy_copy(spec: TrialSpec, root: Path, base_strategy_path: Path, into: Path) -> Path:
    """Copy the strategy folder to ``into`` and write ``<Strategy>.json`` (Freqtrade's
    parameter-file format) with the sampled parameters; returns ``into``."""
    source = base_strategy_path if base_strategy_path.is_absolute() else root / base_strategy_path
    shutil.copytree(source, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.json"))
    from plugins.research.space import find_strategy

    found = find_strategy(spec.strategy, into)
    if found is None:
        raise FileNotFoundError(f"strategy {spec.strategy} not found in {source}")
    location = found[1]
    params: dict[str, dict] = json.loads(json.dumps(spec.param_file or {}))
    for name, value in spec.strategy_params.items():
        params.setdefault(spec.param_spaces[name], {})[name] = value
    location.with_suffix(".json").write_text(json.dumps(
        {"strategy_name": spec.strategy, "params": params, "ft_stratparam_v": 1}, indent=2))
    return into


# --------------------------------------------------------------------------- run


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def freqtrade_command(config_file: Path, overlay_file: Path, datadir: Path, spec: TrialSpec,
                      results_dir: Path, logfile: Path, subcommand: str = "backtesting",
                      extra: list[str] | None = None) -> list[str]:
    """The command line of one trial (module docstring): under its own replay exchange
    (``exchange == "replay"``) or with the configs' exchange."""
    freqtrade = [sys.executable, "-m", "freqtrade", subcommand, "-c", str(config_file),
                 "--timerange", spec.timerange, "--datadir", str(datadir),
                 "--logfile", str(logfile), *(extra or [])]
    if subcommand == "backtesting":
        freqtrade += ["--cache", "none", "--export", "trades", "--backtest-directory",
                      str(results_dir)]
    if spec.exchange != "replay":
        return freqtrade
    freqtrade[6:6] = ["-c", str(overlay_file)]
    return [sys.executable, "-m", "adapters.replay_exchange", "--datadir", str(datadir),
            "--port", "0", "--log-level", "WARNING", "--",
            sys.executable, "-m", "plugins.research.replay_url", str(overlay_file), "--",
            *freqtrade]


def run_command(cmd: list[str], cwd: Path, output: Path, timeout_s: float) -> tuple[int | None, bool]:
    """Run ``cmd`` in its own process group, output to ``output``; on timeout SIGTERM the
    group, then SIGKILL after :data:`KILL_GRACE_S`. Returns (exit status or None, timed out).
    The child dies with this process (:func:`die_with_parent`)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}  # freqtrade logs then
    with output.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=die_with_parent)
        try:
            return proc.wait(timeout=timeout_s), False
        except subprocess.TimeoutExpired:
            for sig, grace in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            proc.wait()
            return proc.returncode, True


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory (MiB) of this worker process and of its largest finished child
    (a trial's Freqtrade), from ``getrusage`` (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"worker_peak_rss_mb": round(own, 1), "freqtrade_peak_rss_mb": round(children, 1)}


def run_trial(spec: TrialSpec, data_blob: bytes | None = None,
              clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """Run and score one trial (module docstring). Never raises for the trial's failure.

    Returns:
        ``trial_id``, ``number``, ``state`` (``complete`` | ``failed``), ``reason`` (failed
        only: ``timeout``, ``exit status N``, ``no result``, ``error``), ``detail``,
        ``log_tail``, ``wall_s``, ``host``, ``pid``, ``trial_dir``, ``config`` (path),
        memory figures and, when complete, the score of
        :func:`plugins.research.scoring.score_backtest` (``metrics``, ``controls``, ``days``,
        ``daily_returns``, ``windows``).
    """
    from plugins.research.scoring import ScoreError, load_closes, parse_timerange, score_backtest

    started = clock.monotonic()
    root = Path(spec.repo) if spec.repo else Path.cwd()
    trial_dir = Path(spec.work_root) / spec.trial_id
    result: dict[str, Any] = {"trial_id": spec.trial_id, "number": spec.number,
                              "host": socket.gethostname(), "pid": os.getpid(),
                              "trial_dir": str(trial_dir), "state": "failed"}
    logfile = trial_dir / "freqtrade.log"
    output = trial_dir / "freqtrade.out"
    try:
        if trial_dir.exists():
            shutil.rmtree(trial_dir)            # a retry starts clean
        user_data = trial_dir / "user_data"
        for sub in ("models", "backtest_results", "logs"):
            (user_data / sub).mkdir(parents=True)
        altdata = None
        if data_blob is not None:
            datadir, altdata = unpack_data(data_blob, trial_dir / "data")
            altdata = altdata if altdata.is_dir() else None
        else:
            datadir = Path(spec.datadir)
        strategy_path = None
        if spec.strategy_params or spec.param_file:
            strategy_path = write_strategy_copy(
                spec, root, Path(spec.base_config.get("strategy_path") or "strategies"),
                trial_dir / "strategies")
        config = trial_config(spec, root, user_data, strategy_path, altdata)
        config_file = trial_dir / "config.json"
        config_file.write_text(json.dumps(config, indent=2))
        result["config"] = str(config_file)
        results_dir = user_data / "backtest_results"
        cmd = freqtrade_command(config_file, trial_dir / "exchange.json", datadir, spec,
                                results_dir, logfile, extra=spec.extra_args)
        (trial_dir / "command.txt").write_text(" ".join(cmd) + "\n")
        status, timed_out = run_command(cmd, root, output, spec.timeout_s)
        log_source = logfile if logfile.exists() and logfile.stat().st_size else output
        result["log_tail"] = _tail(log_source)
        if timed_out:
            result.update(reason="timeout", detail=f"stopped after {spec.timeout_s:g} s "
                                                   "(trial_timeout_s)")
        elif status != 0:
            result.update(reason=f"exit status {status}",
                          detail=f"freqtrade backtesting exited with status {status}")
        else:
            start, stop = parse_timerange(spec.timerange)
            timeframe = config.get("timeframe", "1h")
            horizon = ((config.get("freqai") or {}).get("feature_parameters") or {}).get(
                "label_period_candles")
            closes = load_closes(datadir, list(spec.pairs), timeframe,
                                 config.get("dataformat_ohlcv", "feather"))
            models_dir = user_data / "models" / str((config.get("freqai") or {}).get("identifier"))
            try:
                result.update(score_backtest(results_dir, models_dir, spec.strategy,
                                             list(spec.pairs), closes, start, stop, timeframe,
                                             horizon, spec.label_column, spec.window_days))
                result["state"] = "complete"
                result.pop("log_tail", None)
            except ScoreError as err:
                result.update(reason="no result", detail=str(err))
            if not spec.keep_models:
                shutil.rmtree(user_data / "models", ignore_errors=True)
    except Exception as err:  # noqa: BLE001 - a trial's failure is data, never the sweep's end
        logger.exception("trial %s failed", spec.trial_id)
        result.update(reason="error", detail=f"{type(err).__name__}: {err}")
        result.setdefault("log_tail", _tail(output))
    result["wall_s"] = round(clock.monotonic() - started, 2)
    result.update(peak_rss_mb())
    return result
