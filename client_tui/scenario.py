"""The scenario pre-filled the way the seed did: the watched movies' top genres as a mood
preference, then the recommended movies' plots. The operator edits it before planning."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from client_tui.records import MovieRecord
from client_tui.server_caps import ELLIPSIS, SCENARIO_PLOT_CHARS, clip_text

TOP_GENRES = 3


def top_genres(watched: Sequence[MovieRecord], n: int = TOP_GENRES) -> list[str]:
    """The most frequent genres of the watched movies, most frequent first; ties keep the order
    in which the genres first appear (oldest watched first), so the result is stable."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for movie in watched:
        for genre in movie.genres:
            counts[genre] += 1
            first_seen.setdefault(genre, len(first_seen))
    ranked = sorted(counts, key=lambda g: (-counts[g], first_seen[g]))
    return ranked[:n]


def default_scenario(
    genres: Sequence[str],
    recommended: Sequence[MovieRecord],
    *,
    max_plot_chars: int = SCENARIO_PLOT_CHARS,
    max_chars: int = 0,
) -> str:
    """Builds the editable scenario text. `max_chars` (the planner's cap, 0 = none) shortens the
    plots evenly so that the whole fits; the result is never longer than `max_chars`."""
    if genres:
        head = (
            f"Mood preference: {', '.join(genres)} — the genres I watch most. "
            "Design one movie thumbnail that feels like them and brings together the stories below."
        )
    else:
        head = "Design one movie thumbnail that brings together the stories below."
    plot_limit = max_plot_chars
    while True:
        lines = [head, ""]
        for movie in recommended:
            plot = clip_text(movie.plot, plot_limit) if movie.plot else "(no plot available)"
            lines.append(f"- {movie.label}: {plot}")
        text = "\n".join(lines).strip()
        if not max_chars or len(text) <= max_chars:
            return text
        if plot_limit <= 40:
            # Even short plots do not fit a tiny cap: cut the text itself (it is ours, not the person's).
            return text[: max_chars - 1].rstrip() + ELLIPSIS
        plot_limit = max(40, int(plot_limit * 0.8))
