"""Every option of the recommender server (flags and `MARQUEE_*` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from marquee.addresses import RECOMMENDER
from marquee.serving import ServerSettings

DEFAULT_MODEL_REPOSITORY = Path(__file__).resolve().parent / "model_repository"


class RecommenderSettings(ServerSettings):
    """Serve SASRec recommendations over gRPC (KServe v2 / Triton protocol and RecommenderService)."""

    port: int = Field(RECOMMENDER.port, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        RECOMMENDER.metrics_port, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
    model_repository: Path = Field(
        DEFAULT_MODEL_REPOSITORY,
        description="Triton-style model repository: <dir>/<model>/config.pbtxt and numbered "
        "version folders holding model.onnx.",
    )
    model_name: str = Field("sasrec", min_length=1, description="Model of the repository that RecommenderService uses.")
    dynamic_batching: bool = Field(True, description="Merge concurrent requests into one onnxruntime batch.")
    batch_window_ms: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="How long the first request of a batch waits for others, in ms (default: the "
        "config's dynamic_batching.max_queue_delay_microseconds).",
    )
    max_batch_size: int | None = Field(
        None, ge=1, le=4096, description="Most rows in one onnxruntime run (default: the config's max_batch_size)."
    )
    instances: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Model instances, each running its own batches in "
        "parallel (default: the config's instance_group count).",
    )
    intra_op_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="onnxruntime intra-op threads per instance; 0 shares the CPU cores out between the instances.",
    )
    ort_spinning: bool = Field(
        False,
        description="Let onnxruntime's worker threads busy-wait between runs (faster on an "
        "idle machine, steals CPU from the gRPC threads on a busy one).",
    )
    length_groups: int = Field(
        3,
        ge=1,
        le=16,
        description="Run each batch as up to this many sub-batches of similar history lengths, so "
        "short histories skip the padding of long ones (same scores); 1: one run per batch.",
    )
    http_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="KServe v2 REST (HTTP/JSON, Triton's binary-data extension) port beside gRPC, for "
        "KServe's HTTP probes and tritonclient.http; unset: no REST; 0 picks a free port.",
    )
    data_dir: Path | None = Field(
        None,
        description="Data directory holding ml-1m/ and plots/ for the catalog (default: "
        "MARQUEE_DATA_DIR, ./data, ../shared/data, else the official download).",
    )
