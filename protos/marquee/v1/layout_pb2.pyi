from marquee.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Planner(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLANNER_UNSPECIFIED: _ClassVar[Planner]
    PLANNER_AUTO: _ClassVar[Planner]
    PLANNER_LLM: _ClassVar[Planner]
    PLANNER_OFFLINE: _ClassVar[Planner]
PLANNER_UNSPECIFIED: Planner
PLANNER_AUTO: Planner
PLANNER_LLM: Planner
PLANNER_OFFLINE: Planner

class LayoutObject(_message.Message):
    __slots__ = ("name", "feature", "box")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    name: str
    feature: str
    box: _common_pb2.Box
    def __init__(self, name: _Optional[str] = ..., feature: _Optional[str] = ..., box: _Optional[_Union[_common_pb2.Box, _Mapping]] = ...) -> None: ...

class Layout(_message.Message):
    __slots__ = ("title", "mood", "objects")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MOOD_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    title: str
    mood: str
    objects: _containers.RepeatedCompositeFieldContainer[LayoutObject]
    def __init__(self, title: _Optional[str] = ..., mood: _Optional[str] = ..., objects: _Optional[_Iterable[_Union[LayoutObject, _Mapping]]] = ...) -> None: ...

class PlanningContext(_message.Message):
    __slots__ = ("watched_top_genres", "recommended_movies")
    WATCHED_TOP_GENRES_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_MOVIES_FIELD_NUMBER: _ClassVar[int]
    watched_top_genres: _containers.RepeatedScalarFieldContainer[str]
    recommended_movies: _containers.RepeatedCompositeFieldContainer[_common_pb2.Movie]
    def __init__(self, watched_top_genres: _Optional[_Iterable[str]] = ..., recommended_movies: _Optional[_Iterable[_Union[_common_pb2.Movie, _Mapping]]] = ...) -> None: ...

class PlanLayoutRequest(_message.Message):
    __slots__ = ("scenario", "context", "planner", "system_instruction")
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PLANNER_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    scenario: str
    context: PlanningContext
    planner: Planner
    system_instruction: str
    def __init__(self, scenario: _Optional[str] = ..., context: _Optional[_Union[PlanningContext, _Mapping]] = ..., planner: _Optional[_Union[Planner, str]] = ..., system_instruction: _Optional[str] = ...) -> None: ...

class LayoutProblem(_message.Message):
    __slots__ = ("code", "field", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    field: str
    message: str
    def __init__(self, code: _Optional[str] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class LayoutRepair(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class PlanAttempt(_message.Message):
    __slots__ = ("planner", "outcome", "problems", "error", "raw_reply")
    PLANNER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RAW_REPLY_FIELD_NUMBER: _ClassVar[int]
    planner: Planner
    outcome: str
    problems: _containers.RepeatedCompositeFieldContainer[LayoutProblem]
    error: str
    raw_reply: str
    def __init__(self, planner: _Optional[_Union[Planner, str]] = ..., outcome: _Optional[str] = ..., problems: _Optional[_Iterable[_Union[LayoutProblem, _Mapping]]] = ..., error: _Optional[str] = ..., raw_reply: _Optional[str] = ...) -> None: ...

class PlanLayoutResponse(_message.Message):
    __slots__ = ("layout", "planner_used", "repairs", "raw_model_reply", "attempts", "model")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    PLANNER_USED_FIELD_NUMBER: _ClassVar[int]
    REPAIRS_FIELD_NUMBER: _ClassVar[int]
    RAW_MODEL_REPLY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    layout: Layout
    planner_used: Planner
    repairs: _containers.RepeatedCompositeFieldContainer[LayoutRepair]
    raw_model_reply: str
    attempts: _containers.RepeatedCompositeFieldContainer[PlanAttempt]
    model: str
    def __init__(self, layout: _Optional[_Union[Layout, _Mapping]] = ..., planner_used: _Optional[_Union[Planner, str]] = ..., repairs: _Optional[_Iterable[_Union[LayoutRepair, _Mapping]]] = ..., raw_model_reply: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[PlanAttempt, _Mapping]]] = ..., model: _Optional[str] = ...) -> None: ...

class ValidateLayoutRequest(_message.Message):
    __slots__ = ("layout", "context")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    layout: Layout
    context: PlanningContext
    def __init__(self, layout: _Optional[_Union[Layout, _Mapping]] = ..., context: _Optional[_Union[PlanningContext, _Mapping]] = ...) -> None: ...

class ValidateLayoutResponse(_message.Message):
    __slots__ = ("problems", "valid")
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    problems: _containers.RepeatedCompositeFieldContainer[LayoutProblem]
    valid: bool
    def __init__(self, problems: _Optional[_Iterable[_Union[LayoutProblem, _Mapping]]] = ..., valid: _Optional[bool] = ...) -> None: ...

class DescribePlannerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribePlannerResponse(_message.Message):
    __slots__ = ("llm_configured", "llm_model", "default_system_instruction", "max_scenario_chars", "max_plot_chars", "max_system_instruction_chars", "min_objects", "max_objects", "min_box_area", "max_recommended_movies", "max_genres", "max_genre_chars", "max_movie_title_chars", "max_movie_genres")
    LLM_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    LLM_MODEL_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SYSTEM_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    MAX_SCENARIO_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_PLOT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_SYSTEM_INSTRUCTION_CHARS_FIELD_NUMBER: _ClassVar[int]
    MIN_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    MAX_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    MIN_BOX_AREA_FIELD_NUMBER: _ClassVar[int]
    MAX_RECOMMENDED_MOVIES_FIELD_NUMBER: _ClassVar[int]
    MAX_GENRES_FIELD_NUMBER: _ClassVar[int]
    MAX_GENRE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_MOVIE_TITLE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_MOVIE_GENRES_FIELD_NUMBER: _ClassVar[int]
    llm_configured: bool
    llm_model: str
    default_system_instruction: str
    max_scenario_chars: int
    max_plot_chars: int
    max_system_instruction_chars: int
    min_objects: int
    max_objects: int
    min_box_area: float
    max_recommended_movies: int
    max_genres: int
    max_genre_chars: int
    max_movie_title_chars: int
    max_movie_genres: int
    def __init__(self, llm_configured: _Optional[bool] = ..., llm_model: _Optional[str] = ..., default_system_instruction: _Optional[str] = ..., max_scenario_chars: _Optional[int] = ..., max_plot_chars: _Optional[int] = ..., max_system_instruction_chars: _Optional[int] = ..., min_objects: _Optional[int] = ..., max_objects: _Optional[int] = ..., min_box_area: _Optional[float] = ..., max_recommended_movies: _Optional[int] = ..., max_genres: _Optional[int] = ..., max_genre_chars: _Optional[int] = ..., max_movie_title_chars: _Optional[int] = ..., max_movie_genres: _Optional[int] = ...) -> None: ...
