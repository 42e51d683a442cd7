from marquee.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchMoviesRequest(_message.Message):
    __slots__ = ("query", "limit")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    query: str
    limit: int
    def __init__(self, query: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("movie", "match_score")
    MOVIE_FIELD_NUMBER: _ClassVar[int]
    MATCH_SCORE_FIELD_NUMBER: _ClassVar[int]
    movie: _common_pb2.Movie
    match_score: float
    def __init__(self, movie: _Optional[_Union[_common_pb2.Movie, _Mapping]] = ..., match_score: _Optional[float] = ...) -> None: ...

class SearchMoviesResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class ResolveTitlesRequest(_message.Message):
    __slots__ = ("queries",)
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, queries: _Optional[_Iterable[str]] = ...) -> None: ...

class TitleResolution(_message.Message):
    __slots__ = ("query", "status", "movie", "candidates", "candidate_count", "closest")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[TitleResolution.Status]
        STATUS_RESOLVED: _ClassVar[TitleResolution.Status]
        STATUS_AMBIGUOUS: _ClassVar[TitleResolution.Status]
        STATUS_NOT_FOUND: _ClassVar[TitleResolution.Status]
    STATUS_UNSPECIFIED: TitleResolution.Status
    STATUS_RESOLVED: TitleResolution.Status
    STATUS_AMBIGUOUS: TitleResolution.Status
    STATUS_NOT_FOUND: TitleResolution.Status
    QUERY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MOVIE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLOSEST_FIELD_NUMBER: _ClassVar[int]
    query: str
    status: TitleResolution.Status
    movie: _common_pb2.Movie
    candidates: _containers.RepeatedCompositeFieldContainer[_common_pb2.Movie]
    candidate_count: int
    closest: _containers.RepeatedCompositeFieldContainer[_common_pb2.Movie]
    def __init__(self, query: _Optional[str] = ..., status: _Optional[_Union[TitleResolution.Status, str]] = ..., movie: _Optional[_Union[_common_pb2.Movie, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[_common_pb2.Movie, _Mapping]]] = ..., candidate_count: _Optional[int] = ..., closest: _Optional[_Iterable[_Union[_common_pb2.Movie, _Mapping]]] = ...) -> None: ...

class ResolveTitlesResponse(_message.Message):
    __slots__ = ("resolutions",)
    RESOLUTIONS_FIELD_NUMBER: _ClassVar[int]
    resolutions: _containers.RepeatedCompositeFieldContainer[TitleResolution]
    def __init__(self, resolutions: _Optional[_Iterable[_Union[TitleResolution, _Mapping]]] = ...) -> None: ...

class GetMoviesRequest(_message.Message):
    __slots__ = ("movie_ids",)
    MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    movie_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, movie_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class GetMoviesResponse(_message.Message):
    __slots__ = ("movies",)
    MOVIES_FIELD_NUMBER: _ClassVar[int]
    movies: _containers.RepeatedCompositeFieldContainer[_common_pb2.Movie]
    def __init__(self, movies: _Optional[_Iterable[_Union[_common_pb2.Movie, _Mapping]]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("watched_movie_ids", "k", "exclude_watched")
    WATCHED_MOVIE_IDS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_WATCHED_FIELD_NUMBER: _ClassVar[int]
    watched_movie_ids: _containers.RepeatedScalarFieldContainer[int]
    k: int
    exclude_watched: bool
    def __init__(self, watched_movie_ids: _Optional[_Iterable[int]] = ..., k: _Optional[int] = ..., exclude_watched: _Optional[bool] = ...) -> None: ...

class ScoredMovie(_message.Message):
    __slots__ = ("movie", "score", "rank")
    MOVIE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    movie: _common_pb2.Movie
    score: float
    rank: int
    def __init__(self, movie: _Optional[_Union[_common_pb2.Movie, _Mapping]] = ..., score: _Optional[float] = ..., rank: _Optional[int] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("recommendations", "model_name", "model_version", "history_length_used")
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LENGTH_USED_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[ScoredMovie]
    model_name: str
    model_version: str
    history_length_used: int
    def __init__(self, recommendations: _Optional[_Iterable[_Union[ScoredMovie, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., history_length_used: _Optional[int] = ...) -> None: ...
