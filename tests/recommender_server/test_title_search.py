"""Title search: case- and accent-insensitive, typo-tolerant, fast over the whole catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender_server.movies import MovieRecord, load_movies
from recommender_server.title_search import TitleIndex, fold


@pytest.fixture(scope="module")
def index(shared_data: Path) -> TitleIndex:
    movies = load_movies(shared_data / "ml-1m", None)
    return TitleIndex(movies.values())


def _top(index: TitleIndex, query: str) -> int:
    hits = index.search(query, 5)
    assert hits, f"no hit for {query!r}"
    return hits[0].movie_id


def test_fold_removes_case_accents_and_punctuation() -> None:
    assert fold("Amélie, Le Fabuleux DESTIN d'") == "amelie le fabuleux destin d"
    assert fold("  Æon   Flux!! ") == "aeon flux"
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize(
    ("query", "movie_id"),
    [
        ("toy story", 1),
        ("TOY STORY", 1),
        ("tyo stroy", 1),  # typos in every word
        ("usual suspects", 50),
        ("the usual suspects", 50),
        ("Usual Suspects, The", 50),
        ("godfater", 858),
        ("jurasic park", 480),
        ("heat 1995", 6),  # the year picks the right one
        ("shichinin no samurai", 2019),  # an alternate title
    ],
)
def test_finds_the_movie(index: TitleIndex, query: str, movie_id: int) -> None:
    assert _top(index, query) == movie_id


def test_accents_are_ignored_both_ways() -> None:
    movies = [
        MovieRecord(1, "Le Dîner de cons", 1998, ("Comedy",), "Dîner de cons, Le (1998)"),
        MovieRecord(2, "Dinner Rush", 2000, ("Drama",), "Dinner Rush (2000)"),
    ]
    index = TitleIndex(movies)
    assert index.search("diner de cons")[0].movie_id == 1
    assert index.search("DÎNER DE CONS")[0].movie_id == 1


def test_popularity_breaks_ties() -> None:
    movies = [MovieRecord(i, "Twin", 1990, (), "Twin (1990)") for i in (1, 2, 3)]
    index = TitleIndex(movies, popularity={1: 5, 2: 50, 3: 1})
    assert [h.movie_id for h in index.search("twin")] == [2, 1, 3]


def test_nonsense_and_empty_queries_find_nothing(index: TitleIndex) -> None:
    assert index.search("xyzzy qwrtp") == []
    assert index.search("   ") == []
    assert index.search("!!!") == []


def test_scores_are_percentages_best_first(index: TitleIndex) -> None:
    hits = index.search("star wars", 10)
    assert len(hits) == 10
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 100 for s in scores)


def test_words_past_the_longest_title_are_not_searched(index: TitleIndex, shared_data: Path) -> None:
    # Search time grows with every query word (a 68 KiB query held the server for 4 s). No title
    # has more words than the longest one, so words after that many cannot make a title match
    # better and are not searched. (Latency is measured by tests/benchmarks/bench_client.py.)
    movies = load_movies(shared_data / "ml-1m", None).values()
    longest = max(len(fold(m.title).split()) for m in movies)
    words = "once upon a time in the west".split()
    words += ["west"] * (longest - len(words))
    junk = [f"zq{i}x" for i in range(1000)]
    as_typed = index.search(" ".join(words + junk))
    assert as_typed and as_typed[0].movie_id == 1209
    assert as_typed == index.search(" ".join(words))
