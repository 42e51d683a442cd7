"""Server credentials for TLS and mutual TLS, read from PEM files."""

from __future__ import annotations

from pathlib import Path

import grpc


def server_credentials(cert_file: Path, key_file: Path, client_ca_file: Path | None = None) -> grpc.ServerCredentials:
    """TLS credentials; with `client_ca_file`, clients must present a certificate it signed."""
    root = client_ca_file.read_bytes() if client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key_file.read_bytes(), cert_file.read_bytes())], root_certificates=root, require_client_auth=root is not None
    )
