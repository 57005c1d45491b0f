"""Typed configuration of the regime detectors (``ai_suite.regime`` once wired into a strategy)."""

from __future__ import annotations

from math import comb
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugins.regime.features import REGIME_INPUTS
from plugins.regime.mixture import MixtureConfig
from plugins.regime.sizing import SizingConfig
from plugins.regime.targets import TargetConfig

#: most simplex grid points the continuous jump model may use: its online step costs
#: ``points^2`` per candle and its penalty matrix ``points^2`` floats.
MAX_CJM_GRID_POINTS = 1000


class DetectorConfig(BaseModel):
    """Which detector and how to fit it.

    Attributes:
        kind: ``rules`` (:class:`~plugins.regime.rules.RuleBasedDetector`), ``hmm``
            (:class:`~plugins.regime.hmm.HmmDetector`) or ``jump``
            (:class:`~plugins.regime.jump.JumpModelDetector`).
        n_regimes: number of regimes ``K`` (2..6) of ``hmm`` and ``jump``; ``rules`` ignores it
            (it always has its 6 fixed regimes).
        random_state: seed of the HMM / jump-model initialisations (fits are reproducible).
        min_rows: fewest training rows ``fit`` accepts (200 = about 8 days of 1h candles).
        features: inputs the ``hmm`` and ``jump`` models see (standardized on the training rows);
            a subset of :data:`~plugins.regime.features.REGIME_INPUTS`. ``vol`` and ``ret`` are
            read for ordering and naming the regimes whatever this says.
        flat_band: dead band of the direction suffix, as a fraction of the training std of
            ``ret``: a regime whose mean ``ret`` lies within ``+-flat_band * std`` is ``flat``.
        hmm_covariance: ``diag`` or ``full`` covariance of the Gaussian emissions.
        hmm_iter: most EM iterations per HMM fit.
        hmm_tol: EM stops when the log-likelihood gains less than this.
        hmm_n_init: EM restarts (seeds ``random_state + i``); the best log-likelihood is kept.
        jump_penalty: jump penalty ``lambda`` of the jump model, in units of the loss
            ``0.5 * ||z - mu||^2`` of standardized inputs ``z``: staying in a regime is worth
            ``lambda`` of accumulated fit; higher = fewer, longer regimes.
        jump_continuous: fit the continuous jump model (CJM, probabilities on a simplex grid)
            instead of the discrete one.
        jump_grid_size: step of the CJM's probability simplex grid (0.05 = 5 % steps).
        jump_temperature: softmax temperature (loss units) that turns the discrete jump model's
            online DP costs into probabilities: ``p_k ~ exp(-(V_k - min V) / temperature)``.
        jump_n_init: k-means++ initialisations of the jump model's coordinate descent.
        jump_max_iter: most coordinate-descent iterations per initialisation.
        rules_trend_quantile: ``adx`` above this training quantile = trending.
        rules_vol_quantile: ``vol`` above this training quantile = volatile.
        rules_softness: logistic scale of the rule probabilities as a fraction of the feature's
            training inter-quartile range (smaller = harder; 0.1: a row a quarter of an IQR past a
            threshold is 92 % on that side).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["rules", "hmm", "jump"] = "hmm"
    n_regimes: int = Field(default=3, ge=2, le=6)
    random_state: int = 42
    min_rows: int = Field(default=200, ge=20)
    features: tuple[str, ...] = ("ret", "vol", "downside_vol", "ema_slope")
    flat_band: float = Field(default=0.1, ge=0)

    hmm_covariance: Literal["diag", "full"] = "diag"
    hmm_iter: int = Field(default=100, ge=1)
    hmm_tol: float = Field(default=1e-4, gt=0)
    hmm_n_init: int = Field(default=3, ge=1)

    jump_penalty: float = Field(default=50.0, ge=0)
    jump_continuous: bool = False
    jump_grid_size: float = Field(default=0.05, gt=0, le=0.5)
    jump_temperature: float = Field(default=1.0, gt=0)
    jump_n_init: int = Field(default=10, ge=1)
    jump_max_iter: int = Field(default=1000, ge=1)

    rules_trend_quantile: float = Field(default=0.60, gt=0, lt=1)
    rules_vol_quantile: float = Field(default=0.67, gt=0, lt=1)
    rules_softness: float = Field(default=0.1, gt=0)

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in REGIME_INPUTS]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"features {list(value)}: need distinct names from {list(REGIME_INPUTS)}"
                             + (f", unknown {unknown}" if unknown else ""))
        return value

    @model_validator(mode="after")
    def _cjm_grid_small_enough(self) -> DetectorConfig:
        if self.kind == "jump" and self.jump_continuous:
            steps = int(1 / self.jump_grid_size)   # as jumpmodels.jump.discretize_prob_simplex
            points = comb(steps + self.n_regimes - 1, self.n_regimes - 1)
            if points > MAX_CJM_GRID_POINTS:
                raise ValueError(f"jump_continuous with n_regimes={self.n_regimes} and jump_grid_size="
                                 f"{self.jump_grid_size} needs {points} simplex grid points (max "
                                 f"{MAX_CJM_GRID_POINTS}); raise jump_grid_size or lower n_regimes")
        return self


class RegimeConfig(BaseModel):
    """``ai_suite.regime``: the detector, the mixture and the regime inputs.

    Attributes:
        detector: which detector and how it is fitted (:class:`DetectorConfig`).
        mixture: gate (soft/hard), minimum rows per regime expert, expert kind and device.
        input_window: candles of the regime inputs' rolling windows
            (:func:`plugins.regime.features.regime_inputs`).
        target: the label the models learn and its objective (:class:`TargetConfig`,
            :mod:`plugins.regime.targets`); default the shipped mean-return label.
        sizing: stake by predicted edge, volatility target and regime caps
            (:class:`SizingConfig`, :mod:`plugins.regime.sizing`); default ``fixed``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    mixture: MixtureConfig = Field(default_factory=MixtureConfig)
    input_window: int = Field(default=24, ge=2)
    target: TargetConfig = Field(default_factory=TargetConfig)
    sizing: SizingConfig = Field(default_factory=SizingConfig)

    @model_validator(mode="after")
    def _regime_experts_exist(self) -> RegimeConfig:
        bad = sorted(k for k in self.mixture.regime_experts if not 0 <= k < self.n_regimes())
        if bad:
            raise ValueError(f"mixture.regime_experts keys {bad}: regime labels are 0.."
                             f"{self.n_regimes() - 1} (0 = calmest) with this detector")
        return self

    def n_regimes(self) -> int:
        """``K`` the detector will have (``rules`` always has 6)."""
        return 6 if self.detector.kind == "rules" else self.detector.n_regimes
