"""The three servers as real processes: SERVING via health, reflection, metrics, SIGTERM."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from marquee.local_stack import LocalStack

EXPECTED = {
    "recommender": "marquee.v1.RecommenderService",
    "layout": "marquee.v1.LayoutService",
    "render": "marquee.v1.RenderService",
}
GRACE = 4.0


def test_three_servers_serve_reflect_measure_and_stop(tmp_path: Path) -> None:
    stack = LocalStack({name: [] for name in EXPECTED}, tmp_path, grace_period=GRACE)
    stack.start(timeout=240)
    try:
        watchers: dict[str, list[int]] = {}
        threads = []
        channels = {}
        for name, server in stack.processes.items():
            channel = grpc.insecure_channel(server.address)
            channels[name] = channel
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
            assert {EXPECTED[name], "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
            for service in ("", EXPECTED[name]):
                status = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=5
                )
                assert status.status == health_pb2.HealthCheckResponse.SERVING
            metrics = (
                urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5).read().decode()
            )
            assert 'grpc_server_handled_total{grpc_code="OK",grpc_method="Check"' in metrics

            seen: list[int] = []
            watchers[name] = seen
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))

            def follow(stream=stream, seen=seen) -> None:
                try:
                    for reply in stream:
                        seen.append(reply.status)
                except grpc.RpcError:
                    pass

            thread = threading.Thread(target=follow, daemon=True)
            thread.start()
            threads.append(thread)
        time.sleep(0.3)
        for name in EXPECTED:
            stack.terminate(name)
        for server in stack.processes.values():
            assert server.process is not None
            # Bounded by the grace period (plus start-up slack on a loaded machine), not timed:
            # how long a drain takes depends on the machine.
            code = server.process.wait(timeout=GRACE + 5)
            assert code == 0, server.log_text()[-2000:]
        for thread in threads:
            thread.join(timeout=5)
        for name, seen in watchers.items():
            assert seen[:1] == [health_pb2.HealthCheckResponse.SERVING], (name, seen)
            assert health_pb2.HealthCheckResponse.NOT_SERVING in seen, (name, seen)
        for server in stack.processes.values():
            log = server.log_text()
            assert '"event": "shutting down"' in log and '"event": "stopped"' in log
        for channel in channels.values():
            channel.close()
    finally:
        stack.stop()
