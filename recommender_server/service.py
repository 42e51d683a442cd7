"""The recommender's `ModelService`: what it registers on the shared bootstrap and how it loads."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from pathlib import Path

import grpc

from marquee.data_location import find_data_dir
from marquee.serving import ModelService
from marquee.serving.structured_logs import get_logger
from marquee.v1 import recommender_pb2_grpc
from recommender_server.catalog import Catalog
from recommender_server.config import RecommenderSettings
from recommender_server.kserve_rest import KServeRest
from recommender_server.kserve_servicer import KServeServicer, add_to_server
from recommender_server.metrics import TRITON_METRICS
from recommender_server.model_host import BatchingOptions, ModelHost, load_model, model_names
from recommender_server.model_statistics import ModelStatistics
from recommender_server.movielens import DataFileError, load_interactions
from recommender_server.movies import load_movies
from recommender_server.repository import RepositoryError
from recommender_server.servicer import SERVICE_NAME, RecommenderServicer
from recommender_server.title_search import TitleIndex

log = get_logger("recommender")


class RecommenderModelService(ModelService):
    """Hosts `marquee.v1.RecommenderService` and KServe v2 (gRPC, and REST with --http-port) over
    the model repository and the catalog."""

    name = "recommender"

    def __init__(self, settings: RecommenderSettings) -> None:
        super().__init__()
        self.settings = settings
        if not settings.model_repository.is_dir():
            raise ValueError(f"--model-repository {settings.model_repository}: no such directory")
        self.kserve = KServeServicer(self.readiness)
        self.rest = KServeRest(self.kserve, settings) if settings.http_port is not None else None
        self.domain = RecommenderServicer(self.readiness)
        self.host: ModelHost | None = None

    def register(self, server: grpc.aio.Server) -> list[str]:
        kserve_name = add_to_server(self.kserve, server)
        recommender_pb2_grpc.add_RecommenderServiceServicer_to_server(self.domain, server)
        return [SERVICE_NAME, kserve_name]

    def _load_blocking(self) -> tuple[ModelHost, Catalog]:
        s = self.settings
        options = BatchingOptions(
            enabled=s.dynamic_batching,
            window_s=None if s.batch_window_ms is None else s.batch_window_ms / 1000,
            max_batch_size=s.max_batch_size,
            intra_op_threads=s.intra_op_threads,
            instances=s.instances,
            spinning=s.ort_spinning,
            length_groups=s.length_groups,
        )
        names = model_names(s.model_repository)
        if s.model_name not in names:
            raise RepositoryError(f"model {s.model_name!r} is not in {s.model_repository} (models: {', '.join(names)})")
        host = ModelHost({name: load_model(s.model_repository, name, options) for name in names})
        data_root = s.data_dir if s.data_dir is not None else find_data_dir().root
        movies = load_movies(Path(data_root) / "ml-1m", Path(data_root) / "plots")
        try:
            interactions = load_interactions(Path(data_root) / "ml-1m")
            popularity = Counter(m for seq in interactions.sequences.values() for m in seq)
        except DataFileError as exc:
            log.warning("no interaction data: search ties are not ordered by popularity", reason=str(exc))
            popularity = Counter()
        catalog = Catalog.build(movies, TitleIndex(movies.values(), popularity), host.get(s.model_name))
        log.info(
            "catalog loaded",
            movies=len(movies),
            with_plot=sum(1 for m in movies.values() if m.plot),
            scored_by_model=len(catalog.label_ids),
            data_dir=str(data_root),
        )
        return host, catalog

    async def load(self) -> None:
        # REST first, so its liveness (and not-ready) answers while the model loads, as gRPC's do.
        if self.rest is not None and self.settings.http_port is not None:
            await self.rest.start(self.settings.http_port)
        host, catalog = await asyncio.to_thread(self._load_blocking)
        host.start()
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # way, so full collections stay short and do not show up as latency spikes.
        gc.collect()
        gc.freeze()
        self.host = host
        self.kserve.host = host
        TRITON_METRICS.add_source(self._statistics)
        self.domain.catalog = catalog

    def _statistics(self) -> list[ModelStatistics]:
        host = self.host
        if host is None:
            return []
        return [served.stats for model in host.models.values() for served in model.versions.values()]

    async def close(self) -> None:
        TRITON_METRICS.remove_source(self._statistics)
        if self.rest is not None:
            await self.rest.stop()
        if self.host is not None:
            await self.host.close()
