"""CLI: validate, explain, diff and compile strategy trees.

    python -m plugins.strategy_tree validate TREE [TREE ...]
        Check each tree file; print ``OK <file>: <name> (schema vN)`` or one
        ``path: message (fix)`` line per problem.
    python -m plugins.strategy_tree explain TREE
        The rules in plain English.
    python -m plugins.strategy_tree diff OLD NEW
        One line per rule change (``~`` changed, ``-`` removed, ``+`` added), or
        ``No rule changes.``
    python -m plugins.strategy_tree compile TREE --engine freqtrade|backtrader --out DIR
        Generate engine code (``plugins.strategy_tree.compilers.compile_tree(tree, out_dir,
        engine) -> list[Path]``); prints the files written. ``make trees`` compiles the
        shipped trees into ``strategies/compiled/``.
    python -m plugins.strategy_tree schema [--out FILE]
        The JSON Schema of tree documents.

TREE files are YAML (``.yaml``/``.yml``) or JSON (``.json``). Exit status 0 on success; 1 when
a tree is invalid (the problems are printed) or a command cannot run (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plugins.core.cli import ArgumentParser
from plugins.strategy_tree.compilers import ENGINES, compile_tree
from plugins.strategy_tree.diff import diff_trees
from plugins.strategy_tree.errors import StrategyTreeError, TreeValidationError
from plugins.strategy_tree.explain import explain
from plugins.strategy_tree.io import load_tree
from plugins.strategy_tree.schema import json_schema


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.strategy_tree",
                                     description="Engine-neutral strategy trees.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check tree files")
    validate.add_argument("trees", nargs="+", type=Path, metavar="TREE",
                          help="tree files (YAML/JSON)")
    validate.set_defaults(handler=_validate)
    explain_cmd = sub.add_parser("explain", help="the rules in plain English")
    explain_cmd.add_argument("tree", type=Path, metavar="TREE", help="tree file (YAML/JSON)")
    explain_cmd.set_defaults(handler=_explain)
    diff = sub.add_parser("diff", help="rule changes from OLD to NEW")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier tree file")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later tree file")
    diff.set_defaults(handler=_diff)
    compile_cmd = sub.add_parser("compile", help="generate engine code (Freqtrade / backtrader)")
    compile_cmd.add_argument("tree", type=Path, metavar="TREE", help="tree file (YAML/JSON)")
    compile_cmd.add_argument("--engine", choices=ENGINES, required=True,
                             help="target engine")
    compile_cmd.add_argument("--out", type=Path, required=True, metavar="DIR",
                             help="folder for the generated module, e.g. strategies/compiled")
    compile_cmd.set_defaults(handler=_compile)
    schema = sub.add_parser("schema", help="print the JSON Schema of tree documents")
    schema.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="write it to this file (default: stdout)")
    schema.set_defaults(handler=_schema)
    return parser


def _print_invalid(path: Path, err: TreeValidationError) -> None:
    print(f"INVALID {path}: {len(err.issues)} problem(s)")
    for issue in err.issues:
        print(f"  {issue}")


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.trees:
        try:
            tree = load_tree(path)
        except TreeValidationError as err:
            _print_invalid(path, err)
            status = 1
            continue
        print(f"OK {path}: {tree.name} (schema v{tree.schema_version})")
    return status


def _explain(args: argparse.Namespace) -> int:
    print(explain(load_tree(args.tree)))
    return 0


def _diff(args: argparse.Namespace) -> int:
    lines = diff_trees(load_tree(args.old), load_tree(args.new))
    print("\n".join(lines) if lines else "No rule changes.")
    return 0


def _compile(args: argparse.Namespace) -> int:
    for path in compile_tree(load_tree(args.tree), args.out, args.engine):
        print(path)
    return 0


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2)
    if args.out is None:
        print(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"JSON Schema written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except TreeValidationError as err:
        path = getattr(args, "tree", None) or getattr(args, "new", None) or Path("tree")
        for issue in err.issues:
            print(f"{issue}", file=sys.stderr)
        print(f"{args.command}: the tree is invalid (python -m plugins.strategy_tree validate "
              f"{path})", file=sys.stderr)
        return 1
    except StrategyTreeError as err:
        print(f"{args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
