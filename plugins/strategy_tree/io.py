"""Read and write strategy trees as YAML or JSON.

``load_tree(path)`` reads a file (``.json`` as JSON; anything else as YAML, which also reads
JSON), ``loads_tree(text)`` a string; both accept the seed's layout exactly as written (the
``strategy:`` wrapper, ``asset:``, ``3.3%``, ``4h``, ``1D``, ``close_50%``, ``24h_of_FOMC``,
comments). Duplicate keys are an error (YAML and JSON parsers would silently keep the last).

``dumps_tree(tree, fmt)`` / ``dump_tree(tree, path)`` write the canonical form (see
``schema``): keys in schema order, fields left at None omitted, percentages as ``"3.3%"``.
Loading a dump gives an equal tree.

Every problem - unreadable file, syntax error, invalid tree - raises ``TreeValidationError``
(syntax errors name ``line N`` as their path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from plugins.core.atomic import atomic_write
from plugins.strategy_tree.errors import Issue, TreeValidationError
from plugins.strategy_tree.schema import ROOT, StrategyTree
from plugins.strategy_tree.validation import validate_tree

FORMATS = ("yaml", "json")


class _UniqueKeyLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate mapping keys."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # unhashable key (a list/mapping used as key)
            raise yaml.constructor.ConstructorError(
                None, None, "a key is a list or mapping", key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_text(text: str, fmt: str = "yaml") -> Any:
    """Plain data from YAML or JSON ``text``.

    Raises:
        TreeValidationError: a syntax error or duplicate key (path ``line N``).
    """
    if fmt == "json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as err:
            raise TreeValidationError([Issue(f"line {err.lineno}", f"JSON syntax error: {err.msg} "
                                             f"(column {err.colno})", "fix the JSON syntax")]) from None
        except (ValueError, RecursionError) as err:
            raise TreeValidationError([Issue("document", f"JSON error: {err}",
                                             "fix the JSON document")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f"line {mark.line + 1}" if mark is not None else "document"
        problem = err.problem or err.context or "syntax error"
        fix = ("remove the duplicate key" if "duplicate" in problem else
               "fix the YAML syntax (indentation, a ':' after each key, quotes around text "
               "containing ': ' or ' #')")
        raise TreeValidationError([Issue(line, f"YAML error: {problem}", fix)]) from None
    except (yaml.YAMLError, RecursionError) as err:
        raise TreeValidationError([Issue("document", f"YAML error: {err}"[:300],
                                         "fix the YAML syntax")]) from None


def loads_tree(text: str, fmt: str = "yaml") -> StrategyTree:
    """A validated tree from YAML (default) or JSON text.

    Raises:
        TreeValidationError: syntax error or invalid tree.
    """
    return validate_tree(parse_text(text, fmt))


def load_tree(path: Path | str) -> StrategyTree:
    """A validated tree from a ``.yaml`` / ``.yml`` / ``.json`` file.

    Raises:
        TreeValidationError: unreadable file, syntax error or invalid tree.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TreeValidationError([Issue(str(path), f"cannot read the file: {err}",
                                         "check the path and that it is a UTF-8 text file")]) from None
    return loads_tree(text, "json" if path.suffix.lower() == ".json" else "yaml")


def as_tree(tree: StrategyTree | dict | str | Path) -> StrategyTree:
    """A validated tree from a tree, plain data (``{"strategy": {...}}`` or the tree's keys)
    or a ``.yaml`` / ``.json`` file path.

    Raises:
        TreeValidationError: the tree (or file) is invalid; every problem with its path.
    """
    if isinstance(tree, StrategyTree):
        return tree
    if isinstance(tree, str | Path):
        return load_tree(tree)
    return validate_tree(tree)


def tree_data(tree: StrategyTree) -> dict:
    """The canonical document as plain data: ``{"strategy": {...}}``."""
    return {ROOT: _drop_none(tree.model_dump(mode="json"))}


def _drop_none(value: Any) -> Any:
    """``value`` without mapping entries whose (serialized) value is None."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dumps_tree(tree: StrategyTree, fmt: str = "yaml") -> str:
    """The canonical document as YAML or JSON text."""
    data = tree_data(tree)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def dump_tree(tree: StrategyTree, path: Path | str) -> Path:
    """Write the tree to ``path`` atomically (JSON for ``.json``, else YAML); returns it."""
    path = Path(path)
    text = dumps_tree(tree, "json" if path.suffix.lower() == ".json" else "yaml")
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
