"""Step 2, Recommendations: choose k (1-10), ask, see the ranked movies with score, genres and
the highlighted one's plot. The call runs in this step's worker."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.validation import Integer
from textual.widgets import Button, DataTable, Label, Static

from client_tui import flow
from client_tui.console.fields import StepInput, parse_int
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.step import Step
from client_tui.console.watched_step import movie_details
from client_tui.errors import ServerError
from client_tui.records import Recommendation


class RecommendationsStep(Step):
    DEFAULT_CSS = """
    RecommendationsStep { layout: vertical; }
    RecommendationsStep #controls { height: 3; }
    RecommendationsStep #controls Label { padding: 1 1 0 0; }
    RecommendationsStep #k { width: 10; }
    RecommendationsStep #rec-status { padding: 1 0 0 2; color: $text-muted; width: 1fr; }
    RecommendationsStep DataTable { height: 1fr; }
    RecommendationsStep #rec-details { height: 10; border: round $primary; padding: 0 1; }
    """

    class Recommended(Message):
        """New recommendations, and the scenario written from them, are in the session."""

    recommendations: reactive[list[Recommendation]] = reactive(list, always_update=True, init=False)
    busy: reactive[bool] = reactive(False, init=False)
    status: reactive[str] = reactive("Choose watched movies first (F1), then recommend.", init=False)

    def compose(self) -> ComposeResult:
        yield StaleNotice(("recommendations",), id="recommendations-stale")
        with Horizontal(id="controls"):
            yield Label("k (1-10)")
            # Empty until `set_k`: an initial value would post Changed after the session's k is
            # set, and silently overwrite it.
            yield StepInput("", id="k", type="integer", validators=[Integer(1, 10)], max_length=2)
            yield Button("Recommend", id="recommend", variant="primary")
            yield Label(self.status, id="rec-status")
        table: DataTable[str] = DataTable(id="recommendations-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "Movie", "Score", "Genres")
        yield table
        yield Static(movie_details(None), id="rec-details")

    async def show_session(self) -> None:
        self.set_k(self.session.k)
        self.recommendations = list(self.session.recommendations)

    def set_k(self, k: int) -> None:
        k_input = self.query_one("#k", StepInput)
        with k_input.prevent(StepInput.Changed):
            k_input.value = str(k)

    def request(self) -> None:
        """Checks k and recommends (F6, the button and Enter all come here)."""
        k = parse_int(self.query_one("#k", StepInput).value)
        if k is None or not 1 <= k <= 10:
            self.status = "k must be a whole number from 1 to 10."
            return
        self.session.k = k
        self.recommend()

    @work(exclusive=True, group="recommend")
    async def recommend(self) -> None:
        session = self.session
        if not session.watched:
            self.notify("Pick at least one watched movie first (F1).", severity="warning")
            return
        self.busy = True
        self.status = f"Recommending {session.k} ..."
        try:
            await flow.recommend(self.gateway, session, self.planner_caps)
        except (ServerError, flow.InputError) as error:
            if self.showing:
                self.status = "Recommendation failed; see the notification."
            self.report(error)
            return
        finally:
            if self.showing:
                self.busy = False
        if not self.showing:
            return
        self.recommendations = list(session.recommendations)
        model = session.recommender_model or "the model"
        self.status = (
            f"{len(session.recommendations)} recommendations by {model} in "
            f"{session.timings['recommend'] * 1000:.0f} ms. The scenario is ready (F3)."
        )
        self.post_message(self.Recommended())
        self.edited()

    @on(StepInput.Changed, "#k")
    def _k_changed(self, event: StepInput.Changed) -> None:
        event.stop()
        k = parse_int(event.value)
        if k is not None and 1 <= k <= 10:
            self.session.k = k
            self.edited()

    @on(Button.Pressed, "#recommend")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.request()

    @on(StepInput.Submitted, "#k")
    def _submitted(self, event: StepInput.Submitted) -> None:
        event.stop()
        self.request()

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#recommend", Button).disabled = busy

    def watch_status(self, status: str) -> None:
        self.query_one("#rec-status", Label).update(status)

    def watch_recommendations(self, recommendations: list[Recommendation]) -> None:
        table = self.query_one("#recommendations-table", DataTable)
        table.clear()
        for rec in recommendations:
            table.add_row(str(rec.rank), rec.movie.label, f"{rec.score:.2f}", ", ".join(rec.movie.genres))
        details = self.query_one("#rec-details", Static)
        details.update(movie_details(recommendations[0].movie if recommendations else None))

    @on(DataTable.RowHighlighted)
    def _row(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.recommendations):
            self.query_one("#rec-details", Static).update(movie_details(self.recommendations[event.cursor_row].movie))
