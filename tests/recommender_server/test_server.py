"""The recommender server as a real process, serving the committed model: the KServe v2 / Triton
protocol through tritonclient, the domain RecommenderService, and every kind of bad input."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as triton
from google.protobuf import text_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.grpc import service_pb2 as kserve
from tritonclient.grpc import service_pb2_grpc as kserve_grpc
from tritonclient.utils import InferenceServerException

from marquee.local_stack import LocalStack
from marquee.titles import MAX_RESOLVE_QUERIES, MAX_RESOLVE_QUERY_CHARS, MAX_SEARCH_QUERY_CHARS
from marquee.v1 import recommender_pb2 as rec
from marquee.v1 import recommender_pb2_grpc as rec_grpc

UNRATED_MOVIE = 51  # in movies.dat, but nobody rated it in MovieLens-1M


@pytest.fixture(scope="module")
def stack(committed_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(
        {"recommender": ["--model-repository", str(committed_repository), "--batch-window-ms", "2"]},
        tmp_path_factory.mktemp("recommender_logs"),
        grace_period=3.0,
    )
    stack.start(timeout=120)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def server(stack: LocalStack) -> str:
    return stack.addresses()["recommender"]


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(server) as c:
        yield c


@pytest.fixture(scope="module")
def stub(server: str) -> Iterator[rec_grpc.RecommenderServiceStub]:
    with grpc.insecure_channel(server) as channel:
        yield rec_grpc.RecommenderServiceStub(channel)


@pytest.fixture(scope="module")
def local_session(committed_repository: Path) -> ort.InferenceSession:
    return ort.InferenceSession(
        str(committed_repository / "sasrec" / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="module")
def labels(committed_repository: Path) -> np.ndarray:
    return np.array((committed_repository / "sasrec" / "movie_ids.txt").read_text().split(), dtype=np.int64)


def _window(history: list[int]) -> np.ndarray:
    window = np.zeros(200, dtype=np.int64)
    tail = history[-200:]
    window[200 - len(tail) :] = tail
    return window


def _infer_input(batch: np.ndarray, name: str = "movie_ids", datatype: str = "INT64") -> triton.InferInput:
    tensor = triton.InferInput(name, list(batch.shape), datatype)
    tensor.set_data_from_numpy(batch)
    return tensor


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


# -- health and the KServe v2 protocol ---------------------------------------------------------


def test_health_is_serving_for_both_services(server: str) -> None:
    with grpc.insecure_channel(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "marquee.v1.RecommenderService", "inference.GRPCInferenceService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


def test_server_and_model_metadata(client: triton.InferenceServerClient, committed_repository: Path) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("sasrec") and client.is_model_ready("sasrec", "1")
    # As Triton: an unknown model or version is not ready, with status OK (not NOT_FOUND).
    assert not client.is_model_ready("nope") and not client.is_model_ready("sasrec", "7")
    meta = client.get_server_metadata()
    assert meta.name == "marquee-recommender"
    # Only the extensions that work: model repository load/unload is not implemented.
    assert set(meta.extensions) == {"classification", "statistics", "model_configuration"}
    model = client.get_model_metadata("sasrec")
    assert (model.name, list(model.versions), model.platform) == ("sasrec", ["1"], "onnxruntime_onnx")
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [("movie_ids", "INT64", [-1, 200])]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.outputs] == [("scores", "FP32", [-1, 3706])]
    served = client.get_model_config("sasrec").config
    committed = text_format.Parse((committed_repository / "sasrec" / "config.pbtxt").read_text(), mc.ModelConfig())
    assert served.input == committed.input and served.output == committed.output
    assert served.max_batch_size == committed.max_batch_size


def test_model_infer_matches_onnxruntime(
    client: triton.InferenceServerClient, local_session: ort.InferenceSession
) -> None:
    batch = np.stack([_window([1, 2, 3]), _window([260, 1196, 1210]), _window(list(range(1, 300)))])
    result = client.infer("sasrec", [_infer_input(batch)], request_id="req-7")
    scores = result.as_numpy("scores")
    assert scores.shape == (3, 3706) and scores.dtype == np.float32
    expected = local_session.run(["scores"], {"movie_ids": batch})[0]
    assert np.abs(scores - expected).max() <= 1e-5
    response = result.get_response()
    assert (response.model_name, response.model_version, response.id) == ("sasrec", "1", "req-7")


def test_classification_extension(
    client: triton.InferenceServerClient, local_session: ort.InferenceSession, labels: np.ndarray
) -> None:
    batch = np.stack([_window([1, 2, 3]), _window([2571, 260])])
    outputs = [triton.InferRequestedOutput("scores", class_count=5)]
    top = client.infer("sasrec", [_infer_input(batch)], outputs=outputs).as_numpy("scores")
    assert top.shape == (2, 5)
    expected = local_session.run(["scores"], {"movie_ids": batch})[0]
    for row in range(2):
        parsed = [entry.decode().split(":") for entry in top[row]]
        indices = [int(index) for _score, index, _label in parsed]
        assert indices == list(np.argsort(-expected[row], kind="stable")[:5])
        for score, index, label in parsed:
            assert int(label) == labels[int(index)]
            assert abs(float(score) - expected[row, int(index)]) < 1e-5


def test_model_statistics_count_inferences(client: triton.InferenceServerClient) -> None:
    before = client.get_inference_statistics("sasrec").model_stats[0]
    client.infer("sasrec", [_infer_input(np.stack([_window([1]), _window([2])]))])
    after = client.get_inference_statistics("sasrec").model_stats[0]
    assert (after.name, after.version) == ("sasrec", "1")
    assert after.inference_count == before.inference_count + 2
    assert after.inference_stats.success.count == before.inference_stats.success.count + 1
    assert after.inference_stats.compute_infer.ns > before.inference_stats.compute_infer.ns
    assert after.last_inference >= before.last_inference


def _triton_metrics(stack: LocalStack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    port = stack.processes["recommender"].metrics_port
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    # Triton's names exactly: its counters carry no `_total`.
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("nv_inference"):
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert "\nnv_inference_request_success{" in text and "nv_inference_request_success_total" not in text
    return values


def test_triton_per_model_metrics_count_known_traffic(stack: LocalStack, client: triton.InferenceServerClient) -> None:
    """Triton's families, names and labels on /metrics, so Triton's dashboards work unchanged."""
    model = (("model", "sasrec"), ("version", "1"))
    before = _triton_metrics(stack)
    client.infer("sasrec", [_infer_input(np.stack([_window([1]), _window([2]), _window([3])]))])
    with pytest.raises(InferenceServerException):  # refused before running: REJECTED
        client.infer("sasrec", [_infer_input(np.zeros((1, 7), dtype=np.int64))])
    after = _triton_metrics(stack)

    def delta(name: str, labels: tuple[tuple[str, str], ...] = model) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    assert delta("nv_inference_request_success") == 1
    assert delta("nv_inference_request_failure", tuple(sorted((*model, ("reason", "REJECTED"))))) == 1
    assert delta("nv_inference_count") == 3 and delta("nv_inference_exec_count") >= 1
    for family in ("request", "queue", "compute_input", "compute_infer", "compute_output"):
        assert (f"nv_inference_{family}_duration_us", model) in after
    assert delta("nv_inference_request_duration_us") > 0
    assert delta("nv_inference_compute_infer_duration_us") > 0
    assert delta("nv_inference_batch_size_count") >= 1 and delta("nv_inference_batch_size_sum") >= 3
    assert after[("nv_inference_pending_request_count", model)] == 0  # a gauge: nothing waits now


def test_concurrent_requests_are_batched_and_each_gets_its_answer(
    stub: rec_grpc.RecommenderServiceStub, client: triton.InferenceServerClient
) -> None:
    histories = [[1 + i, 260, 1196 + (i % 3)] for i in range(24)]
    alone = [stub.Recommend(rec.RecommendRequest(watched_movie_ids=h, k=5)) for h in histories[:4]]
    before = client.get_inference_statistics("sasrec").model_stats[0]
    with ThreadPoolExecutor(max_workers=24) as pool:
        together = list(pool.map(lambda h: stub.Recommend(rec.RecommendRequest(watched_movie_ids=h, k=5)), histories))
    after = client.get_inference_statistics("sasrec").model_stats[0]
    runs = after.execution_count - before.execution_count
    assert after.inference_count - before.inference_count == 24
    assert runs < 24, "no two concurrent requests shared an onnxruntime run"
    for a, b in zip(alone, together, strict=False):
        assert [m.movie.movie_id for m in a.recommendations] == [m.movie.movie_id for m in b.recommendations]
        assert np.allclose([m.score for m in a.recommendations], [m.score for m in b.recommendations], atol=1e-5)


# -- ModelInfer bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "datatype", "shape", "message"),
    [
        ("history", "INT64", [1, 200], "has no input 'history'; it expects 'movie_ids' (INT64, shape [batch, 200])"),
        ("movie_ids", "INT32", [1, 200], "must be INT64, got INT32"),
        ("movie_ids", "INT64", [1, 50], "has shape [1, 50]; expected 'movie_ids' (INT64, shape [batch, 200])"),
        ("movie_ids", "INT64", [200], "has shape [200]"),
        ("movie_ids", "INT64", [1000, 200], "1 <= batch <= "),
    ],
)
def test_model_infer_rejects_wrong_tensors(
    client: triton.InferenceServerClient, name: str, datatype: str, shape: list[int], message: str
) -> None:
    data = np.zeros(shape, dtype=np.int32 if datatype == "INT32" else np.int64)
    with pytest.raises(InferenceServerException) as info:
        client.infer("sasrec", [_infer_input(data, name, datatype)])
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert message in info.value.message()


def test_model_infer_rejects_truncated_raw_content(server: str) -> None:
    request = kserve.ModelInferRequest(model_name="sasrec")
    request.inputs.add(name="movie_ids", datatype="INT64", shape=[1, 200])
    request.raw_input_contents.append(b"\0" * 100)
    with grpc.insecure_channel(server) as channel:
        code, details = _code(lambda: kserve_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "100 bytes" in details and "expected 1600 bytes" in details


def test_model_infer_accepts_typed_contents(server: str, local_session: ort.InferenceSession) -> None:
    window = _window([1, 2, 3])
    request = kserve.ModelInferRequest(model_name="sasrec", model_version="1")
    tensor = request.inputs.add(name="movie_ids", datatype="INT64", shape=[1, 200])
    tensor.contents.int64_contents.extend(window.tolist())
    with grpc.insecure_channel(server) as channel:
        reply = kserve_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request)
    (output,) = reply.outputs
    assert (output.name, output.datatype, list(output.shape)) == ("scores", "FP32", [1, 3706])
    scores = np.frombuffer(reply.raw_output_contents[0], dtype="<f4")
    expected = local_session.run(["scores"], {"movie_ids": window[None]})[0][0]
    assert np.abs(scores - expected).max() <= 1e-5


def test_model_infer_rejects_unknown_outputs_and_classes(client: triton.InferenceServerClient) -> None:
    batch = _window([1])[None]
    for outputs, message in (
        ([triton.InferRequestedOutput("logits")], "has no output 'logits'"),
        ([triton.InferRequestedOutput("scores", class_count=5000)], "between 1 and 3706"),
    ):
        with pytest.raises(InferenceServerException) as info:
            client.infer("sasrec", [_infer_input(batch)], outputs=outputs)
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
        assert message in info.value.message()


def test_unknown_model_or_version_is_not_found(client: triton.InferenceServerClient) -> None:
    batch = _window([1])[None]
    for call, message in (
        (lambda: client.infer("nope", [_infer_input(batch)]), "model 'nope' is not in the repository"),
        (lambda: client.infer("sasrec", [_infer_input(batch)], model_version="7"), "has no version '7'"),
        (lambda: client.get_model_metadata("nope"), "model 'nope'"),
        (lambda: client.get_model_config("sasrec", "3"), "has no version '3'"),
    ):
        with pytest.raises(InferenceServerException) as info:
            call()
        assert info.value.status() == "StatusCode.NOT_FOUND"
        assert message in info.value.message()


# -- the domain RecommenderService ---------------------------------------------------------------


def test_search_movies(stub: rec_grpc.RecommenderServiceStub) -> None:
    hits = stub.SearchMovies(rec.SearchMoviesRequest(query="the matrx", limit=3)).hits
    assert hits[0].movie.movie_id == 2571 and hits[0].movie.title == "The Matrix"
    assert hits[0].movie.year == 1999 and "Sci-Fi" in hits[0].movie.genres and hits[0].movie.plot
    assert len(hits) <= 3 and hits[0].match_score >= hits[-1].match_score
    assert len(stub.SearchMovies(rec.SearchMoviesRequest(query="star wars")).hits) == 10


def test_resolve_titles_every_catalog_title_in_both_forms(
    stub: rec_grpc.RecommenderServiceStub, shared_data: Path
) -> None:
    from recommender_server.movies import load_movies

    movies = sorted(load_movies(shared_data / "ml-1m", None).values(), key=lambda m: m.movie_id)
    # "Matrix, The (1999)" as MovieLens writes it and "The Matrix (1999)" as people do. No two
    # movies of movies.dat share a title and a year, so every one must come back as itself.
    for queries in ([m.display_title for m in movies], [f"{m.title} ({m.year})" for m in movies]):
        for start in range(0, len(movies), MAX_RESOLVE_QUERIES):
            batch = queries[start : start + MAX_RESOLVE_QUERIES]
            reply = stub.ResolveTitles(rec.ResolveTitlesRequest(queries=batch), timeout=30)
            expected = [
                (q, rec.TitleResolution.STATUS_RESOLVED, m.movie_id)
                for q, m in zip(batch, movies[start : start + MAX_RESOLVE_QUERIES], strict=False)
            ]
            assert [(r.query, r.status, r.movie.movie_id) for r in reply.resolutions] == expected


def test_resolve_titles_readme_ambiguous_and_unknown(stub: rec_grpc.RecommenderServiceStub) -> None:
    queries = [
        "Toy Story (1995)",
        "Matrix, The (1999)",
        "the matrix",
        "Life Is Beautiful",
        "Star Wars",
        "Hamlet",
        "Godzilla",
        "Toy Story (2001)",
    ]
    reply = stub.ResolveTitles(rec.ResolveTitlesRequest(queries=queries), timeout=10)
    got = {r.query: r for r in reply.resolutions}
    assert [r.query for r in reply.resolutions] == queries
    for query, movie_id in (
        ("Toy Story (1995)", 1),
        ("Matrix, The (1999)", 2571),
        ("the matrix", 2571),
        ("Life Is Beautiful", 2324),
    ):
        assert got[query].status == rec.TitleResolution.STATUS_RESOLVED
        assert got[query].movie.movie_id == movie_id
    assert got["Matrix, The (1999)"].movie.title == "The Matrix" and got["the matrix"].movie.plot
    assert got["Life Is Beautiful"].movie.display_title == "Life Is Beautiful (La Vita è bella) (1997)"
    for query, ids in (
        ("Star Wars", [260, 1196, 1210, 2628]),
        ("Hamlet", [1941, 2820, 3723, 1411, 3598]),
        ("Godzilla", [2363, 2364, 1882]),
    ):
        assert got[query].status == rec.TitleResolution.STATUS_AMBIGUOUS
        assert [m.movie_id for m in got[query].candidates] == ids
    assert got["Toy Story (2001)"].status == rec.TitleResolution.STATUS_NOT_FOUND
    assert got["Toy Story (2001)"].closest[0].display_title == "Toy Story (1995)"


def test_health_answers_while_max_size_title_calls_run(server: str, stub: rec_grpc.RecommenderServiceStub) -> None:
    # Titles that match nothing cost the most: each falls back to a fuzzy search for the closest.
    words = "qzx vbn wmk plj hrt gfd kcs yeu oia"
    resolve = rec.ResolveTitlesRequest(
        queries=[
            f"{words} {i} {words}".ljust(MAX_RESOLVE_QUERY_CHARS, "q")[:MAX_RESOLVE_QUERY_CHARS]
            for i in range(MAX_RESOLVE_QUERIES)
        ]
    )
    search = rec.SearchMoviesRequest(query=(words + " ") * 20)
    search.query = search.query[:MAX_SEARCH_QUERY_CHARS]
    with grpc.insecure_channel(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        calls = [stub.ResolveTitles.future(resolve, timeout=300)]
        calls += [stub.SearchMovies.future(search, timeout=300) for _ in range(2)]
        answers = [health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60) for _ in range(3)]
        in_flight_after_health = sum(not call.done() for call in calls)
        results = [call.result() for call in calls]
    assert all(a.status == health_pb2.HealthCheckResponse.SERVING for a in answers)
    # Health was answered while title work was still running (it used to wait for all of it).
    assert in_flight_after_health > 0
    assert len(results[0].resolutions) == MAX_RESOLVE_QUERIES
    assert all(r.status == rec.TitleResolution.STATUS_NOT_FOUND for r in results[0].resolutions)


def test_get_movies_keeps_order_and_names_unknown_ids(stub: rec_grpc.RecommenderServiceStub) -> None:
    movies = stub.GetMovies(rec.GetMoviesRequest(movie_ids=[260, 1, UNRATED_MOVIE])).movies
    assert [m.movie_id for m in movies] == [260, 1, UNRATED_MOVIE]
    assert movies[1].display_title == "Toy Story (1995)"
    code, details = _code(lambda: stub.GetMovies(rec.GetMoviesRequest(movie_ids=[1, 99999, 0])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "99999, 0" in details


def test_recommend_is_the_models_top_k(
    stub: rec_grpc.RecommenderServiceStub, local_session: ort.InferenceSession, labels: np.ndarray
) -> None:
    history = [1, 2355, 3114, 2761]  # Toy Story, A Bug's Life, Toy Story 2, The Iron Giant
    reply = stub.Recommend(rec.RecommendRequest(watched_movie_ids=history, k=10))
    scores = local_session.run(["scores"], {"movie_ids": _window(history)[None]})[0][0]
    ranked = [int(labels[i]) for i in np.argsort(-scores, kind="stable") if int(labels[i]) not in history]
    assert [r.movie.movie_id for r in reply.recommendations] == ranked[:10]
    assert [r.rank for r in reply.recommendations] == list(range(1, 11))
    assert (reply.model_name, reply.model_version, reply.history_length_used) == ("sasrec", "1", 4)
    assert all(r.movie.title and r.movie.year for r in reply.recommendations)
    keep = stub.Recommend(rec.RecommendRequest(watched_movie_ids=history, k=10, exclude_watched=False))
    with_watched = [int(labels[i]) for i in np.argsort(-scores, kind="stable")[:10]]
    assert [r.movie.movie_id for r in keep.recommendations] == with_watched


def test_long_histories_use_the_last_200(stub: rec_grpc.RecommenderServiceStub, labels: np.ndarray) -> None:
    history = [int(m) for m in labels[:260]]
    full = stub.Recommend(rec.RecommendRequest(watched_movie_ids=history, k=20, exclude_watched=False))
    tail = stub.Recommend(rec.RecommendRequest(watched_movie_ids=history[-200:], k=20, exclude_watched=False))
    assert full.history_length_used == 200
    assert [r.movie.movie_id for r in full.recommendations] == [r.movie.movie_id for r in tail.recommendations]
    excluded = stub.Recommend(rec.RecommendRequest(watched_movie_ids=history, k=20))
    assert not {r.movie.movie_id for r in excluded.recommendations} & set(history)


def test_unrated_catalog_movies_carry_no_signal(stub: rec_grpc.RecommenderServiceStub) -> None:
    reply = stub.Recommend(rec.RecommendRequest(watched_movie_ids=[UNRATED_MOVIE, 1], k=3))
    assert reply.history_length_used == 1
    code, details = _code(lambda: stub.Recommend(rec.RecommendRequest(watched_movie_ids=[UNRATED_MOVIE], k=3)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "51" in details and "rated" in details


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (rec.RecommendRequest(watched_movie_ids=[], k=5), "watched_movie_ids is empty"),
        (rec.RecommendRequest(watched_movie_ids=[1], k=0), "k must be between 1 and 100, got 0"),
        (rec.RecommendRequest(watched_movie_ids=[1], k=101), "k must be between 1 and 100, got 101"),
        (rec.RecommendRequest(watched_movie_ids=[1, 99999, 5, -3], k=5), "unknown movie ids: -3, 99999"),
        (rec.SearchMoviesRequest(query="  "), "query must not be empty"),
        (rec.SearchMoviesRequest(query="heat", limit=500), "limit must be between 1 and 100"),
        # 4 MiB of query words used to hold the event loop for minutes.
        (
            rec.SearchMoviesRequest(query="heat " * 800_000),
            f"query is 4000000 characters long; at most {MAX_SEARCH_QUERY_CHARS}",
        ),
        (rec.ResolveTitlesRequest(queries=[]), "queries is empty"),
        (rec.ResolveTitlesRequest(queries=["Heat"] * 101), f"queries holds 101 titles; at most {MAX_RESOLVE_QUERIES}"),
        (rec.ResolveTitlesRequest(queries=["Heat", " "]), "queries[1] is empty"),
        (
            rec.ResolveTitlesRequest(queries=["x" * 301]),
            f"queries[0] is 301 characters long; at most {MAX_RESOLVE_QUERY_CHARS}",
        ),
    ],
)
def test_domain_bad_input(stub: rec_grpc.RecommenderServiceStub, request_, message: str) -> None:
    call = getattr(stub, type(request_).__name__.removesuffix("Request"))
    code, details = _code(lambda: call(request_))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
