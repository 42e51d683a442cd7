"""Title resolution: a title as a person or MovieLens writes it → the one catalog movie it names,
or the movies it could name, or the closest ones when it names none.

Accepted: "Matrix, The (1999)", "The Matrix (1999)", "the matrix", "MATRIX, THE", an alternate
title alone ("La Vita è bella"), accents or not. Keys come from `marquee.titles`, computed the
same way for the catalog and the query. Tiers, first match wins:

1. exact: the whole name, or one of its parts (main or alternate title);
2. without articles ("Usual Suspects");
3. a title that starts with the query at a word boundary ("Star Wars" → its episodes).

A year narrows a tier to that year. Without a year, several movies in the winning tier make the
title AMBIGUOUS ("Hamlet", "Godzilla"); the caller is told to add the year.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from marquee.titles import fold, loose_keys, part_keys, split_bare_year, split_year, title_key
from recommender_server.movies import MovieRecord
from recommender_server.title_search import TitleIndex

MAX_CLOSEST = 5


class ResolutionStatus(enum.Enum):
    RESOLVED = "resolved"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class Resolution:
    status: ResolutionStatus
    #: The movie, when RESOLVED.
    movie_id: int | None = None
    #: Every movie the title could name, oldest first, when AMBIGUOUS.
    candidates: tuple[int, ...] = ()
    #: The closest movies, best first, when NOT_FOUND.
    closest: tuple[int, ...] = ()


@dataclass
class _Tier:
    """Folded key → movie ids, for one tier."""

    keys: dict[str, set[int]] = field(default_factory=dict)

    def add(self, key: str, movie_id: int) -> None:
        self.keys.setdefault(key, set()).add(movie_id)

    def find(self, keys: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for key in keys:
            found |= self.keys.get(key, set())
        return found


class TitleResolver:
    def __init__(self, movies: Iterable[MovieRecord], index: TitleIndex) -> None:
        self._index = index
        self._year: dict[int, int] = {}
        self._whole: dict[int, str] = {}  # movie → key of its whole name
        self._exact = _Tier()
        self._loose = _Tier()
        prefixes: set[tuple[str, int]] = set()
        for movie in movies:
            name, _year = split_year(movie.display_title or movie.title)
            self._year[movie.movie_id] = movie.year
            self._whole[movie.movie_id] = title_key(name)
            for key in {title_key(name), *part_keys(name)}:
                self._exact.add(key, movie.movie_id)
                prefixes.add((key, movie.movie_id))
            for key in loose_keys(name):
                self._loose.add(key, movie.movie_id)
        self._prefixes = sorted(prefixes)

    def _starting_with(self, keys: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for key in keys:
            start = key + " "
            at = bisect.bisect_left(self._prefixes, (start, -1))
            while at < len(self._prefixes) and self._prefixes[at][0].startswith(start):
                found.add(self._prefixes[at][1])
                at += 1
        return found

    def _tiers(self, name: str) -> Iterable[set[int]]:
        exact = [title_key(name), *part_keys(name)]
        yield self._exact.find(exact)
        yield self._loose.find(loose_keys(name))
        yield self._starting_with(exact)

    def _match(self, name: str, year: int | None) -> tuple[Resolution | None, list[int]]:
        """The resolution of (name, year) if a tier matches; else the movies of that title in
        other years (for the "closest" hint)."""
        other_years: list[int] = []
        for found in self._tiers(name):
            if not found:
                continue
            if year is None:
                chosen = found
            else:
                chosen = {m for m in found if self._year[m] == year}
                # "Hamlet (1996)" names the movie whose whole title is that, before one that only
                # carries it as an alternate title.
                whole = {m for m in chosen if self._whole[m] == title_key(name)}
                chosen = whole or chosen
                if not chosen:
                    other_years += sorted(found - set(other_years), key=lambda m: (abs(self._year[m] - year), m))
                    continue
            if len(chosen) == 1:
                return Resolution(ResolutionStatus.RESOLVED, movie_id=next(iter(chosen))), other_years
            ordered = tuple(sorted(chosen, key=lambda m: (self._year[m], m)))
            return Resolution(ResolutionStatus.AMBIGUOUS, candidates=ordered), other_years
        return None, other_years

    def resolve(self, query: str) -> Resolution:
        name, year = split_year(query)
        readings: list[tuple[str, int | None]] = [(name, year)]
        bare = split_bare_year(name) if year is None else None
        if bare is not None:
            readings.append(bare)
        near: list[int] = []
        for reading_name, reading_year in readings:
            if not fold(reading_name):
                continue
            resolution, other_years = self._match(reading_name, reading_year)
            if resolution is not None:
                return resolution
            near += [m for m in other_years if m not in near]
        closest = near + [h.movie_id for h in self._index.search(query, MAX_CLOSEST) if h.movie_id not in near]
        return Resolution(ResolutionStatus.NOT_FOUND, closest=tuple(closest[:MAX_CLOSEST]))
