"""The promotion gates: may a strategy selected from many trials enter the shadow stage?

:func:`gate_report` is a pure function of an :class:`~plugins.research.evidence.Evidence` and
``ai_suite.research`` (:class:`~plugins.research.config.ResearchConfig`); the CLI
(``python -m plugins.research promote``) and, later, Telegram/REST call it alike. Every gate
is evaluated (a refusal lists all failures, not the first), each with its value and threshold.
A gate whose figure cannot be computed from the evidence fails, saying what is missing (fail
closed).

Gates, in order (thresholds inclusive):

1. ``dsr`` >= ``min_dsr``: Deflated Sharpe Ratio of the selected trial's daily returns, with
   ``N`` = ``n_trials`` (every trial run) and ``V`` = variance of the per-day Sharpe ratios of
   the trials with daily returns (Bailey & López de Prado 2014; needs >= 2 of them).
2. ``pbo`` <= ``max_pbo``: Probability of Backtest Overfitting by CSCV over the trials' daily
   returns (Sharpe per block, ``pbo_groups`` groups); when fewer than 2 trials have daily
   returns, over the windows matrix (mean per block) (Bailey et al. 2015).
3. ``survival_rate`` >= ``min_survival_rate``; 4. ``sa_variants`` >= ``min_sa_variants``;
   5. ``profitable_share`` >= ``min_profitable_share``: on the windows matrix at
   ``survival_threshold`` (:mod:`plugins.research.survival`, seed 001).
6. ``haircut_sharpe`` >= ``min_haircut_sharpe``: the selected trial's annualized Sharpe ratio
   times ``1 - haircut``, ``haircut`` = the evidence's measured one when present, else the
   configured one (seed 001: backtests overstate live returns by 15-30 %). Cutting every
   return by a fraction cuts the Sharpe ratio by the same fraction (volatility left as is).

The selected trial is ``evidence.selected``, else the trial with the best daily Sharpe ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plugins.research import stats
from plugins.research.config import ResearchConfig
from plugins.research.evidence import Evidence, families, returns_matrix, window_matrix
from plugins.research.survival import survival_analysis


@dataclass(frozen=True)
class Gate:
    """One gate's verdict: ``value`` (None = could not be computed) ``op`` ``threshold``."""

    name: str
    passed: bool
    value: float | None
    threshold: float
    op: str
    detail: str

    def line(self) -> str:
        """``PASS dsr 0.9712 >= 0.95 (detail)`` / ``FAIL ...``."""
        value = "n/a" if self.value is None else _fmt(self.value)
        return (f"{'PASS' if self.passed else 'FAIL'} {self.name} {value} {self.op} "
                f"{_fmt(self.threshold)} ({self.detail})")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.4g}"


@dataclass(frozen=True)
class GateReport:
    """All gates for one strategy's evidence.

    Attributes:
        strategy: the strategy the evidence is about (``evidence.strategy`` or as given).
        selected: the candidate trial's id (None when no trial could be selected).
        admitted: every gate passed.
        gates: the verdicts, in the order of the module docstring.
        haircut: the haircut applied (fraction) and ``haircut_source``: ``"measured"`` or
            ``"configured"``.
        figures: supporting figures (JSON-ready), e.g. the survival summary.
    """

    strategy: str | None
    selected: str | None
    admitted: bool
    gates: tuple[Gate, ...]
    haircut: float
    haircut_source: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[Gate]:
        """The gates that failed."""
        return [g for g in self.gates if not g.passed]

    def lines(self) -> list[str]:
        """Verdict first, then one line per gate."""
        head = (f"ADMIT {self.strategy} to shadow: all {len(self.gates)} gates pass"
                if self.admitted else
                f"REFUSE {self.strategy}: {len(self.failed)} of {len(self.gates)} gates fail "
                f"({', '.join(g.name for g in self.failed)})")
        return [head, f"selected trial: {self.selected or 'none'}", *(g.line() for g in self.gates)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the payload a REST route or Telegram command would show)."""
        return {"strategy": self.strategy, "selected": self.selected, "admitted": self.admitted,
                "haircut": self.haircut, "haircut_source": self.haircut_source,
                "gates": [{"name": g.name, "passed": g.passed, "value": g.value,
                           "threshold": g.threshold, "op": g.op, "detail": g.detail}
                          for g in self.gates],
                "figures": self.figures}


def _at_least(name: str, value: float | None, threshold: float, detail: str) -> Gate:
    ok = value is not None and math.isfinite(value) and value >= threshold - 1e-12
    return Gate(name, ok, value, threshold, ">=", detail)


def _at_most(name: str, value: float | None, threshold: float, detail: str) -> Gate:
    ok = value is not None and math.isfinite(value) and value <= threshold + 1e-12
    return Gate(name, ok, value, threshold, "<=", detail)


def _select(evidence: Evidence, sharpes: dict[str, float]) -> str | None:
    if evidence.selected is not None:
        return evidence.selected
    finite = {k: v for k, v in sharpes.items() if math.isfinite(v)}
    return max(finite, key=finite.get) if finite else None


def gate_report(evidence: Evidence, config: ResearchConfig,
                strategy: str | None = None) -> GateReport:
    """Evaluate every promotion gate (module docstring) on ``evidence``.

    Args:
        evidence: a validated evidence file.
        config: ``ai_suite.research``.
        strategy: the strategy's name (default: ``evidence.strategy``).
    """
    periods = config.periods_per_year
    returns = returns_matrix(evidence)
    sharpes = {tid: stats.sharpe_ratio(row) for tid, row in returns.iterrows()}
    selected = _select(evidence, sharpes)
    selected_returns = returns.loc[selected] if selected in returns.index else None
    figures: dict[str, Any] = {"n_trials": evidence.n_trials,
                               "trials_with_returns": int(len(returns))}
    gates = []

    # 1. DSR
    finite_sharpes = [v for v in sharpes.values() if math.isfinite(v)]
    if selected_returns is None:
        gates.append(_at_least("dsr", None, config.min_dsr,
                               f"selected trial {selected!r} has no daily returns"))
    elif len(finite_sharpes) < 2:
        gates.append(_at_least("dsr", None, config.min_dsr,
                               f"needs the daily returns of >= 2 trials for the variance of their "
                               f"Sharpe ratios, the evidence has {len(finite_sharpes)}"))
    else:
        dsr = stats.deflated_sharpe_from_returns(selected_returns.to_numpy(), evidence.n_trials,
                                                 finite_sharpes)
        scale = math.sqrt(periods)
        figures["dsr"] = {"dsr": dsr.dsr, "sharpe_annualized": dsr.sr * scale,
                          "sr0_annualized": dsr.sr0 * scale, "n_trials": dsr.n_trials,
                          "sr_variance": dsr.sr_variance, "skew": dsr.skew,
                          "kurtosis": dsr.kurtosis, "days": dsr.n_obs}
        gates.append(_at_least(
            "dsr", None if math.isnan(dsr.dsr) else dsr.dsr, config.min_dsr,
            f"Sharpe {dsr.sr * scale:.2f} annualized vs {dsr.sr0 * scale:.2f} expected of the best "
            f"of {evidence.n_trials} skill-less trials, {dsr.n_obs} days"))

    # 2. PBO
    windows = window_matrix(evidence)
    pbo, source = None, ""
    try:
        if len(returns) >= 2:
            result = stats.probability_of_backtest_overfitting(returns.to_numpy(),
                                                               config.pbo_groups, "sharpe")
            source = f"{result.n_variants} trials' daily returns, {result.n_groups} groups"
        elif len(windows) >= 2 and windows.notna().all().all():
            result = stats.probability_of_backtest_overfitting(windows.to_numpy(),
                                                               config.pbo_groups, "mean")
            source = f"{result.n_variants} variants x {windows.shape[1]} windows, {result.n_groups} groups"
        else:
            result = None
            source = "needs the daily returns of >= 2 trials, or a complete windows matrix of >= 2 variants"
        if result is not None:
            pbo = result.pbo
            figures["pbo"] = {"pbo": result.pbo, "n_splits": result.n_splits,
                              "n_groups": result.n_groups, "prob_oos_loss": result.prob_oos_loss}
    except stats.StatsInputError as err:
        source = str(err)
    gates.append(_at_most("pbo", pbo, config.max_pbo, source))

    # 3-5. survival
    if windows.empty:
        for name, threshold in (("survival_rate", config.min_survival_rate),
                                ("sa_variants", config.min_sa_variants),
                                ("profitable_share", config.min_profitable_share)):
            gates.append(_at_least(name, None, threshold, "the evidence has no windows matrix"))
    else:
        surv = survival_analysis(windows, config.survival_threshold, config.tiers,
                                 evidence.windows.metric)
        figures["survival"] = surv.to_dict()
        where = (f"{len(windows)} variants x {windows.shape[1]} windows, survive = "
                 f"{evidence.windows.metric} > {config.survival_threshold:g}")
        gates.append(_at_least("survival_rate", surv.survival_rate, config.min_survival_rate, where))
        gates.append(_at_least("sa_variants", float(surv.sa_variants), config.min_sa_variants,
                               f"tiers {surv.tier_counts}"))
        gates.append(_at_least("profitable_share", surv.profitable_share,
                               config.min_profitable_share,
                               f"{int(surv.profitable.sum())} of {len(windows)} variants"))
        figures["families"] = sorted(set(families(evidence).values()))

    # 6. haircut Sharpe
    if evidence.haircut is not None:
        haircut, haircut_source = evidence.haircut.measured_frac, "measured"
    else:
        haircut, haircut_source = config.haircut, "configured"
    if selected_returns is None:
        gates.append(_at_least("haircut_sharpe", None, config.min_haircut_sharpe,
                               f"selected trial {selected!r} has no daily returns"))
    else:
        sr = stats.annualized_sharpe(selected_returns.to_numpy(), periods)
        cut = sr * (1 - haircut) if math.isfinite(sr) else None
        figures["haircut_sharpe"] = {"sharpe_annualized": sr, "haircut": haircut,
                                     "haircut_source": haircut_source, "haircut_sharpe": cut}
        gates.append(_at_least("haircut_sharpe", cut, config.min_haircut_sharpe,
                               f"annualized Sharpe {sr:.2f} x (1 - {haircut:.0%} {haircut_source} "
                               "haircut)"))

    gates_t = tuple(gates)
    return GateReport(strategy=strategy or evidence.strategy, selected=selected,
                      admitted=all(g.passed for g in gates_t), gates=gates_t, haircut=haircut,
                      haircut_source=haircut_source, figures=_jsonable(figures))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
