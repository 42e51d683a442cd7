"""The title calls of `marquee.v1.RecommenderService` (SearchMovies, ResolveTitles) as plain
blocking functions: input checks whose messages name the field and its cap, and the replies.

The servicer runs them off the event loop (a search costs ~0.4 ms a query word). The client
tests' fake recommender calls the same functions over its own few movies, so the fake cannot
answer differently from the real server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from marquee.serving import InvalidArgument
from marquee.titles import MAX_RESOLVE_QUERIES, MAX_RESOLVE_QUERY_CHARS, MAX_SEARCH_QUERY_CHARS
from marquee.v1 import common_pb2, recommender_pb2
from recommender_server.catalog import MovieRecord
from recommender_server.title_resolution import ResolutionStatus, TitleResolver
from recommender_server.title_search import TitleIndex

MAX_SEARCH_LIMIT = 100
DEFAULT_SEARCH_LIMIT = 10
#: Candidates listed for an ambiguous title (`candidate_count` says how many matched).
MAX_CANDIDATES = 20

_STATUS = {
    ResolutionStatus.RESOLVED: recommender_pb2.TitleResolution.STATUS_RESOLVED,
    ResolutionStatus.AMBIGUOUS: recommender_pb2.TitleResolution.STATUS_AMBIGUOUS,
    ResolutionStatus.NOT_FOUND: recommender_pb2.TitleResolution.STATUS_NOT_FOUND,
}


def movie_proto(movie: MovieRecord) -> common_pb2.Movie:
    return common_pb2.Movie(movie_id=movie.movie_id, title=movie.title, year=movie.year,
                            genres=list(movie.genres), plot=movie.plot,
                            display_title=movie.display_title)


@dataclass(frozen=True)
class TitleCatalog:
    """What the title calls answer from: each movie's proto, the search index and the resolver."""

    protos: Mapping[int, common_pb2.Movie]
    index: TitleIndex
    resolver: TitleResolver

    @classmethod
    def build(cls, movies: Mapping[int, MovieRecord], index: TitleIndex,
              protos: Mapping[int, common_pb2.Movie] | None = None) -> "TitleCatalog":
        if protos is None:
            protos = {movie_id: movie_proto(movie) for movie_id, movie in movies.items()}
        return cls(protos, index, TitleResolver(movies.values(), index))


def search_movies(titles: TitleCatalog, request: recommender_pb2.SearchMoviesRequest
                  ) -> recommender_pb2.SearchMoviesResponse:
    if not request.query.strip():
        raise InvalidArgument("query must not be empty: give part of a movie title")
    if len(request.query) > MAX_SEARCH_QUERY_CHARS:
        raise InvalidArgument(f"query is {len(request.query)} characters long; at most "
                              f"{MAX_SEARCH_QUERY_CHARS} are allowed: give part of a movie title")
    if not 0 <= request.limit <= MAX_SEARCH_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_SEARCH_LIMIT} (0 means "
                              f"{DEFAULT_SEARCH_LIMIT}), got {request.limit}")
    hits = titles.index.search(request.query, request.limit or DEFAULT_SEARCH_LIMIT)
    return recommender_pb2.SearchMoviesResponse(hits=[
        recommender_pb2.SearchHit(movie=titles.protos[h.movie_id], match_score=h.score) for h in hits
    ])


def _check_queries(queries: list[str]) -> None:
    if not queries:
        raise InvalidArgument("queries is empty: give at least one movie title")
    if len(queries) > MAX_RESOLVE_QUERIES:
        raise InvalidArgument(f"queries holds {len(queries)} titles; at most {MAX_RESOLVE_QUERIES} "
                              "per call: send them in several calls")
    for number, query in enumerate(queries):
        if not query.strip():
            raise InvalidArgument(f"queries[{number}] is empty: give a movie title")
        if len(query) > MAX_RESOLVE_QUERY_CHARS:
            raise InvalidArgument(f"queries[{number}] is {len(query)} characters long; at most "
                                  f"{MAX_RESOLVE_QUERY_CHARS} are allowed for a movie title")


def resolve_titles(titles: TitleCatalog, request: recommender_pb2.ResolveTitlesRequest
                   ) -> recommender_pb2.ResolveTitlesResponse:
    queries = list(request.queries)
    _check_queries(queries)
    response = recommender_pb2.ResolveTitlesResponse()
    for query in queries:
        resolution = titles.resolver.resolve(query)
        out = response.resolutions.add(query=query, status=_STATUS[resolution.status],
                                       candidate_count=len(resolution.candidates))
        if resolution.movie_id is not None:
            out.movie.CopyFrom(titles.protos[resolution.movie_id])
        out.candidates.extend(titles.protos[m] for m in resolution.candidates[:MAX_CANDIDATES])
        out.closest.extend(titles.protos[m] for m in resolution.closest)
    return response
