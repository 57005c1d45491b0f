"""Search spaces of ``python -m plugins.research sweep``: a YAML file under ``config/sweeps/``.

Schema (unknown keys are refused, naming them)::

    strategy: RegimeMoE              # Freqtrade strategy class (required)
    freqaimodel: RegimeGatedMoE      # FreqAI model class (optional: the configs' freqaimodel)
    configs: [config/base.json]      # Freqtrade configs merged in order, as freqtrade's -c
                                     # (paths relative to the repo root, or absolute)
    overrides: {}                    # fixed config overlay for every trial, merged after configs
    objectives:                      # 1 = TPE (single objective), >= 2 = NSGA-II (Pareto front)
      - {metric: sharpe_daily, direction: maximize}
    sampler: {kind: auto, seed: 42, n_startup_trials: 8}   # auto | tpe | nsga2 | random
    family: freqaimodel              # optional: the param whose value names a trial's family
                                     # (Kaplan-Meier curves per family); default "default"
    trial_timeout_s: 1800            # a trial running longer is stopped and recorded as failed
    score: {window_days: 7, label_column: "&-s_close"}
    enqueue: [{freqai.train_period_days: 30}]   # points evaluated first (e.g. today's default)
    params:                          # dotted path into the trial's config -> distribution
      freqai.train_period_days: {type: int, low: 14, high: 42, step: 7}
      freqai.model_training_parameters.learning_rate: {type: float, low: 0.01, high: 0.2, log: true}
      freqai.feature_parameters.label_period_candles: {type: categorical, choices: [12, 24]}
      ai_suite.regime.detector.kind: {type: categorical, choices: [rules, hmm]}
      strategy.entry_threshold: {type: float, low: 0.0, high: 0.02}
      freqaimodel: {type: categorical, choices: [RegimeGatedMoE, LightGBMRegressor]}

**Param names.** ``freqai.*`` and any other Freqtrade config key (``stoploss``,
``max_open_trades``, ``freqaimodel`` ...): the value is set at that path of the trial's config.
``ai_suite.<section>.*``: the suite's settings, validated with the section's own model.
``strategy.<name>``: a hyperoptable parameter of the strategy (``DecimalParameter`` etc.),
written to the trial's own copy of the strategy's parameter file
(``<Strategy>.json``, Freqtrade's format), never to the shipped one.

**Objective metrics** (:data:`METRICS`; all out of sample, from the FreqAI walk-forward
backtest): ``sharpe_daily``, ``psr``, ``ic_nonoverlap``, ``ic_nonoverlap_t``,
``profit_total``, ``max_drawdown``, ``calmar``, ``profit_factor``, ``trades``. A trial whose
objective is undefined (e.g. no trade: no Sharpe ratio) is recorded as failed with that reason.

**Validation** (:func:`load_space`): the YAML must parse and follow the schema; every param
path must exist in Freqtrade's config schema or the merged configs (a misspelt
``freqai.train_perod_days`` is refused), every ``ai_suite`` section must validate with its
model at the lowest and highest value of each param, the merged config at those values must
pass Freqtrade's own config schema, and every ``strategy.*`` name must be a hyperoptable
parameter of the strategy. Errors raise :class:`SpaceError` naming the file and the key.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REPO = Path(__file__).resolve().parents[2]

#: Objective metric -> (what it is, usual direction).
METRICS = {
    "sharpe_daily": ("annualized Sharpe ratio of the daily returns, net of fees", "maximize"),
    "psr": ("Probabilistic Sharpe Ratio vs 0 (Bailey & Lopez de Prado 2012)", "maximize"),
    "ic_nonoverlap": ("rank IC of prediction vs realized label on non-overlapping samples",
                      "maximize"),
    "ic_nonoverlap_t": ("HAC t-statistic of ic_nonoverlap", "maximize"),
    "profit_total": ("total profit / starting balance, net of fees", "maximize"),
    "max_drawdown": ("Freqtrade's max_drawdown_account (fraction)", "minimize"),
    "calmar": ("Freqtrade's Calmar ratio", "maximize"),
    "profit_factor": ("gross profit / gross loss", "maximize"),
    "trades": ("closed trades", "maximize"),
}

#: ai_suite section -> "module:Model" that validates it (alpaca is validated by the adapter).
SECTION_MODELS = {
    "altdata": "plugins.altdata.config:AltDataConfig",
    "risk": "plugins.risk.config:RiskConfig",
    "stages": "plugins.risk.config:StageConfig",
    "regime": "plugins.regime.config:RegimeConfig",
    "llm": "plugins.llm.config:LlmConfig",
    "strategy_tree": "plugins.strategy_tree.config:StrategyTreeConfig",
    "research": "plugins.research.config:ResearchConfig",
    "costs": "plugins.execution.config:CostConfig",
}

STRATEGY_PREFIX = "strategy."


class SpaceError(ValueError):
    """A search-space file that cannot be used; the message names the file, the key and the fix."""


class _Param(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntParam(_Param):
    """Integers in ``[low, high]`` (``step`` apart; ``log`` = log-uniform)."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(default=1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("log needs low >= 1 and step 1")
        return self

    def extremes(self) -> list[Any]:
        return [self.low, self.high]


class FloatParam(_Param):
    """Floats in ``[low, high]`` (``step`` apart if given; ``log`` = log-uniform)."""

    type: Literal["float"]
    low: float
    high: float
    step: float | None = Field(default=None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log needs low > 0 and no step")
        return self

    def extremes(self) -> list[Any]:
        return [self.low, self.high]


class CategoricalParam(_Param):
    """One of ``choices`` (numbers, strings, booleans or null)."""

    type: Literal["categorical"]
    choices: list[int | float | str | bool | None] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> CategoricalParam:
        if len({json.dumps(c) for c in self.choices}) != len(self.choices):
            raise ValueError("choices has duplicates")
        return self

    def extremes(self) -> list[Any]:
        return list(self.choices)


Param = Annotated[IntParam | FloatParam | CategoricalParam, Field(discriminator="type")]


class Objective(BaseModel):
    """One objective: a metric of :data:`METRICS` and its direction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Literal[tuple(METRICS)]  # type: ignore[valid-type]
    direction: Literal["maximize", "minimize"]


class SamplerSpec(BaseModel):
    """``auto`` = TPE for one objective, NSGA-II for several; ``seed`` makes it repeatable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["auto", "tpe", "nsga2", "random"] = "auto"
    seed: int = 42
    n_startup_trials: int = Field(default=8, ge=1)
    population_size: int = Field(default=8, ge=2)


class ScoreSpec(BaseModel):
    """How trials are scored: ``window_days`` = length of the test windows of the survival
    matrix (calendar days of the time range); ``label_column`` = the FreqAI target whose
    predictions the IC is computed on (null: no IC), realized as the suite's label (mean close
    of the next ``label_period_candles`` candles / close - 1, ``plugins.research.controls``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_days: int = Field(default=7, ge=1)
    label_column: str | None = "&-s_close"


class SweepSpace(BaseModel):
    """A validated search-space file (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str = Field(min_length=1)
    freqaimodel: str | None = None
    configs: list[str] = Field(default_factory=lambda: ["config/base.json"])
    overrides: dict[str, Any] = Field(default_factory=dict)
    objectives: list[Objective] = Field(
        default_factory=lambda: [Objective(metric="sharpe_daily", direction="maximize")],
        min_length=1)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    family: str | None = None
    trial_timeout_s: float = Field(default=1800, gt=0)
    score: ScoreSpec = Field(default_factory=ScoreSpec)
    enqueue: list[dict[str, Any]] = Field(default_factory=list)
    params: dict[str, Param] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpace:
        if self.family is not None and self.family not in self.params:
            raise ValueError(f"family {self.family!r} is not a key of params")
        metrics = [o.metric for o in self.objectives]
        if len(set(metrics)) != len(metrics):
            raise ValueError("objectives lists a metric twice")
        for i, point in enumerate(self.enqueue):
            unknown = sorted(set(point) - set(self.params))
            if unknown:
                raise ValueError(f"enqueue[{i}] names keys that are not params: {unknown}")
        return self

    def sampler_kind(self) -> str:
        """The sampler actually used: ``auto`` resolved by the number of objectives."""
        if self.sampler.kind != "auto":
            return self.sampler.kind
        return "tpe" if len(self.objectives) == 1 else "nsga2"

    def fingerprint(self) -> str:
        """sha256 (16 hex) of the validated space, stored with the study: a rerun with a
        changed space is refused instead of mixing two searches in one study."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- config building


def set_path(config: dict, dotted: str, value: Any) -> None:
    """Set ``config[a][b][c] = value`` for ``dotted`` = ``a.b.c``, creating dicts."""
    keys = dotted.split(".")
    node = config
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def deep_merge(base: Mapping, overlay: Mapping) -> dict:
    """``overlay`` merged into a deep copy of ``base`` as Freqtrade merges ``-c`` files."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_config_paths(space: SweepSpace, repo: Path = REPO) -> list[Path]:
    """The space's ``configs`` as absolute paths (relative ones from ``repo``)."""
    return [p if p.is_absolute() else repo / p for p in map(Path, space.configs)]


def merged_base(space: SweepSpace, repo: Path = REPO) -> dict:
    """The space's configs merged in order, then ``overrides``.

    Raises:
        SpaceError: a config file is missing or not JSON.
    """
    merged: dict = {}
    for path in resolve_config_paths(space, repo):
        try:
            merged = deep_merge(merged, json.loads(path.read_text()))
        except OSError as err:
            raise SpaceError(f"configs: {path}: cannot read it ({err.strerror or err})") from err
        except json.JSONDecodeError as err:
            raise SpaceError(f"configs: {path}: not JSON ({err.msg} at line {err.lineno})") from err
    return deep_merge(merged, space.overrides)


def split_params(params: Mapping[str, Any]) -> tuple[dict, dict]:
    """(config overlay, strategy parameters) of one trial's sampled values: dotted config
    paths become a nested overlay; ``strategy.<name>`` values a flat ``{name: value}``."""
    overlay: dict = {}
    strategy: dict = {}
    for name, value in params.items():
        if name.startswith(STRATEGY_PREFIX):
            strategy[name[len(STRATEGY_PREFIX):]] = value
        else:
            set_path(overlay, name, value)
    return overlay, strategy


# --------------------------------------------------------------------------- validation


def _schema_node(schema: dict, keys: list[str]) -> tuple[bool, str | None]:
    """Whether ``keys`` is a known path of Freqtrade's config schema: (known, first unknown
    key). A node without ``properties`` (free-form object) accepts any key below it."""
    node = schema
    for key in keys:
        ref = node.get("$ref", "")
        if ref.startswith("#/definitions/"):
            node = schema.get("definitions", {}).get(ref.split("/")[-1], {})
        props = node.get("properties")
        if props is None:
            return True, None
        if key not in props:
            return False, key
        node = props[key]
    return True, None


def _in_config(config: Mapping, keys: list[str]) -> bool:
    node: Any = config
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def _section_model(section: str) -> type[BaseModel] | None:
    spec = SECTION_MODELS.get(section)
    if spec is None:
        return None
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def find_strategy(strategy: str, directory: Path) -> tuple[type, Path] | None:
    """(class, file) of the strategy class ``strategy`` defined in a file of ``directory``
    (Freqtrade's own strategy search), or None."""
    from freqtrade.resolvers.strategy_resolver import StrategyResolver

    directory = directory.resolve()
    for entry in StrategyResolver.search_all_objects(
            {"strategy_path": str(directory), "user_data_dir": directory}, enum_failed=False):
        location = Path(entry["location"]).resolve()
        if entry["name"] == strategy and location.is_relative_to(directory):
            return entry["class"], location
    return None


def strategy_parameters(strategy: str, strategy_path: Path) -> dict[str, str]:
    """Hyperoptable parameters of ``strategy`` found in ``strategy_path``: ``{name: space}``.

    Raises:
        SpaceError: the strategy class is not found there.
    """
    from freqtrade.strategy.hyper import detect_all_parameters

    found = find_strategy(strategy, strategy_path)
    if found is None:
        raise SpaceError(f"strategy: {strategy!r} not found in {strategy_path} "
                         "(the configs' strategy_path)")
    cls = found[0]
    return {name: space for space, params in detect_all_parameters(cls).items()
            for name in params}


def _check_config(config: dict, where: str) -> None:
    from freqtrade.config_schema import CONF_SCHEMA
    from freqtrade.configuration.config_validation import FreqtradeValidator
    from jsonschema.exceptions import best_match

    error = best_match(FreqtradeValidator(CONF_SCHEMA).iter_errors(config))
    if error is not None:
        path = ".".join(map(str, error.absolute_path)) or "(top level)"
        raise SpaceError(f"{where}: the trial config breaks Freqtrade's config schema at "
                         f"{path}: {error.message}")
    for section, raw in (config.get("ai_suite") or {}).items():
        model = _section_model(section)
        if model is None:
            continue
        try:
            model.model_validate(raw)
        except ValidationError as err:
            problems = "; ".join(f"ai_suite.{section}.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in err.errors())
            raise SpaceError(f"{where}: {problems}") from err


def validate_space(space: SweepSpace, source: str, repo: Path = REPO) -> dict[str, str]:
    """The checks of the module docstring beyond the schema; returns the strategy's
    hyperoptable parameters ``{name: space}`` (empty when the space sets none).

    Raises:
        SpaceError: naming ``source`` and the bad key.
    """
    from freqtrade.config_schema import CONF_SCHEMA

    from plugins.core.config import SECTIONS

    base = merged_base(space, repo)
    strategy_params: dict[str, str] = {}
    for name in space.params:
        if name.startswith(STRATEGY_PREFIX):
            if not strategy_params:
                strategy_path = Path(base.get("strategy_path") or "strategies")
                strategy_params = strategy_parameters(
                    space.strategy, strategy_path if strategy_path.is_absolute() else repo / strategy_path)
            key = name[len(STRATEGY_PREFIX):]
            if key not in strategy_params:
                known = ", ".join(sorted(strategy_params)) or "none"
                raise SpaceError(f"{source}: params.{name}: {space.strategy} has no hyperoptable "
                                 f"parameter {key!r} (it has: {known})")
            continue
        keys = name.split(".")
        if keys[0] == "ai_suite":
            if len(keys) < 3 or keys[1] not in SECTIONS:
                raise SpaceError(f"{source}: params.{name}: not ai_suite.<section>.<field> with a "
                                 f"section of {', '.join(SECTIONS)}")
            continue          # the section's model checks the field below
        known, bad = _schema_node(CONF_SCHEMA, keys)
        if not known and not _in_config(base, keys):
            raise SpaceError(f"{source}: params.{name}: unknown config key {bad!r} (not in "
                             "Freqtrade's config schema nor in the configs); check the spelling")
    for name, param in space.params.items():
        for value in param.extremes():
            overlay, _ = split_params({name: value})
            _check_config(deep_merge(base, overlay), f"{source}: params.{name} = {value!r}")
    return strategy_params


def _format_errors(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
                     for e in err.errors())


def load_space(path: Path, repo: Path = REPO) -> SweepSpace:
    """Read, parse and validate a search-space YAML file (module docstring).

    Raises:
        SpaceError: missing/unreadable file, bad YAML, a schema problem (each as
            ``<key path>: <problem>``), or a check of :func:`validate_space`.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise SpaceError(f"--space {path}: cannot read it ({err.strerror or err})") from err
    except yaml.YAMLError as err:
        raise SpaceError(f"--space {path}: not YAML ({err})") from err
    if not isinstance(raw, dict):
        raise SpaceError(f"--space {path}: must be a mapping with strategy, params ... "
                         "(see plugins/research/space.py)")
    try:
        space = SweepSpace.model_validate(raw)
    except ValidationError as err:
        raise SpaceError(f"--space {path}: {_format_errors(err)} "
                         "(schema: plugins/research/space.py)") from err
    validate_space(space, f"--space {path}", repo)
    return space


# --------------------------------------------------------------------------- sampling


def suggest(trial: Any, space: SweepSpace) -> dict[str, Any]:
    """Sample every param of ``space`` from an optuna trial (``trial.suggest_*``), in the
    file's order; returns ``{param: value}``."""
    values: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, IntParam):
            values[name] = trial.suggest_int(name, p.low, p.high, step=p.step, log=p.log)
        elif isinstance(p, FloatParam):
            values[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
        else:
            values[name] = trial.suggest_categorical(name, p.choices)
    return values
