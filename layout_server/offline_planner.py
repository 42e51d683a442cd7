"""The offline planner: a valid layout from the scenario, plots and genres with no network.

Deterministic (the same request always gives the same layout: choices use a SHA-256 of the input,
never `hash()` or a random generator) and fast (a few milliseconds). A poster template is chosen
by genre and plot words; its slots are filled with noun phrases from the scenario and plots
(scenario first), then with the genres' stock figures, settings and props; the mood comes from the
genres and starts with their style word.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from layout_server import plot_phrases
from layout_server.genre_vocabulary import FALLBACK_GENRE, GenreLook, Stock, look_for, rank_genres, style_for
from layout_server.layout_repair import repair_layout
from layout_server.layout_rules import MAX_NAME_CHARS, ForbiddenNames, names_in_plot, validate_layout
from layout_server.plot_phrases import Phrase, extract_phrases, word_counts
from layout_server.poster_templates import TEMPLATES, TEMPLATES_BY_NAME, PosterTemplate
from marquee.v1 import common_pb2, layout_pb2

SCENARIO_WEIGHT = 2.0
PLOT_WEIGHT = 1.0


@dataclass(frozen=True)
class OfflinePlan:
    layout: layout_pb2.Layout
    template: str
    genres: tuple[str, ...]


class _Seed:
    """Deterministic choices derived from the request's text."""

    def __init__(self, *parts: str) -> None:
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
        self._value = int.from_bytes(digest, "big")

    def pick(self, salt: str, count: int) -> int:
        if count <= 1:
            return 0
        mixed = hashlib.sha256(f"{self._value}:{salt}".encode()).digest()
        return int.from_bytes(mixed[:8], "big") % count

    def jitter(self, salt: str, scale: float) -> float:
        return self.pick(salt, 1000) / 1000 * scale


def _title_case(text: str) -> str:
    small = {"of", "the", "in", "a", "an", "and", "on", "at", "to", "over", "for"}
    words = text.split()
    return " ".join(word if (i and word in small) else word[:1].upper() + word[1:] for i, word in enumerate(words))


class _Filler:
    """Hands out objects for slots: plot phrases first, then stock objects, never the same name
    twice and never one that names a movie or a person."""

    def __init__(
        self, phrases: Sequence[Phrase], looks: Sequence[GenreLook], seed: _Seed, names: ForbiddenNames
    ) -> None:
        self._phrases = phrases
        self._looks = looks
        self._seed = seed
        self._names = names
        self._used: set[str] = set()

    def _clean(self, name: str, feature: str) -> bool:
        return (
            not any(self._names.movie_named_in(text) or self._names.person_named_in(text) for text in (name, feature))
            and name not in self._used
            and len(name) <= MAX_NAME_CHARS
        )

    def _feature_for(self, phrase: Phrase, slot_index: int) -> str:
        look = self._looks[slot_index % len(self._looks)]
        options = {
            "figure": look.figure_features,
            "creature": look.figure_features,
            "setting": look.setting_features,
            "thing": look.thing_features,
        }[phrase.kind]
        return options[self._seed.pick(f"feature:{phrase.noun}", len(options))]

    def _from_plots(self, kinds: Sequence[str], slot_index: int) -> tuple[str, str] | None:
        for kind in kinds:
            for phrase in self._phrases:
                if phrase.kind != kind:
                    continue
                name, feature = phrase.text, self._feature_for(phrase, slot_index)
                if self._clean(name, feature):
                    return name, feature
        return None

    def _stock(self, role: str) -> Iterator[Stock]:
        for look in self._looks:
            pools = {
                "hero": look.figures,
                "second": look.figures,
                "crowd": look.figures,
                "setting": look.settings,
                "thing": look.things,
                "threat": look.threats,
            }[role]
            yield from pools
        if role in ("second", "crowd", "threat"):
            for look in self._looks:
                yield from look.figures if role != "threat" else look.things

    def take(self, role: str, slot_index: int) -> tuple[str, str]:
        kinds = {
            "hero": ("figure", "creature"),
            "second": ("figure", "creature"),
            "crowd": ("figure", "creature"),
            "setting": ("setting",),
            "thing": ("thing",),
            "threat": ("creature",),
        }[role]
        chosen = self._from_plots(kinds, slot_index)
        if chosen is None:
            chosen = next(((s.name, s.feature) for s in self._stock(role) if self._clean(s.name, s.feature)), None)
        if chosen is None:  # every stock name already used or forbidden
            base = {
                "hero": "central figure",
                "second": "second figure",
                "crowd": "onlooker",
                "setting": "backdrop",
                "thing": "key object",
                "threat": "looming shadow",
            }[role]
            name = base
            suffix = 2
            while name in self._used:
                name, suffix = f"{base} {suffix}", suffix + 1
            chosen = (name, "in sharp focus")
        self._used.add(chosen[0])
        return chosen


class OfflinePlanner:
    """Plans layouts from templates and plot phrases; see the module docstring."""

    @staticmethod
    def clear_caches() -> None:
        """Forgets what was learnt from texts seen before (phrases, words, names)."""
        plot_phrases.clear_caches()
        names_in_plot.cache_clear()

    def choose_template(
        self, counts: Counter[str], looks_weights: Sequence[tuple[str, float]], figures: int, seed: _Seed
    ) -> PosterTemplate:
        total = sum(weight for _, weight in looks_weights[:3]) or 1.0

        def score(template: PosterTemplate) -> float:
            genre_fit = sum(weight / total * template.genres.get(genre, 0.0) for genre, weight in looks_weights[:3])
            cue_fit = 0.4 * min(3, sum(counts[word] for word in template.cues))
            cast_fit = 0.3 if figures >= template.figures_needed else 0.0
            return genre_fit + cue_fit + cast_fit + seed.jitter(template.name, 0.6)

        return max(TEMPLATES, key=lambda template: (score(template), template.name))

    def plan(
        self,
        scenario: str,
        context: layout_pb2.PlanningContext | None = None,
        names: ForbiddenNames | None = None,
        *,
        template: str | None = None,
    ) -> OfflinePlan:
        """A valid layout for `scenario` and `context`; `template` forces a composition."""
        context = context or layout_pb2.PlanningContext()
        movies: Sequence[common_pb2.Movie] = list(context.recommended_movies)
        names = names or ForbiddenNames.from_movies(movies)
        watched = list(context.watched_top_genres)
        ranked = rank_genres(watched, [list(m.genres) for m in movies]) or [(FALLBACK_GENRE, 1.0)]
        looks = [look_for(genre) for genre, _ in ranked[:3]]
        plots = [m.plot for m in movies]
        seed = _Seed(scenario, "|".join(watched), *(f"{m.title}:{m.plot}" for m in movies))

        phrases = extract_phrases([(scenario, SCENARIO_WEIGHT), *((p, PLOT_WEIGHT) for p in plots)])
        figures = sum(1 for p in phrases if p.kind in ("figure", "creature"))
        chosen = (
            TEMPLATES_BY_NAME[template]
            if template is not None
            else self.choose_template(word_counts([scenario, *plots]), ranked, figures, seed)
        )

        filler = _Filler(phrases, looks, seed, names)
        layout = layout_pb2.Layout()
        # Fill the slots that carry the story first, so the plot's strongest phrases land on
        # the hero and the key object rather than on the crowd.
        order = sorted(range(len(chosen.slots)), key=lambda i: _ROLE_PRIORITY[chosen.slots[i].role])
        filled: dict[int, tuple[str, str]] = {i: filler.take(chosen.slots[i].role, i) for i in order}
        for index, slot in enumerate(chosen.slots):
            name, feature = filled[index]
            x1, y1, x2, y2 = slot.box
            layout.objects.add(name=name, feature=feature, box=common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2))
        layout.mood = self._mood(ranked, looks)
        layout.title = self._title(filled, chosen, looks, seed, names)

        problems = validate_layout(layout, names)
        if problems:
            layout, _repairs = repair_layout(layout, names, style_word=style_for(ranked))
            problems = validate_layout(layout, names)
        if problems:  # a bug in the templates or vocabulary, never the caller's fault
            raise RuntimeError(f"offline planner built an invalid layout: {problems}")
        return OfflinePlan(layout, chosen.name, tuple(genre for genre, _ in ranked))

    @staticmethod
    def _mood(ranked: Sequence[tuple[str, float]], looks: Sequence[GenreLook]) -> str:
        style = style_for(ranked)
        mood = f"{style}, {looks[0].mood}"
        if len(looks) > 1 and looks[1].mood != looks[0].mood:
            mood += f" with a touch of {looks[1].mood}"
        return f"{mood}, {looks[0].light}"

    @staticmethod
    def _title(
        filled: dict[int, tuple[str, str]],
        template: PosterTemplate,
        looks: Sequence[GenreLook],
        seed: _Seed,
        names: ForbiddenNames,
    ) -> str:
        by_role = {template.slots[i].role: name for i, (name, _) in sorted(filled.items())}
        hero = (by_role.get("hero") or by_role.get("thing") or "stranger").split()[-1]
        words = looks[0].title_words
        word = words[seed.pick("title-word", len(words))]
        patterns = [f"The Last {hero}", f"The {hero} and the {word}", f"{word} of the {hero}", word]
        if "setting" in by_role:
            place = by_role["setting"].split()[-1]
            patterns += [f"{word} over the {place}", f"Beyond the {place}"]
        start = seed.pick("title-pattern", len(patterns))
        for offset in range(len(patterns)):
            title = _title_case(patterns[(start + offset) % len(patterns)])
            if not names.movie_named_in(title) and not names.person_named_in(title):
                return title
        return "Untitled"


_ROLE_PRIORITY = {"hero": 0, "thing": 1, "setting": 2, "second": 3, "threat": 4, "crowd": 5}
