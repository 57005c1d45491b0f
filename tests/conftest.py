"""Shared fixtures: the real data bundle, a data dir filled from it, a replay exchange."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from adapters.replay_exchange import ReplayExchangeConfig, ReplayServer, serving
from plugins.marketdata.sync import sync_candles

REPO_ROOT = Path(__file__).resolve().parents[1]

# No timed assertions in tests: Hypothesis' default 200 ms deadline per example fails property
# tests on a loaded 2-core CI machine (seen: 372 ms). Examples still run; only timing is ignored.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


def bundle_dir() -> Path:
    """The real data bundle: ``$SUITE_DATA_DIR`` or ``../shared/data`` beside the repo."""
    path = Path(os.environ.get("SUITE_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.fail(f"Real data bundle not found at {path}: put ../shared beside the repo "
                    "or set SUITE_DATA_DIR. Tests run on real data only.")
    return path


@pytest.fixture(scope="session")
def candle_datadir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Freqtrade data dir (``.../binance``) filled from the bundle by ``sync_candles``."""
    datadir = tmp_path_factory.mktemp("data") / "binance"
    sync_candles(bundle_dir(), datadir)
    return datadir


@pytest.fixture(scope="session")
def altdata_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An alt-data cache filled from the bundle by ``import-shared`` (the providers' parsers)."""
    from plugins.altdata.__main__ import import_shared
    from plugins.altdata.config import AltDataConfig

    cache_dir = tmp_path_factory.mktemp("altdata")
    import_shared(bundle_dir(), AltDataConfig(cache_dir=cache_dir))
    return cache_dir


@pytest.fixture
def replay_server(candle_datadir: Path) -> Iterator[ReplayServer]:
    """A static-mode replay exchange on a free port, in a background thread."""
    with serving(ReplayExchangeConfig(datadir=candle_datadir, port=0)) as server:
        yield server


def write_json(path: Path, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(data, indent=2))
    return path


def load_bench(name: str) -> ModuleType:
    """The benchmark script ``bench/<name>.py`` as a module (``bench`` is not a package)."""
    path = REPO_ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module
