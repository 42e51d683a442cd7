"""The served catalog: what `marquee.v1.RecommenderService` answers from.

`Catalog` joins the movies (`movies.py`) with the served model's vocabulary (its label order:
the movie id of each score column); `TitleCatalog` is the part the title calls need (each
movie's proto, the search index and the resolver), on its own so that the client tests' fake
recommender answers title calls from the same code over a few movies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from marquee.v1 import common_pb2
from recommender_server.model_host import ServedModel
from recommender_server.movies import MovieRecord
from recommender_server.repository import INPUT_NAME, OUTPUT_NAME
from recommender_server.title_resolution import TitleResolver
from recommender_server.title_search import TitleIndex

NOT_SCORED = -1  # in the catalog, but nobody rated it: outside the model's vocabulary
NOT_IN_CATALOG = -2
#: Movie ids a message lists before it says how many more there are.
MAX_NAMED = 20


def name_ids(ids: list[int]) -> str:
    """The first few ids, comma-separated, and how many more there are."""
    shown = ", ".join(str(i) for i in ids[:MAX_NAMED])
    more = f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else ""
    return shown + more


def movie_proto(movie: MovieRecord) -> common_pb2.Movie:
    return common_pb2.Movie(
        movie_id=movie.movie_id,
        title=movie.title,
        year=movie.year,
        genres=list(movie.genres),
        plot=movie.plot,
        display_title=movie.display_title,
    )


@dataclass(frozen=True)
class TitleCatalog:
    """What the title calls answer from: each movie's proto, the search index and the resolver."""

    protos: Mapping[int, common_pb2.Movie]
    index: TitleIndex
    resolver: TitleResolver

    @classmethod
    def build(
        cls, movies: Mapping[int, MovieRecord], index: TitleIndex, protos: Mapping[int, common_pb2.Movie] | None = None
    ) -> TitleCatalog:
        if protos is None:
            protos = {movie_id: movie_proto(movie) for movie_id, movie in movies.items()}
        return cls(protos, index, TitleResolver(movies.values(), index))


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
    def build(cls, movies: dict[int, MovieRecord], titles: TitleIndex, model: ServedModel) -> Catalog:
        config = model.entry.config
        inputs = [s for s in config.input if s.name == INPUT_NAME]
        outputs = [s for s in config.output if s.name == OUTPUT_NAME]
        if not inputs or not outputs or len(inputs[0].dims) != 1 or len(outputs[0].dims) != 1:
            raise ValueError(
                f"model {model.name!r} must take {INPUT_NAME!r} [batch, window] and return "
                f"{OUTPUT_NAME!r} [batch, movies] to serve recommendations"
            )
        labels = model.entry.labels.get(OUTPUT_NAME)
        if labels is None or len(labels) != outputs[0].dims[0]:
            raise ValueError(
                f"model {model.name!r}: output {OUTPUT_NAME!r} needs a label file with {outputs[0].dims[0]} movie ids"
            )
        label_ids = np.array([int(x) for x in labels], dtype=np.int64)
        unknown = [int(m) for m in label_ids if int(m) not in movies]
        if unknown:
            raise ValueError(f"model {model.name!r} scores movies missing from the catalog: {name_ids(unknown)}")
        table = np.full(max(movies) + 1, NOT_IN_CATALOG, dtype=np.int64)
        table[list(movies)] = NOT_SCORED
        table[label_ids] = np.arange(len(label_ids))
        protos = {m: movie_proto(r) for m, r in movies.items()}
        return cls(
            movies, protos, TitleCatalog.build(movies, titles, protos), model, label_ids, table, int(inputs[0].dims[0])
        )
