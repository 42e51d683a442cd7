"""Marquee's domain API, `marquee.v1.RecommenderService`: title search and resolution, catalog
look-ups and next-movie recommendations from the served SASRec model.

The request checks are in `validation.py`, what the calls answer from in `catalog.py`. The title
calls are plain blocking functions (`search_movies`, `resolve_titles`) that the servicer runs off
the event loop; the client tests' fake recommender calls the same functions over its own few
movies, so the fake cannot answer differently from the real server.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from marquee.serving import Readiness
from marquee.v1 import recommender_pb2, recommender_pb2_grpc
from recommender_server.catalog import Catalog, TitleCatalog
from recommender_server.repository import INPUT_NAME, OUTPUT_NAME
from recommender_server.title_resolution import ResolutionStatus
from recommender_server.validation import MAX_CANDIDATES, check_lookup, check_recommend, check_resolve, check_search

SERVICE_NAME = recommender_pb2.DESCRIPTOR.services_by_name["RecommenderService"].full_name
#: Threads for title calls: a flood of them queues here instead of crowding out other work.
TITLE_THREADS = 2

_STATUS = {
    ResolutionStatus.RESOLVED: recommender_pb2.TitleResolution.STATUS_RESOLVED,
    ResolutionStatus.AMBIGUOUS: recommender_pb2.TitleResolution.STATUS_AMBIGUOUS,
    ResolutionStatus.NOT_FOUND: recommender_pb2.TitleResolution.STATUS_NOT_FOUND,
}


def search_movies(
    titles: TitleCatalog, request: recommender_pb2.SearchMoviesRequest
) -> recommender_pb2.SearchMoviesResponse:
    limit = check_search(request)
    hits = titles.index.search(request.query, limit)
    return recommender_pb2.SearchMoviesResponse(
        hits=[recommender_pb2.SearchHit(movie=titles.protos[h.movie_id], match_score=h.score) for h in hits]
    )


def resolve_titles(
    titles: TitleCatalog, request: recommender_pb2.ResolveTitlesRequest
) -> recommender_pb2.ResolveTitlesResponse:
    queries = check_resolve(request)
    response = recommender_pb2.ResolveTitlesResponse()
    for query in queries:
        resolution = titles.resolver.resolve(query)
        out = response.resolutions.add(
            query=query, status=_STATUS[resolution.status], candidate_count=len(resolution.candidates)
        )
        if resolution.movie_id is not None:
            out.movie.CopyFrom(titles.protos[resolution.movie_id])
        out.candidates.extend(titles.protos[m] for m in resolution.candidates[:MAX_CANDIDATES])
        out.closest.extend(titles.protos[m] for m in resolution.closest)
    return response


class RecommenderServicer(recommender_pb2_grpc.RecommenderServiceServicer):
    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        self.catalog: Catalog | None = None
        self._title_threads = ThreadPoolExecutor(max_workers=TITLE_THREADS, thread_name_prefix="titles")

    def _catalog(self) -> Catalog:
        self.readiness.require_serving()
        assert self.catalog is not None
        return self.catalog

    # Title calls run in worker threads: a search costs ~0.4 ms a query word and a resolution
    # of 100 titles that match nothing up to a few seconds; the event loop must stay free for
    # health checks and the other calls meanwhile.
    async def SearchMovies(self, request, context):
        titles = self._catalog().titles
        return await asyncio.get_running_loop().run_in_executor(self._title_threads, search_movies, titles, request)

    async def ResolveTitles(self, request, context):
        titles = self._catalog().titles
        return await asyncio.get_running_loop().run_in_executor(self._title_threads, resolve_titles, titles, request)

    async def GetMovies(self, request, context):
        catalog = self._catalog()
        check_lookup(request.movie_ids, catalog.protos)
        return recommender_pb2.GetMoviesResponse(movies=[catalog.protos[m] for m in request.movie_ids])

    async def Recommend(self, request, context):
        catalog = self._catalog()
        watched, columns = check_recommend(request, catalog)
        # Catalog movies nobody rated in MovieLens-1M are outside the model's vocabulary: they
        # carry no signal, so the window holds the most recent movies the model knows.
        known = columns >= 0
        recent = watched[known][-catalog.window :]
        window = np.zeros((1, catalog.window), dtype=np.int64)
        window[0, catalog.window - len(recent) :] = recent
        served = catalog.model.version("")
        outputs = await served.batcher.infer({INPUT_NAME: window})
        scores = outputs[OUTPUT_NAME][0].astype(np.float32, copy=True)
        if request.exclude_watched if request.HasField("exclude_watched") else True:
            scores[columns[known]] = -np.inf
        available = int(np.isfinite(scores).sum())
        k = min(request.k, available)
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        response = recommender_pb2.RecommendResponse(
            model_name=catalog.model.name, model_version=str(served.version), history_length_used=len(recent)
        )
        for rank, column in enumerate(top, start=1):
            movie_id = int(catalog.label_ids[column])
            response.recommendations.add(movie=catalog.protos[movie_id], score=float(scores[column]), rank=rank)
        return response
