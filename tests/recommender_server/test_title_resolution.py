"""Title resolution over the real catalog, through the functions the servicer runs for
ResolveTitles and SearchMovies (`recommender_server.servicer`); the gRPC round trip and
the server's responsiveness are in test_server.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from marquee.serving import InvalidArgument
from marquee.titles import MAX_RESOLVE_QUERIES, MAX_RESOLVE_QUERY_CHARS, MAX_SEARCH_QUERY_CHARS
from marquee.v1 import recommender_pb2 as rec
from recommender_server.catalog import TitleCatalog
from recommender_server.movies import MovieRecord, load_movies
from recommender_server.servicer import resolve_titles, search_movies
from recommender_server.title_search import TitleIndex

RESOLVED = rec.TitleResolution.STATUS_RESOLVED
AMBIGUOUS = rec.TitleResolution.STATUS_AMBIGUOUS
NOT_FOUND = rec.TitleResolution.STATUS_NOT_FOUND

# Movies whose title and year another movie shares, so that no spelling can single them out.
# movies.dat (MovieLens-1M) has none; a data release that adds some must list their ids here.
KNOWN_DUPLICATES: frozenset[int] = frozenset()


@pytest.fixture(scope="module")
def movies(shared_data: Path) -> dict[int, MovieRecord]:
    return load_movies(shared_data / "ml-1m", None)


@pytest.fixture(scope="module")
def titles(movies: dict[int, MovieRecord]) -> TitleCatalog:
    return TitleCatalog.build(movies, TitleIndex(movies.values()))


def _resolve(titles: TitleCatalog, *queries: str) -> list[rec.TitleResolution]:
    out: list[rec.TitleResolution] = []
    for start in range(0, len(queries), MAX_RESOLVE_QUERIES):
        batch = queries[start : start + MAX_RESOLVE_QUERIES]
        out += resolve_titles(titles, rec.ResolveTitlesRequest(queries=batch)).resolutions
    return out


def _one(titles: TitleCatalog, query: str) -> rec.TitleResolution:
    (resolution,) = _resolve(titles, query)
    assert resolution.query == query
    return resolution


def test_every_catalog_title_resolves_to_itself_in_both_forms(
    titles: TitleCatalog, movies: dict[int, MovieRecord]
) -> None:
    assert len(movies) == 3883
    ordered = sorted(movies.values(), key=lambda m: m.movie_id)
    movielens_form = [m.display_title for m in ordered]  # "Matrix, The (1999)"
    readable_form = [f"{m.title} ({m.year})" for m in ordered]  # "The Matrix (1999)"
    wrong: set[int] = set()
    for queries in (movielens_form, readable_form):
        for movie, resolution in zip(ordered, _resolve(titles, *queries), strict=True):
            if resolution.status != RESOLVED or resolution.movie.movie_id != movie.movie_id:
                wrong.add(movie.movie_id)
    assert wrong == KNOWN_DUPLICATES


@pytest.mark.parametrize(
    ("query", "movie_id"),
    [
        # The README's examples and every kind of trailing article.
        ("Toy Story (1995)", 1),
        ("Matrix, The (1999)", 2571),
        ("Lion King, The (1994)", 364),
        ("Usual Suspects, The (1995)", 50),
        ("Misérables, Les (1995)", 73),
        ("Postino, Il (The Postman) (1994)", 58),
        ("Bewegte Mann, Der (1994)", 811),
        # Readable form, any case, accents or not, with or without the year.
        ("The Matrix", 2571),
        ("the matrix (1999)", 2571),
        ("MATRIX, THE", 2571),
        ("Les Miserables (1995)", 73),
        ("Matrix", 2571),  # the article left out
        ("Usual Suspects", 50),
        # An alternate title alone, in either form.
        ("Life Is Beautiful", 2324),
        ("La Vita e bella", 2324),
        ("Vita è bella, La (1997)", 2324),
        ("Il Postino", 58),
        ("Shichinin no samurai", 2019),
        # A year typed without parentheses, and a number that belongs to the title.
        ("heat 1995", 6),
        ("Godzilla 2000", 3864),
        # One episode of a series, named by its year.
        ("Star Wars (1977)", 260),
    ],
)
def test_resolves(titles: TitleCatalog, query: str, movie_id: int) -> None:
    resolution = _one(titles, query)
    assert resolution.status == RESOLVED, resolution
    assert resolution.movie.movie_id == movie_id
    assert not resolution.candidates and not resolution.closest


@pytest.mark.parametrize(
    ("query", "candidates"),
    [
        ("Star Wars", [260, 1196, 1210, 2628]),  # no movie is called just that: its episodes
        ("Hamlet", [1941, 2820, 3723, 1411, 3598]),
        ("Godzilla", [2363, 2364, 1882]),  # one is titled so, two carry it as an alternate title
        ("Misérables, Les", [73, 1873]),
    ],
)
def test_shared_titles_without_a_year_are_ambiguous(titles: TitleCatalog, query: str, candidates: list[int]) -> None:
    resolution = _one(titles, query)
    assert resolution.status == AMBIGUOUS
    assert [m.movie_id for m in resolution.candidates] == candidates  # oldest first
    assert resolution.candidate_count == len(candidates)
    assert not resolution.HasField("movie")
    years = [m.year for m in resolution.candidates]
    assert years == sorted(years)


def test_the_year_settles_an_ambiguous_title(titles: TitleCatalog) -> None:
    assert _one(titles, "Hamlet (1948)").movie.movie_id == 1941
    assert _one(titles, "Godzilla (1954)").movie.movie_id == 2363
    assert _one(titles, "Godzilla (Gojira) (1984)").movie.movie_id == 2364


def test_a_long_candidate_list_is_capped_and_counted(titles: TitleCatalog) -> None:
    resolution = _one(titles, "The")  # every title that starts with "The"
    assert resolution.status == AMBIGUOUS
    assert len(resolution.candidates) == 20 < resolution.candidate_count


def test_not_found_names_the_closest(titles: TitleCatalog) -> None:
    wrong_year = _one(titles, "Toy Story (2001)")
    assert wrong_year.status == NOT_FOUND and not wrong_year.HasField("movie")
    assert wrong_year.closest[0].display_title == "Toy Story (1995)"
    typo = _one(titles, "Jurasic Park")
    assert typo.status == NOT_FOUND and typo.closest[0].movie_id == 480
    assert 1 <= len(typo.closest) <= 5
    nothing = _one(titles, "!!!")
    assert nothing.status == NOT_FOUND and not nothing.closest


def test_answers_in_the_order_asked(titles: TitleCatalog) -> None:
    queries = ["Heat (1995)", "Hamlet", "nothing like it at all", "Heat (1995)"]
    resolutions = _resolve(titles, *queries)
    assert [r.query for r in resolutions] == queries
    assert [r.status for r in resolutions] == [RESOLVED, AMBIGUOUS, NOT_FOUND, RESOLVED]


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        ([], "queries is empty"),
        (["Heat"] * (MAX_RESOLVE_QUERIES + 1), f"queries holds 101 titles; at most {MAX_RESOLVE_QUERIES}"),
        (["Heat", "  "], "queries[1] is empty"),
        (
            ["Heat", "x" * (MAX_RESOLVE_QUERY_CHARS + 1)],
            f"queries[1] is 301 characters long; at most {MAX_RESOLVE_QUERY_CHARS}",
        ),
    ],
)
def test_resolve_rejects_bad_input_naming_the_field(titles: TitleCatalog, queries: list[str], message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_titles(titles, rec.ResolveTitlesRequest(queries=queries))
    assert message in info.value.message


def test_resolve_accepts_the_caps(titles: TitleCatalog) -> None:
    longest = "Heat (1995)".ljust(MAX_RESOLVE_QUERY_CHARS)
    resolutions = _resolve(titles, *[longest] * MAX_RESOLVE_QUERIES)
    assert len(resolutions) == MAX_RESOLVE_QUERIES
    assert {r.movie.movie_id for r in resolutions} == {6}


def test_search_query_is_capped(titles: TitleCatalog) -> None:
    at_cap = "heat ".ljust(MAX_SEARCH_QUERY_CHARS)
    assert search_movies(titles, rec.SearchMoviesRequest(query=at_cap)).hits[0].movie.movie_id == 6
    with pytest.raises(InvalidArgument) as info:
        search_movies(titles, rec.SearchMoviesRequest(query="heat " * 20_000))
    assert f"query is 100000 characters long; at most {MAX_SEARCH_QUERY_CHARS}" in info.value.message
