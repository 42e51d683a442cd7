"""`make demo`: start the three servers on loopback on their default ports, wait until each is
SERVING, run the caller's console against them, and stop them when it exits.

A developer tool beside the local stack launcher, not in the client: it starts the servers by
module name (`python -m <server>`) with the ports of `marquee.addresses` and imports none of
them; `python -m client_tui demo` is the thin command that hands it the console.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from marquee.addresses import SERVERS
from marquee.local_stack import LocalStack, StackError

#: (gRPC port, metrics port) of each server: the documented defaults, so the client finds them.
DEFAULT_PORTS = {name: (server.port, server.metrics_port) for name, server in SERVERS.items()}


def run_demo(open_console: Callable[[Mapping[str, str]], int], log_dir: Path | None = None) -> int:
    """Runs the stack around `open_console` (given each server's `host:port` by name); returns
    the console's exit code, or 3 when a server does not start."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="marquee-demo-"))
    stack = LocalStack({name: [] for name in DEFAULT_PORTS}, log_dir, ports=DEFAULT_PORTS)
    print(f"starting the servers (logs in {log_dir}) ...", flush=True)
    try:
        stack.start()
    except StackError as exc:
        print(f"demo: {exc}")
        return 3
    try:
        return open_console(stack.addresses())
    finally:
        print("stopping the servers ...", flush=True)
        stack.stop()
