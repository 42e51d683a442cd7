"""One valid request per RPC that has inputs worth mutating: fuzzing one field of a request that
otherwise passes validation reaches the code behind it (search, ranking, planning, drawing)."""

from __future__ import annotations

from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from tritonclient.grpc import service_pb2 as kserve

from marquee.serving.reflection import V1Request
from marquee.v1 import common_pb2, layout_pb2, recommender_pb2, render_pb2

MAXLEN = 200  # the committed SASRec's window


def _window(*movie_ids: int) -> bytes:
    ids = [0] * (MAXLEN - len(movie_ids)) + list(movie_ids)
    return b"".join(i.to_bytes(8, "little", signed=True) for i in ids)


def _box(x1: float, y1: float, x2: float, y2: float) -> common_pb2.Box:
    return common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2)


_LAYOUT = layout_pb2.Layout(
    title="Night Train",
    mood="realistic, cold blue light",
    objects=[
        layout_pb2.LayoutObject(name="old locomotive", feature="steam rising", box=_box(0.05, 0.3, 0.65, 0.95)),
        layout_pb2.LayoutObject(name="lone traveller", feature="long coat", box=_box(0.55, 0.2, 0.95, 0.9)),
        layout_pb2.LayoutObject(name="full moon", feature="hazy halo", box=_box(0.3, 0.02, 0.75, 0.45)),
    ],
)
_CONTEXT = layout_pb2.PlanningContext(
    watched_top_genres=["Thriller", "Drama"],
    recommended_movies=[
        common_pb2.Movie(
            movie_id=2571,
            title="Matrix, The",
            year=1999,
            genres=["Action", "Sci-Fi", "Thriller"],
            plot="A hacker learns that his world is a simulation.",
            display_title="Matrix, The (1999)",
        )
    ],
)

BASES: dict[str, Message] = {
    "/marquee.v1.RecommenderService/SearchMovies": recommender_pb2.SearchMoviesRequest(query="matrix", limit=3),
    "/marquee.v1.RecommenderService/GetMovies": recommender_pb2.GetMoviesRequest(movie_ids=[1, 2571]),
    "/marquee.v1.RecommenderService/Recommend": recommender_pb2.RecommendRequest(watched_movie_ids=[1, 2571, 260], k=5),
    "/inference.GRPCInferenceService/ModelInfer": kserve.ModelInferRequest(
        model_name="sasrec",
        model_version="1",
        id="fuzz",
        inputs=[kserve.ModelInferRequest.InferInputTensor(name="movie_ids", datatype="INT64", shape=[1, MAXLEN])],
        outputs=[kserve.ModelInferRequest.InferRequestedOutputTensor(name="scores")],
        raw_input_contents=[_window(1, 2571)],
    ),
    "/inference.GRPCInferenceService/ModelMetadata": kserve.ModelMetadataRequest(name="sasrec", version="1"),
    "/inference.GRPCInferenceService/ModelConfig": kserve.ModelConfigRequest(name="sasrec", version="1"),
    "/inference.GRPCInferenceService/ModelReady": kserve.ModelReadyRequest(name="sasrec", version="1"),
    "/inference.GRPCInferenceService/ModelStatistics": kserve.ModelStatisticsRequest(name="sasrec", version="1"),
    "/marquee.v1.LayoutService/PlanLayout": layout_pb2.PlanLayoutRequest(
        scenario="A man boards the last night train.", context=_CONTEXT, planner=layout_pb2.PLANNER_OFFLINE
    ),
    "/marquee.v1.LayoutService/ValidateLayout": layout_pb2.ValidateLayoutRequest(layout=_LAYOUT, context=_CONTEXT),
    "/marquee.v1.RenderService/Render": render_pb2.RenderRequest(
        prompt="Night Train, realistic, cold blue light",
        steps=4,
        width=256,
        height=256,
        seed=7,
        preview_interval=0,
        title=_LAYOUT.title,
        mood=_LAYOUT.mood,
        genres=["Thriller"],
        objects=[render_pb2.RenderObject(phrase=f"{o.name}, {o.feature}", box=o.box) for o in _LAYOUT.objects],
    ),
    "/grpc.health.v1.Health/Check": health_pb2.HealthCheckRequest(service=""),
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="grpc.health.v1.Health"
    ),
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": V1Request(
        file_containing_symbol="grpc.health.v1.Health"
    ),
}
