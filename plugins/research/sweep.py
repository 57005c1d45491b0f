"""Parameter sweeps: optuna samples, Ray runs, every trial a real FreqAI walk-forward backtest.

    python -m plugins.research sweep --space config/sweeps/moe.yaml --trials N --datadir DIR \\
        --pairs BTC/USDT ETH/USDT --timerange 20240101-20240401 [--workers N] \\
        [--address ray://HOST:10001 | auto] [--storage URL] [--study-name NAME] [--out DIR] \\
        [--data-mode auto|path|ship] [--exchange replay|config] [--cpus-per-trial 1] \\
        [--trial-timeout S] [--keep-models]

**How it runs.** The driver (this process) holds an optuna study and asks it for one trial at
a time (ask/tell; TPE, or NSGA-II for several objectives, seeded; :mod:`plugins.research.space`),
each trial being one Ray task (:func:`plugins.research.trial.run_trial`: its own user-data
folder, FreqAI identifier, strategy copy and replay exchange). At most ``--workers`` trials run
at once (default: the CPUs Ray sees / ``--cpus-per-trial``); Ray does the scheduling and the
placement. ``--address`` unset: a local Ray started here (``ray.init(num_cpus=N)``);
``auto`` or ``HOST:PORT``: an existing cluster (``ray start --head`` ...); ``ray://HOST:10001``:
through the Ray client. On a cluster the repo is sent as the job's ``working_dir`` (every node
needs the same Python environment: ``make setup``); the candles are read from ``--datadir`` in
place (``--data-mode path``: the same path on every node, e.g. a shared mount) or packed once
(the pairs' candle files and the alt-data cache) and shipped through Ray's object store
(``ship``; the default with ``--address``).

**Where it goes** (``--out``, default ``user_data/sweeps/<study>``): the optuna study
(``study.sqlite3``, or ``--storage`` any optuna RDB URL, e.g. PostgreSQL, for a team),
``trials/<trial_id>/result.json`` for **every** trial (failed ones too: the Deflated Sharpe
Ratio and PBO need all of them), beside each local trial's ``config.json``, command, log and
Freqtrade result; ``sweep.json`` (summary: the trial table, a buy-and-hold control over the same
pairs and range, the DSR / PBO / survival figures of :func:`plugins.research.gates.gate_report`);
``evidence.json`` (:mod:`plugins.research.export`, what ``promote`` reads); optuna's HTML
plots (``optimization_history.html``, ``param_importances.html``,
``parallel_coordinate.html``).

**Resume and faults.** Rerun the same command: completed and failed trials are kept, the
remaining ones run. A trial left running by a killed sweep (SIGINT, SIGTERM or SIGKILL) is
marked ``interrupted`` (at once when its driver is gone from this host; otherwise when its
heartbeat, written every ``heartbeat_s``, is older than 3 beats: optuna's
``fail_stale_trials``) and enqueued again with the same parameters as a new trial
(optuna's ``RetryHeartbeatStaleTrialCallback``); interrupted trials do not count as trials. A trial
that crashes, times out (``trial_timeout_s``) or leaves no result is recorded as failed with
its log tail; a trial whose objective is undefined (no trade: no Sharpe ratio) too. A Ray
worker lost mid-trial is retried once by Ray (``max_retries=1``); lost again, the trial is
failed (``worker lost``). One driver per study at a time: more machines join as Ray nodes.
A rerun with a changed space file or other pairs / time range is refused (one study, one
question).

Progress: a ``rich`` progress bar on a terminal, else one line per event (trial started /
done / failed with done, running, failed counts, the best so far and the ETA), then the final
table.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.core.clock import Clock
from plugins.research.scoring import parse_timerange
from plugins.research.space import (
    REPO,
    SpaceError,
    SweepSpace,
    load_space,
    merged_base,
    split_params,
    suggest,
)
from plugins.research.sweep_results import (
    finished_trials,
    outcome_of,
)
from plugins.research.trial import TrialSpec, pack_data, run_trial

logger = logging.getLogger(__name__)

STUDY_FILE = "study.sqlite3"
MAX_RETRIES_INTERRUPTED = 3
RAY_EXCLUDES = [".venv", ".git", "user_data", "**/__pycache__", "*.sqlite3", "*.feather",
                "freqtrade_ai_suite.egg-info"]


class SweepError(ValueError):
    """Bad input to a sweep (the message names the option or key and the fix; exit 2)."""


@dataclass(frozen=True)
class SweepOptions:
    """The command line of a sweep (module docstring)."""

    space_file: Path
    trials: int
    datadir: Path
    pairs: list[str]
    timerange: str
    out: Path | None = None
    workers: int | None = None
    address: str | None = None
    storage: str | None = None
    study_name: str | None = None
    data_mode: str = "auto"
    exchange: str = "replay"
    cpus_per_trial: float = 1.0
    trial_timeout_s: float | None = None
    heartbeat_s: float = 20.0
    keep_models: bool = False


# --------------------------------------------------------------------------- checks


def check_options(options: SweepOptions) -> SweepSpace:
    """Validate everything before Ray or optuna start; returns the space.

    Raises:
        SweepError: a bad option (named), or the space file's :class:`SpaceError`.
    """
    if options.trials < 1:
        raise SweepError(f"--trials {options.trials}: must be >= 1")
    if options.workers is not None and options.workers < 1:
        raise SweepError(f"--workers {options.workers}: must be >= 1")
    if options.cpus_per_trial <= 0:
        raise SweepError(f"--cpus-per-trial {options.cpus_per_trial}: must be > 0")
    if options.trial_timeout_s is not None and options.trial_timeout_s <= 0:
        raise SweepError(f"--trial-timeout {options.trial_timeout_s}: must be > 0")
    try:
        parse_timerange(options.timerange)
    except ValueError as err:
        raise SweepError(str(err)) from err
    if not options.datadir.is_dir():
        raise SweepError(f"--datadir {options.datadir}: no such folder (make data fills "
                         "user_data/data/binance)")
    if len(set(options.pairs)) != len(options.pairs):
        raise SweepError(f"--pairs lists a pair twice: {' '.join(options.pairs)}")
    coins = [p.split("/")[0].lower() for p in options.pairs]
    if len(set(coins)) != len(coins):
        raise SweepError("--pairs must have distinct base currencies (FreqAI names its files by "
                         "base currency)")
    try:
        space = load_space(options.space_file)
    except SpaceError as err:
        raise SweepError(str(err)) from err
    base = merged_base(space)
    timeframe, fmt = base.get("timeframe", "1h"), base.get("dataformat_ohlcv", "feather")
    for pair in options.pairs:
        if "/" not in pair:
            raise SweepError(f"--pairs {pair!r} is not BASE/QUOTE (e.g. BTC/USDT)")
        name = f"{pair.replace('/', '_')}-{timeframe}.{fmt}"
        if not (options.datadir / name).is_file():
            raise SweepError(f"--pairs {pair}: no {timeframe} candles in {options.datadir} "
                             f"(expected {name}); download them or drop the pair")
    return space


# --------------------------------------------------------------------------- study


def make_sampler(space: SweepSpace, trials_so_far: int = 0):
    """The space's optuna sampler, seeded with the space's seed plus the trials the study
    already has: a fresh study is repeatable, and a resumed one does not replay the random
    draws of its first run (which would sample the completed trials' parameters again)."""
    import optuna

    s = space.sampler
    seed = s.seed + trials_so_far
    kind = space.sampler_kind()
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=s.population_size)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=s.n_startup_trials,
                                      multivariate=True, constant_liar=True)


def question(space: SweepSpace, options: SweepOptions) -> dict[str, Any]:
    """What a study answers: the space's fingerprint, pairs and time range."""
    return {"space": space.fingerprint(), "pairs": list(options.pairs),
            "timerange": options.timerange}


def open_study(space: SweepSpace, options: SweepOptions, storage_url: str, study_name: str):
    """(study, storage): created, or loaded when it exists with the same question.

    Raises:
        SweepError: the existing study answers another question (space, pairs or time range).
    """
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    storage = RDBStorage(
        storage_url, heartbeat_interval=max(1, int(options.heartbeat_s)),
        grace_period=max(3, int(3 * options.heartbeat_s)),
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
            max_retry=MAX_RETRIES_INTERRUPTED))
    study = optuna.create_study(storage=storage, study_name=study_name,
                                sampler=make_sampler(space), load_if_exists=True,
                                directions=[o.direction for o in space.objectives])
    asked = question(space, options)
    stored = study.user_attrs.get("question")
    if stored is None:
        study.set_user_attr("question", asked)
        study.set_user_attr("space", space.model_dump(mode="json"))
        study.set_metric_names([o.metric for o in space.objectives])
        for point in space.enqueue:
            study.enqueue_trial(point, skip_if_exists=True)
    elif stored != asked:
        diff = [k for k in asked if asked[k] != stored.get(k)]
        raise SweepError(f"study {study_name!r} in {storage_url} was run with another "
                         f"{' and '.join(diff)} ({stored}); use a new --out or --study-name "
                         "for a new question")
    existing = len(study.get_trials(deepcopy=False))
    if existing:
        study.sampler = make_sampler(space, existing)
    return study, storage


def _driver_id() -> dict[str, Any]:
    import psutil

    return {"host": socket.gethostname(), "pid": os.getpid(),
            "created": psutil.Process().create_time()}


def _driver_alive(driver: dict[str, Any]) -> bool:
    import psutil

    if driver.get("host") != socket.gethostname():
        return True                       # another machine's: its heartbeat decides
    try:
        return abs(psutil.Process(driver["pid"]).create_time() - driver["created"]) < 1e-3
    except (psutil.NoSuchProcess, KeyError, TypeError):
        return False


def mark_interrupted(study, storage, trials: list, why: str) -> int:
    """Fail ``trials`` (frozen, RUNNING) as ``interrupted`` and enqueue each again with the
    same parameters (optuna's ``RetryHeartbeatStaleTrialCallback``); returns how many."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    count = 0
    for frozen in trials:
        trial_id = storage.get_trial_id_from_study_id_trial_number(
            storage.get_study_id_from_name(study.study_name), frozen.number)
        try:
            storage.set_trial_user_attr(trial_id, "outcome", "interrupted")
            storage.set_trial_user_attr(trial_id, "reason", why)
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES_INTERRUPTED)(
            study, storage.get_trial(trial_id))
        count += 1
    return count


def recover(study, storage) -> int:
    """Trials left RUNNING by a driver of this host that is gone: interrupted, rerun."""
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    orphans = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
               if not _driver_alive(t.user_attrs.get("driver") or {})]
    count = mark_interrupted(study, storage, orphans, "its sweep was killed")
    fail_stale_trials(study)
    return count


# --------------------------------------------------------------------------- progress


class Progress:
    """Done / running / failed, best so far and ETA: a ``rich`` bar on a terminal, else one
    line per event on stderr. Time comes from the injected clock."""

    def __init__(self, total: int, done: int, clock: Clock, stream=None) -> None:
        self.total, self.start_done = total, done
        self.clock, self.started = clock, clock.monotonic()
        self.stream = stream or sys.stderr
        self.done, self.failed, self.running, self.best = done, 0, 0, "none yet"
        self._bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.description}"),
                            transient=False)
            self._task = self._bar.add_task("", total=total, completed=done)
            self._bar.start()

    def eta(self) -> str:
        finished_here = self.done - self.start_done
        if finished_here <= 0:
            return "n/a"
        per_trial = (self.clock.monotonic() - self.started) / finished_here
        seconds = per_trial * max(0, self.total - self.done)
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"

    def status(self) -> str:
        return (f"done {self.done}/{self.total}, running {self.running}, failed {self.failed}, "
                f"best {self.best}, ETA {self.eta()}")

    def event(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=self.status())
            self._bar.console.log(text)
        else:
            print(f"[sweep] {text} | {self.status()}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# --------------------------------------------------------------------------- run


def _objective_values(space: SweepSpace, result: dict) -> tuple[list[float] | None, str]:
    values = []
    for objective in space.objectives:
        value = (result.get("metrics") or {}).get(objective.metric)
        if value is None or not math.isfinite(float(value)):
            return None, f"{objective.metric} is undefined ({value}); e.g. no trade"
        values.append(float(value))
    return values, ""


def _short(params: dict) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v:.4g}" if isinstance(v, float) else
                     f"{k.split('.')[-1]}={v}" for k, v in params.items())


def _ray_init(options: SweepOptions) -> int:
    """Start or join Ray; returns how many trials run at once."""
    import ray

    if options.address:
        try:
            ray.init(address=options.address, logging_level=logging.WARNING,
                     log_to_driver=False,
                     runtime_env={"working_dir": str(REPO), "excludes": RAY_EXCLUDES})
        except (ConnectionError, ray.exceptions.RayError) as err:
            raise SweepError(
                f"--address {options.address}: cannot join the Ray cluster "
                f"({str(err).splitlines()[0][:300]}); is it up (ray status)? A cluster with "
                "token authentication needs RAY_AUTH_MODE=token and its token "
                "(RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN) here too") from None
        cpus = ray.cluster_resources().get("CPU", 1)
    else:
        cpus = options.workers or os.cpu_count() or 1
        ray.init(num_cpus=int(math.ceil(cpus * options.cpus_per_trial)) if options.workers
                 else cpus, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
        cpus = ray.cluster_resources().get("CPU", cpus)
    fit = max(1, int(cpus // options.cpus_per_trial))
    return min(options.workers, fit) if options.workers else fit


def run_sweep(options: SweepOptions, clock: Clock) -> int:
    """Run or resume a sweep (module docstring); returns the exit status (0 done, 130
    interrupted).

    Raises:
        SweepError: bad input (before anything runs).
    """
    import optuna
    import ray

    space = check_options(options)
    # optuna flags heartbeats outside Study.optimize, metric names and stale-trial handling
    # as experimental; they are what resuming needs, so their warnings are noise here
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage")
    study_name = options.study_name or options.space_file.stem
    out = (options.out or REPO / "user_data" / "sweeps" / study_name).resolve()
    (out / "trials").mkdir(parents=True, exist_ok=True)
    storage_url = options.storage or f"sqlite:///{out / STUDY_FILE}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, storage = open_study(space, options, storage_url, study_name)
    recovered = recover(study, storage)
    if recovered:
        logger.warning("%d trial(s) of a killed sweep will run again", recovered)
    print(f"sweep {study_name}: {space.strategy}, {len(space.params)} params, "
          f"{space.sampler_kind()} sampler (seed {space.sampler.seed}), objectives "
          f"{', '.join(f'{o.direction} {o.metric}' for o in space.objectives)}; study "
          f"{storage_url}", file=sys.stderr, flush=True)

    base = merged_base(space)
    remote = bool(options.address)
    ship = options.data_mode == "ship" or (options.data_mode == "auto" and remote)
    workers = _ray_init(options)
    try:
        blob_ref = None
        if ship:
            cache = ((base.get("ai_suite") or {}).get("altdata") or {}).get("cache_dir")
            cache_path = None if not cache else (Path(cache) if Path(cache).is_absolute()
                                                 else REPO / cache)
            blob_ref = ray.put(pack_data(options.datadir.resolve(), list(options.pairs), cache_path))
        task = ray.remote(num_cpus=options.cpus_per_trial, max_retries=1)(run_trial)
        return _loop(options, space, study, storage, base, task, blob_ref, workers, out,
                     remote, clock)
    finally:
        ray.shutdown()


def _loop(options, space, study, storage, base, task, blob_ref, workers, out, remote,
          clock) -> int:
    import ray
    from optuna.storages import fail_stale_trials

    driver = _driver_id()
    timeout = options.trial_timeout_s or space.trial_timeout_s
    work_root = (str(Path("/tmp") / "ft-sweeps" / study.study_name) if remote
                 else str(out / "trials"))
    study_id = storage.get_study_id_from_name(study.study_name)
    in_flight: dict[Any, Any] = {}
    progress = Progress(options.trials, len(finished_trials(study)), clock)
    progress.failed = sum(outcome_of(t) != "complete" for t in finished_trials(study))
    _update_best(progress, study, space)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while True:
            finished = len(finished_trials(study))
            progress.done = finished
            while len(in_flight) < workers and finished + len(in_flight) < options.trials:
                trial = study.ask()
                params = suggest(trial, space)
                trial_id = f"t-{trial.number:04d}"
                trial.set_user_attr("trial_id", trial_id)
                trial.set_user_attr("driver", driver)
                storage.record_heartbeat(
                    storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))
                overlay, strategy_params = split_params(params)
                spec = TrialSpec(
                    trial_id=trial_id, number=trial.number, study=study.study_name,
                    strategy=space.strategy, freqaimodel=space.freqaimodel, base_config=base,
                    overlay=overlay, strategy_params=strategy_params,
                    param_spaces=_param_spaces(space, strategy_params),
                    pairs=list(options.pairs), timerange=options.timerange, timeout_s=timeout,
                    datadir=None if blob_ref is not None else str(options.datadir.resolve()),
                    work_root=work_root, repo=None if remote else str(REPO),
                    exchange=options.exchange, label_column=space.score.label_column,
                    window_days=space.score.window_days, keep_models=options.keep_models)
                in_flight[task.remote(spec, blob_ref)] = (trial, params)
                progress.running = len(in_flight)
                progress.event(f"{trial_id} started: {_short(params)}")
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=options.heartbeat_s)
            for ref in ready:
                trial, params = in_flight.pop(ref)
                progress.running = len(in_flight)
                _finish(study, space, trial, params, ref, out, progress)
            progress.running = len(in_flight)
            for trial, _ in in_flight.values():
                storage.record_heartbeat(
                    storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))
            fail_stale_trials(study)
    except KeyboardInterrupt:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        frozen = [storage.get_trial(storage.get_trial_id_from_study_id_trial_number(
            study_id, t.number)) for t, _ in in_flight.values()]
        count = mark_interrupted(study, storage, frozen, "the sweep was interrupted")
        progress.close()
        print(f"sweep interrupted: {len(finished_trials(study))} of {options.trials} trials finished; "
              f"{count} running trial(s) will run again. Rerun the same command to resume.",
              file=sys.stderr, flush=True)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.close()
    from plugins.research.sweep_report import report

    report(study, space, options, out, storage_url_of(options, out), clock)
    return 0


def storage_url_of(options: SweepOptions, out: Path) -> str:
    """The study's storage URL (``--storage`` or the SQLite file in ``out``)."""
    return options.storage or f"sqlite:///{out / STUDY_FILE}"


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _param_spaces(space: SweepSpace, strategy_params: dict) -> dict[str, str]:
    if not strategy_params:
        return {}
    from plugins.research.space import strategy_parameters

    base = merged_base(space)
    path = Path(base.get("strategy_path") or "strategies")
    return strategy_parameters(space.strategy, path if path.is_absolute() else REPO / path)


def _update_best(progress: Progress, study, space: SweepSpace) -> None:
    try:
        if len(space.objectives) == 1:
            best = study.best_trial
            progress.best = (f"{best.user_attrs.get('trial_id', best.number)} "
                             f"{space.objectives[0].metric}={best.value:+.4g}")
        else:
            progress.best = f"{len(study.best_trials)} on the Pareto front"
    except ValueError:
        progress.best = "none yet"


def _finish(study, space: SweepSpace, trial, params: dict, ref, out: Path,
            progress: Progress) -> None:
    """Record one finished Ray task: result.json, user attrs, tell."""
    import ray
    from optuna.trial import TrialState

    trial_id = f"t-{trial.number:04d}"
    try:
        result = ray.get(ref)
        outcome = "complete" if result.get("state") == "complete" else "failed"
    except ray.exceptions.RayError as err:      # the worker died twice (Ray retried once)
        result = {"trial_id": trial_id, "number": trial.number, "state": "failed",
                  "reason": "worker lost", "detail": str(err)[-2000:]}
        outcome = "worker_lost"
    result["params"] = params
    values = None
    if outcome == "complete":
        values, why = _objective_values(space, result)
        if values is None:
            outcome = "no_objective"
            result.update(state="failed", reason="no objective", detail=why)
    result["outcome"] = outcome
    folder = out / "trials" / trial_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(result, indent=2, default=str))
    trial.set_user_attr("outcome", outcome)
    trial.set_user_attr("result", f"trials/{trial_id}/result.json")
    trial.set_user_attr("wall_s", result.get("wall_s"))
    metrics = result.get("metrics") or {}
    trial.set_user_attr("metrics", {k: metrics.get(k) for k in (
        "sharpe_daily", "psr", "ic_nonoverlap", "ic_nonoverlap_t", "max_drawdown",
        "profit_total", "trades")})
    progress.done += 1
    if outcome == "complete":
        study.tell(trial, values)
        _update_best(progress, study, space)
        progress.event(f"{trial_id} done in {result.get('wall_s', 0):.0f} s: "
                       + ", ".join(f"{o.metric}={v:+.4g}" for o, v in zip(space.objectives, values,
                                                                          strict=True)))
    else:
        trial.set_user_attr("reason", f"{result.get('reason')}: {result.get('detail', '')}"[:500])
        study.tell(trial, state=TrialState.FAIL)
        progress.failed += 1
        progress.event(f"{trial_id} failed ({result.get('reason')}): "
                       f"{str(result.get('detail', ''))[:200]}")
