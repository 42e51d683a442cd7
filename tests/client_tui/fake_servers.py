"""In-process gRPC servers with fixed data that speak the real contracts, for the console's unit
and snapshot tests (deterministic screens, no model start-up). The whole-flow tests use the real
servers (see test_whole_flow.py)."""

from __future__ import annotations

import io
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from PIL import Image, ImageDraw

from client_tui.connections import Endpoints
from layout_server.servicer import describe_planner
from layout_server.validation import Caps
from marquee.retry_hint import retry_after_metadata
from marquee.serving import ServiceError
from marquee.titles import readable_title
from marquee.v1 import (
    common_pb2,
    layout_pb2,
    layout_pb2_grpc,
    recommender_pb2,
    recommender_pb2_grpc,
    render_pb2,
    render_pb2_grpc,
)
from recommender_server.catalog import TitleCatalog, movie_proto
from recommender_server.movies import MovieRecord
from recommender_server.servicer import resolve_titles, search_movies
from recommender_server.title_search import TitleIndex
from render_server.validation import advertised_caps

CATALOG = [
    (
        1,
        "Toy Story",
        1995,
        ["Animation", "Children's", "Comedy"],
        "A cowboy doll is threatened by a new spaceman figure.",
    ),
    (2, "Jumanji", 1995, ["Adventure", "Children's", "Fantasy"], "Two kids find a magical board game."),
    (3, "Grumpier Old Men", 1995, ["Comedy", "Romance"], "Two old neighbours feud over a new arrival."),
    (
        260,
        "Star Wars: Episode IV - A New Hope",
        1977,
        ["Action", "Adventure", "Fantasy", "Sci-Fi"],
        "A farm boy joins rebels to save a princess from an evil empire.",
    ),
    (
        1196,
        "Star Wars: Episode V - The Empire Strikes Back",
        1980,
        ["Action", "Adventure", "Drama", "Sci-Fi", "War"],
        "The rebels scatter while Luke trains with a Jedi master.",
    ),
    (
        1210,
        "Star Wars: Episode VI - Return of the Jedi",
        1983,
        ["Action", "Adventure", "Romance", "Sci-Fi", "War"],
        "The rebels attack a second Death Star.",
    ),
    (
        2571,
        "Matrix, The",
        1999,
        ["Action", "Sci-Fi", "Thriller"],
        "A hacker learns that his world is a simulation run by machines.",
    ),
    (1270, "Back to the Future", 1985, ["Comedy", "Sci-Fi"], "A teenager travels thirty years back in a time machine."),
    (3114, "Toy Story 2", 1999, ["Animation", "Children's", "Comedy"], "Woody is stolen by a toy collector."),
    (
        2355,
        "Bug's Life, A",
        1998,
        ["Animation", "Children's", "Comedy"],
        "An inventive ant hires circus bugs as warriors.",
    ),
]


def _record(entry: tuple) -> MovieRecord:
    """A CATALOG entry as the real catalog reads it from movies.dat ("Matrix, The (1999)")."""
    movie_id, movielens_title, year, genres, plot = entry
    display_title = f"{movielens_title} ({year})"
    return MovieRecord(movie_id, readable_title(display_title)[0], year, tuple(genres), display_title, plot)


def movie(entry: tuple) -> common_pb2.Movie:
    return movie_proto(_record(entry))


#: The real server's title search and resolution over the fake catalog, so they cannot disagree.
TITLES = TitleCatalog.build({e[0]: _record(e) for e in CATALOG}, TitleIndex(_record(e) for e in CATALOG))


def png(image: Image.Image) -> common_pb2.EncodedImage:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return common_pb2.EncodedImage(
        data=buffer.getvalue(), width=image.width, height=image.height, media_type="image/png"
    )


class Recommender(recommender_pb2_grpc.RecommenderServiceServicer):
    @staticmethod
    def _titles(answer, request, context):
        try:
            return answer(TITLES, request)
        except ServiceError as error:
            context.abort(error.code, error.message)

    def SearchMovies(self, request, context):
        return self._titles(search_movies, request, context)

    def ResolveTitles(self, request, context):
        return self._titles(resolve_titles, request, context)

    def GetMovies(self, request, context):
        by_id = {e[0]: e for e in CATALOG}
        unknown = [i for i in request.movie_ids if i not in by_id]
        if unknown:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown movie ids: {unknown}")
        return recommender_pb2.GetMoviesResponse(movies=[movie(by_id[i]) for i in request.movie_ids])

    def Recommend(self, request, context):
        if not 1 <= request.k <= 100:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"k must be between 1 and 100, got {request.k}")
        watched = set(request.watched_movie_ids)
        genres = {g for e in CATALOG if e[0] in watched for g in e[3]}
        candidates = [e for e in CATALOG if e[0] not in watched]
        candidates.sort(key=lambda e: (-len(genres & set(e[3])), e[0]))
        picks = candidates[: request.k]
        return recommender_pb2.RecommendResponse(
            recommendations=[
                recommender_pb2.ScoredMovie(movie=movie(e), score=5.0 - 0.5 * i, rank=i + 1)
                for i, e in enumerate(picks)
            ],
            model_name="fake-sasrec",
            model_version="1",
            history_length_used=len(watched),
        )


FIXED_LAYOUT = layout_pb2.Layout(
    title="Toys After Dark",
    mood="cinematic, warm lamplight in a child's bedroom",
    objects=[
        layout_pb2.LayoutObject(
            name="cowboy doll", feature="worried frown", box=common_pb2.Box(x1=0.05, y1=0.2, x2=0.55, y2=0.95)
        ),
        layout_pb2.LayoutObject(
            name="space ranger", feature="wings spread", box=common_pb2.Box(x1=0.45, y1=0.1, x2=0.95, y2=0.9)
        ),
        layout_pb2.LayoutObject(
            name="board game", feature="glowing dice", box=common_pb2.Box(x1=0.2, y1=0.55, x2=0.8, y2=1.0)
        ),
    ],
)


def validate(layout: layout_pb2.Layout) -> list[layout_pb2.LayoutProblem]:
    problems = []
    if not 3 <= len(layout.objects) <= 5:
        problems.append(
            layout_pb2.LayoutProblem(
                code="object_count",
                field="objects",
                message=f"a layout needs 3 to 5 objects, it has {len(layout.objects)}",
            )
        )
    if not layout.title.strip():
        problems.append(layout_pb2.LayoutProblem(code="empty", field="title", message="the title is empty"))
    for i, obj in enumerate(layout.objects):
        b = obj.box
        if not obj.name.strip():
            problems.append(
                layout_pb2.LayoutProblem(code="empty", field=f"objects[{i}].name", message="the name is empty")
            )
        if not (0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1):
            problems.append(
                layout_pb2.LayoutProblem(
                    code="box_order", field=f"objects[{i}].box", message="need 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1"
                )
            )
        elif (b.x2 - b.x1) * (b.y2 - b.y1) <= 0.16:
            problems.append(
                layout_pb2.LayoutProblem(
                    code="box_too_small", field=f"objects[{i}].box", message="the box covers 16% of the image or less"
                )
            )
    return problems


class Layout(layout_pb2_grpc.LayoutServiceServicer):
    def __init__(self) -> None:
        self.requests: list[layout_pb2.PlanLayoutRequest] = []

    def PlanLayout(self, request, context):
        self.requests.append(request)
        if not request.scenario.strip():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the scenario is empty")
        attempts = []
        if request.planner == layout_pb2.PLANNER_LLM:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no LLM is configured (set OPENAI_API_KEY)")
        attempts.append(layout_pb2.PlanAttempt(planner=layout_pb2.PLANNER_OFFLINE, outcome="accepted"))
        return layout_pb2.PlanLayoutResponse(
            layout=FIXED_LAYOUT, planner_used=layout_pb2.PLANNER_OFFLINE, attempts=attempts
        )

    def ValidateLayout(self, request, context):
        problems = validate(request.layout)
        return layout_pb2.ValidateLayoutResponse(problems=problems, valid=not problems)

    def DescribePlanner(self, request, context):
        # The real server's answer for its default caps: a fake must not disagree with it.
        return describe_planner(Caps())


def frame(width: int, height: int, step: int, total: int, noise: bool = False) -> Image.Image:
    shade = int(255 * step / max(total, 1))
    if noise:
        # Like a real preview mid-denoising: no flat areas for the encoder to squeeze.
        image = Image.effect_noise((width, height), 64).convert("RGB")
    else:
        image = Image.new("RGB", (width, height), (shade, 40, 255 - shade))
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(250, 200, 40))
    return image


def jpeg(image: Image.Image) -> common_pb2.EncodedImage:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return common_pb2.EncodedImage(
        data=buffer.getvalue(), width=image.width, height=image.height, media_type="image/jpeg"
    )


_PREVIEW_CACHE: dict[tuple[int, int, int], common_pb2.EncodedImage] = {}


def realistic_preview(width: int, height: int, step: int) -> common_pb2.EncodedImage:
    """One of eight noisy JPEG frames, encoded once: the client pays a real frame's decoding, the
    fake server does not pay its encoding again and again."""
    key = (width, height, step % 8)
    if key not in _PREVIEW_CACHE:
        _PREVIEW_CACHE[key] = jpeg(frame(width, height, step % 8, 8, noise=True))
    return _PREVIEW_CACHE[key]


@dataclass
class RenderBehaviour:
    """Knobs for the fake render stream."""

    seconds_per_step: float = 0.0
    queued_events: int = 1
    #: Size of preview frames (None: the requested size).
    preview_size: tuple[int, int] | None = (64, 64)
    #: Noisy JPEG previews, as heavy to decode as real ones (else small flat PNGs).
    realistic_previews: bool = False
    #: Abort with UNAVAILABLE after this many progress events on the first N calls.
    cut_after_steps: int | None = None
    cut_calls: int = 0
    #: Answer the first N calls as the real server does when its queue is full:
    #: RESOURCE_EXHAUSTED with the retry hint (`marquee.retry_hint`) of `retry_after` seconds.
    queue_full_calls: int = 0
    retry_after: int = 1
    calls: int = 0
    #: Progress events handed to the transport, over all calls: the stream is flowing.
    steps_sent: int = 0
    cancelled: list[str] = field(default_factory=list)


class Render(render_pb2_grpc.RenderServiceServicer):
    def __init__(self, behaviour: RenderBehaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[render_pb2.RenderRequest] = []

    def Render(self, request, context):
        b = self.behaviour
        b.calls += 1
        call_number = b.calls
        self.requests.append(request)
        if not request.objects:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a render needs at least one object")
        if call_number <= b.queue_full_calls:
            context.set_trailing_metadata(retry_after_metadata(b.retry_after))
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the render queue is full (0 jobs waiting behind the running one; the limit is 0); "
                f"retry in about {b.retry_after} s",
            )
        job = f"job-{call_number}"
        finished = threading.Event()
        context.add_callback(lambda: None if finished.is_set() else b.cancelled.append(job))
        steps = request.steps or 28
        width, height = request.width or 1024, request.height or 1024
        interval = request.preview_interval if request.HasField("preview_interval") else 5
        for position in range(b.queued_events, 0, -1):
            yield render_pb2.RenderResponse(
                job_id=job, queued=render_pb2.Queued(position=position - 1, queue_depth=position)
            )
        started = time.monotonic()
        for step in range(1, steps + 1):
            if not context.is_active():
                return
            if b.seconds_per_step:
                time.sleep(b.seconds_per_step)
            if b.cut_after_steps is not None and call_number <= b.cut_calls and step > b.cut_after_steps:
                context.abort(grpc.StatusCode.UNAVAILABLE, "replica going away")
            yield render_pb2.RenderResponse(
                job_id=job,
                progress=render_pb2.Progress(
                    step=step, total_steps=steps, elapsed_seconds=time.monotonic() - started, stage="denoising"
                ),
            )
            b.steps_sent += 1
            if interval and step % interval == 0:
                pw, ph = b.preview_size or (width, height)
                encoded = realistic_preview(pw, ph, step) if b.realistic_previews else png(frame(pw, ph, step, steps))
                yield render_pb2.RenderResponse(job_id=job, preview=render_pb2.Preview(step=step, image=encoded))
        final = frame(width, height, steps, steps)
        on_white = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(on_white)
        for obj in request.objects:
            b_ = obj.box
            draw.rectangle((b_.x1 * width, b_.y1 * height, b_.x2 * width, b_.y2 * height), outline="red", width=3)
        on_image = final.copy()
        ImageDraw.Draw(on_image).rectangle((2, 2, width - 3, height - 3), outline="red", width=3)
        finished.set()
        yield render_pb2.RenderResponse(
            job_id=job,
            result=render_pb2.RenderResult(
                image=png(final),
                layout_on_image=png(on_image),
                layout_on_white=png(on_white),
                metadata=render_pb2.RenderMetadata(
                    seed=request.seed if request.HasField("seed") else 1234,
                    steps=steps,
                    guidance=request.guidance if request.HasField("guidance") else 7.0,
                    width=width,
                    height=height,
                    engine="fake",
                    queued_seconds=0.0,
                    total_seconds=round(time.monotonic() - started, 3),
                    first_preview_seconds=0.0,
                    seconds_per_step=b.seconds_per_step,
                    job_id=job,
                ),
            ),
        )

    def DescribeEngine(self, request, context):
        return render_pb2.DescribeEngineResponse(
            engine="fake",
            device="cpu",
            max_width=2048,
            max_height=2048,
            max_boxes=10,
            default_steps=28,
            default_guidance=7.0,
            default_size=1024,
            max_queue_depth=8,
            **advertised_caps(),
        )


class FakeStack:
    """Three fake servers on loopback ports; `endpoints` points a client at them."""

    def __init__(self, render: RenderBehaviour | None = None) -> None:
        self.behaviour = render or RenderBehaviour()
        self.recommender = Recommender()
        self.layout = Layout()
        self.render = Render(self.behaviour)
        self.servers: dict[str, grpc.Server] = {}
        self.ports: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self) -> FakeStack:
        options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
        for name, register in (
            (
                "recommender",
                lambda s: recommender_pb2_grpc.add_RecommenderServiceServicer_to_server(self.recommender, s),
            ),
            ("layout", lambda s: layout_pb2_grpc.add_LayoutServiceServicer_to_server(self.layout, s)),
            ("render", lambda s: render_pb2_grpc.add_RenderServiceServicer_to_server(self.render, s)),
        ):
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
            register(server)
            health_servicer = health.HealthServicer()
            health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
            self.ports[name] = server.add_insecure_port("127.0.0.1:0")
            server.start()
            self.servers[name] = server
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop(grace=None)

    def addresses(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    def endpoints(self) -> Endpoints:
        return Endpoints.from_sources(self.addresses(), {})

    def __enter__(self) -> FakeStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """`python -m tests.client_tui.fake_servers [--seconds-per-step S] [--preview-size N] [--realistic]`:
    serves the fakes in their own process (benchmarks: the client then has the CPU and the GIL to
    itself); prints the addresses as JSON, stops on stdin EOF."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds-per-step", type=float, default=0.0)
    parser.add_argument("--preview-size", type=int, default=64)
    parser.add_argument("--realistic", action="store_true")
    args = parser.parse_args()
    size = (args.preview_size, args.preview_size)
    behaviour = RenderBehaviour(
        seconds_per_step=args.seconds_per_step, preview_size=size, queued_events=0, realistic_previews=args.realistic
    )
    if args.realistic:
        for step in range(8):
            realistic_preview(*size, step)
    with FakeStack(behaviour) as stack:
        print(json.dumps(stack.addresses()), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
