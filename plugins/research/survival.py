"""Survival analysis of strategy variants across walk-forward test windows (seed 001).

Walk-forward averages hide how often a configuration fails. Given the out-of-sample result of
every variant in every test window (a *variants x windows* matrix), this module answers the
seed's question, "what fraction of strategy variants survived each test period?", and how
long variants of one family last before their first failure.

Definitions (``threshold`` and the tier bounds come from ``ai_suite.research``,
:class:`plugins.research.config.ResearchConfig`):

- A variant **survives** a window when its result there is strictly above ``threshold`` (a
  return fraction or a Sharpe ratio, the matrix's metric). A missing result (NaN: the trial
  failed or did not run there) is a failure, never skipped.
- **Survival rate of a window** = share of the variants surviving it; the **survival rate**
  of the whole run = the mean of those over the windows (the seed's gate: >= 15 %).
- **Variant survival** = share of the windows a variant survived. **Tiers** by it (inclusive
  lower bounds): S >= 80 %, A >= 60 %, B >= 40 %, C below (seed 001's example of a robust
  configuration survives 80 % of its windows). The seed's gate: S + A variants >= 20.
- **Profitable** variant: every window has a result and, for returns, the compounded return
  over the windows ``prod(1 + r) - 1`` is above 0 (for Sharpe ratios: their mean is above 0).
  The seed's gate: profitable / all variants >= 50 %.
- **Windows until first failure** (Kaplan-Meier, Kaplan & Meier 1958, "Nonparametric
  Estimation from Incomplete Observations", JASA 53(282)): the 1-based index of a variant's
  first failed window (an observed event), or the number of windows, censored, when it never
  failed; fitted per variant family with ``lifelines.KaplanMeierFitter`` (Greenwood
  confidence intervals).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from plugins.research.config import TierConfig

logger = logging.getLogger(__name__)

TIERS = ("S", "A", "B", "C")


@dataclass(frozen=True)
class SurvivalReport:
    """The survival figures of one variants x windows matrix (see the module docstring).

    Attributes:
        survived: bool frame, variants x windows.
        window_rates: share (0-1) of variants surviving each window (index = windows).
        survival_rate: mean of ``window_rates``.
        variant_survival: share (0-1) of windows each variant survived.
        tiers: ``"S"``/``"A"``/``"B"``/``"C"`` per variant.
        tier_counts: variants per tier (all four keys).
        sa_variants: S + A variants.
        profitable: bool per variant.
        profitable_share: profitable / all variants.
        threshold: the survival threshold used; ``metric``: ``"return"`` or ``"sharpe"``.
    """

    survived: pd.DataFrame = field(repr=False)
    window_rates: pd.Series = field(repr=False)
    survival_rate: float
    variant_survival: pd.Series = field(repr=False)
    tiers: pd.Series = field(repr=False)
    tier_counts: dict[str, int]
    sa_variants: int
    profitable: pd.Series = field(repr=False)
    profitable_share: float
    threshold: float
    metric: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (per-window rates and per-variant tiers included)."""
        return {"metric": self.metric, "threshold": self.threshold,
                "survival_rate": self.survival_rate,
                "window_rates": {str(k): float(v) for k, v in self.window_rates.items()},
                "tier_counts": self.tier_counts, "sa_variants": self.sa_variants,
                "profitable_share": self.profitable_share,
                "variants": {str(v): {"survival": float(self.variant_survival[v]),
                                      "tier": self.tiers[v], "profitable": bool(self.profitable[v])}
                             for v in self.survived.index}}


def tier_of(share: float, tiers: TierConfig) -> str:
    """The tier of a variant that survived ``share`` (0-1) of its windows."""
    if share >= tiers.s:
        return "S"
    if share >= tiers.a:
        return "A"
    if share >= tiers.b:
        return "B"
    return "C"


def survival_analysis(matrix: pd.DataFrame, threshold: float = 0.0,
                      tiers: TierConfig | None = None,
                      metric: Literal["return", "sharpe"] = "return") -> SurvivalReport:
    """Survival rates, tiers and profitability of a variants x windows matrix.

    Args:
        matrix: float frame, index = variant ids, columns = test windows in time order, values
            = out-of-sample result (return fraction or Sharpe ratio), NaN = no result.
        threshold: survive = result strictly above it.
        tiers: tier bounds (default :class:`TierConfig`).
        metric: what the values are (decides "profitable").

    Raises:
        ValueError: an empty matrix.
    """
    if matrix.empty or matrix.shape[1] == 0:
        raise ValueError("the variants x windows matrix is empty: no variant or no window")
    tiers = tiers or TierConfig()
    values = matrix.astype("float64")
    survived = values.gt(threshold) & values.notna()
    window_rates = survived.mean(axis=0)
    variant_survival = survived.mean(axis=1)
    tier = variant_survival.map(lambda share: tier_of(float(share), tiers))
    complete = values.notna().all(axis=1)
    if metric == "return":
        outcome = (1 + values.fillna(0)).prod(axis=1) - 1
    else:
        outcome = values.mean(axis=1)
    profitable = complete & (outcome > 0)
    counts = {name: int((tier == name).sum()) for name in TIERS}
    return SurvivalReport(
        survived=survived, window_rates=window_rates, survival_rate=float(window_rates.mean()),
        variant_survival=variant_survival, tiers=tier, tier_counts=counts,
        sa_variants=counts["S"] + counts["A"], profitable=profitable,
        profitable_share=float(profitable.mean()), threshold=threshold, metric=metric)


def windows_until_first_failure(survived: pd.DataFrame) -> pd.DataFrame:
    """Per variant: ``duration`` (1-based index of the first failed window, or the number of
    windows) and ``observed`` (True = it failed there; False = censored, never failed)."""
    arr = survived.to_numpy(dtype=bool)
    n_windows = arr.shape[1]
    failed = ~arr
    first = np.where(failed.any(axis=1), failed.argmax(axis=1) + 1, n_windows)
    return pd.DataFrame({"duration": first.astype(int), "observed": failed.any(axis=1)},
                        index=survived.index)


def kaplan_meier(survived: pd.DataFrame, families: Mapping[str, str] | None = None,
                 alpha: float = 0.05) -> dict[str, Any]:
    """Kaplan-Meier fits of windows until first failure, one per family.

    Args:
        survived: bool variants x windows (:attr:`SurvivalReport.survived`).
        families: variant id -> family name (e.g. the model kind); missing = ``"all"``.
        alpha: 1 - confidence level of the Greenwood intervals.

    Returns:
        family -> fitted ``lifelines.KaplanMeierFitter`` (label = family), sorted by name.
    """
    from lifelines import KaplanMeierFitter

    durations = windows_until_first_failure(survived)
    family = pd.Series({v: (families or {}).get(v, "all") for v in survived.index})
    fitters = {}
    for name in sorted(family.unique()):
        rows = durations[family == name]
        fitter = KaplanMeierFitter(alpha=alpha)
        fitter.fit(rows["duration"], event_observed=rows["observed"], label=name,
                   timeline=np.arange(0, survived.shape[1] + 1))
        fitters[name] = fitter
    return fitters


def km_table(fitters: Mapping[str, Any]) -> pd.DataFrame:
    """Long table of the curves: ``family``, ``windows`` (0..n), ``survival`` (probability of
    no failure in the first ``windows`` windows), ``ci_low``, ``ci_high``."""
    frames = []
    for name, fitter in fitters.items():
        sf = fitter.survival_function_.iloc[:, 0]
        ci = fitter.confidence_interval_survival_function_
        frames.append(pd.DataFrame({"family": name, "windows": sf.index.astype(int),
                                    "survival": sf.to_numpy(), "ci_low": ci.iloc[:, 0].to_numpy(),
                                    "ci_high": ci.iloc[:, 1].to_numpy()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["family", "windows", "survival", "ci_low", "ci_high"])


def plot_kaplan_meier(fitters: Mapping[str, Any], png: Path | None = None,
                      html: Path | None = None,
                      title: str = "Windows until first failure (Kaplan-Meier)") -> list[Path]:
    """Save the curves with their confidence bands as a PNG (matplotlib, lifelines' own
    plot) and/or an interactive HTML page (plotly, its JavaScript embedded: opens offline).
    Returns the paths written."""
    written = []
    if png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5))
        for fitter in fitters.values():
            fitter.plot_survival_function(ax=ax, ci_show=True, drawstyle="steps-post")
        ax.set_xlabel("walk-forward windows")
        ax.set_ylabel("share of variants not yet failed")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(png)
    if html is not None:
        import plotly.graph_objects as go

        table = km_table(fitters)
        fig = go.Figure()
        for name, rows in table.groupby("family", sort=True):
            x = rows["windows"].tolist()
            band = rows["ci_high"].tolist() + rows["ci_low"].tolist()[::-1]
            fig.add_trace(go.Scatter(x=x + x[::-1], y=band, fill="toself", line={"width": 0},
                                     opacity=0.2, hoverinfo="skip", showlegend=False,
                                     line_shape="hv", name=f"{name} CI"))
            fig.add_trace(go.Scatter(x=x, y=rows["survival"], mode="lines+markers", name=name,
                                     line_shape="hv"))
        fig.update_layout(title=title, xaxis_title="walk-forward windows",
                          yaxis_title="share of variants not yet failed", yaxis_range=[0, 1.05])
        html.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(html, include_plotlyjs=True)
        written.append(html)
    return written
