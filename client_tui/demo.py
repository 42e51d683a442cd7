"""`make demo`: start the three servers on loopback on their embedded defaults, wait until each
is SERVING, open the console against them, and stop them when it exits."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from client_tui.connections import Endpoints
from client_tui.local_stack import LocalStack, StackError
from layout_server.config import DEFAULT_METRICS_PORT as LAYOUT_METRICS
from layout_server.config import DEFAULT_PORT as LAYOUT_PORT
from recommender_server.config import DEFAULT_METRICS_PORT as RECOMMENDER_METRICS
from recommender_server.config import DEFAULT_PORT as RECOMMENDER_PORT
from render_server.config import DEFAULT_METRICS_PORT as RENDER_METRICS
from render_server.config import DEFAULT_PORT as RENDER_PORT

DEFAULT_PORTS = {
    "recommender": (RECOMMENDER_PORT, RECOMMENDER_METRICS),
    "layout": (LAYOUT_PORT, LAYOUT_METRICS),
    "render": (RENDER_PORT, RENDER_METRICS),
}


def run_demo(open_console: Callable[[Endpoints], int], log_dir: Path | None = None) -> int:
    """Runs the stack around `open_console`; returns the console's exit code."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="marquee-demo-"))
    stack = LocalStack({name: [] for name in DEFAULT_PORTS}, log_dir, ports=DEFAULT_PORTS)
    print(f"starting the servers (logs in {log_dir}) ...", flush=True)
    try:
        stack.start()
    except StackError as exc:
        print(f"demo: {exc}")
        return 3
    try:
        addresses = {name: address for name, address in stack.addresses().items()}
        return open_console(Endpoints.from_sources(addresses))
    finally:
        print("stopping the servers ...", flush=True)
        stack.stop()
