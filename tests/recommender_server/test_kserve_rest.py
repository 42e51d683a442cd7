"""KServe v2 REST beside gRPC: `tritonclient.http`, unchanged, against the real server process;
the same answers and the same validation messages as the gRPC protocol."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from marquee.local_stack import LocalStack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def servers(committed_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    http_port = _free_port()
    stack = LocalStack(
        {"recommender": ["--model-repository", str(committed_repository), "--http-port", str(http_port)]},
        tmp_path_factory.mktemp("rest_logs"),
        grace_period=3.0,
    )
    stack.start(timeout=120)
    try:
        yield stack.addresses()["recommender"], f"127.0.0.1:{http_port}"
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def rest(servers: tuple[str, str]) -> Iterator[triton_http.InferenceServerClient]:
    client = triton_http.InferenceServerClient(servers[1])
    yield client
    client.close()


@pytest.fixture(scope="module")
def grpc_client(servers: tuple[str, str]) -> Iterator[triton_grpc.InferenceServerClient]:
    with triton_grpc.InferenceServerClient(servers[0]) as client:
        yield client


def _windows(rows: int) -> np.ndarray:
    batch = np.zeros((rows, 200), dtype=np.int64)
    for row in range(rows):
        batch[row, -3:] = [1, 2 + row, 3]  # Toy Story, Jumanji/..., Grumpier Old Men
    return batch


def test_health_and_metadata(
    rest: triton_http.InferenceServerClient, grpc_client: triton_grpc.InferenceServerClient
) -> None:
    assert rest.is_server_live() and rest.is_server_ready()
    assert rest.is_model_ready("sasrec") and rest.is_model_ready("sasrec", "1")
    assert not rest.is_model_ready("no-such-model")
    metadata = rest.get_server_metadata()
    assert metadata["extensions"] == list(grpc_client.get_server_metadata().extensions)
    model = rest.get_model_metadata("sasrec")
    grpc_model = grpc_client.get_model_metadata("sasrec", as_json=True)
    assert model["inputs"] == grpc_model["inputs"] and model["outputs"] == grpc_model["outputs"]
    assert (
        rest.get_model_config("sasrec")["max_batch_size"]
        == grpc_client.get_model_config("sasrec", as_json=True)["config"]["max_batch_size"]
    )


@pytest.mark.parametrize("binary", [True, False])
def test_infer_matches_grpc(
    rest: triton_http.InferenceServerClient, grpc_client: triton_grpc.InferenceServerClient, binary: bool
) -> None:
    batch = _windows(3)
    http_input = triton_http.InferInput("movie_ids", list(batch.shape), "INT64")
    http_input.set_data_from_numpy(batch, binary_data=binary)
    outputs = [
        triton_http.InferRequestedOutput("scores", binary_data=binary),
        triton_http.InferRequestedOutput("scores", binary_data=binary, class_count=10),
    ]
    grpc_input = triton_grpc.InferInput("movie_ids", list(batch.shape), "INT64")
    grpc_input.set_data_from_numpy(batch)
    expected = grpc_client.infer("sasrec", [grpc_input]).as_numpy("scores")
    scores = rest.infer("sasrec", [http_input], outputs=outputs[:1]).as_numpy("scores")
    assert scores.shape == expected.shape == (3, 3706)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-5)
    top = rest.infer("sasrec", [http_input], outputs=outputs[1:]).as_numpy("scores")
    assert top.shape == (3, 10)
    # Binary BYTES come back as bytes, JSON ones as str (as from Triton): "score:index:label".
    best = [int((e.decode() if isinstance(e, bytes) else e).split(":")[1]) for e in top[0]]
    assert best == list(np.argsort(-expected[0], kind="stable")[:10])


def test_bad_input_gets_the_grpc_message(
    rest: triton_http.InferenceServerClient, grpc_client: triton_grpc.InferenceServerClient
) -> None:
    wrong = np.zeros((1, 7), dtype=np.int64)
    http_input = triton_http.InferInput("movie_ids", [1, 7], "INT64")
    http_input.set_data_from_numpy(wrong)
    grpc_input = triton_grpc.InferInput("movie_ids", [1, 7], "INT64")
    grpc_input.set_data_from_numpy(wrong)
    with pytest.raises(InferenceServerException) as over_grpc:
        grpc_client.infer("sasrec", [grpc_input])
    with pytest.raises(InferenceServerException) as over_rest:
        rest.infer("sasrec", [http_input])
    assert over_rest.value.message() == over_grpc.value.message()
    assert "shape" in over_rest.value.message()


def test_malformed_bodies_are_400_with_a_reason(servers: tuple[str, str]) -> None:
    url = f"http://{servers[1]}/v2/models/sasrec/infer"
    for body, headers, reason in [
        (b"not json", {}, "not JSON"),
        (b'{"inputs": 3}', {}, "inputs"),
        (b'{"inputs": []}', {"Inference-Header-Content-Length": "999"}, "outside"),
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "movie_ids",
                            "datatype": "INT64",
                            "shape": [1, 200],
                            "parameters": {"binary_data_size": 1600},
                        }
                    ]
                }
            ).encode(),
            {},
            "past the body",
        ),
    ]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 400
        assert reason in json.loads(error.value.read())["error"]
