"""docker-compose.yml: mounts and paths point at things that exist (no Docker engine here)."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib

import yaml

from tests.conftest import REPO_ROOT


def compose_service() -> dict:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return compose["services"]["freqtrade"]


def test_image_is_official_freqai_image_pinned_to_the_project_freqtrade_version():
    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    version = next(p.split("==")[1] for p in pins if p.startswith("freqtrade[freqai]=="))

    assert compose_service()["image"] == f"freqtradeorg/freqtrade:{version}_freqai"


def test_every_mounted_host_path_exists_in_the_repo():
    for volume in compose_service()["volumes"]:
        host = volume.split(":")[0]

        assert (REPO_ROOT / host).is_dir(), f"{host} is mounted but missing"


def test_command_paths_are_inside_mounted_folders_and_exist_in_the_repo():
    service = compose_service()
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    command = service["command"]

    for flag in ("--config", "--strategy-path", "--freqaimodel-path"):
        path = re.search(rf"{flag} (\S+)", command).group(1)
        container_dir = next(m for m in mounts if path.startswith(m))
        host_path = REPO_ROOT / mounts[container_dir] / path[len(container_dir):].lstrip("/")
        assert host_path.exists(), f"{flag} {path} -> {host_path} missing"
    assert "--dry-run" in command


def test_strategy_and_model_of_base_config_are_in_mounted_folders_or_freqtrade():
    config = json.loads((REPO_ROOT / "config" / "base.json").read_text())

    assert (REPO_ROOT / "strategies" / f"{config['strategy']}.py").is_file()
    ours = REPO_ROOT / "freqai_models" / f"{config['freqaimodel']}.py"
    stock = importlib.util.find_spec(
        f"freqtrade.freqai.prediction_models.{config['freqaimodel']}")
    assert ours.is_file() or stock is not None
