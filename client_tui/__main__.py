"""`python -m client_tui` opens the console; `python -m client_tui run ...` is the headless flow;
`python -m client_tui demo` starts local servers first (`make demo`)."""

from __future__ import annotations

import os

# gRPC's C core logs connection events (GOAWAY, reconnects) to stderr, where the console draws
# and the CLI shows its progress; keep only its errors unless the operator asks for more.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from client_tui.connections import AddressError, Endpoints, add_connection_arguments, endpoints_from_args
from client_tui.exit_codes import ExitCode
from marquee.extras import missing_extra

IMAGE_MODES = ("auto", "halfcell", "unicode", "sixel", "tgp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m client_tui",
        description="Marquee operator client: watched -> recommended -> scenario -> layout -> image.",
    )
    add_connection_arguments(parser)
    _add_console_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="{run,demo}")
    run = sub.add_parser(
        "run",
        help="The whole flow without a screen, writing the summary and session into --out.",
        description="The whole flow without a screen: watched -> recommended -> layout -> image -> summary.",
    )
    from client_tui.run_arguments import add_run_arguments

    add_run_arguments(run)
    add_connection_arguments(run, in_subcommand=True)
    demo = sub.add_parser("demo", help="Start the three servers locally, open the console, stop them after.")
    _add_console_arguments(demo, in_subcommand=True)
    return parser


def _add_console_arguments(parser: argparse.ArgumentParser, *, in_subcommand: bool = False) -> None:
    default = argparse.SUPPRESS if in_subcommand else None
    group = parser.add_argument_group("console")
    group.add_argument(
        "--session",
        type=Path,
        metavar="SESSION.json",
        default=default,
        help="Open a saved session in the console (to re-render or re-export it).",
    )
    group.add_argument(
        "--image-mode",
        choices=IMAGE_MODES,
        default=default,
        help="How previews are drawn: auto (sixel/kitty when the terminal has them, else half-blocks), or one of them.",
    )
    group.add_argument(
        "--out-dir",
        type=Path,
        metavar="DIR",
        default=default,
        help="Where the console exports (default: outputs/<session id>).",
    )


def open_console(endpoints: Endpoints, args: argparse.Namespace | None = None) -> int:
    """Runs the console until the operator quits."""
    from client_tui.console.launch import launch

    return launch(
        endpoints,
        session_path=getattr(args, "session", None),
        image_mode=getattr(args, "image_mode", None) or "auto",
        out_dir=getattr(args, "out_dir", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _dispatch(argv)
    except ModuleNotFoundError as error:
        return missing_extra("python -m client_tui", "tui", error)


def _dispatch(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from client_tui.headless import run

        return int(run(args))
    if args.command == "demo":
        from marquee.demo import run_demo

        return run_demo(lambda addresses: open_console(Endpoints.from_sources(addresses), args))
    try:
        endpoints = endpoints_from_args(args)
    except AddressError as exc:
        print(f"python -m client_tui: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    return open_console(endpoints, args)


if __name__ == "__main__":
    sys.exit(main())
