"""Bad input gets INVALID_ARGUMENT naming the field; ValidateLayout and DescribePlanner over gRPC."""

from __future__ import annotations

import grpc
import pytest

from layout_server.layout_rules import MIN_BOX_AREA
from layout_server.prompting import DEFAULT_SYSTEM_INSTRUCTION
from marquee.v1 import common_pb2, layout_pb2
from tests.layout_server.helpers import context, make, movie

P = layout_pb2.Planner


async def _error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


@pytest.mark.parametrize(
    "req, field",
    [
        (layout_pb2.PlanLayoutRequest(scenario="  "), "scenario is empty"),
        (layout_pb2.PlanLayoutRequest(), "scenario is empty"),
        (layout_pb2.PlanLayoutRequest(scenario="x" * 4001), "scenario has 4001 characters"),
        (layout_pb2.PlanLayoutRequest(scenario="x", planner=7), "planner 7 is not a known planner"),
        (layout_pb2.PlanLayoutRequest(scenario="x", system_instruction=" "), "system_instruction is set but blank"),
        (
            layout_pb2.PlanLayoutRequest(scenario="x", system_instruction="y" * 8001),
            "system_instruction has 8001 characters",
        ),
        (
            layout_pb2.PlanLayoutRequest(
                scenario="x",
                context=layout_pb2.PlanningContext(
                    recommended_movies=[movie("A", "p", []), movie("B", "p" * 2001, [])]
                ),
            ),
            "context.recommended_movies[1].plot has 2001 characters",
        ),
        (
            layout_pb2.PlanLayoutRequest(
                scenario="x",
                context=layout_pb2.PlanningContext(recommended_movies=[movie(f"M{i}", "", []) for i in range(21)]),
            ),
            "context.recommended_movies has 21 movies",
        ),
        (
            layout_pb2.PlanLayoutRequest(
                scenario="x", context=layout_pb2.PlanningContext(watched_top_genres=["Drama", "g" * 41])
            ),
            "context.watched_top_genres[1] has 41",
        ),
    ],
)
async def test_bad_plan_requests(start_server, req, field: str) -> None:
    stub = await start_server(api_key=None)
    err = await _error(stub.PlanLayout(req))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in err.details()


async def test_context_alone_is_enough(start_server) -> None:
    stub = await start_server(api_key=None)
    for ctx in (layout_pb2.PlanningContext(watched_top_genres=["Horror"]), context()):
        response = await stub.PlanLayout(layout_pb2.PlanLayoutRequest(context=ctx))
        assert response.planner_used == P.PLANNER_OFFLINE and len(response.layout.objects) >= 3


async def test_caps_are_configurable(start_server) -> None:
    stub = await start_server(api_key=None, max_scenario_chars=200)
    err = await _error(stub.PlanLayout(layout_pb2.PlanLayoutRequest(scenario="x" * 201)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit is 200" in err.details()
    described = await stub.DescribePlanner(layout_pb2.DescribePlannerRequest())
    assert described.max_scenario_chars == 200


async def test_validate_layout_lists_every_problem(start_server) -> None:
    stub = await start_server(api_key=None)
    good = await stub.ValidateLayout(layout_pb2.ValidateLayoutRequest(layout=make(), context=context()))
    assert good.valid and not good.problems

    edited = make(
        [
            (0.9, 0.0, 0.1, 0.5),
            (0.0, 0.0, 0.2, 0.2),
            (0.0, 0.0, 1.0, 1.0),
            (0.0, 0.0, 1.0, 1.0),
            (0.0, 0.0, 1.0, 1.0),
            (0.0, 0.0, 1.0, 1.0),
        ],
        mood="dusty light",
    )
    edited.objects[2].name = "Toy Story doll"
    reply = await stub.ValidateLayout(layout_pb2.ValidateLayoutRequest(layout=edited, context=context()))
    assert not reply.valid
    assert [(p.field, p.code) for p in reply.problems] == [
        ("mood", "mood_style"),
        ("objects", "too_many_objects"),
        ("objects[0].box", "box_inverted"),
        ("objects[1].box", "box_too_small"),
        ("objects[2].name", "names_movie"),
    ]
    assert all(p.message for p in reply.problems)

    huge = layout_pb2.Layout(objects=[layout_pb2.LayoutObject(name="x")] * 51)
    err = await _error(stub.ValidateLayout(layout_pb2.ValidateLayoutRequest(layout=huge)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "layout.objects" in err.details()


async def test_describe_planner(start_server, fake_llm) -> None:
    stub = await start_server(base_url=fake_llm.url, model="local-llama")
    described = await stub.DescribePlanner(layout_pb2.DescribePlannerRequest())
    assert described.llm_configured and described.llm_model == "local-llama"
    assert described.default_system_instruction == DEFAULT_SYSTEM_INSTRUCTION
    assert (described.min_objects, described.max_objects) == (3, 5)
    assert described.min_box_area == pytest.approx(MIN_BOX_AREA)
    assert (described.max_scenario_chars, described.max_plot_chars, described.max_system_instruction_chars) == (
        4000,
        2000,
        8000,
    )
    # Every other cap check_context enforces is advertised too, so clients can clip to it.
    assert (
        described.max_recommended_movies,
        described.max_genres,
        described.max_genre_chars,
        described.max_movie_title_chars,
        described.max_movie_genres,
    ) == (20, 20, 40, 300, 20)


async def test_offline_plans_are_valid_by_the_validate_rpc(start_server) -> None:
    stub = await start_server(api_key=None)
    for genres in (["Animation"], ["Film-Noir", "Crime"], ["War"], ["Musical", "Romance"]):
        ctx = layout_pb2.PlanningContext(
            watched_top_genres=genres,
            recommended_movies=[
                common_pb2.Movie(
                    title="Casablanca",
                    plot="A cynical nightclub owner protects his former lover Ilsa and her husband from the Nazis.",
                    genres=genres,
                )
            ],
        )
        planned = await stub.PlanLayout(
            layout_pb2.PlanLayoutRequest(
                scenario="An exiled singer hides a letter in a smoky club.", context=ctx, planner=P.PLANNER_OFFLINE
            )
        )
        checked = await stub.ValidateLayout(layout_pb2.ValidateLayoutRequest(layout=planned.layout, context=ctx))
        assert checked.valid, checked.problems
