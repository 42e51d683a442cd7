"""Request checks and caps of both gRPC surfaces: `marquee.v1.RecommenderService` and the
KServe v2 `ModelInfer` (its tensors checked against the model config, REST's too). Each bad
request becomes INVALID_ARGUMENT with a message naming the field, its cap and what to do.

The title caps that the client also needs (query lengths, queries per call) live in
`marquee.titles`; the caps here are the server's own.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

import numpy as np
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.grpc import service_pb2 as kserve

from marquee.serving import InvalidArgument, shorten
from marquee.titles import MAX_RESOLVE_QUERIES, MAX_RESOLVE_QUERY_CHARS, MAX_SEARCH_QUERY_CHARS
from marquee.v1 import recommender_pb2
from recommender_server.catalog import NOT_IN_CATALOG, Catalog, name_ids
from recommender_server.model_host import ServedModel
from recommender_server.repository import kserve_datatype, numpy_dtype

MAX_K = 100
MAX_LOOKUP = 1000
MAX_HISTORY = 100_000
MAX_SEARCH_LIMIT = 100
DEFAULT_SEARCH_LIMIT = 10
#: Candidates listed for an ambiguous title (`candidate_count` says how many matched).
MAX_CANDIDATES = 20
#: The output parameter of Triton's classification extension: the k best classes as strings.
CLASSIFICATION = "classification"

_TYPED_CONTENTS = {
    mc.TYPE_BOOL: "bool_contents",
    mc.TYPE_INT8: "int_contents",
    mc.TYPE_INT16: "int_contents",
    mc.TYPE_INT32: "int_contents",
    mc.TYPE_INT64: "int64_contents",
    mc.TYPE_UINT8: "uint_contents",
    mc.TYPE_UINT16: "uint_contents",
    mc.TYPE_UINT32: "uint_contents",
    mc.TYPE_UINT64: "uint64_contents",
    mc.TYPE_FP32: "fp32_contents",
    mc.TYPE_FP64: "fp64_contents",
}


def _describe(spec: mc.ModelInput | mc.ModelOutput) -> str:
    dims = ", ".join(str(d) for d in spec.dims)
    return f"{spec.name!r} ({kserve_datatype(spec.data_type)}, shape [batch, {dims}])"


def check_search(request: recommender_pb2.SearchMoviesRequest) -> int:
    """The number of hits to return."""
    if not request.query.strip():
        raise InvalidArgument("query must not be empty: give part of a movie title")
    if len(request.query) > MAX_SEARCH_QUERY_CHARS:
        raise InvalidArgument(
            f"query is {len(request.query)} characters long; at most "
            f"{MAX_SEARCH_QUERY_CHARS} are allowed: give part of a movie title"
        )
    if not 0 <= request.limit <= MAX_SEARCH_LIMIT:
        raise InvalidArgument(
            f"limit must be between 1 and {MAX_SEARCH_LIMIT} (0 means {DEFAULT_SEARCH_LIMIT}), got {request.limit}"
        )
    return request.limit or DEFAULT_SEARCH_LIMIT


def check_resolve(request: recommender_pb2.ResolveTitlesRequest) -> list[str]:
    """The titles to resolve."""
    queries = list(request.queries)
    if not queries:
        raise InvalidArgument("queries is empty: give at least one movie title")
    if len(queries) > MAX_RESOLVE_QUERIES:
        raise InvalidArgument(
            f"queries holds {len(queries)} titles; at most {MAX_RESOLVE_QUERIES} per call: send them in several calls"
        )
    for number, query in enumerate(queries):
        if not query.strip():
            raise InvalidArgument(f"queries[{number}] is empty: give a movie title")
        if len(query) > MAX_RESOLVE_QUERY_CHARS:
            raise InvalidArgument(
                f"queries[{number}] is {len(query)} characters long; at most "
                f"{MAX_RESOLVE_QUERY_CHARS} are allowed for a movie title"
            )
    return queries


def check_lookup(movie_ids: Sequence[int], catalog: Container[int]) -> None:
    """GetMovies: at most MAX_LOOKUP ids, every one in `catalog`."""
    if len(movie_ids) > MAX_LOOKUP:
        raise InvalidArgument(f"at most {MAX_LOOKUP} movie ids per call, got {len(movie_ids)}")
    unknown = [m for m in movie_ids if m not in catalog]
    if unknown:
        raise InvalidArgument(f"unknown movie ids: {name_ids(unknown)} (not in the MovieLens-1M catalog)")


def check_recommend(request: recommender_pb2.RecommendRequest, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """The watched movie ids and their score columns (`Catalog.columns`), once `k` is in range,
    every watched movie is in the catalog and the model knows at least one of them."""
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
        raise InvalidArgument(f"unknown movie ids: {name_ids(unknown)} (not in the MovieLens-1M catalog)")
    # Catalog movies nobody rated in MovieLens-1M are outside the model's vocabulary: they
    # carry no signal, and a history of nothing else leaves the model nothing to go on.
    if not (columns >= 0).any():
        raise InvalidArgument(
            f"none of the watched movies ({name_ids(watched.tolist())}) was ever rated in "
            "MovieLens-1M, so the model knows nothing about them; add a movie it knows"
        )
    return watched, columns


# -- KServe v2 ModelInfer ----------------------------------------------------------------------


def decode_inputs(model: ServedModel, request: kserve.ModelInferRequest) -> dict[str, np.ndarray]:
    """The request's tensors as numpy arrays, checked against the model config."""
    config = model.entry.config
    specs = {spec.name: spec for spec in config.input}
    expected = " and ".join(_describe(s) for s in config.input)
    given = [t.name for t in request.inputs]
    unknown = [name for name in given if name not in specs]
    if unknown:
        raise InvalidArgument(f"model {model.name!r} has no input {shorten(unknown[0])!r}; it expects {expected}")
    missing = [name for name in specs if name not in given]
    if missing or len(given) != len(set(given)):
        raise InvalidArgument(f"model {model.name!r} expects exactly the inputs {expected}; got {shorten(str(given))}")
    if request.raw_input_contents and len(request.raw_input_contents) != len(request.inputs):
        raise InvalidArgument(
            f"raw_input_contents holds {len(request.raw_input_contents)} tensors for "
            f"{len(request.inputs)} inputs; send one per input, in the same order"
        )
    arrays: dict[str, np.ndarray] = {}
    batch_sizes = set()
    for index, tensor in enumerate(request.inputs):
        spec = specs[tensor.name]
        want_type = kserve_datatype(spec.data_type)
        if tensor.datatype != want_type:
            raise InvalidArgument(
                f"input {tensor.name!r} must be {want_type}, got {shorten(tensor.datatype) or 'no datatype'}; "
                f"expected {_describe(spec)}"
            )
        shape = list(tensor.shape)
        if (
            len(shape) != len(spec.dims) + 1
            or list(spec.dims) != shape[1:]
            or not 1 <= shape[0] <= config.max_batch_size
        ):
            raise InvalidArgument(
                f"input {tensor.name!r} has shape {shorten(str(shape))}; expected {_describe(spec)} with "
                f"1 <= batch <= {config.max_batch_size}"
            )
        dtype = numpy_dtype(spec.data_type)
        count = int(np.prod(shape))
        if request.raw_input_contents:
            raw = request.raw_input_contents[index]
            if len(raw) != count * dtype.itemsize:
                raise InvalidArgument(
                    f"input {tensor.name!r}: {len(raw)} bytes of raw content for shape {shape} of "
                    f"{want_type}; expected {count * dtype.itemsize} bytes (little-endian)"
                )
            array = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
        else:
            values = getattr(tensor.contents, _TYPED_CONTENTS[spec.data_type])
            if len(values) != count:
                raise InvalidArgument(
                    f"input {tensor.name!r}: {len(values)} values for shape {shape}; expected {count} "
                    "(in raw_input_contents or contents)"
                )
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
                + ", ".join(_describe(s) for s in config.output)
            )
        k = 0
        if CLASSIFICATION in output.parameters:
            param = output.parameters[CLASSIFICATION]
            kind = param.WhichOneof("parameter_choice")
            k = int(getattr(param, kind)) if kind in ("int64_param", "uint64_param") else -1
            classes = int(np.prod(specs[output.name].dims))
            if not 1 <= k <= classes:
                raise InvalidArgument(
                    f"classification for output {output.name!r} must be an integer between 1 and {classes}"
                )
        wanted.append((output.name, k))
    return wanted
