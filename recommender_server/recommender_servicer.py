"""Marquee's domain API, `marquee.v1.RecommenderService`: title search and resolution, catalog
look-ups and next-movie recommendations from the served SASRec model."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from marquee.serving import InvalidArgument, Readiness
from marquee.v1 import common_pb2, recommender_pb2, recommender_pb2_grpc
from recommender_server.catalog import MovieRecord
from recommender_server.model_host import ServedModel
from recommender_server.repository import INPUT_NAME, OUTPUT_NAME
from recommender_server.title_requests import TitleCatalog, movie_proto, resolve_titles, search_movies
from recommender_server.title_search import TitleIndex

SERVICE_NAME = recommender_pb2.DESCRIPTOR.services_by_name["RecommenderService"].full_name
MAX_K = 100
MAX_LOOKUP = 1000
MAX_HISTORY = 100_000
MAX_NAMED = 20
NOT_SCORED = -1  # in the catalog, but nobody rated it: outside the model's vocabulary
NOT_IN_CATALOG = -2
#: Threads for title calls: a flood of them queues here instead of crowding out other work.
TITLE_THREADS = 2


def _name_ids(ids: list[int]) -> str:
    """The first few ids, comma-separated, and how many more there are."""
    shown = ", ".join(str(i) for i in ids[:MAX_NAMED])
    more = f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else ""
    return shown + more


@dataclass
class Catalog:
    """What the domain API serves from: movies, their protos, the title search and resolution
    and the model's vocabulary (its label order)."""

    movies: dict[int, MovieRecord]
    protos: dict[int, common_pb2.Movie]
    titles: TitleCatalog
    model: ServedModel
    label_ids: np.ndarray  # movie id of each score column
    column_table: np.ndarray  # by movie id: its score column, NOT_SCORED or NOT_IN_CATALOG
    window: int

    def columns(self, movie_ids: np.ndarray) -> np.ndarray:
        """Score column of each movie id; NOT_SCORED or NOT_IN_CATALOG where it has none."""
        inside = (movie_ids >= 0) & (movie_ids < len(self.column_table))
        out = np.full(movie_ids.shape, NOT_IN_CATALOG, dtype=np.int64)
        out[inside] = self.column_table[movie_ids[inside]]
        return out

    @classmethod
    def build(cls, movies: dict[int, MovieRecord], titles: TitleIndex, model: ServedModel) -> "Catalog":
        config = model.entry.config
        inputs = [s for s in config.input if s.name == INPUT_NAME]
        outputs = [s for s in config.output if s.name == OUTPUT_NAME]
        if not inputs or not outputs or len(inputs[0].dims) != 1 or len(outputs[0].dims) != 1:
            raise ValueError(
                f"model {model.name!r} must take {INPUT_NAME!r} [batch, window] and return "
                f"{OUTPUT_NAME!r} [batch, movies] to serve recommendations")
        labels = model.entry.labels.get(OUTPUT_NAME)
        if labels is None or len(labels) != outputs[0].dims[0]:
            raise ValueError(f"model {model.name!r}: output {OUTPUT_NAME!r} needs a label file with "
                             f"{outputs[0].dims[0]} movie ids")
        label_ids = np.array([int(x) for x in labels], dtype=np.int64)
        unknown = [int(m) for m in label_ids if int(m) not in movies]
        if unknown:
            raise ValueError(f"model {model.name!r} scores movies missing from the catalog: {_name_ids(unknown)}")
        table = np.full(max(movies) + 1, NOT_IN_CATALOG, dtype=np.int64)
        table[list(movies)] = NOT_SCORED
        table[label_ids] = np.arange(len(label_ids))
        protos = {m: movie_proto(r) for m, r in movies.items()}
        return cls(movies, protos, TitleCatalog.build(movies, titles, protos), model, label_ids,
                   table, int(inputs[0].dims[0]))


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
        if len(request.movie_ids) > MAX_LOOKUP:
            raise InvalidArgument(f"at most {MAX_LOOKUP} movie ids per call, got {len(request.movie_ids)}")
        unknown = [m for m in request.movie_ids if m not in catalog.protos]
        if unknown:
            raise InvalidArgument(f"unknown movie ids: {_name_ids(unknown)} (not in the MovieLens-1M catalog)")
        return recommender_pb2.GetMoviesResponse(movies=[catalog.protos[m] for m in request.movie_ids])

    async def Recommend(self, request, context):
        catalog = self._catalog()
        if not 1 <= request.k <= MAX_K:
            raise InvalidArgument(f"k must be between 1 and {MAX_K}, got {request.k}")
        watched = np.asarray(request.watched_movie_ids, dtype=np.int64)
        if not len(watched):
            raise InvalidArgument("watched_movie_ids is empty: give at least one watched movie, oldest first")
        if len(watched) > MAX_HISTORY:
            raise InvalidArgument(f"at most {MAX_HISTORY} watched movies, got {len(watched)}")
        columns = catalog.columns(watched)
        if (columns == NOT_IN_CATALOG).any():
            unknown = sorted({int(m) for m in watched[columns == NOT_IN_CATALOG]})
            raise InvalidArgument(f"unknown movie ids: {_name_ids(unknown)} (not in the MovieLens-1M catalog)")
        # Catalog movies nobody rated in MovieLens-1M are outside the model's vocabulary: they
        # carry no signal, so the window holds the most recent movies the model knows.
        known = columns >= 0
        if not known.any():
            raise InvalidArgument(
                f"none of the watched movies ({_name_ids(watched.tolist())}) was ever rated in "
                "MovieLens-1M, so the model knows nothing about them; add a movie it knows")
        recent = watched[known][-catalog.window:]
        window = np.zeros((1, catalog.window), dtype=np.int64)
        window[0, catalog.window - len(recent):] = recent
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
            model_name=catalog.model.name, model_version=str(served.version),
            history_length_used=len(recent))
        for rank, column in enumerate(top, start=1):
            movie_id = int(catalog.label_ids[column])
            response.recommendations.add(movie=catalog.protos[movie_id], score=float(scores[column]),
                                         rank=rank)
        return response
