"""Validating a strategy tree, with errors a human can act on.

:func:`validate_tree` reads plain data into the schema's ``StrategyTree`` (``schema``); every
problem becomes one ``path: message (fix)`` row of a ``TreeValidationError``: the path from
``strategy`` down to the field, pydantic's message (or the rule's own, ``RuleError``) with the
value it got, and a fix (the allowed keys for a misspelt one, the bound for a number out of
range...). The models live in ``schema``; this module only speaks about them.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from plugins.strategy_tree.errors import Issue, RuleError, TreeValidationError
from plugins.strategy_tree.schema import FILTER_KEYS, ROOT, StrategyTree


def validate_tree(data: Any) -> StrategyTree:
    """A ``StrategyTree`` from plain data: the document (``{"strategy": {...}}``) or the tree.

    Raises:
        TreeValidationError: every problem, as ``path: message (fix)`` rows.
    """
    if isinstance(data, dict) and set(data) == {ROOT}:
        inner = data[ROOT]
    elif isinstance(data, dict) and ROOT not in data:
        inner = data
    else:
        raise TreeValidationError([Issue(ROOT, f"a tree document is a mapping with one key "
                                         f"'{ROOT}', got {_describe(data)}",
                                         f"write '{ROOT}:' and the tree's keys below it")])
    if not isinstance(inner, dict):
        raise TreeValidationError([Issue(ROOT, f"the tree must be a mapping of keys, got "
                                         f"{_describe(inner)}", "write name:, assets:, "
                                         "timeframe:, entry:, position:, risk: ... below it")])
    try:
        return StrategyTree.model_validate(inner)
    except ValidationError as err:
        raise TreeValidationError(issues_from(err)) from None
    except RuleError as err:  # raised from a before-validator outside pydantic's wrapping
        raise TreeValidationError([Issue(_join(ROOT, err.field), err.message, err.fix)]) from None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"a mapping with keys {', '.join(map(str, value))}"[:200]
    return f"{type(value).__name__} {value!r}"[:200]


def _join(path: str, field: str | None) -> str:
    if not field:
        return path
    return path + ("" if field.startswith("[") else ".") + field


def _loc_path(loc: tuple) -> str:
    path = ROOT
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.startswith("#"):
            continue  # union tag (filters)
        else:
            path += f".{part}"
    return path


_FIXES = {
    "int_type": "write a whole number", "int_parsing": "write a whole number",
    "int_from_float": "write a whole number", "float_type": "write a number",
    "float_parsing": "write a number", "string_type": "write text",
    "bool_type": "write true or false", "bool_parsing": "write true or false",
    "tuple_type": "write a list (YAML '- item' lines)", "list_type": "write a list",
    "model_type": "write a mapping of keys (YAML 'key: value' lines)",
    "dict_type": "write a mapping of keys", "model_attributes_type": "write a mapping of keys",
    "filter_kind": "write e.g. '- no_entry_within: 24h_of_FOMC' or '- no_entry_if: <condition>'",
    "union_tag_invalid": "write one of no_entry_within, no_entry_if, only_if",
    "union_tag_not_found": "write one of no_entry_within, no_entry_if, only_if",
}


def _fix(error: dict, path: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    field = path.rsplit(".", 1)[-1]
    if kind == "missing":
        return f"add {field}: (see `python -m plugins.strategy_tree schema`)"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return (f"remove {field} or correct its spelling" +
                (f"; allowed here: {', '.join(allowed)}" if allowed else ""))
    if kind == "literal_error":
        return f"use one of {ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        word = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
                "less_than_equal": "<="}[kind]
        return f"use a value {word} {bound}"
    if kind == "too_short":
        return f"give at least {ctx.get('min_length', 1)} item(s)"
    if kind == "too_long":
        return f"give at most {ctx.get('max_length', '')} item(s)"
    if kind == "string_too_long":
        return f"shorten it to {ctx.get('max_length', '')} characters"
    if kind == "string_pattern_mismatch":
        return (f"match {ctx.get('pattern', '')}" if field != "name" else
                "start with a letter; use letters, digits, _ . - (up to 64)")
    return _FIXES.get(kind, "see `python -m plugins.strategy_tree schema` for the expected shape")


def issues_from(err: ValidationError) -> list[Issue]:
    """``Issue`` rows of a pydantic ``ValidationError`` (``RuleError`` fixes kept)."""
    issues: list[Issue] = []
    for error in err.errors(include_url=False):
        path = _loc_path(tuple(error["loc"]))
        rule = (error.get("ctx") or {}).get("error")
        if isinstance(rule, RuleError):
            issues.append(Issue(_join(path, rule.field), rule.message, rule.fix))
            issues += [Issue(_join(path, f), m, x) for f, m, x in rule.more]
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("missing", "extra_forbidden"):
            message += f" (got {_short(error.get('input'))})"
        issues.append(Issue(path, message, _fix(error, path)))
    return issues or [Issue(ROOT, str(err)[:500], "see `python -m plugins.strategy_tree schema`")]


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model at ``loc`` (below ``StrategyTree``), for 'allowed here'."""
    models: list[type[BaseModel]] = [StrategyTree]
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(part, str) and part.startswith("#"):
            models = [FILTER_KEYS[part[1:]]]
            continue
        nxt: list[type[BaseModel]] = []
        for model in models:
            info = model.model_fields.get(part)
            if info is not None:
                nxt += _models_in(info.annotation)
        models = nxt
    if len(models) == 1:
        return list(models[0].model_fields)
    return []


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, tuple, list, Annotated):
        found = []
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
        return found
    return []
