"""Serve the fake Messages API with the default script until interrupted (manual cassette
recording):

    python -m plugins.llm.testing --port 8765 [--latency-s 0.2]
"""

from __future__ import annotations

import argparse
import time

from plugins.core.cli import ArgumentParser
from plugins.llm.testing.fake_server import FakeMessagesServer
from plugins.llm.testing.script import default_model


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m plugins.llm.testing",
                            description="Serve the fake Messages API (for recording cassettes).")
    parser.add_argument("--port", type=int, default=8765, help="TCP port on 127.0.0.1")
    parser.add_argument("--latency-s", type=float, default=0.0,
                        help="delay added to every answer (seconds)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve ``default_model()`` on 127.0.0.1 until Ctrl-C; returns the exit status."""
    args = _parser().parse_args(argv)
    server = FakeMessagesServer(default_model(), port=args.port, latency_s=args.latency_s).start()
    print(f"Fake Messages API on {server.base_url} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
