"""The session: every input, output and parameter of one run of the flow, as JSON.

`python -m client_tui run` writes it beside the summary; `--resume` and the console's "open
session" read it back to re-render or re-export. Images are not inlined: the session names the
files written beside it (fixed names, see `client_tui.export`).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from client_tui.server_caps import PlannerCaps, fit_context
from client_tui.staleness import image_drift, recommendation_drift
from marquee.v1 import common_pb2, layout_pb2, recommender_pb2, render_pb2

SESSION_FORMAT = "marquee.session"
SESSION_VERSION = 1

PlannerChoice = Literal["auto", "llm", "offline"]

PLANNER_TO_PROTO: dict[str, int] = {
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


class SessionError(ValueError):
    """A session file that cannot be used, with what is wrong."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MovieRecord(_Model):
    movie_id: int
    title: str
    year: int = 0
    genres: list[str] = Field(default_factory=list)
    plot: str = ""
    display_title: str = ""

    @classmethod
    def from_proto(cls, movie: common_pb2.Movie) -> "MovieRecord":
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
        """"Toy Story (1995)", the way MovieLens writes it."""
        if self.display_title:
            return self.display_title
        return f"{self.title} ({self.year})" if self.year else self.title


class Recommendation(_Model):
    movie: MovieRecord
    score: float
    rank: int

    @classmethod
    def from_proto(cls, scored: recommender_pb2.ScoredMovie) -> "Recommendation":
        return cls(movie=MovieRecord.from_proto(scored.movie), score=scored.score, rank=scored.rank)


class BoxRecord(_Model):
    """Normalised [x1, y1, x2, y2], origin top-left."""

    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_proto(cls, box: common_pb2.Box) -> "BoxRecord":
        # float32 on the wire: round so that 0.1 stays 0.1 in JSON and in the editor.
        return cls(x1=round(box.x1, 4), y1=round(box.y1, 4), x2=round(box.x2, 4), y2=round(box.y2, 4))

    def to_proto(self) -> common_pb2.Box:
        return common_pb2.Box(x1=self.x1, y1=self.y1, x2=self.x2, y2=self.y2)

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


class LayoutObjectRecord(_Model):
    name: str
    feature: str = ""
    box: BoxRecord

    @property
    def phrase(self) -> str:
        """What the render engine is asked to draw in the box."""
        return f"{self.name}, {self.feature}" if self.feature else self.name


class LayoutRecord(_Model):
    title: str = ""
    mood: str = ""
    objects: list[LayoutObjectRecord] = Field(default_factory=list)

    @classmethod
    def from_proto(cls, layout: layout_pb2.Layout) -> "LayoutRecord":
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
                layout_pb2.LayoutObject(name=o.name, feature=o.feature, box=o.box.to_proto())
                for o in self.objects
            ],
        )


class ProblemRecord(_Model):
    code: str
    field: str = ""
    message: str

    @classmethod
    def from_proto(cls, problem: layout_pb2.LayoutProblem) -> "ProblemRecord":
        return cls(code=problem.code, field=problem.field, message=problem.message)


class RepairRecord(_Model):
    field: str = ""
    description: str


class AttemptRecord(_Model):
    planner: str
    outcome: str
    error: str = ""
    problems: list[ProblemRecord] = Field(default_factory=list)


class PlanRecord(_Model):
    """How the layout was planned (before any hand edits)."""

    requested: PlannerChoice = "auto"
    used: str = ""
    model: str = ""
    repairs: list[RepairRecord] = Field(default_factory=list)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    planned_layout: LayoutRecord | None = None

    @classmethod
    def from_proto(cls, requested: PlannerChoice, reply: layout_pb2.PlanLayoutResponse) -> "PlanRecord":
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
        """"offline planner (auto asked)" or "LLM planner, gpt-4o-mini"."""
        used = {"llm": "LLM planner", "offline": "offline planner"}.get(self.used, f"{self.used} planner")
        extra = [self.model] if self.model else []
        if self.requested != self.used:
            extra.append(f"{self.requested} asked")
        return f"{used} ({', '.join(extra)})" if extra else used


class RenderParams(_Model):
    steps: int = Field(28, ge=1, le=200)
    guidance: float = Field(7.0, ge=0.0, le=50.0)
    width: int = Field(1024, ge=16, le=4096)
    height: int = Field(1024, ge=16, le=4096)
    seed: int | None = Field(None, ge=0, lt=2**63)
    preview_interval: int = Field(5, ge=0, le=200)
    negative_prompt: str = ""


class OutputFiles(_Model):
    """File names (relative to the session file's folder) of what the session produced."""

    image: str | None = None
    layout_on_image: str | None = None
    layout_on_white: str | None = None
    summary_png: str | None = None
    summary_pdf: str | None = None


class RenderOutcome(_Model):
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
    def from_proto(cls, meta: render_pb2.RenderMetadata, attempts: int = 1) -> "RenderOutcome":
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


class SummaryRecord(_Model):
    """What the summary image shows, so a reader can check it without reading pixels."""

    sections: dict[str, list[str]] = Field(default_factory=dict)
    #: Where each part sits in the summary image: name -> [left, top, right, bottom] pixels.
    regions: dict[str, list[int]] = Field(default_factory=dict)
    size: list[int] = Field(default_factory=list)


class MadeFrom(_Model):
    """What each downstream product was made from, recorded when it was made. A later change
    upstream then shows as out of date (`Session.stale_steps`) instead of a session that
    contradicts itself. None: not recorded (sessions saved before this existed), never stale."""

    #: The watched movie ids, oldest first, and the k the recommendations were asked with.
    recommended_from: list[int] | None = None
    recommended_k: int | None = None
    #: The scenario the layout was planned from.
    planned_scenario: str | None = None
    #: The layout, global prompt and parameters the image was rendered from.
    rendered_layout: LayoutRecord | None = None
    rendered_prompt: str | None = None
    rendered_params: RenderParams | None = None


#: The products that can go out of date, upstream first.
STALE_STEPS = ("recommendations", "scenario", "layout", "image")


class Session(_Model):
    format: Literal["marquee.session"] = SESSION_FORMAT
    version: Literal[1] = SESSION_VERSION
    #: Random hex, never derived from user text: it may name an output folder.
    session_id: str = Field(default_factory=lambda: secrets.token_hex(6), pattern=r"^[0-9a-f]{4,32}$")
    watched: list[MovieRecord] = Field(default_factory=list)
    k: int = Field(5, ge=1, le=10)
    recommendations: list[Recommendation] = Field(default_factory=list)
    recommender_model: str = ""
    recommender_version: str = ""
    top_genres: list[str] = Field(default_factory=list)
    scenario: str = ""
    planner: PlannerChoice = "auto"
    #: None: the planner's default instruction.
    system_instruction: str | None = None
    plan: PlanRecord | None = None
    layout: LayoutRecord | None = None
    problems: list[ProblemRecord] = Field(default_factory=list)
    global_prompt: str = ""
    render: RenderParams = Field(default_factory=RenderParams)
    result: RenderOutcome | None = None
    files: OutputFiles = Field(default_factory=OutputFiles)
    #: Seconds per step of the flow: "search", "recommend", "plan", "render", "summary".
    timings: dict[str, float] = Field(default_factory=dict)
    summary: SummaryRecord | None = None
    made_from: MadeFrom = Field(default_factory=MadeFrom)

    # -- what each product was made from ------------------------------------------------------

    def record_recommended(self) -> None:
        """Call when the recommendations (and the pre-filled scenario) were just made."""
        self.made_from.recommended_from = [m.movie_id for m in self.watched]
        self.made_from.recommended_k = self.k

    def record_planned(self) -> None:
        """Call when the layout was just planned from `scenario`."""
        self.made_from.planned_scenario = self.scenario

    def record_rendered(self) -> None:
        """Call when `result` was just rendered; copies, because layouts and params are edited."""
        self.made_from.rendered_layout = self.layout.model_copy(deep=True) if self.layout else None
        self.made_from.rendered_prompt = self.current_prompt()
        self.made_from.rendered_params = self.render.model_copy(deep=True)

    def current_prompt(self) -> str:
        return self.global_prompt or (global_prompt(self.layout) if self.layout is not None else "")

    def stale_steps(self) -> dict[str, str]:
        """Each product that no longer matches what it was made from -> why, in words, upstream
        first. A product made from a stale one is stale too."""
        stale: dict[str, str] = {}
        made = self.made_from
        if self.recommendations and made.recommended_from is not None:
            now = [m.movie_id for m in self.watched]
            reason = recommendation_drift(made.recommended_from, made.recommended_k, now, self.k)
            if reason:
                stale["recommendations"] = reason
        if "recommendations" in stale and self.scenario.strip():
            stale["scenario"] = "the scenario was written from out-of-date recommendations"
        if self.layout is not None:
            if "scenario" in stale:
                stale["layout"] = "the layout was planned from an out-of-date scenario"
            elif made.planned_scenario is not None and made.planned_scenario != self.scenario:
                stale["layout"] = "the scenario was edited after the layout was planned"
        if self.result is not None:
            reason = (
                "the image was rendered from an out-of-date layout"
                if "layout" in stale
                else image_drift(made.rendered_layout, made.rendered_prompt, made.rendered_params,
                                 self.layout, self.current_prompt(), self.render)
            )
            if reason:
                stale["image"] = reason
        return stale

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "session") -> "Session":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SessionError(f"{source} is not JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != SESSION_FORMAT:
            raise SessionError(f"{source} is not a Marquee session (no \"format\": \"{SESSION_FORMAT}\")")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'session'}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise SessionError(f"{source} is not a valid session: {problems}") from exc

    @classmethod
    def load(cls, path: Path) -> "Session":
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return cls.from_json(text, source=str(path))


def global_prompt(layout: LayoutRecord) -> str:
    """The render's global prompt, from the layout's title and mood."""
    title = layout.title.strip()
    mood = layout.mood.strip()
    if title and mood:
        return f'Movie thumbnail for "{title}", {mood}'
    return f'Movie thumbnail for "{title}"' if title else mood


def render_request(session: Session) -> render_pb2.RenderRequest:
    """The render job the session describes (its layout, prompt and parameters)."""
    if session.layout is None:
        raise SessionError("the session has no layout to render; plan one first")
    params = session.render
    request = render_pb2.RenderRequest(
        prompt=session.global_prompt or global_prompt(session.layout),
        objects=[
            render_pb2.RenderObject(phrase=o.phrase, box=o.box.to_proto()) for o in session.layout.objects
        ],
        steps=params.steps,
        guidance=params.guidance,
        width=params.width,
        height=params.height,
        preview_interval=params.preview_interval,
        title=session.layout.title,
        mood=session.layout.mood,
        genres=session.top_genres,
        negative_prompt=params.negative_prompt,
    )
    if params.seed is not None:
        request.seed = params.seed
    return request


def planning_context(session: Session, caps: PlannerCaps | None = None) -> layout_pb2.PlanningContext:
    """The context the planner gets, clipped to the layout server's caps (its defaults when
    `caps` is None): the client fills it from server data on the person's behalf, so a long plot
    must never make planning fail."""
    context = layout_pb2.PlanningContext(
        watched_top_genres=session.top_genres,
        recommended_movies=[r.movie.to_proto() for r in session.recommendations],
    )
    return fit_context(context, caps or PlannerCaps())
