"""The KServe v2 / Open Inference Protocol over HTTP/REST, beside the gRPC port.

KServe's own probes and most inference clients (`tritonclient.http`, curl) speak the REST form.
Each route turns its JSON into the gRPC request message and calls the same `KServeServicer`
method, so validation, errors and batching are the gRPC ones; only the encoding differs. Written
by hand on aiohttp because no maintained library serves the v2 REST protocol over an arbitrary
backend (KServe's and MLServer's servers bring their own model runtimes and process models).

Tensors: JSON `data` (flat or nested, row-major) both ways, and Triton's binary-data extension
(`Inference-Header-Content-Length`: a JSON header, then each binary tensor in order), which
`tritonclient.http` uses by default for inputs and outputs.
"""

from __future__ import annotations

import hmac
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import numpy as np
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from tritonclient.grpc import service_pb2 as kserve

from marquee.serving import ServerSettings, ServiceError, shorten
from marquee.serving.auth import bearer_token
from marquee.serving.structured_logs import get_logger
from recommender_server.kserve_servicer import KServeServicer, serialize_bytes

log = get_logger("recommender.rest")

HEADER_LENGTH = "Inference-Header-Content-Length"
#: Largest request body: the biggest batch of windows the model takes, with room to spare.
MAX_BODY_BYTES = 64 * 1024 * 1024
_NUMPY = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
}
OPEN_PATHS = ("/v2/health/live", "/v2/health/ready")


class RestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _raw_tensor(tensor: dict[str, Any], where: str) -> bytes:
    """A JSON input tensor's `data` as the raw little-endian bytes gRPC carries."""
    datatype, data = tensor.get("datatype"), tensor.get("data")
    if data is None:
        raise RestError(400, f"{where}: give `data` or the binary_data_size parameter")
    if datatype == "BYTES":
        items = np.asarray(data, dtype=object).ravel()
        return serialize_bytes([i.encode() if isinstance(i, str) else bytes(i) for i in items])
    if datatype not in _NUMPY:
        raise RestError(400, f"{where}: unknown datatype {shorten(str(datatype))!r}")
    try:
        array: np.ndarray = np.asarray(data, dtype=_NUMPY[datatype])
    except (TypeError, ValueError, OverflowError) as exc:
        raise RestError(400, f"{where}: data is not {datatype}: {shorten(str(exc))}") from None
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _parameter(value: Any) -> kserve.InferParameter:
    if isinstance(value, bool):
        return kserve.InferParameter(bool_param=value)
    if isinstance(value, int):
        return kserve.InferParameter(int64_param=value)
    return kserve.InferParameter(string_param=str(value))


def infer_request(
    body: bytes, header_length: str | None, model: str, version: str
) -> tuple[kserve.ModelInferRequest, set[str], bool]:
    """(gRPC request, outputs wanted as binary, binary for all) from a REST body."""
    try:
        length = int(header_length) if header_length is not None else len(body)
    except ValueError:
        raise RestError(400, f"{HEADER_LENGTH} must be a byte count") from None
    if not 0 <= length <= len(body):
        raise RestError(400, f"{HEADER_LENGTH} {length} is outside the {len(body)}-byte body")
    try:
        header = json.loads(body[:length] or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RestError(400, f"the request is not JSON: {shorten(str(exc))}") from None
    if not isinstance(header, dict) or not isinstance(header.get("inputs"), list):
        raise RestError(400, "the request must be a JSON object with an `inputs` list")
    request = kserve.ModelInferRequest(model_name=model, model_version=version, id=str(header.get("id", "")))
    offset = length
    for index, tensor in enumerate(header["inputs"]):
        where = f"inputs[{index}]"
        if not isinstance(tensor, dict):
            raise RestError(400, f"{where} must be an object with name, datatype, shape and data")
        try:
            request.inputs.add(
                name=str(tensor.get("name", "")),
                datatype=str(tensor.get("datatype", "")),
                shape=[int(d) for d in tensor.get("shape", [])],
            )
        except (TypeError, ValueError):
            raise RestError(400, f"{where}: shape must be a list of integers") from None
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(body):
                raise RestError(400, f"{where}: binary_data_size {shorten(str(size))} runs past the body")
            request.raw_input_contents.append(body[offset : offset + size])
            offset += size
        else:
            request.raw_input_contents.append(_raw_tensor(tensor, where))
    binary_all = bool((header.get("parameters") or {}).get("binary_data_output", False))
    binary: set[str] = set()
    for index, output in enumerate(header.get("outputs") or []):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise RestError(400, f"outputs[{index}] must be an object with a name")
        parameters = dict(output.get("parameters") or {})
        if parameters.pop("binary_data", False):
            binary.add(output["name"])
        entry = request.outputs.add(name=output["name"])
        for key, value in parameters.items():
            entry.parameters[key].CopyFrom(_parameter(value))
    return request, binary, binary_all


def infer_response(reply: kserve.ModelInferResponse, binary: set[str], binary_all: bool) -> web.Response:
    outputs, blobs = [], []
    for tensor, raw in zip(reply.outputs, reply.raw_output_contents, strict=False):
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        if binary_all or tensor.name in binary:
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        elif tensor.datatype == "BYTES":
            items, at = [], 0
            while at < len(raw):
                size = int.from_bytes(raw[at : at + 4], "little")
                items.append(raw[at + 4 : at + 4 + size].decode(errors="replace"))
                at += 4 + size
            entry["data"] = items
        else:
            entry["data"] = np.frombuffer(raw, dtype=np.dtype(_NUMPY[tensor.datatype]).newbyteorder("<")).tolist()
        outputs.append(entry)
    header = json.dumps(
        {"model_name": reply.model_name, "model_version": reply.model_version, "id": reply.id, "outputs": outputs}
    ).encode()
    if not blobs:
        return web.Response(body=header, content_type="application/json")
    return web.Response(
        body=header + b"".join(blobs),
        content_type="application/octet-stream",
        headers={HEADER_LENGTH: str(len(header))},
    )


class KServeRest:
    """The REST routes over a `KServeServicer`; `start` binds them beside the gRPC server."""

    def __init__(self, servicer: KServeServicer, settings: ServerSettings) -> None:
        self.servicer = servicer
        self.settings = settings
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        token = settings.auth_token.get_secret_value() if settings.auth_token else ""
        self._token = token.encode()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._errors])
        model = "/v2/models/{model}"
        versioned = "/v2/models/{model}/versions/{version}"
        app.add_routes(
            [
                web.get("/v2/health/live", self.live),
                web.get("/v2/health/ready", self.ready),
                web.get("/v2", self.server_metadata),
                web.post("/v2/repository/index", self.repository_index),
                *[
                    route
                    for base in (model, versioned)
                    for route in (
                        web.get(base, self.model_metadata),
                        web.get(base + "/ready", self.model_ready),
                        web.get(base + "/config", self.model_config),
                        web.get(base + "/stats", self.model_stats),
                        web.post(base + "/infer", self.infer),
                    )
                ],
            ]
        )
        return app

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self._token and request.path not in OPEN_PATHS:
            given = bearer_token(request.headers.get("Authorization", ""))
            if not given or not hmac.compare_digest(given, self._token):
                return _error(401, "missing or wrong bearer token: send `Authorization: Bearer <token>`")
        try:
            return await handler(request)
        except RestError as exc:
            return _error(exc.status, str(exc))
        except ServiceError as exc:
            return _error(_HTTP_STATUS.get(exc.code, 500), exc.message)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("rest request failed", path=shorten(request.path))
            return _error(500, "internal error; see the server log")

    async def live(self, _request: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def ready(self, _request: web.Request) -> web.Response:
        ready = self.servicer.readiness.serving
        return web.json_response({"ready": ready}, status=200 if ready else 400)

    async def server_metadata(self, _request: web.Request) -> web.Response:
        reply = await self.servicer.ServerMetadata(kserve.ServerMetadataRequest(), None)
        return web.json_response(MessageToDict(reply, preserving_proto_field_name=True))

    @staticmethod
    def _names(request: web.Request) -> tuple[str, str]:
        return request.match_info["model"], request.match_info.get("version", "")

    async def model_ready(self, request: web.Request) -> web.Response:
        name, version = self._names(request)
        reply = await self.servicer.ModelReady(kserve.ModelReadyRequest(name=name, version=version), None)
        return web.json_response({"name": name, "ready": reply.ready}, status=200 if reply.ready else 400)

    async def model_metadata(self, request: web.Request) -> web.Response:
        name, version = self._names(request)
        reply = await self.servicer.ModelMetadata(kserve.ModelMetadataRequest(name=name, version=version), None)
        return web.json_response(MessageToDict(reply, preserving_proto_field_name=True))

    async def model_config(self, request: web.Request) -> web.Response:
        name, version = self._names(request)
        reply = await self.servicer.ModelConfig(kserve.ModelConfigRequest(name=name, version=version), None)
        return web.json_response(MessageToDict(reply.config, preserving_proto_field_name=True))

    async def model_stats(self, request: web.Request) -> web.Response:
        name, version = self._names(request)
        reply = await self.servicer.ModelStatistics(kserve.ModelStatisticsRequest(name=name, version=version), None)
        return web.json_response(MessageToDict(reply, preserving_proto_field_name=True))

    async def repository_index(self, _request: web.Request) -> web.Response:
        reply = await self.servicer.RepositoryIndex(kserve.RepositoryIndexRequest(), None)
        return web.json_response([MessageToDict(m, preserving_proto_field_name=True) for m in reply.models])

    async def infer(self, request: web.Request) -> web.Response:
        name, version = self._names(request)
        body = await request.read()
        grpc_request, binary, binary_all = infer_request(body, request.headers.get(HEADER_LENGTH), name, version)
        reply = await self.servicer.ModelInfer(grpc_request, None)
        return infer_response(reply, binary, binary_all)

    def _ssl(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.tls_cert_file is None or s.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(s.tls_cert_file, s.tls_key_file)
        if s.tls_client_ca_file is not None:
            context.load_verify_locations(s.tls_client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    async def start(self, port: int) -> int:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, port, ssl_context=self._ssl())
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info(
            "kserve v2 rest listening",
            host=self.settings.host,
            port=self.port,
            tls=self.settings.tls_cert_file is not None,
        )
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
