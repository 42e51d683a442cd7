"""How the client reaches the servers: addresses, replicas, TLS and tokens.

Each server is given as one or more `host:port` addresses (`--recommender`, `--layout`,
`--render`, or `MARQUEE_RECOMMENDER_ADDR`, `MARQUEE_LAYOUT_ADDR`, `MARQUEE_RENDER_ADDR`,
comma-separated). One address becomes a `dns:///` target, so a Kubernetes headless Service's
pods are all used; several become one `ipv4:`/`ipv6:` target. Either way the channel uses gRPC's
`round_robin` policy, which spreads calls across replicas and skips those that are down.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from marquee.addresses import DEFAULT_ADDRESSES

SERVERS = ("recommender", "layout", "render")
ENV_VARS = {name: f"MARQUEE_{name.upper()}_ADDR" for name in SERVERS}
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: The client's own TLS settings. Not the servers' `MARQUEE_TLS_*` names: a shell (or `make demo`)
#: that configures both must not hand a server certificate to the client.
TLS_ENV_VARS = {
    "tls_ca_file": "MARQUEE_CLIENT_TLS_CA_FILE",
    "tls_cert_file": "MARQUEE_CLIENT_TLS_CERT_FILE",
    "tls_key_file": "MARQUEE_CLIENT_TLS_KEY_FILE",
    "tls_server_name": "MARQUEE_CLIENT_TLS_SERVER_NAME",
}
TOKEN_ENV_VAR = "MARQUEE_AUTH_TOKEN"


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
            raise AddressError(f"{address!r} is not host:port (e.g. {DEFAULT_ADDRESSES['recommender']})")
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
    #: Never shown: kept out of repr so that no log or error message can carry it.
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_sources(
        cls,
        flags: Mapping[str, str | None] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        tls: ClientTLS | None = None,
        token: str | None = None,
    ) -> Endpoints:
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
            return grpc.aio.insecure_channel(target, options=options)
        creds = self.tls.credentials()
        if self.token:
            creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(self.token))
        return grpc.aio.secure_channel(target, creds, options=options)

    def call_metadata(self) -> tuple[tuple[str, str], ...]:
        """Per-call metadata: the bearer token on plaintext channels (TLS channels carry it in
        their credentials, where gRPC refuses to send it in the clear)."""
        if self.token and self.tls is None:
            return (("authorization", f"Bearer {self.token}"),)
        return ()


def add_connection_arguments(parser: argparse.ArgumentParser, *, in_subcommand: bool = False) -> None:
    """The flags that say where the servers are and how to reach them. A subcommand's copy has no
    defaults, so flags given before the subcommand are not overwritten by it."""
    default = argparse.SUPPRESS if in_subcommand else None
    group = parser.add_argument_group("servers and transport")
    for name in SERVERS:
        group.add_argument(
            f"--{name}",
            metavar="HOST:PORT[,HOST:PORT...]",
            default=default,
            help=f"{name} server replicas (default: ${ENV_VARS[name]} or {DEFAULT_ADDRESSES[name]}); "
            "several are used round-robin.",
        )
    group.add_argument(
        "--tls-ca-file",
        type=Path,
        metavar="PEM",
        default=default,
        help=f"CA bundle that signed the servers' certificates: talk TLS (${TLS_ENV_VARS['tls_ca_file']}).",
    )
    group.add_argument(
        "--tls-cert-file",
        type=Path,
        metavar="PEM",
        default=default,
        help=f"Client certificate for mutual TLS (${TLS_ENV_VARS['tls_cert_file']}).",
    )
    group.add_argument(
        "--tls-key-file",
        type=Path,
        metavar="PEM",
        default=default,
        help=f"Private key of --tls-cert-file (${TLS_ENV_VARS['tls_key_file']}).",
    )
    group.add_argument(
        "--tls-server-name",
        metavar="NAME",
        default=default,
        help=f"Name to expect in the server certificates instead of the host (${TLS_ENV_VARS['tls_server_name']}).",
    )
    group.add_argument(
        "--auth-token",
        metavar="TOKEN",
        default=default,
        help=f"Bearer token the servers require (${TOKEN_ENV_VAR}; prefer the variable: flags show in ps).",
    )


def endpoints_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Endpoints:
    """Endpoints from parsed `add_connection_arguments` flags, then the environment."""
    env = os.environ if env is None else env

    def pick(key: str) -> str | None:
        value = getattr(args, key, None)
        if value in (None, ""):
            value = env.get(TLS_ENV_VARS[key]) or None
        return None if value is None else str(value)

    ca, cert, key, server_name = (pick(k) for k in TLS_ENV_VARS)
    if (cert is None) != (key is None):
        raise AddressError("--tls-cert-file and --tls-key-file must be given together (mutual TLS)")
    if cert is not None and ca is None:
        raise AddressError("mutual TLS needs --tls-ca-file too (the CA that signed the servers' certificates)")
    if server_name is not None and ca is None:
        raise AddressError("--tls-server-name needs --tls-ca-file (it only matters with TLS)")
    tls = None
    if ca is not None:
        for flag, value in (("--tls-ca-file", ca), ("--tls-cert-file", cert), ("--tls-key-file", key)):
            if value is not None and not Path(value).is_file():
                raise AddressError(f"{flag}: no such file: {value}")
        tls = ClientTLS(Path(ca), Path(cert) if cert else None, Path(key) if key else None, server_name)
    token = getattr(args, "auth_token", None) or env.get(TOKEN_ENV_VAR) or None
    flags = {name: getattr(args, name, None) for name in SERVERS}
    return Endpoints.from_sources(flags, env, tls=tls, token=token)
