"""Title search over the catalog: case- and accent-insensitive and tolerant of typos.

Titles are folded (`marquee.titles.fold`: lower-case ASCII words, no accents, no punctuation)
under both the MovieLens spelling ("Usual Suspects, The") and the readable one ("The Usual
Suspects"). A query is matched in two steps so that it stays well under a millisecond or two:
each query word picks the title words that are close to it (rapidfuzz ratio, or a prefix for a
word still being typed), their titles become the candidates, and rapidfuzz's WRatio ranks the
candidates against the whole query. A year in the query ("heat 1995") favours movies of that
year. Ties go to the more-watched movie.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from marquee.titles import fold, split_year
from recommender_server.movies import MovieRecord

_YEAR = re.compile(r"^(19|20)\d\d$")
# Words too common to pick candidates on their own.
_STOP_WORDS = frozenset({"the", "a", "an", "of", "and", "in", "to", "on", "la", "le", "les", "de"})
MIN_SCORE = 60.0
YEAR_BONUS = 5.0
PREFIX_BONUS = 5.0


def _word_cutoff(word: str) -> float:
    """How close a title word must be to a query word: exact for 1-2 letters, one slip for 3-5."""
    if len(word) <= 2:
        return 100.0
    if len(word) == 3:
        return 66.0
    return 75.0 if len(word) <= 5 else 70.0


@dataclass(frozen=True)
class Hit:
    movie_id: int
    score: float


class TitleIndex:
    def __init__(self, movies: Iterable[MovieRecord], popularity: Mapping[int, int] | None = None) -> None:
        self._keys: list[str] = []
        self._owner: list[int] = []
        self._year: dict[int, int] = {}
        self._popularity = dict(popularity or {})
        postings: dict[str, set[int]] = {}
        for movie in movies:
            self._year[movie.movie_id] = movie.year
            for variant in sorted({fold(movie.title), fold(split_year(movie.display_title)[0])}):
                if not variant:
                    continue
                position = len(self._keys)
                self._keys.append(variant)
                self._owner.append(movie.movie_id)
                for word in variant.split():
                    postings.setdefault(word, set()).add(position)
        self._vocabulary = sorted(postings)
        self._postings = postings
        # No title is longer than this many words, so the words of a query past it cannot make
        # a title match better; they would only cost time (~0.4 ms a word, more in ranking).
        self._max_words = max((len(key.split()) for key in self._keys), default=0)

    def __len__(self) -> int:
        return len(set(self._owner))

    def _words_like(self, word: str) -> set[str]:
        close = {
            w
            for w, _s, _i in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, processor=None, limit=None, score_cutoff=_word_cutoff(word)
            )
        }
        if len(word) >= 3:
            start = bisect.bisect_left(self._vocabulary, word)
            for candidate in self._vocabulary[start:]:
                if not candidate.startswith(word):
                    break
                close.add(candidate)
        return close

    def _candidates(self, words: list[str]) -> set[int]:
        words = list(dict.fromkeys(words))
        significant = [w for w in words if w not in _STOP_WORDS] or words
        positions: set[int] = set()
        for word in significant:
            for similar in self._words_like(word):
                positions |= self._postings[similar]
        return positions

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        words = fold(query).split()
        years = {int(w) for w in words if _YEAR.match(w)}
        title_words = ([w for w in words if not _YEAR.match(w)] or words)[: self._max_words]
        text = " ".join(title_words)
        if not text:
            return []
        positions = sorted(self._candidates(title_words))
        if not positions:
            return []
        keys = [self._keys[p] for p in positions]
        matches = process.extract(
            text, keys, scorer=fuzz.WRatio, processor=None, limit=limit * 4 + 8, score_cutoff=MIN_SCORE
        )
        best: dict[int, float] = {}
        for key, score, index in matches:
            movie_id = self._owner[positions[index]]
            # A title that starts with the query is what a person typing a title expects first.
            if key.startswith(text):
                score += PREFIX_BONUS
            if years and self._year.get(movie_id) in years:
                score += YEAR_BONUS
            score = min(100.0, score)
            if score > best.get(movie_id, -1.0):
                best[movie_id] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], -self._popularity.get(kv[0], 0), kv[0]))
        return [Hit(movie_id, float(score)) for movie_id, score in ranked[:limit]]
