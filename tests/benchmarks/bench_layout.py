"""Layout planner benchmark: offline planner latency, and what the LLM path costs on top of the
model's own time.

    .venv/bin/python tests/benchmarks/bench_layout.py           # full run (about 15 seconds)
    .venv/bin/python tests/benchmarks/bench_layout.py --smoke   # seconds, for the test suite

Inputs are realistic requests: 5 recommended movies drawn from MovieLens-1M with their real plots
(through `marquee.data_location` and the recommender's catalog; built-in samples when the data is
absent), 3 watched genres, and a scenario written the way the client pre-fills it (genres, then
each recommended movie's plot clipped to 400 characters). Measured:

- offline planner, in process: p50 / p99 / max per plan (wall time, and the thread's CPU time,
  which other processes on a shared machine do not inflate), "cold" (per-text caches cleared
  before every plan: first sight of these plots) and "editing" (same recommendations, scenario
  edited: the plots are cached), plus the largest request the caps allow (20 plots of 2,000
  characters and a 4,000-character scenario, cold);
- LLM path overhead: the planning flow with the real `openai` SDK against a local
  OpenAI-compatible server on loopback that answers instantly with a valid layout, so the time
  is everything but the model (prompt building, the SDK, HTTP, parsing, validation); reported
  in process and as a whole gRPC PlanLayout round trip, next to offline PlanLayout over gRPC.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402

from layout_server.config import LayoutSettings  # noqa: E402
from layout_server.layout_rules import ForbiddenNames, validate_layout  # noqa: E402
from layout_server.llm_planner import LlmPlanner  # noqa: E402
from layout_server.offline_planner import OfflinePlanner  # noqa: E402
from layout_server.planning import LayoutPlanning  # noqa: E402
from layout_server.service import LayoutModelService  # noqa: E402
from marquee.serving import ServerHandle, serve  # noqa: E402
from marquee.serving.structured_logs import configure_logging  # noqa: E402
from marquee.v1 import common_pb2, layout_pb2, layout_pb2_grpc  # noqa: E402
from tests.layout_server.fake_openai import FakeOpenAI, layout_json, ok  # noqa: E402

GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
SAMPLES = [
    (
        "Toy Story",
        1995,
        ["Animation", "Children's", "Comedy"],
        "A little boy named Andy loves to be in his room, playing with his toys, especially his doll "
        "named Woody. But what do the toys do when Andy is not with them? They come to life.",
    ),
    (
        "High Noon",
        1952,
        ["Western"],
        "A town marshal, despite the disagreements of his newlywed bride and the townspeople around "
        "him, must face a gang of deadly killers alone at high noon when the gang leader arrives.",
    ),
    (
        "Alien",
        1979,
        ["Action", "Horror", "Sci-Fi", "Thriller"],
        "After a space merchant vessel receives an unknown transmission as a distress call, one of "
        "the crew is attacked by a mysterious life form and they soon realize that its life cycle "
        "has merely begun.",
    ),
    (
        "Casablanca",
        1942,
        ["Drama", "Romance", "War"],
        "A cynical expatriate American cafe owner struggles to decide whether or not to help his "
        "former lover and her fugitive husband escape the Nazis in French Morocco.",
    ),
    (
        "Fargo",
        1996,
        ["Crime", "Drama", "Thriller"],
        "Jerry Lundegaard's inept crime falls apart due to his and his henchmen's bungling and the "
        "persistent police work of the quite pregnant Marge Gunderson.",
    ),
    (
        "The Wizard of Oz",
        1939,
        ["Adventure", "Children's", "Drama", "Musical"],
        "Dorothy Gale is swept away from a farm in Kansas to a magical land of Oz in a tornado and "
        "embarks on a quest with her new friends to see the Wizard who can return her to her home.",
    ),
]


def load_movies() -> tuple[list[common_pb2.Movie], str]:
    """Movies with plots from the data directory, else the built-in samples."""
    try:
        from marquee.data_location import find_data_dir
        from recommender_server.movies import load_movies

        location = find_data_dir(download=False)
        catalog = load_movies(location.ml1m, location.plots if location.plots.is_dir() else None)
        movies = [
            common_pb2.Movie(
                movie_id=m.movie_id,
                title=m.title,
                year=m.year,
                genres=list(m.genres),
                plot=m.plot[:2000],
                display_title=m.display_title,
            )
            for m in catalog.values()
            if m.plot
        ]
        if len(movies) >= 50:
            return movies, f"{len(movies)} MovieLens-1M movies with plots ({location.root})"
    except Exception as exc:
        print(f"(no data: {exc}; using built-in samples)", file=sys.stderr)
    return (
        [common_pb2.Movie(movie_id=i, title=t, year=y, genres=g, plot=p) for i, (t, y, g, p) in enumerate(SAMPLES, 1)],
        "6 built-in sample movies",
    )


def scenario_for(genres: list[str], movies: list[common_pb2.Movie], edit: str = "") -> str:
    lines = [
        f"Mood preference: {', '.join(genres)} - the genres I watch most. Design one movie "
        "thumbnail that feels like them and brings together the stories below.",
        "",
    ]
    lines += [f"- {m.title} ({m.year}): {m.plot[:400]}" for m in movies]
    return "\n".join(lines) + (f"\n{edit}" if edit else "")


def requests(movies: list[common_pb2.Movie], count: int, seed: int = 7) -> list[layout_pb2.PlanLayoutRequest]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chosen = rng.sample(movies, min(5, len(movies)))
        genres = rng.sample(GENRES, 3)
        out.append(
            layout_pb2.PlanLayoutRequest(
                scenario=scenario_for(genres, chosen),
                context=layout_pb2.PlanningContext(watched_top_genres=genres, recommended_movies=chosen),
            )
        )
    return out


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


class _Clock:
    """Wall time and this thread's CPU time of one measured call: on a shared machine the wall
    time's tail is other processes' doing, the CPU time is the planner's own."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu.append(time.thread_time() - self._cpu)
        self.wall.append(time.perf_counter() - self._wall)


def bench_offline(reqs: list[layout_pb2.PlanLayoutRequest]) -> dict[str, dict[str, float]]:
    planner = OfflinePlanner()
    planner.plan("warm up", reqs[0].context)
    cold, editing = _Clock(), _Clock()
    for req in reqs:
        # Timed as the server runs it: the forbidden names of the context, then the plan.
        planner.clear_caches()
        with cold:
            names = ForbiddenNames.from_context(req.context)
            plan = planner.plan(req.scenario, req.context, names)
        assert not validate_layout(plan.layout, names), plan.layout
        with editing:
            names = ForbiddenNames.from_context(req.context)
            planner.plan(req.scenario + "\nMake it darker.", req.context, names)
    # The largest request the default caps allow: 20 plots of 2,000 characters, 4,000-character
    # scenario, every plot new.
    worst = _Clock()
    for i in range(max(10, len(reqs) // 10)):
        ctx = layout_pb2.PlanningContext(
            watched_top_genres=["Western", "Horror", "Comedy"],
            recommended_movies=[
                common_pb2.Movie(
                    title=f"Movie {i}-{j}",
                    genres=["Drama", "Western"],
                    plot=(f"Take {i}-{j}. " + (SAMPLES[j % 6][3] + " ") * 12)[:2000],
                )
                for j in range(20)
            ],
        )
        planner.clear_caches()
        with worst:
            names = ForbiddenNames.from_context(ctx)
            planner.plan(((f"Take {i}. " + SAMPLES[i % 6][3] + " ") * 20)[:4000], ctx, names)
    return {
        "cold": summary(cold.wall),
        "cold_cpu": summary(cold.cpu),
        "editing": summary(editing.wall),
        "editing_cpu": summary(editing.cpu),
        "largest_request_cold": summary(worst.wall),
        "largest_request_cold_cpu": summary(worst.cpu),
    }


async def _timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def bench_llm(reqs: list[layout_pb2.PlanLayoutRequest], fake: FakeOpenAI) -> dict[str, dict[str, float]]:
    fake.default = ok(layout_json())
    llm = LlmPlanner(api_key="sk-bench-not-a-real-key", model="gpt-4o-mini", base_url=fake.url, timeout=10, retries=0)
    planning = LayoutPlanning(caps=LayoutSettings().caps, offline=OfflinePlanner(), llm=llm)
    it = iter(reqs * 3)

    async def plan_once() -> None:
        result = await planning.plan(next(it))
        assert result.response.planner_used == layout_pb2.PLANNER_LLM

    await _timed(plan_once, 5)  # connection set-up, first-call imports
    fake.handling_seconds.clear()
    in_process = await _timed(plan_once, len(reqs))
    fake_share = list(fake.handling_seconds)
    await llm.close()

    os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"
    settings = LayoutSettings(port=0, metrics=False, base_url=fake.url, timeout=10, retries=0, grace_period=1.0)
    started: asyncio.Future[ServerHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(LayoutModelService(settings), settings, on_started=started.set_result, install_signal_handlers=False)
    )
    handle = await started
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}")
    stub = layout_pb2_grpc.LayoutServiceStub(channel)
    await channel.channel_ready()
    while True:
        try:
            await stub.DescribePlanner(layout_pb2.DescribePlannerRequest())
            await stub.PlanLayout(reqs[0])
            break
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.05)  # still loading
    it = iter(reqs * 3)

    async def grpc_llm() -> None:
        response = await stub.PlanLayout(next(it))
        assert response.planner_used == layout_pb2.PLANNER_LLM

    async def grpc_offline() -> None:
        req = layout_pb2.PlanLayoutRequest()
        req.CopyFrom(next(it))
        req.planner = layout_pb2.PLANNER_OFFLINE
        await stub.PlanLayout(req)

    async def grpc_describe() -> None:
        await stub.DescribePlanner(layout_pb2.DescribePlannerRequest())

    floor = await _timed(grpc_describe, len(reqs))
    over_grpc = await _timed(grpc_llm, len(reqs))
    offline_grpc = await _timed(grpc_offline, len(reqs))
    await channel.close()
    handle.request_stop()
    await task
    return {
        "llm_path_in_process": summary(in_process),
        "llm_path_grpc": summary(over_grpc),
        "offline_grpc": summary(offline_grpc),
        "fake_server_itself": summary(fake_share),
        "grpc_floor_describe": summary(floor),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few requests (seconds)")
    parser.add_argument("--requests", type=int, default=None, help="requests per measurement")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    count = args.requests or (20 if args.smoke else 1000)

    configure_logging("warning", "console", process="bench_layout")
    movies, source = load_movies()
    reqs = requests(movies, count)
    results: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        "inputs": source,
        "offline": bench_offline(reqs),
    }
    with FakeOpenAI() as fake:
        results["llm"] = asyncio.run(bench_llm(reqs[: max(10, count // 5)], fake))

    print(f"layout planner benchmark ({'smoke' if args.smoke else 'full'}): {results['machine']}")
    print(f"inputs: {source}, {count} requests")
    print(f"{'measurement':34} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for group in ("offline", "llm"):
        for name, stats in results[group].items():  # type: ignore[union-attr]
            print(
                f"{group + ' ' + name:34} {stats['n']:>5} {stats['p50_ms']:>9.2f} "
                f"{stats['p99_ms']:>9.2f} {stats['max_ms']:>9.2f}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
