"""Step 1, Watched: search-as-you-type over the catalog, pick several movies (oldest first),
see the highlighted movie's title, year, genres and plot. The search runs in this step's worker,
the latest query only."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from client_tui.console.fields import StepInput
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.step import Step
from client_tui.errors import ServerError
from client_tui.records import MovieRecord

SEARCH_LIMIT = 50


def movie_details(movie: MovieRecord | None) -> Text:
    if movie is None:
        return Text("Highlight a movie to see its details.", style="dim")
    text = Text()
    text.append(movie.title, style="bold")
    if movie.year:
        text.append(f" ({movie.year})")
    text.append("\n")
    text.append(", ".join(movie.genres) or "no genres", style="italic")
    text.append("\n\n")
    text.append(movie.plot or "No plot available for this movie.", style="" if movie.plot else "dim")
    return text


class WatchedStep(Step):
    """Searches as the query changes (setting `results`); writes the picks into the session and
    posts `WatchedChanged`."""

    DEFAULT_CSS = """
    WatchedStep { layout: vertical; }
    WatchedStep #search { margin: 0 0 1 0; }
    WatchedStep Horizontal { height: 1fr; }
    WatchedStep .column { width: 1fr; }
    WatchedStep OptionList { height: 1fr; }
    WatchedStep #watched-list { height: 10; }
    WatchedStep #details { height: 1fr; border: round $primary; padding: 0 1; }
    WatchedStep Label.heading { text-style: bold; color: $accent; }
    """

    BINDINGS = [
        Binding("delete", "remove_watched", "Remove", show=False),
        # The search box does not use Down: it moves into the matches, as in any search list.
        Binding("down", "into_matches", "Matches", show=False),
    ]

    class WatchedChanged(Message):
        def __init__(self, watched: list[MovieRecord]) -> None:
            super().__init__()
            self.watched = watched

    results: reactive[list[MovieRecord]] = reactive(list, always_update=True, init=False)
    watched: reactive[list[MovieRecord]] = reactive(list, always_update=True, init=False)
    status: reactive[str] = reactive("", init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Counters and timings the tests and benchmarks read.
        self.search_generation = 0
        self.last_search: tuple[str, float] | None = None

    def compose(self) -> ComposeResult:
        yield StaleNotice(("recommendations",), id="watched-stale")
        yield StepInput(placeholder="Search the catalog: type a title (typos are fine)", id="search")
        with Horizontal():
            with Vertical(classes="column"):
                yield Label("Matches — Enter adds or removes", classes="heading", id="results-heading")
                yield OptionList(id="watched-results")
            with Vertical(classes="column"):
                yield Label("Watched, oldest first — Delete removes", classes="heading")
                yield OptionList(id="watched-list")
                yield Static(movie_details(None), id="details")

    async def show_session(self) -> None:
        self.watched = list(self.session.watched)

    @property
    def search_input(self) -> StepInput:
        return self.query_one("#search", StepInput)

    @on(StepInput.Changed, "#search")
    def _query_changed(self, event: StepInput.Changed) -> None:
        event.stop()
        self.search(event.value)

    @work(exclusive=True, group="search")
    async def search(self, query: str) -> None:
        started = time.perf_counter()
        if not query.strip():
            self.results = []
        else:
            try:
                hits = await self.gateway.search_movies(query.strip(), limit=SEARCH_LIMIT)
            except ServerError as error:
                self.report(error)
                return
            if not self.showing:
                return
            self.results = [MovieRecord.from_proto(hit.movie) for hit in hits]
        self.last_search = (query, time.perf_counter() - started)
        self.search_generation += 1

    @on(StepInput.Submitted, "#search")
    def _submit(self, event: StepInput.Submitted) -> None:
        event.stop()
        if self.results:
            self._toggle(self.results[0])

    def watch_results(self, results: list[MovieRecord]) -> None:
        chosen = {m.movie_id for m in self.watched}
        options = self.query_one("#watched-results", OptionList)
        same = [o.id for o in options.options] == [str(m.movie_id) for m in results]
        highlighted = options.highlighted
        options.set_options(
            Option(("✓ " if m.movie_id in chosen else "  ") + m.label, id=str(m.movie_id)) for m in results
        )
        if results:
            # New results start at the top; re-marked ones keep the cursor where it was.
            options.highlighted = highlighted if same and highlighted is not None else 0
        heading = f"Matches ({len(results)}) — Enter adds or removes" if results else "Matches — Enter adds or removes"
        self.query_one("#results-heading", Label).update(heading)

    def watch_watched(self, watched: list[MovieRecord]) -> None:
        options = self.query_one("#watched-list", OptionList)
        highlighted = options.highlighted
        options.set_options(Option(f"{i}. {m.label}", id=str(m.movie_id)) for i, m in enumerate(watched, 1))
        if watched:
            options.highlighted = min(highlighted or 0, len(watched) - 1)
        self.watch_results(self.results)

    def _toggle(self, movie: MovieRecord) -> None:
        if any(m.movie_id == movie.movie_id for m in self.watched):
            picks = [m for m in self.watched if m.movie_id != movie.movie_id]
        else:
            picks = [*self.watched, movie]
        self.watched = picks
        self.session.watched = list(picks)
        self.edited()
        self.post_message(self.WatchedChanged(picks))

    @on(OptionList.OptionSelected, "#watched-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._toggle(self.results[event.option_index])

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        source = self.results if event.option_list.id == "watched-results" else self.watched
        if 0 <= event.option_index < len(source):
            self.query_one("#details", Static).update(movie_details(source[event.option_index]))

    def action_into_matches(self) -> None:
        options = self.query_one("#watched-results", OptionList)
        if self.search_input.has_focus and options.option_count:
            options.focus()
            if options.highlighted is None:
                options.highlighted = 0

    def action_remove_watched(self) -> None:
        options = self.query_one("#watched-list", OptionList)
        if options.has_focus and options.highlighted is not None and self.watched:
            self._toggle(self.watched[options.highlighted])
