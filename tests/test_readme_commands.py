"""Every command in the README's (and docs/*.md's) ``bash`` code blocks exists as written.

Each block is split into simple commands (``\\`` continuations joined, ``#`` comments, ``&&``,
``;``, ``|``, ``&`` and leading ``VAR=value`` assignments removed) and each command is checked
against the thing that would run it, without running it:

- ``make TARGET ...``: the target is a rule of the Makefile;
- ``python -m plugins.X`` / ``adapters.X`` (any python): the module exists, and its subcommand
  and every ``--option`` are in its argparse parser (``_parser()``, the parser the CLI runs
  with; ``tests/test_cli_help.py`` requires every CLI to expose it); ``--`` hands the rest to
  the check as a command of its own (the replay exchange's ``-- freqtrade ...``);
- ``python bench/X.py`` (any python): the script exists and each ``--option`` appears in its
  ``--help``;
- ``freqtrade SUBCOMMAND``: the subcommand and every option are in Freqtrade's own parser
  (``freqtrade.commands.Arguments``);
- every token naming a repo path (``config/``, ``strategies/``, ``bench/``, ``docs/``, ...)
  exists (globs must match something), and every relative Markdown link points to a file.

Placeholders in brackets (``[--shift-days N]``) are checked as options too. A missing target,
module, subcommand, option or file fails with the document and line.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCS = ("README.md", *sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "docs").glob("*.md")))
OPERATORS = {"&&", "||", ";", "|", "&"}
REPO_DIRS = ("config/", "strategies/", "bench/", "plugins/", "adapters/", "docs/", "tests/",
             "freqai_models/")
PYTHONS = re.compile(r"^(\S*/)?python(3(\.\d+)?)?$")
FREQTRADES = re.compile(r"^(\S*/)?freqtrade$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One simple command of a document's bash block."""

    doc: str
    line: int
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {' '.join(self.argv)}"


def bash_blocks(text: str) -> list[tuple[int, str]]:
    """``(line of the block's first command, body)`` of every ```` ```bash ```` block."""
    found = []
    for match in re.finditer(r"(?ms)^```bash\n(.*?)^```", text):
        found.append((text[:match.start()].count("\n") + 2, match.group(1)))
    return found


def split_commands(doc: str, first_line: int, body: str) -> list[Command]:
    """The simple commands of one block (module docstring)."""
    commands = []
    logical, start = "", None
    for offset, raw in enumerate(body.splitlines()):
        if start is None:
            start = first_line + offset
        if raw.rstrip().endswith("\\"):
            logical += raw.rstrip()[:-1] + " "
            continue
        logical += raw
        lexer = shlex.shlex(logical, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words, current = list(lexer), []
        for word in [*words, ";"]:
            if word in OPERATORS:
                while current and ASSIGNMENT.match(current[0]):
                    current.pop(0)
                if current:
                    commands.append(Command(doc, start, tuple(current)))
                current = []
            else:
                current.append(word)
        logical, start = "", None
    return commands


def all_commands() -> list[Command]:
    out = []
    for doc in DOCS:
        text = (REPO_ROOT / doc).read_text(encoding="utf-8")
        for line, body in bash_blocks(text):
            out += split_commands(doc, line, body)
    return out


# --- the things commands are checked against ------------------------------------------------

def make_targets(makefile: Path = REPO_ROOT / "Makefile") -> set[str]:
    """Rule names of the Makefile (``name:`` at line start, not ``NAME :=`` assignments)."""
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.%/-]+(?:\s+[A-Za-z0-9_.%/-]+)*)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            targets.update(match.group(1).split())
    return targets


@functools.cache
def suite_parser(module: str) -> argparse.ArgumentParser:
    """The ``_parser()`` of ``python -m module`` (a package's ``__main__``).

    Raises:
        ModuleNotFoundError: no such module.
    """
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(module)
    name = f"{module}.__main__" if spec.submodule_search_locations is not None else module
    return importlib.import_module(name)._parser()


@functools.cache
def freqtrade_parser() -> argparse.ArgumentParser:
    from freqtrade.commands import Arguments

    arguments = Arguments([])
    arguments._build_subcommands()
    return arguments.parser


@functools.cache
def script_help(script: str) -> str:
    result = subprocess.run([sys.executable, script, "--help"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{script} --help failed: {result.stderr[-2000:]}"
    return result.stdout


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    name = word.split("=", 1)[0]
    return next((a for a in parser._actions if name in a.option_strings), None)


def _clean(word: str) -> str:
    return word.strip("[](),")


def _is_option(word: str) -> bool:
    return word.startswith("-") and word not in ("-", "--") and not re.match(r"^-\d", word)


def check_parsed(argv: list[str], parser: argparse.ArgumentParser, what: str,
                 extra: argparse.ArgumentParser | None = None) -> list[str]:
    """Problems of ``argv`` against ``parser``: an unknown subcommand or option. ``--`` hands
    the rest to :func:`check_command`."""
    problems: list[str] = []
    skip = 0
    chosen = False
    words = [_clean(w) for w in argv]
    for index, word in enumerate(words):
        if word == "--":
            return problems + check_argv(list(argv[index + 1:]))
        if skip:
            skip -= 1
            if not _is_option(word):
                continue
        if not word:
            continue
        if _is_option(word):
            action = _option(parser, word) or (extra and _option(extra, word))
            if action is None:
                problems.append(f"{what}: no option {word.split('=', 1)[0]}")
            elif action.nargs in (None, 1) and "=" not in word:
                skip = 1
            continue
        subs = _subparsers(parser)
        if subs and not chosen:
            if word not in subs:
                problems.append(f"{what}: no subcommand {word!r} (has {sorted(subs)})")
                return problems
            what, parser, chosen = f"{what} {word}", subs[word], True
            if what.endswith("plugins.research lookahead"):
                extra = _subparsers(freqtrade_parser())["lookahead-analysis"]
    return problems


def check_argv(argv: list[str]) -> list[str]:
    """Problems of one command (module docstring); ``[]`` when it exists as written."""
    if not argv:
        return []
    problems = [f"no such path {w}" for w in map(_clean, argv)
                if w.lstrip("@").startswith(REPO_DIRS) and not _exists(w.lstrip("@"))]
    head = argv[0]
    if head == "make":
        targets = make_targets()
        problems += [f"make: no target {w!r}" for w in argv[1:]
                     if not w.startswith("-") and "=" not in w and w not in targets]
    elif PYTHONS.match(head) and len(argv) > 2 and argv[1] == "-m":
        module = argv[2]
        if module.split(".")[0] in ("plugins", "adapters"):
            try:
                parser = suite_parser(module)
            except ModuleNotFoundError:
                return problems + [f"no module {module}"]
            problems += check_parsed(list(argv[3:]), parser, f"python -m {module}")
    elif PYTHONS.match(head) and len(argv) > 1 and argv[1].endswith(".py"):
        script = argv[1]
        if (REPO_ROOT / script).is_file():
            text = script_help(script)
            problems += [f"{script}: no option {w}" for w in map(_clean, argv[2:])
                         if _is_option(w) and not _in_help(w.split("=")[0], text)]
    elif FREQTRADES.match(head):
        problems += check_parsed(list(argv[1:]), freqtrade_parser(), "freqtrade")
    return problems


def _in_help(option: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def _exists(path: str) -> bool:
    path = path.rstrip(".:;")
    if any(c in path for c in "*?"):
        return any(REPO_ROOT.glob(path))
    return (REPO_ROOT / path).exists()


COMMANDS = all_commands()


def test_readme_when_parsed_then_its_quick_start_commands_are_found():
    readme = [c for c in COMMANDS if c.doc == "README.md"]
    assert readme[0].argv == ("make", "demo") and readme[1].argv == ("make", "test")
    heads = {c.argv[0] for c in readme}
    assert {"make", "freqtrade"} <= heads
    assert any(c.argv[1:3] == ("-m", "plugins.llm") for c in readme if len(c.argv) > 2)


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_documented_command_when_checked_then_target_module_subcommand_options_and_files_exist(command):
    assert check_argv(list(command.argv)) == []


@pytest.mark.parametrize("doc", DOCS)
def test_documented_links_when_relative_then_the_file_exists(doc):
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    base = (REPO_ROOT / doc).parent
    missing = [link for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
               if "://" not in link and not link.startswith("mailto:")
               and not (base / link).exists()]
    assert missing == []


def test_make_target_table_when_compared_with_the_makefile_then_every_phony_target_is_listed():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    phony = set(" ".join(re.findall(r"(?ms)^\.PHONY:(.*?)(?<!\\)$", makefile)).replace("\\", " ").split())
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Make targets", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `make ([a-z-]+)`", table, flags=re.M))
    internal = {"dryrun-credentials"}  # a guard of make dryrun, not run by hand
    assert phony - internal - listed == set()


# --- the checker itself catches what it must ------------------------------------------------

def _problems(block: str) -> list[str]:
    return [p for c in split_commands("x.md", 1, block) for p in check_argv(list(c.argv))]


def test_check_when_make_target_is_missing_then_it_is_reported():
    assert _problems("make demo\nmake no-such-target\n") == ["make: no target 'no-such-target'"]


def test_check_when_an_option_or_subcommand_is_missing_then_it_is_reported():
    assert _problems("python -m plugins.risk journal --file x.sqlite --no-such-flag\n") == [
        "python -m plugins.risk journal: no option --no-such-flag"]
    assert "no subcommand 'nosuch'" in _problems("python -m plugins.llm nosuch --pair X\n")[0]
    assert _problems(".venv/bin/freqtrade backtesting --no-such-flag -c config/base.json\n") == [
        "freqtrade backtesting: no option --no-such-flag"]
    assert _problems("freqtrade no-such-command\n")[0].startswith("freqtrade: no subcommand")


def test_check_when_a_file_is_missing_then_it_is_reported():
    assert _problems("freqtrade backtesting -c config/nope.json\n") == ["no such path config/nope.json"]


def test_check_when_commands_are_chained_continued_and_bracketed_then_each_part_is_checked():
    block = ("FOO=1 python -m plugins.research haircut --db sqlite:///x \\\n"
             "    [--shift-days N] [--bogus N]   # comment --ignored\n"
             "python -m adapters.replay_exchange --datadir d --port 1 -- freqtrade trade --nope &\n")
    assert _problems(block) == ["python -m plugins.research haircut: no option --bogus",
                                "freqtrade trade: no option --nope"]
