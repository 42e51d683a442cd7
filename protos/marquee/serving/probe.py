"""`python -m marquee.serving.probe`: one gRPC health check, as an exit code.

For a container's HEALTHCHECK and for Kubernetes exec probes where the kubelet's native gRPC
probe cannot be used: the native probe speaks no TLS. This one reads the server's own settings
from the environment (`MARQUEE_PORT`, `MARQUEE_TLS_*`), so inside the server's container it needs
no arguments; with mutual TLS it presents the server's own certificate, which the server's client
CA signed in the usual single-CA set-up. Exit 0: SERVING; 1: reachable but not serving; 2: not
reachable or the check failed. One line on stdout or stderr says which.

The server's certificate needs `clientAuth` in its extended key usage to serve as the probe's
client certificate; otherwise point `MARQUEE_PROBE_TLS_CERT_FILE` / `_KEY_FILE` at a client pair.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from marquee.addresses import LOOPBACK, RECOMMENDER

SERVING, NOT_SERVING, UNREACHABLE = 0, 1, 2


def parse_args(argv: list[str] | None = None, env: dict[str, str] | None = None) -> argparse.Namespace:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(
        prog="python -m marquee.serving.probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Every image sets MARQUEE_PORT; without it the probe asks the recommender's default port.
    port = env.get("MARQUEE_PORT", str(RECOMMENDER.port))
    parser.add_argument(
        "--address", default=f"{LOOPBACK}:{port}", help="HOST:PORT of the server (default 127.0.0.1:$MARQUEE_PORT)"
    )
    parser.add_argument("--service", default="", help='service to check; "" (default) is the whole server')
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    tls = env.get("MARQUEE_TLS_CERT_FILE")
    mutual = env.get("MARQUEE_TLS_CLIENT_CA_FILE")
    parser.add_argument(
        "--tls-ca-file",
        type=Path,
        default=env.get("MARQUEE_PROBE_TLS_CA_FILE") or mutual or None,
        help="CA that signed the server (default $MARQUEE_PROBE_TLS_CA_FILE, else the "
        "server's client CA); TLS is on when this, --tls or $MARQUEE_TLS_CERT_FILE is set",
    )
    parser.add_argument("--tls", action="store_true", default=bool(tls), help="use TLS with the system roots")
    parser.add_argument(
        "--tls-cert-file",
        type=Path,
        default=env.get("MARQUEE_PROBE_TLS_CERT_FILE") or (tls if mutual else None),
        help="client certificate for mutual TLS (default $MARQUEE_PROBE_TLS_CERT_FILE, else "
        "the server's own when it requires client certificates: it must allow clientAuth)",
    )
    parser.add_argument(
        "--tls-key-file",
        type=Path,
        default=env.get("MARQUEE_PROBE_TLS_KEY_FILE") or (env.get("MARQUEE_TLS_KEY_FILE") if mutual else None),
    )
    parser.add_argument(
        "--tls-server-name",
        default=env.get("MARQUEE_PROBE_TLS_SERVER_NAME", "localhost"),
        help="name the server certificate must carry (default localhost)",
    )
    return parser.parse_args(argv)


def _channel(args: argparse.Namespace) -> grpc.Channel:
    if not (args.tls or args.tls_ca_file):
        return grpc.insecure_channel(args.address)

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path else None

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(args.tls_ca_file),
        private_key=read(args.tls_key_file),
        certificate_chain=read(args.tls_cert_file),
    )
    options = [("grpc.ssl_target_name_override", args.tls_server_name)] if args.tls_server_name else []
    return grpc.secure_channel(args.address, credentials, options=options)


def check(args: argparse.Namespace) -> tuple[int, str]:
    """(exit code, what to say)."""
    try:
        with _channel(args) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
    except grpc.RpcError as exc:
        return UNREACHABLE, f"{args.address}: {exc.code().name}: {exc.details()}"
    except OSError as exc:
        return UNREACHABLE, f"{args.address}: cannot read a TLS file: {exc}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return (
        SERVING if reply.status == health_pb2.HealthCheckResponse.SERVING else NOT_SERVING,
        f"{args.address} {args.service or '(server)'}: {status}",
    )


def main(argv: list[str] | None = None) -> int:
    code, message = check(parse_args(argv))
    print(message, file=sys.stdout if code == SERVING else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
