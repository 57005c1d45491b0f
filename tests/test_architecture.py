"""The layers of DESIGN.md hold: every import points down (or stays in its layer), and no import
forms a cycle - between packages or between modules. No exceptions list.

Imports are read with ``ast`` from every source file of the layered folders, function-level
imports and ``importlib.import_module("plugins....")`` with a literal name included; relative
imports are resolved. Tests are not layered (they may reach anything they check).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

#: DESIGN.md, "Layers": imports point down only; the same layer may import across packages as
#: long as no cycle forms.
LAYERS: dict[int, tuple[str, ...]] = {
    1: ("plugins/core",),
    2: ("plugins/altdata", "plugins/regime", "plugins/risk", "plugins/execution",
        "plugins/strategy_tree", "plugins/llm", "plugins/marketdata"),
    3: ("plugins/research", "plugins/guard", "plugins/rpc", "plugins/metrics"),
    4: ("strategies", "freqai_models", "adapters", "bench"),
}
LAYER_OF = {unit: layer for layer, units in LAYERS.items() for unit in units}
#: The folders the layers cover (``plugins/__init__.py`` only marks the package).
ROOTS = ("plugins", "strategies", "freqai_models", "adapters", "bench")


def unit_of(module: str) -> str | None:
    """The layered unit of a dotted module name (``plugins.risk.gates`` -> ``plugins/risk``);
    ``None`` outside the layered folders (third-party, stdlib, tests)."""
    parts = module.split(".")
    if parts[0] == "plugins":
        return f"plugins/{parts[1]}" if len(parts) > 1 else None
    return parts[0] if parts[0] in ROOTS else None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path) -> list[Path]:
    return sorted(p for base in ROOTS if (root / base).is_dir() for p in (root / base).rglob("*.py")
                  if "__pycache__" not in p.parts)


def imports_of(path: Path, root: Path) -> list[tuple[str, int]]:
    """``(imported name, line)`` of every import in ``path``, at any depth, relative ones
    resolved: ``from pkg import x`` yields ``pkg.x`` (:func:`graph` maps it to the module
    ``pkg.x``, or to ``pkg`` when ``x`` is a name defined there)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = module_name(path, root).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[:len(package) - node.level + 1]
                base = ".".join([*prefix, *([node.module] if node.module else [])])
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.args[0].value, node.lineno))
    return found


def graph(root: Path) -> dict[str, list[tuple[str, int]]]:
    """Module -> the modules of the tree it imports (``from pkg import name`` counts as
    ``pkg.name`` where that is a module, else ``pkg``). A package's ``__init__`` that Python
    runs on the way to a submodule is not an edge: it is the package's face, not a use."""
    files = {module_name(p, root): p for p in source_files(root)}
    edges: dict[str, list[tuple[str, int]]] = {}
    for name, path in files.items():
        targets = []
        for target, line in imports_of(path, root):
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name and unit_of(target) is not None:
                targets.append((target, line))
        edges[name] = sorted(set(targets))
    return edges


def cycles(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return sorted(found)


def upward_imports(root: Path) -> list[str]:
    problems = []
    for module, targets in graph(root).items():
        source = unit_of(module)
        for target, line in targets:
            unit = unit_of(target)
            if source is None or unit is None or unit == source:
                continue
            if LAYER_OF[unit] > LAYER_OF[source]:
                problems.append(f"{module}:{line} imports {target}: layer {LAYER_OF[source]} "
                                f"({source}) -> layer {LAYER_OF[unit]} ({unit})")
    return problems


def package_cycles(root: Path) -> list[list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph(root).items():
        for target, _ in targets:
            if unit_of(module) != unit_of(target):
                edges[unit_of(module)].add(unit_of(target))
    return cycles(LAYER_OF, edges)


def module_cycles(root: Path) -> list[list[str]]:
    modules = graph(root)
    return cycles(modules, {m: {t for t, _ in targets} for m, targets in modules.items()})


# ---------------------------------------------------------------------------------- the house


def test_every_source_folder_when_scanned_then_it_belongs_to_a_layer():
    units = {unit_of(module_name(p, REPO_ROOT)) for p in source_files(REPO_ROOT)} - {None}

    assert units - set(LAYER_OF) == set(), "add the new package to LAYERS (and DESIGN.md)"


def test_imports_when_scanned_then_none_points_up_a_layer():
    assert upward_imports(REPO_ROOT) == []


def test_packages_when_scanned_then_no_import_cycle():
    assert package_cycles(REPO_ROOT) == []


def test_modules_when_scanned_then_no_import_cycle():
    assert module_cycles(REPO_ROOT) == []


# ------------------------------------------------------------------------- the checker itself


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    def write(path: str, text: str) -> None:
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)

    write("plugins/__init__.py", "")
    write("plugins/core/__init__.py", "")
    write("plugins/core/clock.py", "def now():\n    from plugins.guard.mixin import x\n")
    write("plugins/risk/__init__.py", "")
    write("plugins/risk/a.py", "from .b import y\n")
    write("plugins/risk/b.py", "import importlib\nimportlib.import_module('plugins.risk.a')\n")
    write("plugins/guard/__init__.py", "")
    write("plugins/guard/mixin.py", "from plugins.risk import a\nfrom plugins.core import clock\n")
    return tmp_path


def test_checker_when_a_function_level_import_points_up_then_reported(tree):
    assert upward_imports(tree) == [
        "plugins.core.clock:2 imports plugins.guard.mixin: layer 1 (plugins/core) -> layer 3 "
        "(plugins/guard)"]


def test_checker_when_modules_import_each_other_then_the_cycles_are_reported(tree):
    assert module_cycles(tree) == [["plugins.core.clock", "plugins.guard.mixin"],
                                   ["plugins.risk.a", "plugins.risk.b"]]
    assert package_cycles(tree) == [["plugins/core", "plugins/guard"]]
