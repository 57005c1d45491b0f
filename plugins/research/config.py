"""``ai_suite.research``: thresholds of the promotion gates and the survival analysis.

Every default is the figure of its source: the DSR and PBO thresholds of Bailey & López de
Prado (2014) and Bailey, Borwein, López de Prado & Zhu (2015); the survival thresholds and the
25 % haircut of seed 001 ("Survival analysis", "Backtesting assumes perfect fill"). See
:mod:`plugins.research.gates` and :mod:`plugins.research.survival` for how each is used.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TierConfig(BaseModel):
    """Tier of a variant by the share of walk-forward windows it survived (fractions 0-1,
    inclusive lower bounds): S >= ``s``, A >= ``a``, B >= ``b``, C below ``b``.

    Defaults: S = 80 % (seed 001's example of a reliable configuration: "survives 80 % of
    test windows"), A = 60 %, B = 40 %.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    s: float = Field(default=0.8, gt=0, le=1)
    a: float = Field(default=0.6, gt=0, le=1)
    b: float = Field(default=0.4, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> TierConfig:
        if not self.s >= self.a >= self.b:
            raise ValueError(f"tier bounds must satisfy s >= a >= b, got s={self.s}, a={self.a}, "
                             f"b={self.b}")
        return self


class ResearchConfig(BaseModel):
    """``ai_suite.research``.

    Attributes:
        min_dsr: Deflated Sharpe Ratio (probability, 0-1) the selected trial needs, given the
            number of trials actually run (Bailey & López de Prado 2014: 0.95).
        max_pbo: highest Probability of Backtest Overfitting admitted (0-1; 0.5 = selection no
            better than a coin, Bailey et al. 2015).
        pbo_groups: CSCV partitions ``S`` (even, >= 2; fewer are used when the series is short).
        survival_threshold: a variant survives a window when its result there is strictly
            above this (units of the evidence matrix's metric: a return fraction or a Sharpe).
        min_survival_rate: the mean over windows of the share of variants surviving each
            window must reach this (seed 001: 15 %).
        min_sa_variants: S-tier + A-tier variants needed (seed 001: 20).
        min_profitable_share: variants with a positive total out-of-sample result / all
            variants (seed 001: 50 %).
        tiers: tier bounds (:class:`TierConfig`).
        haircut: fraction by which backtest returns are cut before judging them (seed 001:
            "15-30 % worse than backtest"; 0.25) when the evidence has no measured haircut.
        min_haircut_sharpe: annualized Sharpe the selected trial needs after the haircut.
        periods_per_year: periods per year of the daily returns (365: crypto trades daily).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_dsr: float = Field(default=0.95, ge=0, le=1)
    max_pbo: float = Field(default=0.5, ge=0, le=1)
    pbo_groups: int = Field(default=16, ge=2)
    survival_threshold: float = 0.0
    min_survival_rate: float = Field(default=0.15, ge=0, le=1)
    min_sa_variants: int = Field(default=20, ge=0)
    min_profitable_share: float = Field(default=0.5, ge=0, le=1)
    tiers: TierConfig = Field(default_factory=TierConfig)
    haircut: float = Field(default=0.25, ge=0, lt=1)
    min_haircut_sharpe: float = 1.0
    periods_per_year: int = Field(default=365, ge=1)

    @model_validator(mode="after")
    def _even_groups(self) -> ResearchConfig:
        if self.pbo_groups % 2:
            raise ValueError(f"pbo_groups must be even (CSCV splits the groups in halves), got "
                             f"{self.pbo_groups}")
        return self
