"""The parts of a session, one record each: the movies, the recommendations, the layout and the
planner's problems with it, the plan, the render's parameters and outcome, the files and the
summary. Each converts from (and where the client sends it, to) its protobuf message."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from marquee.v1 import common_pb2, layout_pb2, recommender_pb2, render_pb2

PlannerChoice = Literal["auto", "llm", "offline"]

PLANNER_TO_PROTO: dict[str, layout_pb2.Planner] = {
    "auto": layout_pb2.PLANNER_AUTO,
    "llm": layout_pb2.PLANNER_LLM,
    "offline": layout_pb2.PLANNER_OFFLINE,
}
PLANNER_NAMES: dict[int, str] = {
    layout_pb2.PLANNER_UNSPECIFIED: "auto",
    layout_pb2.PLANNER_AUTO: "auto",
    layout_pb2.PLANNER_LLM: "llm",
    layout_pb2.PLANNER_OFFLINE: "offline",
}


class Record(BaseModel):
    """A part of the session: unknown fields are refused, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MovieRecord(Record):
    movie_id: int
    title: str
    year: int = 0
    genres: list[str] = Field(default_factory=list)
    plot: str = ""
    display_title: str = ""

    @classmethod
    def from_proto(cls, movie: common_pb2.Movie) -> MovieRecord:
        return cls(
            movie_id=movie.movie_id,
            title=movie.title,
            year=movie.year,
            genres=list(movie.genres),
            plot=movie.plot,
            display_title=movie.display_title,
        )

    def to_proto(self) -> common_pb2.Movie:
        return common_pb2.Movie(
            movie_id=self.movie_id,
            title=self.title,
            year=self.year,
            genres=self.genres,
            plot=self.plot,
            display_title=self.display_title,
        )

    @property
    def label(self) -> str:
        """ "Toy Story (1995)", the way MovieLens writes it."""
        if self.display_title:
            return self.display_title
        return f"{self.title} ({self.year})" if self.year else self.title


class Recommendation(Record):
    movie: MovieRecord
    score: float
    rank: int

    @classmethod
    def from_proto(cls, scored: recommender_pb2.ScoredMovie) -> Recommendation:
        return cls(movie=MovieRecord.from_proto(scored.movie), score=scored.score, rank=scored.rank)


class BoxRecord(Record):
    """Normalised [x1, y1, x2, y2], origin top-left."""

    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_proto(cls, box: common_pb2.Box) -> BoxRecord:
        # float32 on the wire: round so that 0.1 stays 0.1 in JSON and in the editor.
        return cls(x1=round(box.x1, 4), y1=round(box.y1, 4), x2=round(box.x2, 4), y2=round(box.y2, 4))

    def to_proto(self) -> common_pb2.Box:
        return common_pb2.Box(x1=self.x1, y1=self.y1, x2=self.x2, y2=self.y2)

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


class LayoutObjectRecord(Record):
    name: str
    feature: str = ""
    box: BoxRecord

    @property
    def phrase(self) -> str:
        """What the render engine is asked to draw in the box."""
        return f"{self.name}, {self.feature}" if self.feature else self.name


class LayoutRecord(Record):
    title: str = ""
    mood: str = ""
    objects: list[LayoutObjectRecord] = Field(default_factory=list)

    @classmethod
    def from_proto(cls, layout: layout_pb2.Layout) -> LayoutRecord:
        return cls(
            title=layout.title,
            mood=layout.mood,
            objects=[
                LayoutObjectRecord(name=o.name, feature=o.feature, box=BoxRecord.from_proto(o.box))
                for o in layout.objects
            ],
        )

    def to_proto(self) -> layout_pb2.Layout:
        return layout_pb2.Layout(
            title=self.title,
            mood=self.mood,
            objects=[
                layout_pb2.LayoutObject(name=o.name, feature=o.feature, box=o.box.to_proto()) for o in self.objects
            ],
        )


class ProblemRecord(Record):
    code: str
    field: str = ""
    message: str

    @classmethod
    def from_proto(cls, problem: layout_pb2.LayoutProblem) -> ProblemRecord:
        return cls(code=problem.code, field=problem.field, message=problem.message)


class RepairRecord(Record):
    field: str = ""
    description: str


class AttemptRecord(Record):
    planner: str
    outcome: str
    error: str = ""
    problems: list[ProblemRecord] = Field(default_factory=list)


class PlanRecord(Record):
    """How the layout was planned (before any hand edits)."""

    requested: PlannerChoice = "auto"
    used: str = ""
    model: str = ""
    repairs: list[RepairRecord] = Field(default_factory=list)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    planned_layout: LayoutRecord | None = None

    @classmethod
    def from_proto(cls, requested: PlannerChoice, reply: layout_pb2.PlanLayoutResponse) -> PlanRecord:
        return cls(
            requested=requested,
            used=PLANNER_NAMES.get(reply.planner_used, "unknown"),
            model=reply.model,
            repairs=[RepairRecord(field=r.field, description=r.description) for r in reply.repairs],
            attempts=[
                AttemptRecord(
                    planner=PLANNER_NAMES.get(a.planner, "unknown"),
                    outcome=a.outcome,
                    error=a.error,
                    problems=[ProblemRecord.from_proto(p) for p in a.problems],
                )
                for a in reply.attempts
            ],
            planned_layout=LayoutRecord.from_proto(reply.layout),
        )

    @property
    def description(self) -> str:
        """ "offline planner (auto asked)" or "LLM planner, gpt-4o-mini"."""
        used = {"llm": "LLM planner", "offline": "offline planner"}.get(self.used, f"{self.used} planner")
        extra = [self.model] if self.model else []
        if self.requested != self.used:
            extra.append(f"{self.requested} asked")
        return f"{used} ({', '.join(extra)})" if extra else used


class RenderParams(Record):
    steps: int = Field(default=28, ge=1, le=200)
    guidance: float = Field(default=7.0, ge=0.0, le=50.0)
    width: int = Field(default=1024, ge=16, le=4096)
    height: int = Field(default=1024, ge=16, le=4096)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    preview_interval: int = Field(default=5, ge=0, le=200)
    negative_prompt: str = ""


class OutputFiles(Record):
    """File names (relative to the session file's folder) of what the session produced."""

    image: str | None = None
    layout_on_image: str | None = None
    layout_on_white: str | None = None
    summary_png: str | None = None
    summary_pdf: str | None = None


class RenderOutcome(Record):
    engine: str
    model: str = ""
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    layout_steps: int = 0
    job_id: str = ""
    queued_seconds: float = 0.0
    total_seconds: float = 0.0
    first_preview_seconds: float = 0.0
    seconds_per_step: float = 0.0
    server_files: list[str] = Field(default_factory=list)
    attempts: int = 1
    #: The steps the request asked for; `steps` is what the engine ran (layers, for a draft).
    steps_requested: int = 0
    #: What a person must know about the image (a draft mock-up says so); shown with it.
    notice: str = ""

    @classmethod
    def from_proto(cls, meta: render_pb2.RenderMetadata, attempts: int = 1) -> RenderOutcome:
        return cls(
            engine=meta.engine,
            model=meta.model,
            seed=meta.seed,
            steps=meta.steps,
            guidance=round(meta.guidance, 4),
            width=meta.width,
            height=meta.height,
            layout_steps=meta.layout_steps,
            job_id=meta.job_id,
            queued_seconds=meta.queued_seconds,
            total_seconds=meta.total_seconds,
            first_preview_seconds=meta.first_preview_seconds,
            seconds_per_step=meta.seconds_per_step,
            server_files=list(meta.saved_files),
            attempts=attempts,
            steps_requested=meta.steps_requested,
            notice=meta.notice,
        )


class SummaryRecord(Record):
    """What the summary image shows, so a reader can check it without reading pixels."""

    sections: dict[str, list[str]] = Field(default_factory=dict)
    #: Where each part sits in the summary image: name -> [left, top, right, bottom] pixels.
    regions: dict[str, list[int]] = Field(default_factory=dict)
    size: list[int] = Field(default_factory=list)


def global_prompt(layout: LayoutRecord) -> str:
    """The render's global prompt, from the layout's title and mood."""
    title = layout.title.strip()
    mood = layout.mood.strip()
    if title and mood:
        return f'Movie thumbnail for "{title}", {mood}'
    return f'Movie thumbnail for "{title}"' if title else mood
