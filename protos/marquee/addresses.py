"""Where each server listens by default, and so where the client looks for it: the one copy of
the default ports.

Each server's `config.py` takes its defaults from here, the client's `connections.py` its default
addresses, the local stack (`marquee.local_stack`, `make demo`) the ports it starts the servers
on; the deploy files (the images' EXPOSE and MARQUEE_PORT, deploy/k8s) are checked against this
module by tests/marquee/test_addresses.py.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The servers listen here by default and the client looks here by default: one machine.
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServerPorts:
    """The default ports of one server, and the module that runs it (`python -m <module>`)."""

    #: The short name the client, the stack and the deploy files use ("recommender", ...).
    name: str
    module: str
    #: gRPC: the contracts, health and reflection.
    port: int
    #: Prometheus /metrics.
    metrics_port: int
    #: A plain HTTP API beside gRPC (the recommender's KServe v2 REST); None: off unless asked
    #: for with --http-port.
    http_port: int | None = None

    @property
    def default_address(self) -> str:
        """`host:port` where the client finds this server when told nothing else."""
        return f"{LOOPBACK}:{self.port}"


RECOMMENDER = ServerPorts("recommender", "recommender_server", port=50051, metrics_port=9101)
LAYOUT = ServerPorts("layout", "layout_server", port=50052, metrics_port=9102)
RENDER = ServerPorts("render", "render_server", port=50053, metrics_port=9103)

#: Every server by its short name, in the order the flow calls them.
SERVERS: dict[str, ServerPorts] = {server.name: server for server in (RECOMMENDER, LAYOUT, RENDER)}
#: The client's default address of each server.
DEFAULT_ADDRESSES: dict[str, str] = {name: s.default_address for name, s in SERVERS.items()}
