"""`hearth serve`: the OpenAI-compatible API (hearth.server) started from the command line."""

from __future__ import annotations

import argparse

from hearth.terminal import TerminalProgress


def cmd_serve(args: argparse.Namespace) -> int:
    from hearth.server.run import serve

    return serve(
        args.host,
        args.port,
        args.token,
        args.max_queue,
        TerminalProgress(),
        extra_hosts=args.allowed_host,
        chroma_url=args.chroma_url,
    )
