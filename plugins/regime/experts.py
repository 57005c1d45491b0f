"""Expert regressors of the regime mixture: LightGBM, XGBoost or a small PyTorch MLP.

Every expert has the same two calls::

    expert = make_expert(ExpertConfig(kind="xgboost", device="auto"))
    expert.fit(X, y, sample_weight=None)   # X float (n, f), y float (n,), returns the expert
    pred = expert.predict(X)               # float64 (n,)

Inputs are numeric arrays (anything ``np.asarray`` turns into float64), rows in time order,
no NaN or inf (drop or fill them first: the MLP cannot use them and the mixture must behave the
same whichever kind is configured). Experts pickle, and a model trained on a GPU unpickles on a
CPU-only machine (it then predicts on the CPU, with a WARNING).

Devices (:func:`resolve_device`): ``"auto"`` picks CUDA when PyTorch sees a GPU, ``"cuda"``
falls back to the CPU with a WARNING when there is none. XGBoost trains and predicts on the
resolved device. LightGBM uses ``device_type="cuda"`` only when the installed LightGBM build
was compiled with CUDA (checked once by a one-tree probe fit); the PyPI wheels are not (they
carry the OpenCL ``"gpu"`` learner only), so LightGBM normally stays on the CPU, with a
WARNING when CUDA was asked for. The MLP trains and predicts on the resolved device.

PyTorch is imported only when a device must be resolved (``"auto"``/``"cuda"``) or an MLP
is used; LightGBM and XGBoost are imported only by their own expert.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

logger = logging.getLogger(__name__)

ExpertKind = Literal["lightgbm", "xgboost", "mlp"]
Device = Literal["auto", "cpu", "cuda"]

#: params keys that belong to :class:`ExpertConfig` fields instead (key -> field to use).
RESERVED_PARAMS = {"device": "device", "device_type": "device", "random_state": "random_state",
                   "seed": "random_state", "random_seed": "random_state"}

LIGHTGBM_DEFAULTS: dict[str, Any] = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31,
                                     "verbosity": -1}
XGBOOST_DEFAULTS: dict[str, Any] = {"n_estimators": 200, "learning_rate": 0.05, "max_depth": 6,
                                    "tree_method": "hist", "verbosity": 0}
MLP_DEFAULTS: dict[str, Any] = {"hidden_sizes": (64, 64), "dropout": 0.1, "lr": 1e-3,
                                "batch_size": 256, "max_epochs": 50, "patience": 5,
                                "val_fraction": 0.1, "weight_decay": 0.0, "num_threads": None}

_PREDICT_CHUNK_ROWS = 65536


class ExpertError(ValueError):
    """Bad expert input or use (shape, NaN, unfitted expert)."""


class ExpertConfig(BaseModel):
    """Which regressor an expert is and how it trains (``ai_suite.regime.mixture.expert``).

    Attributes:
        kind: ``lightgbm`` (``LGBMRegressor``), ``xgboost`` (``XGBRegressor``) or ``mlp``.
        params: passed to the estimator, overriding our defaults (:data:`LIGHTGBM_DEFAULTS`,
            :data:`XGBOOST_DEFAULTS`, :data:`MLP_DEFAULTS`; the MLP accepts only those keys).
            The device and the seed are set by ``device`` / ``random_state``, not here.
        device: ``auto``, ``cpu`` or ``cuda``, see :func:`resolve_device`.
        random_state: seed of the estimator (and of ``torch.manual_seed`` for the MLP).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ExpertKind = "lightgbm"
    params: dict[str, Any] = {}
    device: Device = "cpu"
    random_state: int = 42

    @model_validator(mode="after")
    def _check_params(self) -> ExpertConfig:
        for key, field in RESERVED_PARAMS.items():
            if key in self.params:
                raise ValueError(f"params.{key} is set by the expert config: use "
                                 f"'{field}' instead of params['{key}']")
        if self.kind == "mlp":
            unknown = sorted(set(self.params) - set(MLP_DEFAULTS))
            if unknown:
                raise ValueError(f"params {unknown} are not MLP params; allowed: {sorted(MLP_DEFAULTS)}")
        return self


class Expert(Protocol):
    """What every expert offers (see the module docstring for shapes)."""

    kind: str
    #: the device it actually trains and predicts on ("cpu" or "cuda").
    device: str

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Expert:
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        ...

    def importance(self) -> np.ndarray | None:
        """Share of the model's total gain per feature, float64 ``(f,)`` summing to 1, or None
        (unfitted, or a kind without one: the MLP)."""
        ...


def resolve_device(requested: str) -> str:
    """The device to use for ``requested`` (``auto``, ``cpu`` or ``cuda``): ``"cpu"`` or ``"cuda"``.

    ``auto`` is ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``; ``cuda`` without a
    usable GPU logs a WARNING and gives ``cpu``. Imports PyTorch only for ``auto``/``cuda``.

    Raises:
        ExpertError: ``requested`` is none of the three.
    """
    if requested == "cpu":
        return "cpu"
    if requested not in ("auto", "cuda"):
        raise ExpertError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    import torch

    available = torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if available else "cpu"
    if not available:
        logger.warning("device 'cuda' requested but torch sees no CUDA GPU; using the CPU")
        return "cpu"
    return "cuda"


def _device_after_unpickle(kind: str, trained_on: str, requested: str) -> str:
    """Where an unpickled expert runs: its training device if still usable, else the CPU (WARNING)."""
    if trained_on != "cuda":
        return trained_on
    device = resolve_device(requested if requested != "cpu" else "auto")
    if device != "cuda":
        logger.warning("%s expert was trained on CUDA but this machine has no CUDA GPU; "
                       "predicting on the CPU", kind)
    return device


@contextlib.contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """``torch.set_num_threads(num_threads)`` inside the block, the previous value restored after;
    nothing when ``num_threads`` is None."""
    if num_threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.cache
def lightgbm_supports_cuda() -> bool:
    """Whether the installed LightGBM was built with the CUDA tree learner (one-tree probe fit)."""
    import lightgbm

    rng = np.random.default_rng(0)
    try:
        lightgbm.LGBMRegressor(n_estimators=1, device_type="cuda", verbosity=-1).fit(
            rng.random((64, 2)), rng.random(64))
    except Exception as exc:  # LightGBMError: "CUDA Tree Learner was not enabled in this build"
        logger.debug("LightGBM CUDA probe failed: %s", exc)
        return False
    return True


def _as_X(X: Any, n_features: int | None = None) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise ExpertError(f"X must be 2-D (rows, features), got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ExpertError(f"X has {arr.shape[1]} features but the expert was fitted on {n_features}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ExpertError(f"X has {bad} rows with NaN or inf: drop or fill them first")
    return arr


def _check_fit_inputs(X: Any, y: Any, sample_weight: Any
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    arr = _as_X(X)
    target = np.asarray(y, dtype=np.float64)
    if target.ndim != 1:
        raise ExpertError(f"y must be 1-D (rows,), got shape {target.shape}: "
                          "fit one expert per target column")
    if len(target) != len(arr):
        raise ExpertError(f"y has {len(target)} rows but X has {len(arr)}")
    if len(arr) == 0:
        raise ExpertError("X has no rows to fit on")
    if not np.isfinite(target).all():
        raise ExpertError(f"y has {int((~np.isfinite(target)).sum())} NaN or inf values: drop those rows")
    if sample_weight is None:
        return arr, target, None
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != target.shape:
        raise ExpertError(f"sample_weight must have shape {target.shape}, got {weight.shape}")
    if not np.isfinite(weight).all() or (weight < 0).any() or weight.sum() <= 0:
        raise ExpertError("sample_weight must be finite, >= 0 and not all zero")
    return arr, target, weight


class _SklearnExpert:
    """Shared fit/predict of the two gradient-boosting wrappers (``self.model`` is the estimator)."""

    kind = "base"
    device = "cpu"
    model: Any
    n_features_: int | None = None

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _SklearnExpert:
        arr, target, weight = _check_fit_inputs(X, y, sample_weight)
        self.model.fit(arr, target, sample_weight=weight)
        self.n_features_ = arr.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.n_features_ is None:
            raise ExpertError(f"{self.kind} expert is not fitted: call fit() first")
        arr = _as_X(X, self.n_features_)
        if len(arr) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.model.predict(arr), dtype=np.float64).reshape(-1)


def _shares(values: Any) -> np.ndarray:
    """Non-negative importances scaled to sum to 1 (all zeros stay zeros)."""
    arr = np.clip(np.asarray(values, dtype=np.float64).reshape(-1), 0.0, None)
    total = arr.sum()
    return arr / total if total > 0 else arr


class LightGBMExpert(_SklearnExpert):
    """``lightgbm.LGBMRegressor`` with :data:`LIGHTGBM_DEFAULTS` overridden by ``params``.

    ``device="cuda"`` uses LightGBM's CUDA learner only when :func:`lightgbm_supports_cuda`;
    otherwise it trains on the CPU (WARNING). ``n_jobs`` is LightGBM's default unless in params.
    """

    kind = "lightgbm"

    def __init__(self, cfg: ExpertConfig) -> None:
        import lightgbm

        device = resolve_device(cfg.device)
        if device == "cuda" and not lightgbm_supports_cuda():
            logger.warning("LightGBM %s was built without CUDA support; LightGBM experts train "
                           "on the CPU (rebuild LightGBM with -DUSE_CUDA=1 to use the GPU)",
                           lightgbm.__version__)
            device = "cpu"
        self.device = device
        params = {**LIGHTGBM_DEFAULTS, **cfg.params, "random_state": cfg.random_state,
                  "device_type": device}
        self.model = lightgbm.LGBMRegressor(**params)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n,)`` straight from the fitted booster: the same numbers as
        ``LGBMRegressor.predict``, without its per-call parameter processing (a few ms, which
        matters when the mixture predicts one new candle with several experts)."""
        if self.n_features_ is None:
            raise ExpertError(f"{self.kind} expert is not fitted: call fit() first")
        arr = _as_X(X, self.n_features_)
        if len(arr) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.model.booster_.predict(arr), dtype=np.float64).reshape(-1)

    def importance(self) -> np.ndarray | None:
        """Share of the total split gain per feature, float64 ``(f,)`` summing to 1 (LightGBM
        ``feature_importance("gain")``); None before fitting."""
        if self.n_features_ is None:
            return None
        return _shares(self.model.booster_.feature_importance(importance_type="gain"))


class XGBoostExpert(_SklearnExpert):
    """``xgboost.XGBRegressor`` (``tree_method="hist"``, ``device`` = the resolved device) with
    :data:`XGBOOST_DEFAULTS` overridden by ``params``."""

    kind = "xgboost"

    def __init__(self, cfg: ExpertConfig) -> None:
        import xgboost

        self.requested_device = cfg.device
        self.device = resolve_device(cfg.device)
        params = {**XGBOOST_DEFAULTS, **cfg.params, "random_state": cfg.random_state,
                  "device": self.device}
        self.model = xgboost.XGBRegressor(**params)

    def importance(self) -> np.ndarray | None:
        """Share of the total gain per feature, float64 ``(f,)`` summing to 1 (XGBoost
        ``get_score(importance_type="total_gain")``; unused features 0); None before fitting."""
        if self.n_features_ is None:
            return None
        scores = self.model.get_booster().get_score(importance_type="total_gain")
        gains = np.zeros(self.n_features_)
        for key, value in scores.items():  # keys "f0", "f1", ... for NumPy inputs
            gains[int(key[1:])] = value
        return _shares(gains)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        device = _device_after_unpickle(self.kind, self.device, self.requested_device)
        if device != self.device:  # trained on a GPU, loaded where there is none
            self.device = device
            self.model.set_params(device=device)


class MLPExpert:
    """A small PyTorch MLP regressor (:data:`MLP_DEFAULTS`, overridable through ``params``).

    ``hidden_sizes`` ReLU layers (default two of 64) each followed by dropout (0.1), then one
    linear output; Adam (``lr`` 1e-3, ``weight_decay``), mini-batches of ``batch_size`` (256),
    MSE loss (weighted by ``sample_weight`` when given), at most ``max_epochs`` (50) epochs.
    Early stopping: the last ``val_fraction`` (10 %) of the rows, in time order, is held out;
    training stops after ``patience`` (5) epochs without a better validation loss and keeps the
    best epoch's weights. Inputs and target are standardized with the mean/std of the training
    rows (not the held-out tail). ``torch.manual_seed(random_state)`` and a seeded shuffle make
    fits repeatable on one machine. ``num_threads``, when set, is passed to
    ``torch.set_num_threads`` for the duration of each fit/predict (the previous value is restored
    after, so other torch users in the process are not affected). After fitting: ``epochs_run_``
    and ``best_val_loss_`` (validation MSE in standardized units).

    Pickles as CPU tensors plus the standardization stats; unpickling re-resolves the device.
    """

    kind = "mlp"

    def __init__(self, cfg: ExpertConfig) -> None:
        self.requested_device = cfg.device
        self.device = resolve_device(cfg.device)
        self.random_state = cfg.random_state
        self.params = {**MLP_DEFAULTS, **cfg.params}
        self.params["hidden_sizes"] = tuple(int(h) for h in self.params["hidden_sizes"])
        self.net: Any = None
        self.n_features_: int | None = None
        self.x_mean_ = self.x_std_ = np.empty(0)
        self.y_mean_ = 0.0
        self.y_std_ = 1.0
        self.epochs_run_ = 0
        self.best_val_loss_ = float("nan")

    def _build_net(self, n_features: int) -> Any:
        from torch import nn

        layers: list[Any] = []
        width = n_features
        for hidden in self.params["hidden_sizes"]:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(float(self.params["dropout"]))]
            width = hidden
        layers.append(nn.Linear(width, 1))
        return nn.Sequential(*layers)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPExpert:
        arr, target, weight = _check_fit_inputs(X, y, sample_weight)
        with _torch_threads(self.params["num_threads"]):
            self._fit(arr, target, weight)
        return self

    def _fit(self, arr: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> None:
        import torch

        p = self.params
        n = len(arr)
        n_val = max(1, int(round(n * float(p["val_fraction"]))))
        n_train = n - n_val
        if n_train < 2:
            raise ExpertError(f"the MLP needs at least 3 rows (2 to train, 1 to validate), got {n}")
        self.x_mean_ = arr[:n_train].mean(axis=0)
        self.x_std_ = np.where(arr[:n_train].std(axis=0) > 0, arr[:n_train].std(axis=0), 1.0)
        self.y_mean_ = float(target[:n_train].mean())
        y_std = float(target[:n_train].std())
        self.y_std_ = y_std if y_std > 0 else 1.0
        w = np.ones(n) if weight is None else weight

        dev = torch.device(self.device)
        xs = torch.as_tensor((arr - self.x_mean_) / self.x_std_, dtype=torch.float32, device=dev)
        ys = torch.as_tensor((target - self.y_mean_) / self.y_std_, dtype=torch.float32, device=dev)
        ws = torch.as_tensor(w, dtype=torch.float32, device=dev)
        x_tr, y_tr, w_tr = xs[:n_train], ys[:n_train], ws[:n_train]
        x_va, y_va, w_va = xs[n_train:], ys[n_train:], ws[n_train:]

        torch.manual_seed(self.random_state)
        shuffle = torch.Generator().manual_seed(self.random_state)
        net = self._build_net(arr.shape[1]).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
        batch = int(p["batch_size"])

        def weighted_mse(pred: Any, yy: Any, ww: Any) -> Any:
            return (ww * (pred - yy) ** 2).sum() / ww.sum().clamp_min(1e-12)

        best_loss, best_state, stale, epochs = float("inf"), None, 0, 0
        for _ in range(int(p["max_epochs"])):
            epochs += 1
            net.train()
            order = torch.randperm(n_train, generator=shuffle).to(dev)
            for start in range(0, n_train, batch):
                idx = order[start:start + batch]
                opt.zero_grad()
                loss = weighted_mse(net(x_tr[idx]).squeeze(-1), y_tr[idx], w_tr[idx])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                val_loss = float(weighted_mse(net(x_va).squeeze(-1), y_va, w_va))
            if val_loss < best_loss:
                best_loss, stale = val_loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= int(p["patience"]):
                    break
        if best_state is not None:  # None only if every validation loss was NaN
            net.load_state_dict(best_state)
        net.eval()
        self.net, self.n_features_ = net, arr.shape[1]
        self.epochs_run_, self.best_val_loss_ = epochs, best_loss
        logger.debug("MLP expert: %d epochs, best validation MSE %.4f (standardized), device %s",
                     epochs, best_loss, self.device)

    def predict(self, X: Any) -> np.ndarray:
        if self.net is None or self.n_features_ is None:
            raise ExpertError("mlp expert is not fitted: call fit() first")
        import torch

        arr = _as_X(X, self.n_features_)
        xs = (arr - self.x_mean_) / self.x_std_
        out = np.empty(len(arr), dtype=np.float64)
        dev = torch.device(self.device)
        self.net.eval()
        with torch.no_grad(), _torch_threads(self.params["num_threads"]):
            for start in range(0, len(arr), _PREDICT_CHUNK_ROWS):
                chunk = torch.as_tensor(xs[start:start + _PREDICT_CHUNK_ROWS], dtype=torch.float32,
                                        device=dev)
                out[start:start + len(chunk)] = self.net(chunk).squeeze(-1).cpu().numpy()
        return out * self.y_std_ + self.y_mean_

    def importance(self) -> None:
        """None: the MLP has no built-in feature importance (use permutation importance)."""
        return None

    def __getstate__(self) -> dict[str, Any]:
        """The attributes, with the network as a state dict of NumPy arrays (device-free)."""
        state = {k: v for k, v in self.__dict__.items() if k != "net"}
        state["net_state"] = (None if self.net is None else
                              {k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        net_state = state.pop("net_state")
        self.__dict__.update(state)
        self.net = None
        if net_state is not None:
            import torch

            self.device = _device_after_unpickle(self.kind, self.device, self.requested_device)
            net = self._build_net(self.n_features_)
            net.load_state_dict({k: torch.from_numpy(v) for k, v in net_state.items()})
            self.net = net.to(self.device).eval()


def make_expert(cfg: ExpertConfig) -> Expert:
    """A new, unfitted expert of ``cfg.kind`` (see :class:`ExpertConfig`)."""
    if cfg.kind == "lightgbm":
        return LightGBMExpert(cfg)
    if cfg.kind == "xgboost":
        return XGBoostExpert(cfg)
    return MLPExpert(cfg)
