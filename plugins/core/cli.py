"""The argument parser every ``python -m plugins.*`` / ``adapters.*`` command builds on.

:class:`ArgumentParser` is ``argparse.ArgumentParser`` with :class:`HelpFormatter` as its
formatter, for itself and (``add_subparsers`` builds subcommands with the parent's class)
every subcommand: ``--help`` shows each option's default after its help text, so a help text
only has to say what the value is and its unit (UTC, days, bps, fraction, seconds).
``tests/test_cli_help.py`` walks every such parser and fails on an argument without help.
"""

from __future__ import annotations

import argparse
from typing import Any

#: Defaults not worth printing: "(default: None)" / "(default: False)" say nothing.
_SILENT_DEFAULTS: tuple[Any, ...] = (None, False, argparse.SUPPRESS)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``ArgumentDefaultsHelpFormatter`` that appends ``(default: X)`` only when the help text
    does not already name its default and ``X`` is a real value (not None, False or ``[]``);
    positional arguments get it only when optional (``nargs='?'`` / ``'*'``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or any(default is d for d in _SILENT_DEFAULTS)
                or default == [] or default == argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            if isinstance(default, list | tuple):
                return f"{text} (default: {' '.join(map(str, default))})"
            return f"{text} (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose help (its own and its subcommands') shows defaults
    (:class:`HelpFormatter`). Same signature; ``formatter_class`` may still be overridden."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
