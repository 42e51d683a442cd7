"""The KServe v2 / Triton `inference.GRPCInferenceService` protocol over the model repository.

Reuses tritonclient's generated stubs: a second copy of Triton's protos in this process would
clash with them in protobuf's default pool. Tensors travel as raw bytes both ways (what
tritonclient sends and the only thing it decodes); typed `contents` are accepted on input too.
An output requested with the `classification` parameter = k comes back as BYTES
"score:index:label" for the k best classes, as Triton's classification extension does.
The request's tensors are decoded and checked against the model config in `validation.py`.
"""

from __future__ import annotations

import time

import grpc
import numpy as np
from tritonclient.grpc import service_pb2 as kserve
from tritonclient.grpc import service_pb2_grpc as kserve_grpc

import marquee
from marquee.serving import InvalidArgument, NotFound, Readiness
from recommender_server.model_host import ModelHost
from recommender_server.repository import kserve_datatype
from recommender_server.validation import decode_inputs, requested_outputs

SERVICE_NAME = kserve.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
SERVER_NAME = "marquee-recommender"
# Only what works: `model_repository` (load/unload) is not implemented; RepositoryIndex answers anyway.
EXTENSIONS = ["classification", "model_configuration", "statistics"]


def serialize_bytes(items: list[bytes]) -> bytes:
    """KServe raw BYTES: each element as a 4-byte little-endian length, then its bytes."""
    return b"".join(len(item).to_bytes(4, "little") + item for item in items)


def classification_strings(scores: np.ndarray, k: int, labels: list[str] | None) -> list[bytes]:
    """Row-major [rows, k] "score:index:label" for the k highest scores of each row."""
    top = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if k < scores.shape[1]
        else np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    )
    out: list[bytes] = []
    for row, columns in enumerate(top):
        ordered = columns[np.argsort(-scores[row, columns], kind="stable")]
        for col in ordered:
            label = f":{labels[col]}" if labels else ""
            out.append(f"{scores[row, col]:f}:{col}{label}".encode())
    return out


class KServeServicer(kserve_grpc.GRPCInferenceServiceServicer):
    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        self.host: ModelHost | None = None

    def _host(self) -> ModelHost:
        self.readiness.require_serving()
        assert self.host is not None
        return self.host

    async def ServerLive(self, request, context):
        return kserve.ServerLiveResponse(live=True)

    async def ServerReady(self, request, context):
        return kserve.ServerReadyResponse(ready=self.readiness.serving)

    async def ServerMetadata(self, request, context):
        return kserve.ServerMetadataResponse(
            name=SERVER_NAME, version=getattr(marquee, "__version__", "0.1.0"), extensions=EXTENSIONS
        )

    async def ModelReady(self, request, context):
        # As Triton: an unknown model or version is simply not ready (OK), not NOT_FOUND.
        if not self.readiness.serving or self.host is None:
            return kserve.ModelReadyResponse(ready=False)
        try:
            self.host.get(request.name).version(request.version)
        except NotFound:
            return kserve.ModelReadyResponse(ready=False)
        return kserve.ModelReadyResponse(ready=True)

    async def ModelMetadata(self, request, context):
        model = self._host().get(request.name)
        model.version(request.version)
        config = model.entry.config

        def tensor(spec) -> kserve.ModelMetadataResponse.TensorMetadata:
            return kserve.ModelMetadataResponse.TensorMetadata(
                name=spec.name, datatype=kserve_datatype(spec.data_type), shape=[-1, *spec.dims]
            )

        return kserve.ModelMetadataResponse(
            name=model.name,
            versions=[str(v) for v in sorted(model.versions)],
            platform=config.platform,
            inputs=[tensor(s) for s in config.input],
            outputs=[tensor(s) for s in config.output],
        )

    async def ModelConfig(self, request, context):
        model = self._host().get(request.name)
        model.version(request.version)
        return kserve.ModelConfigResponse(config=model.entry.config)

    async def ModelStatistics(self, request, context):
        host = self._host()
        models = [host.get(request.name)] if request.name else list(host.models.values())
        stats: list[kserve.ModelStatistics] = []
        for model in models:
            versions = (
                [model.version(request.version)]
                if request.version
                else [model.versions[v] for v in sorted(model.versions)]
            )
            stats.extend(served.stats.proto() for served in versions)
        return kserve.ModelStatisticsResponse(model_stats=stats)

    async def RepositoryIndex(self, request, context):
        host = self._host()
        return kserve.RepositoryIndexResponse(
            models=[
                kserve.RepositoryIndexResponse.ModelIndex(name=name, version=str(v), state="READY")
                for name, model in sorted(host.models.items())
                for v in sorted(model.versions)
            ]
        )

    async def ModelInfer(self, request, context):
        model = self._host().get(request.model_name)
        served = model.version(request.model_version)
        started = time.perf_counter_ns()
        try:
            inputs = decode_inputs(model, request)
            wanted = requested_outputs(model, request)
        except InvalidArgument:
            served.stats.record_request(ok=False, total_ns=time.perf_counter_ns() - started, reason="REJECTED")
            raise
        outputs = await served.batcher.infer(inputs)
        response = kserve.ModelInferResponse(model_name=model.name, model_version=str(served.version), id=request.id)
        for name, k in wanted:
            value = outputs[name]
            if k:
                strings = classification_strings(value.reshape(value.shape[0], -1), k, model.entry.labels.get(name))
                response.outputs.add(name=name, datatype="BYTES", shape=[value.shape[0], k])
                response.raw_output_contents.append(serialize_bytes(strings))
            else:
                spec = next(s for s in model.entry.config.output if s.name == name)
                response.outputs.add(name=name, datatype=kserve_datatype(spec.data_type), shape=list(value.shape))
                response.raw_output_contents.append(
                    np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
                )
        return response


def add_to_server(servicer: KServeServicer, server: grpc.aio.Server) -> str:
    kserve_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    return SERVICE_NAME
