"""The Docker image's install step, proven without a Docker engine as far as CI's budget allows.

The image is ``FROM freqtradeorg/freqtrade:<version>_freqai`` plus one ``pip install`` of this
project with constraints.txt (Dockerfile). A full clean install of the project takes longer here
than CI can afford (README "Docker image": measured), so this checks what breaks such images:

- the Dockerfile runs exactly the install command below, with the pinned constraints;
- the wheel that command builds, installed with ``--no-deps`` into a clean virtualenv, holds
  every module of ``plugins/`` and ``adapters/`` (nothing left out) and declares the
  dependencies of pyproject.toml;
- every third-party import of the suite's code (plugins, adapters, strategies, FreqAI models,
  function-level imports included) resolves to a distribution in the dependency closure of
  those declared dependencies (``freqtrade[freqai,...]`` included), each pinned in
  constraints.txt at the version installed in the test environment - the image lacking
  ``hmmlearn`` or ``anthropic`` was this failure.

Not verified here: the build itself on the image's Python, pip's resolution against the
packages preinstalled in the image, and a FreqAI backtest run inside it (the e2e tests run
RegimeMoE backtests in the test environment, which has the same pinned distributions).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
import venv
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

#: The Dockerfile's install step, with the image's paths (/opt/ai-suite = the repo root).
INSTALL = "pip install --user --no-cache-dir -c /opt/ai-suite/constraints.txt /opt/ai-suite"
#: What the issue found missing from the official image.
MUST_HAVE = ("hmmlearn", "jumpmodels", "anthropic", "alpaca-py", "exchange-calendars",
             "prometheus-client")
CODE = ("plugins", "adapters", "strategies", "freqai_models")
#: Installers, never pinned in constraints.txt (``pip freeze`` leaves them out; the image has them).
BUILD_TOOLS = {"pip", "setuptools", "wheel"}


def pins() -> dict[str, str]:
    lines = (REPO_ROOT / "constraints.txt").read_text().splitlines()
    return {canonicalize_name(n): v for n, _, v in
            (line.partition("==") for line in lines if "==" in line and not line.startswith("#"))}


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def closure(requirements: list[Requirement]) -> set[str]:
    """Distributions needed by ``requirements`` (extras and markers evaluated for this
    platform), from the installed distributions' metadata."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.requires(req.name) or []:
            sub = Requirement(raw)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, frozenset(sub.extras)))
    return {k.split("[")[0] for k in seen}


def third_party_imports() -> dict[str, list[str]]:
    """Top-level module -> files importing it, for every import of the suite's code that is
    neither standard library nor the suite itself."""
    own = {*CODE, "tests"}
    local = {p.stem for d in ("strategies", "freqai_models") for p in (REPO_ROOT / d).rglob("*.py")}
    found: dict[str, list[str]] = {}
    for folder in CODE:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module
                         and not node.level else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in own or top in local:
                        continue
                    found.setdefault(top, []).append(str(path.relative_to(REPO_ROOT)))
    return found


def test_dockerfile_installs_the_project_with_the_pinned_constraints():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()

    assert f"RUN {INSTALL}" in dockerfile
    assert "COPY --chown=ftuser:ftuser pyproject.toml constraints.txt README.md /opt/ai-suite/" \
        in dockerfile


def test_every_third_party_import_resolves_to_a_declared_dependency_pinned_in_constraints():
    needed = closure(declared())
    pinned = pins()
    distributions = metadata.packages_distributions()

    for module, files in sorted(third_party_imports().items()):
        dists = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert dists, f"{module} (imported by {files[0]}) is installed by no distribution"
        assert dists & needed, (f"{module} (imported by {files[0]}) comes from {sorted(dists)}, "
                                "which pyproject.toml does not declare (directly or through a "
                                "dependency): the image would not have it")
    for dist in sorted(needed - BUILD_TOOLS):
        assert dist in pinned, f"{dist} is needed and not pinned in constraints.txt"
        assert metadata.version(dist) == pinned[dist] or \
            metadata.version(dist).split("+")[0] == pinned[dist], dist
    for dist in MUST_HAVE:
        assert canonicalize_name(dist) in needed, dist


@pytest.mark.slow
def test_project_in_a_clean_virtualenv_when_installed_without_deps_then_every_module_and_dependency(
        tmp_path):
    """The wheel the Dockerfile's ``pip install`` builds of this project, installed with
    ``--no-deps -c constraints.txt`` into a virtualenv that has nothing else."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
                    str(REPO_ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("freqtrade_ai_suite-*.whl")
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    result = subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "-c",
                             str(REPO_ROOT / "constraints.txt"), str(wheel)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    probe = subprocess.run([str(python), "-c", (
        "import json, importlib.metadata as m; d = m.distribution('freqtrade-ai-suite'); "
        "print(json.dumps({'files': [str(f) for f in d.files], 'requires': d.requires}))")],
        capture_output=True, text=True, timeout=60, check=True)
    installed = json.loads(probe.stdout)
    files = {f for f in installed["files"] if f.endswith(".py")}
    for package in ("plugins", "adapters"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            rel = str(path.relative_to(REPO_ROOT))
            assert rel in files, f"{rel} is not in the installed project"
    requires = {canonicalize_name(Requirement(r).name) for r in installed["requires"]
                if "extra ==" not in r}
    assert requires == {canonicalize_name(r.name) for r in declared()}
    assert not list(env.glob("lib/python*/site-packages/pandas")), "--no-deps: nothing else"
