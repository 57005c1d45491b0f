"""``python -m plugins.research.replay_url OVERLAY -- CMD ...``: aim ccxt at the replay exchange
that started this process, then become CMD.

A sweep trial runs ``python -m adapters.replay_exchange --port 0 -- python -m
plugins.research.replay_url OVERLAY -- python -m freqtrade backtesting ... -c OVERLAY``: the
replay exchange picks a free port and passes its URL in ``REPLAY_EXCHANGE_URL``; this writes
``config/offline.json`` with every ccxt API URL replaced by it to ``OVERLAY`` and ``exec``s CMD
(same process id, so signals and timeouts reach Freqtrade). No port is chosen before it is
bound, so parallel trials never race for one. The research package does not import the
adapter (layers): the process boundary is the interface.

On Linux the process (and so CMD) is also told to die with its parent (``PR_SET_PDEATHSIG``):
a trial's Freqtrade never outlives its replay exchange or a lost Ray worker.

Exit status: 2 when ``REPLAY_EXCHANGE_URL`` is unset or the arguments are wrong; CMD's own
otherwise.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
from pathlib import Path

OFFLINE_TEMPLATE = Path(__file__).resolve().parents[2] / "config" / "offline.json"


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere). Survives
    ``exec``; used as a ``preexec_fn`` too."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)          # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


def overlay_for(api_url: str, template: Path = OFFLINE_TEMPLATE) -> dict:
    """``config/offline.json`` with every ccxt API URL (sync and async) set to ``api_url``."""
    overlay = copy.deepcopy(json.loads(template.read_text()))
    for key in ("ccxt_config", "ccxt_async_config"):
        overlay["exchange"][key]["urls"]["api"] = dict.fromkeys(("public", "private", "sapi"),
                                                                api_url)
    return overlay


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m plugins.research.replay_url OVERLAY -- CMD ...", file=sys.stderr)
        return 2
    url = os.environ.get("REPLAY_EXCHANGE_URL")
    if not url:
        print("plugins.research.replay_url: REPLAY_EXCHANGE_URL is not set; run it under "
              "python -m adapters.replay_exchange --port 0 -- ...", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(json.dumps(overlay_for(url)))
    die_with_parent()
    os.execvp(argv[2], argv[2:])
    return 127  # pragma: no cover (execvp does not return)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
