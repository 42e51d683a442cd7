"""A repository with two versions of a (tiny) model: the server serves the highest, as Triton
does; batching can be switched off; the options are documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tritonclient.grpc import service_pb2 as kserve
from tritonclient.grpc import service_pb2_grpc as kserve_grpc
from tritonclient.utils import InferenceServerException

from marquee.local_stack import LocalStack, free_port
from marquee.serving import MESSAGE_LIMIT
from marquee.v1 import recommender_pb2 as rec
from marquee.v1 import recommender_pb2_grpc as rec_grpc
from recommender_server.repository import available_versions, parse_version
from tests.recommender_server.helpers import TINY_IDS


@pytest.fixture(scope="module")
def address(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = LocalStack(
        {
            "recommender": [
                "--model-repository",
                str(tiny_repository),
                "--no-dynamic-batching",
                "--intra-op-threads",
                "1",
            ]
        },
        tmp_path_factory.mktemp("recommender_versions_logs"),
        grace_period=3.0,
    )
    stack.start(timeout=120)
    try:
        yield stack.addresses()["recommender"]
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(address: str) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(address) as c:
        yield c


def test_highest_version_is_served(client: triton.InferenceServerClient, tiny_repository: Path) -> None:
    assert list(client.get_model_metadata("sasrec").versions) == ["2"]
    batch = np.zeros((2, 200), dtype=np.int64)
    batch[0, -2:] = [1, 5]
    batch[1, -1] = 233
    tensor = triton.InferInput("movie_ids", [2, 200], "INT64")
    tensor.set_data_from_numpy(batch)
    result = client.infer("sasrec", [tensor])
    assert result.get_response().model_version == "2"
    version_two = ort.InferenceSession(
        str(tiny_repository / "sasrec" / "2" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    version_one = ort.InferenceSession(
        str(tiny_repository / "sasrec" / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    scores = result.as_numpy("scores")
    assert scores.shape == (2, len(TINY_IDS))
    assert np.abs(scores - version_two.run(None, {"movie_ids": batch})[0]).max() <= 1e-5
    assert np.abs(scores - version_one.run(None, {"movie_ids": batch})[0]).max() > 1e-3
    with pytest.raises(InferenceServerException) as info:
        client.infer("sasrec", [tensor], model_version="1")
    assert info.value.status() == "StatusCode.NOT_FOUND"


def test_version_strings_parse_as_ascii_numbers_only() -> None:
    assert parse_version("2") == 2 and parse_version("007") == 7
    for text in ("", "²", "٣", "-1", " 2", "2.0", "1e3", "9" * 19, "9" * 5000):
        assert parse_version(text) is None, text


def test_only_canonically_named_version_folders_are_versions(tmp_path: Path) -> None:
    for name in ("1", "02", "²", "9" * 30, "3"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.onnx").write_bytes(b"")
    assert available_versions(tmp_path) == [1, 3]


HOSTILE_VERSIONS = ("²", "٣", "9" * 5000, "-1", "1" * 19)
HUGE_NAME = "m" * 20_000


@pytest.mark.parametrize("version", (*HOSTILE_VERSIONS, HUGE_NAME))
def test_hostile_versions_are_not_found_on_every_rpc(address: str, version: str) -> None:
    tensor = kserve.ModelInferRequest.InferInputTensor(name="movie_ids", datatype="INT64", shape=[1, 200])
    with grpc.insecure_channel(address) as channel:
        stub = kserve_grpc.GRPCInferenceServiceStub(channel)
        # Triton's answer for a version it does not serve: not ready, status OK.
        assert not stub.ModelReady(kserve.ModelReadyRequest(name="sasrec", version=version)).ready
        calls = {
            "ModelMetadata": lambda: stub.ModelMetadata(kserve.ModelMetadataRequest(name="sasrec", version=version)),
            "ModelConfig": lambda: stub.ModelConfig(kserve.ModelConfigRequest(name="sasrec", version=version)),
            "ModelStatistics": lambda: stub.ModelStatistics(
                kserve.ModelStatisticsRequest(name="sasrec", version=version)
            ),
            "ModelInfer": lambda: stub.ModelInfer(
                kserve.ModelInferRequest(
                    model_name="sasrec", model_version=version, inputs=[tensor], raw_input_contents=[bytes(1600)]
                )
            ),
        }
        for rpc, call in calls.items():
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.NOT_FOUND, (rpc, info.value.details())
            assert "has no version" in info.value.details() and "(served: 2)" in info.value.details()
            assert len(info.value.details()) < 300, rpc


def test_a_huge_model_name_is_not_found_with_a_short_message(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = kserve_grpc.GRPCInferenceServiceStub(channel)
        assert not stub.ModelReady(kserve.ModelReadyRequest(name=HUGE_NAME)).ready
        for call in (
            lambda: stub.ModelMetadata(kserve.ModelMetadataRequest(name=HUGE_NAME)),
            lambda: stub.ModelInfer(kserve.ModelInferRequest(model_name=HUGE_NAME)),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            details = info.value.details()
            assert details.startswith("model 'mmm") and "(models: sasrec)" in details
            assert "(+19,920 characters)" in details and len(details) < MESSAGE_LIMIT


def test_without_dynamic_batching_every_request_runs_alone(client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("movie_ids", [1, 200], "INT64")
    tensor.set_data_from_numpy(np.zeros((1, 200), dtype=np.int64))

    def runs_by_size() -> dict[int, int]:
        stats = client.get_inference_statistics("sasrec").model_stats[0]
        return {b.batch_size: b.compute_infer.count for b in stats.batch_stats}

    before = runs_by_size()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: client.infer("sasrec", [tensor]), range(12)))
    after = runs_by_size()
    grown = {size: after[size] - before.get(size, 0) for size in after if after[size] != before.get(size, 0)}
    assert grown == {1: 12}


def test_help_documents_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "recommender_server", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for flag in (
        "--model-repository",
        "--model-name",
        "--dynamic-batching",
        "--batch-window-ms",
        "--max-batch-size",
        "--intra-op-threads",
        "--data-dir",
        "MARQUEE_MODEL_REPOSITORY",
    ):
        assert flag in out, flag


def test_missing_repository_is_a_configuration_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recommender_server",
            "--model-repository",
            str(tmp_path / "nowhere"),
            "--port",
            "0",
            "--metrics-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "nowhere: no such directory" in done.stdout + done.stderr


def _poll(condition: Callable[[], bool], process: subprocess.Popen) -> None:
    """Calls `condition` until it holds; fails at once if the server process exits (a server that
    hangs is left to pytest's timeout: no test here bets on how fast this machine is)."""
    while not condition():
        assert process.poll() is None, f"the server exited with status {process.returncode}"
        time.sleep(0.2)


def test_a_model_that_fails_to_load_leaves_the_server_up_and_not_ready(tiny_repository: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repository, repo)
    (repo / "sasrec" / "2" / "model.onnx").write_bytes(b"not an onnx file")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recommender_server",
            "--model-repository",
            str(repo),
            "--port",
            str(port),
            "--metrics-port",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with triton.InferenceServerClient(f"127.0.0.1:{port}") as client:

            def up_and_not_ready() -> bool:
                try:
                    return client.is_server_live() and not client.is_server_ready()
                except InferenceServerException:
                    return False

            _poll(up_and_not_ready, process)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                # Wait until the failed load is recorded (the reason names the broken file).
                stub = rec_grpc.RecommenderServiceStub(channel)
                reasons: list[str] = []

                def load_failure_recorded() -> bool:
                    try:
                        stub.Recommend(rec.RecommendRequest(watched_movie_ids=[1], k=1))
                    except grpc.RpcError as error:
                        assert error.code() == grpc.StatusCode.UNAVAILABLE
                        reasons.append(error.details())
                        return "failed to load" in error.details()
                    raise AssertionError("Recommend answered without a model")

                _poll(load_failure_recorded, process)
                assert "model.onnx" in reasons[-1]
                health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
                assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert not client.is_model_ready("sasrec")
    finally:
        process.terminate()
        process.wait(timeout=30)
