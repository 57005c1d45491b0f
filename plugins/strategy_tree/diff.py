"""Rule changes between two trees (``python -m plugins.strategy_tree diff OLD NEW``).

``diff_trees(old, new)`` returns readable lines, one per changed rule: settings first (in
schema order), then entry/exit conditions, filters and take-profit stages:

    ~ timeframe: 1d -> 4h
    ~ entry condition: fear_greed_index < 25 -> fear_greed_index < 20
    - entry condition: exchange_netflow(BTC, 48h) < -3000
    + filter: only_if regime in ["calm_bull"]
    ~ position.batches: 3 -> 4

``~`` changed, ``-`` removed, ``+`` added. Conditions and filters are compared as sets (their
order does not change what they do); a removed and an added condition that differ only in
their numbers are shown as one change. Take-profit stages compare by position (stage 1, 2,
...). Values are compared in canonical form, so ``3.3%`` vs ``0.033`` or ``1D`` vs ``1d`` is
no change.
"""

from __future__ import annotations

import re

from plugins.strategy_tree.io import tree_data
from plugins.strategy_tree.schema import StrategyTree

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?%?")
_SET_KEYS = {("entry", "conditions"): "entry condition", ("exit", "conditions"): "exit condition"}


def _flat(value: object, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        out[path] = ", ".join(map(str, value))
    else:
        out[path] = str(value)


def _filters(tree: dict) -> list[str]:
    out = []
    for f in tree.get("filters", []):
        if "no_entry_within" in f:
            out.append(f"no_entry_within {f['no_entry_within']} of {' or '.join(f['events'])}")
        else:
            (key, value), = f.items()
            out.append(f"{key} {value}")
    return out


def _shape(text: str) -> str:
    return _NUMBER.sub("#", text)


def _set_changes(label: str, old: list[str], new: list[str]) -> list[str]:
    removed = [x for x in old if x not in new]
    added = [x for x in new if x not in old]
    lines = []
    for item in removed:
        twin = next((a for a in added if _shape(a) == _shape(item)), None)
        if twin is not None:
            added.remove(twin)
            lines.append(f"~ {label}: {item} -> {twin}")
        else:
            lines.append(f"- {label}: {item}")
    lines += [f"+ {label}: {item}" for item in added]
    return lines


def _stages(tree: dict) -> list[str]:
    return [f"at +{s['level']} {s['action']}" for s in tree.get("take_profit", [])]


def diff_trees(old: StrategyTree, new: StrategyTree) -> list[str]:
    """Readable rule changes from ``old`` to ``new`` (empty when they do the same)."""
    a, b = tree_data(old)["strategy"], tree_data(new)["strategy"]
    lines: list[str] = []
    scalars_a: dict[str, str] = {}
    scalars_b: dict[str, str] = {}
    for data, flat in ((a, scalars_a), (b, scalars_b)):
        plain = {k: v for k, v in data.items() if k not in ("take_profit", "filters")}
        for group in ("entry", "exit"):
            if group in plain:
                plain[group] = {k: v for k, v in plain[group].items() if k != "conditions"}
        _flat(plain, "", flat)
    for key in dict.fromkeys([*scalars_a, *scalars_b]):
        before, after = scalars_a.get(key), scalars_b.get(key)
        if before == after:
            continue
        if before is None:
            lines.append(f"+ {key}: {after}")
        elif after is None:
            lines.append(f"- {key}: {before}")
        else:
            lines.append(f"~ {key}: {before} -> {after}")
    for (group, _), label in _SET_KEYS.items():
        lines += _set_changes(label, a.get(group, {}).get("conditions", []),
                              b.get(group, {}).get("conditions", []))
    lines += _set_changes("filter", _filters(a), _filters(b))
    old_tp, new_tp = _stages(a), _stages(b)
    for i in range(max(len(old_tp), len(new_tp))):
        label = f"take_profit stage {i + 1}"
        if i >= len(old_tp):
            lines.append(f"+ {label}: {new_tp[i]}")
        elif i >= len(new_tp):
            lines.append(f"- {label}: {old_tp[i]}")
        elif old_tp[i] != new_tp[i]:
            lines.append(f"~ {label}: {old_tp[i]} -> {new_tp[i]}")
    return lines
