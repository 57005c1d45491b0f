"""Writing LLM-derived strategy trees for review: new files only, then the compiler if present.

A tree written here never replaces an existing file (``write_new``: an atomic link that fails
when the name is taken). Versions are ``<base>_v<N>.yaml`` (``next_version``); the tree's own
``name`` is set to the file's stem so the two always agree. Code generation is the strategy-tree
compiler's job (``plugins.strategy_tree.compilers.compile_tree(tree, out_dir, engine)``):
``compile_engine`` calls it and reports the outcome in one line. ``compile_engines`` compiles
for every engine into the repository's layout (``make trees``:
Freqtrade strategies in ``strategies/compiled/``, backtrader ones in its ``backtrader/``), which
the golden test of the compiled strategies expects for every tree in ``strategies/trees/``.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from plugins.strategy_tree.compilers import compile_tree
from plugins.strategy_tree.errors import TreeValidationError
from plugins.strategy_tree.io import dumps_tree, load_tree
from plugins.strategy_tree.schema import StrategyTree

logger = logging.getLogger(__name__)

_VERSION = re.compile(r"^(?P<base>.+?)_v(?P<n>\d+)$")


def base_name(name: str) -> str:
    """``BTC_fear_v3`` -> ``BTC_fear``; names without a version stay as they are."""
    match = _VERSION.match(name)
    return match["base"] if match else name


def taken_names(trees_dir: Path) -> set[str]:
    """Lower-cased names in use in ``trees_dir``: every file stem and every valid tree's
    ``name`` (compiled class names derive from the name, so a clash would overwrite code)."""
    taken = set()
    for path in Path(trees_dir).glob("*.y*ml"):
        taken.add(path.stem.lower())
        try:
            taken.add(load_tree(path).name.lower())
        except TreeValidationError:
            continue
    return taken


def next_version(trees_dir: Path, name: str) -> int:
    """One above the highest ``<base>_v<N>`` in use in ``trees_dir`` (``taken_names``) and in
    ``name`` itself (at least 2: an unversioned original counts as v1). Case-insensitive."""
    base = base_name(name).lower()
    found = [1]
    for used in taken_names(trees_dir) | {name.lower()}:
        m = _VERSION.match(used)
        if m and m["base"] == base:
            found.append(int(m["n"]))
    return max(found) + 1


def write_new(tree: StrategyTree, path: Path) -> Path:
    """Write ``tree`` as YAML to ``path``, atomically, failing if ``path`` exists.

    Raises:
        FileExistsError: ``path`` exists (nothing is written).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps_tree(tree, "yaml")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp_name, path)  # atomic, and refuses to replace an existing file
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def renamed(tree: StrategyTree, name: str) -> StrategyTree:
    """``tree`` with another ``name`` (validated again)."""
    return StrategyTree.model_validate({**tree.model_dump(mode="json"), "name": name})


def write_draft(tree: StrategyTree, trees_dir: Path) -> Path:
    """A new-tree file for review: ``<name>.yaml``, or ``<base>_v<N>.yaml`` (renamed) when the
    name is taken by a file or a tree in ``trees_dir`` (``taken_names``)."""
    if tree.name.lower() not in taken_names(trees_dir):
        try:
            return write_new(tree, Path(trees_dir) / f"{tree.name}.yaml")
        except FileExistsError:
            pass
    version = next_version(trees_dir, tree.name)
    tree = renamed(tree, f"{base_name(tree.name)}_v{version}")
    return write_new(tree, Path(trees_dir) / f"{tree.name}.yaml")


#: Engine -> sub-folder of the compiled-strategies folder (``make trees``' layout).
ENGINE_FOLDERS = {"freqtrade": ".", "backtrader": "backtrader"}


def compile_engines(tree: StrategyTree, compiled_dir: Path | None) -> tuple[list[Path], str]:
    """``compile_engine`` for every engine into ``compiled_dir`` (None: skipped);
    returns all files written and one status line (``engine: status; ...``)."""
    if compiled_dir is None:
        return [], "compile skipped"
    written, statuses = [], []
    for engine, sub in ENGINE_FOLDERS.items():
        files, status = compile_engine(tree, (Path(compiled_dir) / sub), engine)
        written += files
        statuses.append(f"{engine}: {status}")
    return written, "; ".join(statuses)


def compile_engine(tree: StrategyTree, out_dir: Path | None,
                   engine: str = "freqtrade") -> tuple[list[Path], str]:
    """Compile ``tree`` with the strategy-tree compiler of ``engine``
    (``plugins.strategy_tree.compilers.compile_tree``).

    Returns:
        (written files, a one-line status): ``compiled N file(s)``, ``compile skipped``
        (``out_dir`` None) or ``compile failed: ...`` (the compiler raised; the tree file stays,
        the error is logged and the status says how to rerun the compile).
    """
    if out_dir is None:
        return [], "compile skipped (no output folder given)"
    try:
        written = [Path(p) for p in compile_tree(tree, Path(out_dir), engine)]
    except Exception as err:  # noqa: BLE001 - classified: the approval stands, compile is reported
        logger.exception("Compiling tree %s for %s failed", tree.name, engine)
        return [], (f"compile failed: {type(err).__name__}: {str(err)[:300]}; rerun `python -m "
                    f"plugins.strategy_tree compile TREE --engine {engine} --out {out_dir}`")
    return written, (f"compiled {len(written)} file(s) with "
                     f"plugins.strategy_tree.compilers.{engine}")
