"""docker-compose.yml and the Dockerfile: mounts, copies and paths point at things that exist, every
secret the suite reads is passed through from the environment (no Docker engine here)."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib

import pytest
import yaml

from tests.conftest import REPO_ROOT


def compose_service() -> dict:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return compose["services"]["freqtrade"]


def dockerfile_copies() -> dict[str, str]:
    """Container path -> repo path of the Dockerfile's ``COPY`` of single folders."""
    copies = {}
    for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        parts = [p for p in line.split() if not p.startswith("--")]
        if parts[:1] == ["COPY"] and len(parts) == 3:
            copies[parts[2]] = parts[1]
    return copies


def test_image_is_built_from_the_official_freqai_image_pinned_to_the_project_freqtrade_version():
    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    version = next(p.split("==")[1] for p in pins
                   if p.startswith("freqtrade[") and "freqai" in p.split("]")[0])
    [base] = re.findall(r"^FROM (\S+)", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)

    assert base == f"freqtradeorg/freqtrade:{version}_freqai"
    assert compose_service()["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert compose_service()["image"] == f"freqtrade-ai-suite:{version}"


def test_image_has_the_code_and_only_data_and_config_are_mounted():
    mounts = {v.split(":")[1] for v in compose_service()["volumes"]}

    assert mounts == {"/freqtrade/user_data", "/freqtrade/config"}
    assert dockerfile_copies() == {"/opt/ai-suite/plugins": "plugins",
                                   "/opt/ai-suite/adapters": "adapters",
                                   "/freqtrade/strategies": "strategies",
                                   "/freqtrade/freqai_models": "freqai_models"}
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "user_data", ".env", ".git"} <= set(ignored), "nothing secret or huge sent"


def test_every_mounted_host_path_exists_in_the_repo():
    for volume in compose_service()["volumes"]:
        host = volume.split(":")[0]

        assert (REPO_ROOT / host).is_dir(), f"{host} is mounted but missing"


def test_command_paths_are_in_mounted_or_copied_folders_and_exist_in_the_repo():
    service = compose_service()
    folders = {**{v.split(":")[1]: v.split(":")[0] for v in service["volumes"]},
               **dockerfile_copies()}
    command = service["command"]

    for flag in ("--config", "--strategy-path", "--freqaimodel-path"):
        path = re.search(rf"{flag} (\S+)", command).group(1)
        container_dir = next(m for m in folders if path.startswith(m))
        host_path = REPO_ROOT / folders[container_dir] / path[len(container_dir):].lstrip("/")
        assert host_path.exists(), f"{flag} {path} -> {host_path} missing"
    assert "--dry-run" in command


def test_strategy_and_model_of_base_config_are_in_the_image_or_freqtrade():
    config = json.loads((REPO_ROOT / "config" / "base.json").read_text())

    assert (REPO_ROOT / "strategies" / f"{config['strategy']}.py").is_file()
    ours = REPO_ROOT / "freqai_models" / f"{config['freqaimodel']}.py"
    stock = importlib.util.find_spec(
        f"freqtrade.freqai.prediction_models.{config['freqaimodel']}")
    assert ours.is_file() or stock is not None


def compose_services() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]


def bot_services() -> dict:
    """The services running Freqtrade (the image of the default service)."""
    image = compose_service()["image"]
    return {name: s for name, s in compose_services().items() if s.get("image") == image}


def test_profiles_default_bot_always_on_replay_dryrun_and_postgres_optional():
    services = compose_services()

    assert "profiles" not in services["freqtrade"], "`docker compose up` starts the bot"
    assert services["freqtrade-replay"]["profiles"] == ["dryrun"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert set(bot_services()) == {"freqtrade", "freqtrade-replay"}


@pytest.mark.parametrize("name", ["freqtrade", "freqtrade-replay"])
def test_bot_mounts_configs_and_dry_run_exist_for_every_bot_service(name):
    service = bot_services()[name]
    command = " ".join(service["command"]) if isinstance(service["command"], list) \
        else service["command"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}

    for volume in service["volumes"]:
        assert (REPO_ROOT / volume.split(":")[0]).is_dir(), volume
    configs = re.findall(r"--config (\S+)", command)
    assert "/freqtrade/config/dryrun.json" in configs
    for path in configs:
        container_dir = next(m for m in mounts if path.startswith(m))
        assert (REPO_ROOT / mounts[container_dir] / path[len(container_dir):].lstrip("/")).is_file()
    assert "trade --dry-run" in command
    assert "--db-url ${FREQTRADE_DB_URL:-sqlite:////freqtrade/user_data/" in command, \
        "PostgreSQL via FREQTRADE_DB_URL, SQLite by default"


@pytest.mark.parametrize("name", ["freqtrade", "freqtrade-replay"])
def test_api_is_published_on_the_hosts_loopback_only_with_credentials_from_the_environment(name):
    service = bot_services()[name]
    env = service["environment"]

    assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    for key in ("USERNAME", "PASSWORD", "JWT_SECRET_KEY"):
        value = env[f"FREQTRADE__API_SERVER__{key}"]
        assert value.startswith(f"${{FREQTRADE__API_SERVER__{key}:?"), "required, never a literal"


def test_replay_service_runs_the_bot_under_the_replay_exchange_offline():
    command = " ".join(bot_services()["freqtrade-replay"]["command"])

    assert "python -m adapters.replay_exchange --datadir /freqtrade/user_data/data/binance" in command
    assert "--port 18765" in command, "the port config/offline.json points ccxt at"
    assert "--config /freqtrade/config/offline.json" in command
    assert "FREQTRADE__AI_SUITE__ALTDATA__REPLAY_SHIFT_DAYS" in command
    offline = json.loads((REPO_ROOT / "config" / "offline.json").read_text())
    assert "127.0.0.1:18765" in offline["exchange"]["ccxt_config"]["urls"]["api"]["public"]


#: Every secret or key the suite and Freqtrade read from the environment in the container.
SECRETS = ("FREQTRADE__API_SERVER__USERNAME", "FREQTRADE__API_SERVER__PASSWORD",
           "FREQTRADE__API_SERVER__JWT_SECRET_KEY", "FREQTRADE__TELEGRAM__TOKEN",
           "FREQTRADE__TELEGRAM__CHAT_ID", "FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET",
           "FRED_API_KEY", "COINMETRICS_API_KEY", "GLASSNODE_API_KEY", "CRYPTOQUANT_API_KEY",
           "CRYPTOPANIC_API_KEY", "ANTHROPIC_API_KEY", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY")


def test_every_key_the_suite_reads_is_in_the_list_of_secrets():
    """The keys named in the code (``*_API_KEY``, Alpaca's) are all passed through."""
    named = set()
    for path in [*(REPO_ROOT / "plugins").rglob("*.py"), *(REPO_ROOT / "adapters").rglob("*.py")]:
        named |= set(re.findall(r"\"([A-Z][A-Z0-9_]*(?:_API_KEY|_API_KEY_ID|_SECRET_KEY))\"",
                                path.read_text()))
    assert named and named <= set(SECRETS), named - set(SECRETS)


@pytest.mark.parametrize("name", ["freqtrade", "freqtrade-replay"])
def test_every_secret_is_passed_through_from_the_environment_never_a_literal(name):
    env = bot_services()[name]["environment"]

    for key in SECRETS:
        assert re.fullmatch(rf"\$\{{{key}:[-?].*\}}", str(env[key])), f"{key}: {env.get(key)}"


def test_readme_documents_every_secret_in_one_table():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Secrets and keys", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]

    for key in SECRETS:
        assert sum(f"`{key}`" in row for row in rows) == 1, f"{key} not in the README's table"
