"""Every argument of every suite CLI (``python -m plugins.*`` / ``adapters.*``) has help text,
and its ``--help`` shows the defaults (``plugins.core.cli.ArgumentParser``).

The CLIs are found, not listed: every module under plugins/ and adapters/ that builds an
``ArgumentParser(`` must expose its parser as a module-level ``_parser()``; the test walks it
and all its subcommands.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.core.cli import ArgumentParser, HelpFormatter
from tests.conftest import REPO_ROOT

_BUILDS_PARSER = re.compile(r"\bArgumentParser\(")


def cli_modules(root: Path = REPO_ROOT) -> list[str]:
    """Dotted names of the modules under plugins/ and adapters/ that build an argument parser
    (``plugins/core/cli.py``, which defines the class, excluded)."""
    found = []
    for base in ("plugins", "adapters"):
        for path in sorted((root / base).rglob("*.py")):
            if "__pycache__" in path.parts or path == root / "plugins/core/cli.py":
                continue
            if _BUILDS_PARSER.search(path.read_text(encoding="utf-8")):
                found.append(".".join(path.relative_to(root).with_suffix("").parts))
    return found


def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command path, parser)`` of ``parser`` and, depth first, its subcommands."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, f"{path} {name}")


def arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The parser's own arguments (not ``-h``, not the subcommand selector)."""
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            yield action


def _name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or action.dest


CLI_MODULES = cli_modules()


def test_find_cli_modules_when_scanning_the_tree_then_every_known_cli_is_found():
    expected = {"plugins.altdata.__main__", "plugins.llm.__main__", "plugins.research.__main__",
                "plugins.risk.__main__", "plugins.strategy_tree.__main__", "plugins.guard.__main__",
                "plugins.marketdata.__main__", "plugins.execution.__main__",
                "plugins.core.backtest_results", "plugins.llm.testing.__main__",
                "adapters.alpaca.__main__", "adapters.replay_exchange.__main__"}
    assert expected <= set(CLI_MODULES)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_parser_when_walked_then_every_argument_has_help_text(module):
    mod = importlib.import_module(module)
    assert callable(getattr(mod, "_parser", None)), f"{module} must expose its parser as _parser()"
    missing = [f"{path}: {_name(action)}" for path, parser in walk(mod._parser(), module)
               for action in arguments(parser)
               if not action.help or action.help == argparse.SUPPRESS or not action.help.strip()]
    assert not missing, "arguments without help text:\n" + "\n".join(missing)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_parser_when_help_is_printed_then_defaults_are_shown(module):
    mod = importlib.import_module(module)
    for path, parser in walk(mod._parser(), module):
        assert isinstance(parser, ArgumentParser), f"{path}: use plugins.core.cli.ArgumentParser"
        assert issubclass(parser.formatter_class, HelpFormatter), path
        text = " ".join(parser.format_help().split())  # formats every help string (no % errors)
        for action in arguments(parser):
            shown = action.default not in (None, False, [], argparse.SUPPRESS)
            if shown and action.option_strings and isinstance(action.default, str | int | float):
                assert "default" in (action.help or "").lower() or str(action.default) in text, (
                    f"{path}: {_name(action)} default {action.default!r} not in --help")


def test_help_formatter_when_default_is_none_or_named_then_nothing_is_appended():
    parser = ArgumentParser(prog="x")
    parser.add_argument("--a", type=int, default=3, help="candles")
    parser.add_argument("--b", default=None, help="a file")
    parser.add_argument("--c", default="x", help="mode (default: the config's)")
    parser.add_argument("--d", nargs="+", default=["buy", "sell"], help="spaces")
    text = " ".join(parser.format_help().split())
    assert "candles (default: 3)" in text
    assert "a file (default" not in text
    assert "(default: the config's) (default" not in text
    assert "spaces (default: buy sell)" in text
