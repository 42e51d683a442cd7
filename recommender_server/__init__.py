"""The recommender server: SASRec as ONNX in a Triton-style model repository, served over the
KServe v2 / Triton gRPC protocol (and its REST twin) and Marquee's `RecommenderService`.

Rooms: `config.py` (settings), `service.py` (`RecommenderModelService`: registers the servicers,
loads the models and the catalog), `servicer.py` (`RecommenderService`), `kserve_servicer.py` and
`kserve_rest.py` (KServe v2), `validation.py` (request checks and caps), `metrics.py` and
`model_statistics.py` (Triton's statistics and /metrics families); the model: `repository.py`,
`model_host.py`, `dynamic_batching.py`, `onnx_runner.py`; the catalog: `catalog.py`, `movies.py`,
`movielens.py`, `title_search.py`, `title_resolution.py`. Offline work (training, evaluation,
export) is in `training/`, which serving never imports."""
