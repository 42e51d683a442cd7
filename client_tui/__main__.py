"""`python -m client_tui` opens the console; `python -m client_tui run ...` is the headless flow;
`python -m client_tui demo` starts local servers first (`make demo`)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from client_tui.connections import ENV_VARS, SERVERS, AddressError, Endpoints


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m client_tui",
        description="Marquee operator client: watched -> recommended -> scenario -> layout -> image.",
    )
    for name in SERVERS:
        parser.add_argument(
            f"--{name}",
            metavar="HOST:PORT[,HOST:PORT...]",
            help=f"{name} server replicas (default: ${ENV_VARS[name]} or loopback).",
        )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="Start the three servers locally, open the console, stop them after.")
    return parser


def open_console(endpoints: Endpoints) -> int:
    print("the console arrives with the client issue (#6)", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from client_tui.demo import run_demo

        return run_demo(open_console)
    try:
        endpoints = Endpoints.from_sources({name: getattr(args, name) for name in SERVERS})
    except AddressError as exc:
        print(f"python -m client_tui: {exc}", file=sys.stderr)
        return 2
    return open_console(endpoints)


if __name__ == "__main__":
    sys.exit(main())
