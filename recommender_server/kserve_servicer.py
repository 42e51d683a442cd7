"""The KServe v2 / Triton `inference.GRPCInferenceService` protocol over the model repository.

Reuses tritonclient's generated stubs: a second copy of Triton's protos in this process would
clash with them in protobuf's default pool. Tensors travel as raw bytes both ways (what
tritonclient sends and the only thing it decodes); typed `contents` are accepted on input too.
An output requested with the `classification` parameter = k comes back as BYTES
"score:index:label" for the k best classes, as Triton's classification extension does.
"""

from __future__ import annotations

import time

import grpc
import numpy as np
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.grpc import service_pb2 as kserve
from tritonclient.grpc import service_pb2_grpc as kserve_grpc

import marquee
from marquee.serving import InvalidArgument, NotFound, Readiness, shorten
from recommender_server.model_host import ModelHost, ServedModel
from recommender_server.repository import kserve_datatype, numpy_dtype

SERVICE_NAME = kserve.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
SERVER_NAME = "marquee-recommender"
# Only what works: `model_repository` (load/unload) is not implemented; RepositoryIndex answers anyway.
EXTENSIONS = ["classification", "model_configuration", "statistics"]
CLASSIFICATION = "classification"

_TYPED_CONTENTS = {
    mc.TYPE_BOOL: "bool_contents", mc.TYPE_INT8: "int_contents", mc.TYPE_INT16: "int_contents",
    mc.TYPE_INT32: "int_contents", mc.TYPE_INT64: "int64_contents",
    mc.TYPE_UINT8: "uint_contents", mc.TYPE_UINT16: "uint_contents", mc.TYPE_UINT32: "uint_contents",
    mc.TYPE_UINT64: "uint64_contents", mc.TYPE_FP32: "fp32_contents", mc.TYPE_FP64: "fp64_contents",
}


def _describe(spec: mc.ModelInput | mc.ModelOutput) -> str:
    dims = ", ".join(str(d) for d in spec.dims)
    return f"{spec.name!r} ({kserve_datatype(spec.data_type)}, shape [batch, {dims}])"


def serialize_bytes(items: list[bytes]) -> bytes:
    """KServe raw BYTES: each element as a 4-byte little-endian length, then its bytes."""
    return b"".join(len(item).to_bytes(4, "little") + item for item in items)


def classification_strings(scores: np.ndarray, k: int, labels: list[str] | None) -> list[bytes]:
    """Row-major [rows, k] "score:index:label" for the k highest scores of each row."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(
        np.arange(scores.shape[1]), (scores.shape[0], 1))
    out: list[bytes] = []
    for row, columns in enumerate(top):
        ordered = columns[np.argsort(-scores[row, columns], kind="stable")]
        for col in ordered:
            label = f":{labels[col]}" if labels else ""
            out.append(f"{scores[row, col]:f}:{col}{label}".encode())
    return out


def decode_inputs(model: ServedModel, request: kserve.ModelInferRequest) -> dict[str, np.ndarray]:
    """The request's tensors as numpy arrays, checked against the model config."""
    config = model.entry.config
    specs = {spec.name: spec for spec in config.input}
    expected = " and ".join(_describe(s) for s in config.input)
    given = [t.name for t in request.inputs]
    unknown = [name for name in given if name not in specs]
    if unknown:
        raise InvalidArgument(
            f"model {model.name!r} has no input {shorten(unknown[0])!r}; it expects {expected}")
    missing = [name for name in specs if name not in given]
    if missing or len(given) != len(set(given)):
        raise InvalidArgument(
            f"model {model.name!r} expects exactly the inputs {expected}; got {shorten(str(given))}")
    if request.raw_input_contents and len(request.raw_input_contents) != len(request.inputs):
        raise InvalidArgument(
            f"raw_input_contents holds {len(request.raw_input_contents)} tensors for "
            f"{len(request.inputs)} inputs; send one per input, in the same order")
    arrays: dict[str, np.ndarray] = {}
    batch_sizes = set()
    for index, tensor in enumerate(request.inputs):
        spec = specs[tensor.name]
        want_type = kserve_datatype(spec.data_type)
        if tensor.datatype != want_type:
            raise InvalidArgument(
                f"input {tensor.name!r} must be {want_type}, got {shorten(tensor.datatype) or 'no datatype'}; "
                f"expected {_describe(spec)}")
        shape = list(tensor.shape)
        if (len(shape) != len(spec.dims) + 1 or list(spec.dims) != shape[1:]
                or not 1 <= shape[0] <= config.max_batch_size):
            raise InvalidArgument(
                f"input {tensor.name!r} has shape {shorten(str(shape))}; expected {_describe(spec)} with "
                f"1 <= batch <= {config.max_batch_size}")
        dtype = numpy_dtype(spec.data_type)
        count = int(np.prod(shape))
        if request.raw_input_contents:
            raw = request.raw_input_contents[index]
            if len(raw) != count * dtype.itemsize:
                raise InvalidArgument(
                    f"input {tensor.name!r}: {len(raw)} bytes of raw content for shape {shape} of "
                    f"{want_type}; expected {count * dtype.itemsize} bytes (little-endian)")
            array = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
        else:
            values = getattr(tensor.contents, _TYPED_CONTENTS[spec.data_type])
            if len(values) != count:
                raise InvalidArgument(
                    f"input {tensor.name!r}: {len(values)} values for shape {shape}; expected {count} "
                    "(in raw_input_contents or contents)")
            array = np.asarray(values, dtype=dtype)
        arrays[tensor.name] = array.reshape(shape)
        batch_sizes.add(shape[0])
    if len(batch_sizes) > 1:
        raise InvalidArgument(f"all inputs must share the batch size; got {sorted(batch_sizes)}")
    return arrays


def requested_outputs(model: ServedModel, request: kserve.ModelInferRequest) -> list[tuple[str, int]]:
    """(output name, classification k or 0) for each requested output; all when none is named."""
    config = model.entry.config
    specs = {spec.name: spec for spec in config.output}
    if not request.outputs:
        return [(spec.name, 0) for spec in config.output]
    wanted = []
    for output in request.outputs:
        if output.name not in specs:
            raise InvalidArgument(
                f"model {model.name!r} has no output {shorten(output.name)!r}; it has "
                + ", ".join(_describe(s) for s in config.output))
        k = 0
        if CLASSIFICATION in output.parameters:
            param = output.parameters[CLASSIFICATION]
            kind = param.WhichOneof("parameter_choice")
            k = int(getattr(param, kind)) if kind in ("int64_param", "uint64_param") else -1
            classes = int(np.prod(specs[output.name].dims))
            if not 1 <= k <= classes:
                raise InvalidArgument(
                    f"classification for output {output.name!r} must be an integer between 1 and "
                    f"{classes}")
        wanted.append((output.name, k))
    return wanted


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
            name=SERVER_NAME, version=getattr(marquee, "__version__", "0.1.0"), extensions=EXTENSIONS)

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
                name=spec.name, datatype=kserve_datatype(spec.data_type), shape=[-1, *spec.dims])

        return kserve.ModelMetadataResponse(
            name=model.name, versions=[str(v) for v in sorted(model.versions)],
            platform=config.platform, inputs=[tensor(s) for s in config.input],
            outputs=[tensor(s) for s in config.output])

    async def ModelConfig(self, request, context):
        model = self._host().get(request.name)
        model.version(request.version)
        return kserve.ModelConfigResponse(config=model.entry.config)

    async def ModelStatistics(self, request, context):
        host = self._host()
        models = [host.get(request.name)] if request.name else list(host.models.values())
        stats = []
        for model in models:
            versions = [model.version(request.version)] if request.version else [
                model.versions[v] for v in sorted(model.versions)]
            stats.extend(served.stats.proto() for served in versions)
        return kserve.ModelStatisticsResponse(model_stats=stats)

    async def RepositoryIndex(self, request, context):
        host = self._host()
        return kserve.RepositoryIndexResponse(models=[
            kserve.RepositoryIndexResponse.ModelIndex(name=name, version=str(v), state="READY")
            for name, model in sorted(host.models.items()) for v in sorted(model.versions)
        ])

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
        response = kserve.ModelInferResponse(
            model_name=model.name, model_version=str(served.version), id=request.id)
        for name, k in wanted:
            value = outputs[name]
            if k:
                strings = classification_strings(value.reshape(value.shape[0], -1), k,
                                                 model.entry.labels.get(name))
                response.outputs.add(name=name, datatype="BYTES", shape=[value.shape[0], k])
                response.raw_output_contents.append(serialize_bytes(strings))
            else:
                spec = next(s for s in model.entry.config.output if s.name == name)
                response.outputs.add(name=name, datatype=kserve_datatype(spec.data_type),
                                     shape=list(value.shape))
                response.raw_output_contents.append(
                    np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes())
        return response


def add_to_server(servicer: KServeServicer, server: grpc.aio.Server) -> str:
    kserve_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    return SERVICE_NAME
