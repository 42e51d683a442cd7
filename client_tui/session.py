"""The session: every input, output and parameter of one run of the flow, as JSON.

`python -m client_tui run` writes it beside the summary; `--resume` and the console's "open
session" read it back to re-render or re-export. Images are not inlined: the session names the
files written beside it (fixed names, see `client_tui.export`). Its parts are in
`client_tui.records`; what it was made from decides what is out of date (`stale_steps`).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, ValidationError

from client_tui.records import (
    LayoutRecord,
    MovieRecord,
    OutputFiles,
    PlannerChoice,
    PlanRecord,
    ProblemRecord,
    Recommendation,
    Record,
    RenderOutcome,
    RenderParams,
    SummaryRecord,
    global_prompt,
)
from client_tui.server_caps import PlannerCaps, fit_context
from client_tui.staleness import image_drift, recommendation_drift
from marquee.v1 import layout_pb2, render_pb2

SESSION_FORMAT: Final = "marquee.session"
SESSION_VERSION: Final = 1


class SessionError(ValueError):
    """A session file that cannot be used, with what is wrong."""


class MadeFrom(Record):
    """What each downstream product was made from, recorded when it was made. A later change
    upstream then shows as out of date (`Session.stale_steps`) instead of a session that
    contradicts itself. None: not recorded (sessions saved before this existed), never stale."""

    #: The watched movie ids, oldest first, and the k the recommendations were asked with.
    recommended_from: list[int] | None = None
    recommended_k: int | None = None
    #: The scenario as Marquee wrote it from the recommendations; while `scenario` still equals
    #: it, the person has not made it theirs, so it may be written again (to fit another cap).
    generated_scenario: str | None = None
    #: The scenario the layout was planned from.
    planned_scenario: str | None = None
    #: The layout, global prompt and parameters the image was rendered from.
    rendered_layout: LayoutRecord | None = None
    rendered_prompt: str | None = None
    rendered_params: RenderParams | None = None


#: The products that can go out of date, upstream first.
STALE_STEPS = ("recommendations", "scenario", "layout", "image")


class Session(Record):
    format: Literal["marquee.session"] = SESSION_FORMAT
    version: Literal[1] = SESSION_VERSION
    #: Random hex, never derived from user text: it may name an output folder.
    session_id: str = Field(default_factory=lambda: secrets.token_hex(6), pattern=r"^[0-9a-f]{4,32}$")
    watched: list[MovieRecord] = Field(default_factory=list)
    k: int = Field(default=5, ge=1, le=10)
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

    def scenario_is_generated(self) -> bool:
        """True while the scenario is exactly the one Marquee wrote (the person has not edited it)."""
        return bool(self.scenario.strip()) and self.scenario == self.made_from.generated_scenario

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
                else image_drift(
                    made.rendered_layout,
                    made.rendered_prompt,
                    made.rendered_params,
                    self.layout,
                    self.current_prompt(),
                    self.render,
                )
            )
            if reason:
                stale["image"] = reason
        return stale

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "session") -> Session:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SessionError(f"{source} is not JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != SESSION_FORMAT:
            raise SessionError(f'{source} is not a Marquee session (no "format": "{SESSION_FORMAT}")')
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'session'}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise SessionError(f"{source} is not a valid session: {problems}") from exc

    @classmethod
    def load(cls, path: Path) -> Session:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return cls.from_json(text, source=str(path))


def render_request(session: Session) -> render_pb2.RenderRequest:
    """The render job the session describes (its layout, prompt and parameters)."""
    if session.layout is None:
        raise SessionError("the session has no layout to render; plan one first")
    params = session.render
    request = render_pb2.RenderRequest(
        prompt=session.global_prompt or global_prompt(session.layout),
        objects=[render_pb2.RenderObject(phrase=o.phrase, box=o.box.to_proto()) for o in session.layout.objects],
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
        watched_top_genres=session.top_genres, recommended_movies=[r.movie.to_proto() for r in session.recommendations]
    )
    return fit_context(context, caps or PlannerCaps())
