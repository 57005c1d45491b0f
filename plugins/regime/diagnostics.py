"""Why a regime mixture does or does not differ from its global expert: per-window figures.

Issue 20 asked why the mixture adds nothing over one LightGBM. Three things decide it, and this
module measures each per training window (one fit) and per predicted window (one ``predict``):

- **rows per expert** (:func:`fit_diagnostics`): training rows the detector gave each regime;
  a regime below ``min_regime_samples`` has no expert of its own and is served by the global
  expert ("fallback");
- **serve share** (:func:`serve_diagnostics`): how much of the predictions each regime's expert
  made (mean gate weight; with the hard gate the share of rows), and how much of it was in fact
  the global expert standing in for a fallen-back regime (``global_fallback_share``);
- **distance from the global expert**: the Spearman rank correlation of the gated prediction
  with the global expert's prediction on the same rows (1.0 = the mixture ranks exactly like one
  model trained on all rows, i.e. like the stock baseline with the same parameters), and the
  mean absolute gap in the target's (scaled) units.

Figures are plain ``dict`` s of JSON types: ``RegimeGatedMoE`` writes the fit figures into
FreqAI's metadata (``<model>_metadata.json``, keys ``regime_diagnostics`` and, per expert, the
gain-share feature importance ``regime_feature_importance``) and the serve figures beside it
(``<model>_expert_serve.json``); :func:`collect` reads them back from a FreqAI
models directory (one row per pair and window) for a report. Pure: no FreqAI imports.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from plugins.regime.gated import GatedPrediction, RegimeGatedModel

logger = logging.getLogger(__name__)

#: the key of the fit figures in FreqAI's metadata JSON and the serve figures' file suffix.
METADATA_KEY = "regime_diagnostics"
SERVE_SUFFIX = "_expert_serve.json"
#: the key of :func:`feature_importance` in FreqAI's metadata JSON.
IMPORTANCE_KEY = "regime_feature_importance"


def fit_diagnostics(model: RegimeGatedModel) -> dict[str, Any]:
    """The fit figures of a fitted :class:`~plugins.regime.gated.RegimeGatedModel`.

    Returns:
        ``training_rows`` (int, rows the experts saw), ``rows_per_expert`` (regime name ->
        int rows by causal label), ``own_expert`` (regime name -> bool), ``fallback_regimes``
        (names served by the global expert), ``fallback_rate`` (fraction 0-1 of the regimes
        that fell back), ``all_fell_back`` (bool: the mixture *is* the global expert),
        ``min_regime_samples``, ``expert_kind`` (regime name -> kind; ``global`` too),
        ``experts`` (``residual``/``independent``), ``gate``, ``n_features`` and
        ``fit_seconds`` (key -> s). Figures of the first target (the detector and hence the
        counts and fallbacks are shared by all targets).

    Raises:
        ValueError: the model is not fitted.
    """
    if not model.mixtures:
        raise ValueError("the regime model is not fitted: no diagnostics")
    mixture = next(iter(model.mixtures.values()))
    names = list(mixture.regime_names)
    counts = [int(c) for c in mixture.regime_counts]
    fallback = [names[k] for k in mixture.fallback_regimes]
    kinds = {"global": mixture.cfg.expert.kind}
    for k, name in enumerate(names):
        kinds[name] = mixture.expert_config(k).kind if k not in mixture.fallback_regimes else "global"
    return {
        "training_rows": int(sum(counts)),
        "rows_per_expert": dict(zip(names, counts, strict=True)),
        "own_expert": {name: name not in fallback for name in names},
        "fallback_regimes": fallback,
        "fallback_rate": len(fallback) / len(names) if names else 0.0,
        "all_fell_back": len(fallback) == len(names),
        "min_regime_samples": int(mixture.cfg.min_regime_samples),
        "expert_kind": kinds,
        "experts": mixture.cfg.experts,
        "gate": mixture.cfg.gate,
        "n_features": int(mixture.n_features or 0),
        "fit_seconds": {k: round(float(v), 4) for k, v in mixture.fit_seconds.items()},
    }


def serve_diagnostics(model: RegimeGatedModel, out: GatedPrediction) -> dict[str, Any]:
    """Who served the predictions of one ``predict`` call (rows with ``out.valid`` only).

    Returns:
        ``rows`` (valid rows), ``serve_share`` (regime name -> mean gate weight, sums to 1),
        ``argmax_share`` (regime name -> share of rows where it was the most probable),
        ``global_fallback_share`` (mean gate weight on fallen-back regimes: the part of the
        predictions the global expert made in their place), ``corr_with_global`` (Spearman
        rank correlation of the first target's gated prediction with the global expert's; NaN
        under 3 rows or a constant series), ``mean_abs_gap_to_global`` (mean
        ``|gated - global|``, scaled target units). Empty figures (``rows`` 0) when no row is
        valid.
    """
    mixture = next(iter(model.mixtures.values()))
    names = list(mixture.regime_names)
    valid = np.asarray(out.valid, dtype=bool)
    weights = np.asarray(out.weights, dtype=np.float64)[valid]
    rows = int(valid.sum())
    result: dict[str, Any] = {"rows": rows}
    if rows == 0:
        return result
    labels = np.asarray(out.labels)[valid]
    share = weights.mean(axis=0)
    result["serve_share"] = {n: float(s) for n, s in zip(names, share, strict=True)}
    result["argmax_share"] = {n: float((labels == k).mean()) for k, n in enumerate(names)}
    fallback = list(mixture.fallback_regimes)
    result["global_fallback_share"] = float(weights[:, fallback].sum(axis=1).mean()) if fallback else 0.0
    gated = out.predictions.iloc[:, 0].to_numpy(dtype=np.float64)[valid]
    glob = (np.asarray(out.global_prediction, dtype=np.float64)[valid]
            if out.global_prediction is not None else None)
    if glob is None:
        result["corr_with_global"], result["mean_abs_gap_to_global"] = float("nan"), float("nan")
        return result
    corr = float("nan")
    if rows >= 3 and np.ptp(gated) > 0 and np.ptp(glob) > 0:
        corr = float(pd.Series(gated).corr(pd.Series(glob), method="spearman"))
    result["corr_with_global"] = corr
    result["mean_abs_gap_to_global"] = float(np.abs(gated - glob).mean())
    return result


def feature_importance(model: RegimeGatedModel, feature_names: list[str]) -> dict[str, Any]:
    """Gain-share feature importance of every expert of the first target's mixture.

    Returns:
        ``{"global": {feature: share}, "<regime name>": {...}, ...}``, each sorted by share
        (descending, shares sum to 1), for the global expert and each regime with an expert of
        its own; with ``experts: residual`` a regime's figures are those of its residual model
        (what the regime adds to the global expert). A kind without importances (MLP) or a
        fallen-back regime is left out. ``"kind"`` maps each included key to ``global`` /
        ``residual`` / ``independent``.

    Raises:
        ValueError: the model is not fitted, or ``feature_names`` has the wrong length.
    """
    if not model.mixtures:
        raise ValueError("the regime model is not fitted: no feature importance")
    mixture = next(iter(model.mixtures.values()))
    if len(feature_names) != mixture.n_features:
        raise ValueError(f"{len(feature_names)} feature names for {mixture.n_features} features")
    experts = [("global", mixture.global_expert, "global")]
    experts += [(name, expert, mixture.cfg.experts) for name, expert
                in zip(mixture.regime_names, mixture.experts, strict=True) if expert is not None]
    out: dict[str, Any] = {"kind": {}}
    for key, expert, kind in experts:
        shares = expert.importance() if hasattr(expert, "importance") else None
        if shares is None:
            continue
        order = np.argsort(-shares, kind="stable")
        out[key] = {feature_names[i]: float(shares[i]) for i in order}
        out["kind"][key] = kind
    return out


def log_importance(importance: dict[str, Any], pair: str, top: int = 5) -> None:
    """One INFO line: the ``top`` features of each expert of :func:`feature_importance`."""
    tops = {key: [f"{name} {share:.2f}" for name, share in list(shares.items())[:top]]
            for key, shares in importance.items() if key != "kind"}
    logger.info("regime feature importance %s (gain share, top %d): %s", pair, top, tops)


def log_fit(figures: dict[str, Any], pair: str) -> None:
    """One INFO line of :func:`fit_diagnostics` figures (%-format)."""
    logger.info("regime diagnostics %s: %d training rows, rows per expert %s, fallback to global "
                "%s (rate %.2f), expert kinds %s", pair, figures["training_rows"],
                figures["rows_per_expert"], figures["fallback_regimes"] or "none",
                figures["fallback_rate"], figures["expert_kind"])


def log_serve(figures: dict[str, Any], pair: str) -> None:
    """One INFO line of :func:`serve_diagnostics` figures (%-format)."""
    if not figures.get("rows"):
        logger.info("regime diagnostics %s: no valid prediction row", pair)
        return
    logger.info("regime diagnostics %s: %d predictions, serve share %s, global fallback share "
                "%.3f, rank corr with global expert %.4f, mean |gated - global| %.4g", pair,
                figures["rows"], {k: round(v, 3) for k, v in figures["serve_share"].items()},
                figures["global_fallback_share"], figures["corr_with_global"],
                figures["mean_abs_gap_to_global"])


def collect(models_dir: Path) -> pd.DataFrame:
    """Every window's figures under a FreqAI models directory (``user_data/models/<identifier>``:
    ``sub-train-<COIN>_<ts>/<model>_metadata.json`` and ``..._expert_serve.json``).

    Returns:
        One row per metadata file holding :data:`METADATA_KEY`: ``window`` (folder name),
        ``training_rows``, ``own_experts`` (int), ``regimes`` (int), ``fallback_rate``,
        ``all_fell_back``, ``rows_per_expert`` (dict), and where a serve file exists
        ``served_rows``, ``global_fallback_share``, ``corr_with_global``,
        ``mean_abs_gap_to_global``, ``serve_share`` (dict). Empty frame when none.
    """
    rows = []
    for meta_path in sorted(Path(models_dir).glob("sub-train-*/*_metadata.json")):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            logger.warning("skipping unreadable FreqAI metadata %s: %s", meta_path, exc)
            continue
        fit = meta.get(METADATA_KEY)
        if not fit:
            continue
        row = {"window": meta_path.parent.name, "training_rows": fit["training_rows"],
               "regimes": len(fit["rows_per_expert"]),
               "own_experts": sum(bool(v) for v in fit["own_expert"].values()),
               "fallback_rate": fit["fallback_rate"], "all_fell_back": fit["all_fell_back"],
               "rows_per_expert": fit["rows_per_expert"]}
        serve_path = meta_path.with_name(meta_path.name.replace("_metadata.json", SERVE_SUFFIX))
        if serve_path.is_file():
            serve = json.loads(serve_path.read_text())
            row.update({"served_rows": serve.get("rows", 0),
                        "global_fallback_share": serve.get("global_fallback_share"),
                        "corr_with_global": serve.get("corr_with_global"),
                        "mean_abs_gap_to_global": serve.get("mean_abs_gap_to_global"),
                        "serve_share": serve.get("serve_share")})
        rows.append(row)
    return pd.DataFrame(rows)
