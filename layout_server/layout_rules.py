"""The rules every thumbnail layout must follow, whoever wrote it (the LLM, the offline planner or
an operator editing by hand), and the check that lists every broken rule.

The renderer (CreatiLayout) was trained on 3-5 large boxes; smaller boxes or more objects give
muddled images, and names of movies or people mean nothing to it (and would copy someone's
property). Five boxes of area >= 0.16 cannot tile a unit square, so boxes may overlap.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from layout_server.word_tokens import SENTENCE_STOPS, word_tokens
from marquee.titles import fold, split_year, strip_article, title_parts
from marquee.v1 import common_pb2, layout_pb2

MIN_OBJECTS = 3
MAX_OBJECTS = 5
MIN_BOX_AREA = 0.16
# Boxes travel as float32 and models write 3-4 decimals: 0.4 x 0.4 comes out as 0.15999999 or
# 0.16000001 depending on where the box sits. Areas within this much of the minimum pass.
AREA_TOLERANCE = 1e-4
MAX_TITLE_CHARS = 80
MAX_MOOD_CHARS = 200
MAX_NAME_CHARS = 60
MAX_FEATURE_CHARS = 120

#: The words a mood line may start with (the image's overall style, lower case).
STYLE_WORDS: tuple[str, ...] = (
    "realistic",
    "photorealistic",
    "cinematic",
    "photographic",
    "documentary",
    "animated",
    "cartoon",
    "anime",
    "illustrated",
    "storybook",
    "painterly",
    "watercolor",
    "noir",
    "vintage",
    "retro",
    "minimalist",
    "surreal",
    "gothic",
    "dreamlike",
    "stylized",
    "graphic",
    "comic",
    "claymation",
    "pastel",
    "monochrome",
    "psychedelic",
    "epic",
    "gritty",
)
_STYLE_SET = frozenset(STYLE_WORDS)

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_HONORIFIC = re.compile(
    r"\b(Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady|Saint|St|Captain|Capt|Agent|Detective|Professor|"
    r"Prof|Sergeant|Sgt|Colonel|General|Uncle|Aunt|King|Queen|Prince|Princess|Count|Countess|"
    r"Baron|Father|Sister|Brother)\.?\s+[A-Z][a-z]+"
)
# Capitalised words of plots that are not names of people (start of quotes, titles, places).
_NOT_NAMES = frozenset(
    """I I'm I'll I've I'd A An The This That These Those He She It They We You His Her Its Their
    Our Your When While After Before But And Or So Yet Then Now Meanwhile However Although Though
    As At In On Of For From To With Without By Into Onto Over Under Once Soon Later One Two Three
    Four Five Six Seven Eight Nine Ten First Second Third Last Next New Old Young Little Big Great
    Mr Mrs Ms Dr Sir God Lord Heaven Hell Earth World War Army Navy Air Force Marine Marines Police
    America American Americans British English French German Germans Italian Irish Japanese
    Chinese Russian Russians Soviet Mexican Spanish Indian African European Nazi Nazis Jewish
    Christian Catholic Muslim Christmas Easter Halloween Thanksgiving Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday January February March April May June July August September
    October November December North South East West Northern Southern Eastern Western United
    States Kingdom Empire Republic City County Town Street Avenue Island Islands River Lake Mount
    Mountains Valley High School College University Academy Institute Hospital Prison Station
    Hotel House White Black Red Blue Green Golden Dark Star Stars Space Planet Moon Sun Galaxy
    Federation Rebel Rebels Jedi Sith Civil Cold Depression Renaissance Victorian Medieval
    Vietnam Korea Korean Vietnamese France Germany England Britain London Paris Rome Italy
    Spain Mexico Africa Europe Asia China Japan Russia India Ireland Scotland Canada Australia
    Texas California Chicago Boston Washington Vegas Los Angeles York Hollywood Manhattan
    Brooklyn Jersey Florida Alaska Hawaii Oscar Academy Award Olympic Olympics Super Bowl
    Internet TV""".split()
)


def _fold(text: str) -> str:
    """Folded (`marquee.titles.fold`) and padded, so a phrase matches whole words only."""
    return f" {fold(text)} "


def _title_cores(title: str) -> list[str]:
    """The ways a title may be written: "City of Lost Children, The (Cite des enfants perdus,
    La)" gives "city of lost children" and "cite des enfants perdus"."""
    name, _year = split_year(title)
    # Titles of the form "Shawshank Redemption, The" (MovieLens) are matched without the article.
    return [core for core in (strip_article(part) for part in title_parts(name)) if core]


@lru_cache(maxsize=2048)
def names_in_plot(plot: str) -> frozenset[str]:
    """Capitalised words that are not at the start of a sentence: mostly names of characters
    ("Andy", "Woody"), which a layout must not use."""
    tokens = word_tokens(plot)[0]
    # The first token, and any after a sentence stop, starts a sentence and is skipped.
    capitalised = {
        token.split("'")[0]
        for before, token in itertools.pairwise(tokens)
        if token[0].isupper() and before not in SENTENCE_STOPS and not token.isupper()
    }
    found = {word for word in capitalised if len(word) >= 3 and word not in _NOT_NAMES}
    return frozenset(found)


@dataclass(frozen=True)
class ForbiddenNames:
    """What a layout must not name: the recommended movies and the people in their plots."""

    #: Folded titles of two or more words, matched in any case.
    phrases: tuple[tuple[str, str], ...] = ()
    #: One-word titles ("Heat", "Jaws"), matched only when capitalised as a name.
    single_words: tuple[tuple[str, str], ...] = ()
    #: Capitalised names from the plots ("Andy"), matched only when capitalised.
    people: frozenset[str] = frozenset()

    @classmethod
    def from_context(cls, context: layout_pb2.PlanningContext | None) -> ForbiddenNames:
        return cls.from_movies(context.recommended_movies if context is not None else ())

    @classmethod
    def from_movies(cls, movies: Iterable[common_pb2.Movie]) -> ForbiddenNames:
        phrases: dict[str, str] = {}
        singles: dict[str, str] = {}
        people: set[str] = set()
        for movie in movies:
            for title in {movie.title, movie.display_title} - {""}:
                for core in _title_cores(title):
                    folded = _fold(core)
                    if len(folded.split()) >= 2:
                        phrases.setdefault(folded, core)
                    elif len(folded.strip()) >= 3:
                        word = core.strip(" .,!?'\"")
                        singles.setdefault(word[:1].upper() + word[1:], movie.title or title)
            people |= names_in_plot(movie.plot)
        return cls(tuple(phrases.items()), tuple(singles.items()), frozenset(people))

    def movie_named_in(self, text: str) -> str | None:
        """The recommended title `text` names, if any."""
        folded = _fold(text)
        for phrase, title in self.phrases:
            if phrase in folded:
                return title
        for word, title in self.single_words:
            for match in re.finditer(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text):
                # "Heat haze" capitalises a common word at the start of a phrase; "Heat" alone
                # or "a Heat-style shootout" use the title.
                rest = text[match.end() :].lstrip(" -")
                if match.start() == len(text) - len(text.lstrip()) and rest[:1].islower():
                    continue
                return title
        return None

    def person_named_in(self, text: str) -> str | None:
        """A person's or character's name in `text`, if any."""
        honorific = _HONORIFIC.search(text)
        if honorific:
            return honorific.group(0)
        for match in _WORD.finditer(text):
            base = match.group(0).split("'")[0]
            if base in self.people:
                return base
        return None


def box_area(box: common_pb2.Box) -> float:
    return (float(box.x2) - float(box.x1)) * (float(box.y2) - float(box.y1))


def style_word_of(mood: str) -> str:
    """The first word of a mood line, lower case ("" when there is none)."""
    match = re.match(r"\s*([A-Za-z][A-Za-z0-9\-]*)", mood)
    return match.group(1).lower() if match else ""


def is_style_word(word: str) -> bool:
    return word.lower() in _STYLE_SET


def _problem(code: str, field: str, message: str) -> layout_pb2.LayoutProblem:
    return layout_pb2.LayoutProblem(code=code, field=field, message=message)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def box_problems(box: common_pb2.Box, field: str) -> list[layout_pb2.LayoutProblem]:
    """Every problem of one box; `field` names it, e.g. "objects[2].box"."""
    coords = {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2}
    bad = [name for name, value in coords.items() if not math.isfinite(value)]
    if bad:
        return [
            _problem("box_not_finite", field, f"{', '.join(bad)} is not a number; give four numbers between 0 and 1")
        ]
    problems = []
    outside = [f"{name}={_fmt(value)}" for name, value in coords.items() if not 0.0 <= value <= 1.0]
    if outside:
        problems.append(
            _problem(
                "box_out_of_range",
                field,
                f"{', '.join(outside)} outside 0..1; coordinates are fractions of the image "
                "(0 = left/top edge, 1 = right/bottom edge)",
            )
        )
    ordered = True
    if not box.x1 < box.x2:
        ordered = False
        problems.append(
            _problem(
                "box_inverted", field, f"x1={_fmt(box.x1)} must be less than x2={_fmt(box.x2)} (x1 is the left edge)"
            )
        )
    if not box.y1 < box.y2:
        ordered = False
        problems.append(
            _problem(
                "box_inverted", field, f"y1={_fmt(box.y1)} must be less than y2={_fmt(box.y2)} (y1 is the top edge)"
            )
        )
    if ordered:
        area = box_area(box)
        if area < MIN_BOX_AREA - AREA_TOLERANCE:
            problems.append(
                _problem(
                    "box_too_small",
                    field,
                    f"area {area:.4f} (width {_fmt(box.x2 - box.x1)} x height "
                    f"{_fmt(box.y2 - box.y1)}) is below {MIN_BOX_AREA}; make the box larger, "
                    "e.g. at least 0.4 x 0.4 (boxes may overlap)",
                )
            )
    return problems


def _text_problems(value: str, field: str, label: str, limit: int) -> list[layout_pb2.LayoutProblem]:
    if not value.strip():
        return [_problem(f"{label}_empty", field, f"{field} is empty; write a short {label}")]
    if len(value) > limit:
        return [_problem(f"{label}_too_long", field, f"{field} has {len(value)} characters; keep it to {limit}")]
    return []


def _name_problems(text: str, field: str, names: ForbiddenNames) -> list[layout_pb2.LayoutProblem]:
    problems = []
    movie = names.movie_named_in(text)
    if movie is not None:
        problems.append(
            _problem(
                "names_movie",
                field,
                f"names the recommended movie {movie!r}; describe what is seen instead "
                "(e.g. 'wooden cowboy doll', not the film's title)",
            )
        )
    person = names.person_named_in(text)
    if person is not None:
        problems.append(
            _problem(
                "names_person",
                field,
                f"{person!r} looks like a person's or character's name; describe the figure instead "
                "(e.g. 'grizzled detective')",
            )
        )
    return problems


def validate_layout(layout: layout_pb2.Layout, names: ForbiddenNames | None = None) -> list[layout_pb2.LayoutProblem]:
    """Every rule `layout` breaks, in field order; empty when it is valid."""
    names = names or ForbiddenNames()
    problems = _text_problems(layout.title, "title", "title", MAX_TITLE_CHARS)
    mood_problems = _text_problems(layout.mood, "mood", "mood", MAX_MOOD_CHARS)
    problems += mood_problems
    if not mood_problems and not is_style_word(style_word_of(layout.mood)):
        first = style_word_of(layout.mood) or layout.mood.strip()[:20]
        problems.append(
            _problem(
                "mood_style",
                "mood",
                f"the mood must start with one style word (e.g. 'realistic', 'animated', "
                f"'noir'), not {first!r}; allowed: {', '.join(STYLE_WORDS)}",
            )
        )
    count = len(layout.objects)
    if count < MIN_OBJECTS:
        problems.append(
            _problem("too_few_objects", "objects", f"{count} objects; a layout needs {MIN_OBJECTS} to {MAX_OBJECTS}")
        )
    elif count > MAX_OBJECTS:
        problems.append(
            _problem(
                "too_many_objects",
                "objects",
                f"{count} objects; a layout holds at most {MAX_OBJECTS}: drop {count - MAX_OBJECTS}",
            )
        )
    for index, obj in enumerate(layout.objects):
        prefix = f"objects[{index}]"
        problems += _text_problems(obj.name, f"{prefix}.name", "name", MAX_NAME_CHARS)
        problems += _text_problems(obj.feature, f"{prefix}.feature", "feature", MAX_FEATURE_CHARS)
        problems += _name_problems(obj.name, f"{prefix}.name", names)
        problems += _name_problems(obj.feature, f"{prefix}.feature", names)
        if not obj.HasField("box"):
            problems.append(_problem("box_missing", f"{prefix}.box", "no box; give [x1, y1, x2, y2] between 0 and 1"))
        else:
            problems += box_problems(obj.box, f"{prefix}.box")
    return problems


def problem_lines(problems: Sequence[layout_pb2.LayoutProblem]) -> list[str]:
    """One line per problem, e.g. "objects[2].box: area 0.12 ... (box_too_small)"."""
    return [f"{p.field}: {p.message} ({p.code})" for p in problems]
