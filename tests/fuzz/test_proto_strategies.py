"""The generic strategies really produce the hostile values the fuzz suite relies on: a fuzzer
that sent only empty messages would pass every fuzz test."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, Phase, find, settings
from tritonclient.grpc import service_pb2 as kserve

from marquee.v1 import common_pb2, layout_pb2, recommender_pb2, render_pb2
from tests.fuzz.hostile_examples import extremes
from tests.fuzz.proto_strategies import MALFORMED, messages, mutations
from tests.fuzz.valid_requests import BASES

#: The first example found is enough (no shrinking).
SEARCH = settings(
    max_examples=2_000,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _finds(descriptor, predicate) -> None:
    find(messages(descriptor), predicate, settings=SEARCH)


def test_huge_strings_nan_infinity_and_edge_integers() -> None:
    _finds(recommender_pb2.SearchMoviesRequest.DESCRIPTOR, lambda m: len(m.query) >= 1 << 20)
    _finds(common_pb2.Box.DESCRIPTOR, lambda m: math.isnan(m.x1))
    _finds(common_pb2.Box.DESCRIPTOR, lambda m: math.isinf(m.y2))
    _finds(recommender_pb2.RecommendRequest.DESCRIPTOR, lambda m: m.k == 2**31 - 1)
    _finds(recommender_pb2.RecommendRequest.DESCRIPTOR, lambda m: m.HasField("exclude_watched"))


def test_undefined_enums_deep_repeats_maps_oneofs_and_nesting() -> None:
    defined = {v.number for v in layout_pb2.Planner.DESCRIPTOR.values}
    _finds(layout_pb2.PlanLayoutRequest.DESCRIPTOR, lambda m: m.planner not in defined)
    _finds(recommender_pb2.GetMoviesRequest.DESCRIPTOR, lambda m: len(m.movie_ids) >= 1_000)
    _finds(kserve.ModelInferRequest.DESCRIPTOR, lambda m: len(m.parameters) > 0)
    _finds(
        kserve.ModelInferRequest.DESCRIPTOR,
        lambda m: any(p.WhichOneof("parameter_choice") == "double_param" for p in m.parameters.values()),
    )
    _finds(layout_pb2.PlanLayoutRequest.DESCRIPTOR, lambda m: any(movie.plot for movie in m.context.recommended_movies))


def test_mutations_change_a_valid_request_in_place() -> None:
    base = render_pb2.RenderObject(phrase="moon", box=common_pb2.Box(x1=0.1, y1=0.1, x2=0.5, y2=0.5))
    # One coordinate changed in place, the rest kept: the mutation reaches nested fields.
    found = find(
        mutations(base),
        lambda m: (
            m.phrase == "moon"
            and m.box.x1 != 0.1
            and (m.box.y1, m.box.x2, m.box.y2) == (base.box.y1, base.box.x2, base.box.y2)
        ),
        settings=SEARCH,
    )
    assert type(found) is type(base) and found != base


def test_extremes_push_every_field_at_once() -> None:
    base = BASES["/marquee.v1.RenderService/Render"]
    huge, edge, low, text = extremes(base.DESCRIPTOR, base)
    assert all(len(o.phrase) >= 1 << 19 for o in huge.objects) and len(huge.title) >= 1 << 19
    assert len(huge.objects) == len(base.objects) and huge.steps == 2**31 - 1
    assert all(math.isnan(o.box.x1) for o in edge.objects) and len(edge.genres) >= 1_000
    assert low.steps == -(2**31) and low.prompt == "" and math.isinf(low.guidance)
    assert "\r\n" in text.title and text.genres[-1] == text.title and text.objects[0].box == base.objects[0].box


def test_malformed_payloads_do_not_parse() -> None:
    failures = 0
    for payload in MALFORMED:
        try:
            recommender_pb2.SearchMoviesRequest.FromString(payload)
        except Exception:
            failures += 1
    assert failures >= len(MALFORMED) // 2
