"""A repository with two versions of a (tiny) model: the server serves the highest, as Triton
does; batching can be switched off; the options are documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tritonclient.utils import InferenceServerException

from client_tui.local_stack import LocalStack, free_port
from marquee.v1 import recommender_pb2 as rec
from marquee.v1 import recommender_pb2_grpc as rec_grpc
from tests.recommender.conftest import TINY_IDS


@pytest.fixture(scope="module")
def client(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[triton.InferenceServerClient]:
    stack = LocalStack({"recommender": ["--model-repository", str(tiny_repository), "--no-dynamic-batching",
                                        "--intra-op-threads", "1"]},
                       tmp_path_factory.mktemp("recommender_versions_logs"), grace_period=3.0)
    stack.start(timeout=120)
    try:
        with triton.InferenceServerClient(stack.addresses()["recommender"]) as c:
            yield c
    finally:
        stack.stop()


def test_highest_version_is_served(client: triton.InferenceServerClient, tiny_repository: Path) -> None:
    assert list(client.get_model_metadata("sasrec").versions) == ["2"]
    batch = np.zeros((2, 200), dtype=np.int64)
    batch[0, -2:] = [1, 5]
    batch[1, -1] = 233
    tensor = triton.InferInput("movie_ids", [2, 200], "INT64")
    tensor.set_data_from_numpy(batch)
    result = client.infer("sasrec", [tensor])
    assert result.get_response().model_version == "2"
    version_two = ort.InferenceSession(str(tiny_repository / "sasrec" / "2" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
    version_one = ort.InferenceSession(str(tiny_repository / "sasrec" / "1" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
    scores = result.as_numpy("scores")
    assert scores.shape == (2, len(TINY_IDS))
    assert np.abs(scores - version_two.run(None, {"movie_ids": batch})[0]).max() <= 1e-5
    assert np.abs(scores - version_one.run(None, {"movie_ids": batch})[0]).max() > 1e-3
    with pytest.raises(InferenceServerException) as info:
        client.infer("sasrec", [tensor], model_version="1")
    assert info.value.status() == "StatusCode.NOT_FOUND"


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
    out = subprocess.run([sys.executable, "-m", "recommender_server", "--help"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    for flag in ("--model-repository", "--model-name", "--dynamic-batching", "--batch-window-ms",
                 "--max-batch-size", "--intra-op-threads", "--data-dir", "MARQUEE_MODEL_REPOSITORY"):
        assert flag in out, flag


def test_missing_repository_is_a_configuration_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "recommender_server", "--model-repository",
                           str(tmp_path / "nowhere"), "--port", "0", "--metrics-port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "nowhere: no such directory" in done.stdout + done.stderr


def test_a_model_that_fails_to_load_leaves_the_server_up_and_not_ready(
        tiny_repository: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repository, repo)
    (repo / "sasrec" / "2" / "model.onnx").write_bytes(b"not an onnx file")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "recommender_server", "--model-repository", str(repo), "--port", str(port),
         "--metrics-port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with triton.InferenceServerClient(f"127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.is_server_live() and not client.is_server_ready():
                        break
                except InferenceServerException:
                    pass
                assert time.monotonic() < deadline, "the server never came up"
                time.sleep(0.2)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                # Wait until the failed load is recorded (the reason names the broken file).
                stub = rec_grpc.RecommenderServiceStub(channel)
                while True:
                    try:
                        stub.Recommend(rec.RecommendRequest(watched_movie_ids=[1], k=1))
                        raise AssertionError("Recommend answered without a model")
                    except grpc.RpcError as error:
                        assert error.code() == grpc.StatusCode.UNAVAILABLE
                        if "failed to load" in error.details():
                            assert "model.onnx" in error.details()
                            break
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
                health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
                assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert not client.is_model_ready("sasrec")
    finally:
        process.terminate()
        process.wait(timeout=30)
