"""How the client reaches the servers: addresses, replicas, TLS and tokens.

Each server is given as one or more `host:port` addresses (`--recommender`, `--layout`,
`--render`, or `MARQUEE_RECOMMENDER_ADDR`, `MARQUEE_LAYOUT_ADDR`, `MARQUEE_RENDER_ADDR`,
comma-separated). One address becomes a `dns:///` target, so a Kubernetes headless Service's
pods are all used; several become one `ipv4:`/`ipv6:` target. Either way the channel uses gRPC's
`round_robin` policy, which spreads calls across replicas and skips those that are down.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import grpc

SERVERS = ("recommender", "layout", "render")
ENV_VARS = {name: f"MARQUEE_{name.upper()}_ADDR" for name in SERVERS}
DEFAULT_ADDRESSES = {
    "recommender": "127.0.0.1:50051",
    "layout": "127.0.0.1:50052",
    "render": "127.0.0.1:50053",
}
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class AddressError(ValueError):
    """An address list that cannot be used."""


def parse_addresses(text: str) -> list[str]:
    """Splits 'a:1, b:2' into ['a:1', 'b:2'] and checks each is host:port."""
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    if not addresses:
        raise AddressError("no address given; use host:port, or several separated by commas")
    for address in addresses:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise AddressError(f"{address!r} is not host:port (e.g. 127.0.0.1:50051)")
    return addresses


def _split_host(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def channel_target(addresses: list[str]) -> str:
    """The gRPC target for a list of replicas (see the module docstring)."""
    if len(addresses) == 1:
        return f"dns:///{addresses[0]}"
    resolved: list[tuple[str, int]] = []
    for address in addresses:
        host, port = _split_host(address)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise AddressError(f"cannot resolve {host!r}: {exc}") from exc
            ip = ipaddress.ip_address(infos[0][4][0])
        resolved.append((str(ip), port))
    families = {ipaddress.ip_address(ip).version for ip, _ in resolved}
    if families == {4}:
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in resolved)
    if families == {6}:
        return "ipv6:" + ",".join(f"[{ip}]:{port}" for ip, port in resolved)
    raise AddressError("mix of IPv4 and IPv6 replicas; give addresses of one family")


@dataclass(frozen=True)
class ClientTLS:
    """TLS for every channel; with cert and key, the client also proves itself (mutual TLS)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Overrides the name checked in server certificates (tests use certificates for localhost).
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes(),
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )


@dataclass(frozen=True)
class Endpoints:
    """Where each server is, and how to talk to it."""

    addresses: Mapping[str, list[str]] = field(default_factory=dict)
    tls: ClientTLS | None = None
    token: str | None = None

    @classmethod
    def from_sources(
        cls,
        flags: Mapping[str, str | None] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        tls: ClientTLS | None = None,
        token: str | None = None,
    ) -> "Endpoints":
        """Flags first, then `MARQUEE_*_ADDR`, then the loopback defaults."""
        flags = flags or {}
        env = os.environ if env is None else env
        addresses: dict[str, list[str]] = {}
        for name in SERVERS:
            text = flags.get(name) or env.get(ENV_VARS[name]) or DEFAULT_ADDRESSES[name]
            try:
                addresses[name] = parse_addresses(text)
            except AddressError as exc:
                raise AddressError(f"--{name} / {ENV_VARS[name]}: {exc}") from exc
        if token is None:
            token = env.get("MARQUEE_AUTH_TOKEN") or None
        return cls(addresses, tls, token)

    def channel(self, server: str) -> grpc.aio.Channel:
        """An asyncio channel to `server`'s replicas."""
        return self._open(server, grpc.aio.secure_channel, grpc.aio.insecure_channel)

    def sync_channel(self, server: str) -> grpc.Channel:
        """A blocking channel to `server`'s replicas (scripts and tests)."""
        return self._open(server, grpc.secure_channel, grpc.insecure_channel)

    def _open(self, server: str, secure, insecure):  # type: ignore[no-untyped-def]
        target = channel_target(list(self.addresses[server]))
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})),
            ("grpc.enable_retries", 1),
        ]
        if self.tls is not None and self.tls.server_name:
            options.append(("grpc.ssl_target_name_override", self.tls.server_name))
        if self.tls is None:
            return insecure(target, options=options)
        creds = self.tls.credentials()
        if self.token:
            creds = grpc.composite_channel_credentials(
                creds, grpc.access_token_call_credentials(self.token)
            )
        return secure(target, creds, options=options)

    def call_metadata(self) -> tuple[tuple[str, str], ...]:
        """Per-call metadata: the bearer token on plaintext channels (TLS channels carry it in
        their credentials, where gRPC refuses to send it in the clear)."""
        if self.token and self.tls is None:
            return (("authorization", f"Bearer {self.token}"),)
        return ()
