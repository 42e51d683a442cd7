from marquee.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RenderObject(_message.Message):
    __slots__ = ("phrase", "box")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    box: _common_pb2.Box
    def __init__(self, phrase: _Optional[str] = ..., box: _Optional[_Union[_common_pb2.Box, _Mapping]] = ...) -> None: ...

class RenderRequest(_message.Message):
    __slots__ = ("prompt", "objects", "steps", "guidance", "width", "height", "seed", "preview_interval", "title", "mood", "genres", "negative_prompt")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MOOD_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    objects: _containers.RepeatedCompositeFieldContainer[RenderObject]
    steps: int
    guidance: float
    width: int
    height: int
    seed: int
    preview_interval: int
    title: str
    mood: str
    genres: _containers.RepeatedScalarFieldContainer[str]
    negative_prompt: str
    def __init__(self, prompt: _Optional[str] = ..., objects: _Optional[_Iterable[_Union[RenderObject, _Mapping]]] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., seed: _Optional[int] = ..., preview_interval: _Optional[int] = ..., title: _Optional[str] = ..., mood: _Optional[str] = ..., genres: _Optional[_Iterable[str]] = ..., negative_prompt: _Optional[str] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("position", "queue_depth")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    position: int
    queue_depth: int
    def __init__(self, position: _Optional[int] = ..., queue_depth: _Optional[int] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("step", "total_steps", "elapsed_seconds", "stage")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    elapsed_seconds: float
    stage: str
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ..., stage: _Optional[str] = ...) -> None: ...

class Preview(_message.Message):
    __slots__ = ("step", "image")
    STEP_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    step: int
    image: _common_pb2.EncodedImage
    def __init__(self, step: _Optional[int] = ..., image: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ...) -> None: ...

class RenderMetadata(_message.Message):
    __slots__ = ("seed", "steps", "guidance", "width", "height", "engine", "model", "queued_seconds", "total_seconds", "first_preview_seconds", "seconds_per_step", "saved_files", "layout_steps", "job_id", "steps_requested", "notice")
    SEED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    QUEUED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_PREVIEW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_PER_STEP_FIELD_NUMBER: _ClassVar[int]
    SAVED_FILES_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_STEPS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    engine: str
    model: str
    queued_seconds: float
    total_seconds: float
    first_preview_seconds: float
    seconds_per_step: float
    saved_files: _containers.RepeatedScalarFieldContainer[str]
    layout_steps: int
    job_id: str
    steps_requested: int
    notice: str
    def __init__(self, seed: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., engine: _Optional[str] = ..., model: _Optional[str] = ..., queued_seconds: _Optional[float] = ..., total_seconds: _Optional[float] = ..., first_preview_seconds: _Optional[float] = ..., seconds_per_step: _Optional[float] = ..., saved_files: _Optional[_Iterable[str]] = ..., layout_steps: _Optional[int] = ..., job_id: _Optional[str] = ..., steps_requested: _Optional[int] = ..., notice: _Optional[str] = ...) -> None: ...

class RenderResult(_message.Message):
    __slots__ = ("image", "layout_on_image", "layout_on_white", "metadata")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_ON_IMAGE_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_ON_WHITE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.EncodedImage
    layout_on_image: _common_pb2.EncodedImage
    layout_on_white: _common_pb2.EncodedImage
    metadata: RenderMetadata
    def __init__(self, image: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ..., layout_on_image: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ..., layout_on_white: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ..., metadata: _Optional[_Union[RenderMetadata, _Mapping]] = ...) -> None: ...

class RenderResponse(_message.Message):
    __slots__ = ("job_id", "queued", "progress", "preview", "result")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    queued: Queued
    progress: Progress
    preview: Preview
    result: RenderResult
    def __init__(self, job_id: _Optional[str] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., preview: _Optional[_Union[Preview, _Mapping]] = ..., result: _Optional[_Union[RenderResult, _Mapping]] = ...) -> None: ...

class DescribeEngineRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DescribeEngineResponse(_message.Message):
    __slots__ = ("engine", "model", "device", "max_width", "max_height", "max_boxes", "default_steps", "default_guidance", "default_size", "max_queue_depth", "not_ready_reason", "engine_notice", "max_prompt_chars", "max_title_chars", "max_mood_chars", "max_negative_prompt_chars", "max_genres", "max_genre_chars", "max_phrase_chars", "min_box_side", "min_box_pixels", "max_steps")
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MAX_WIDTH_FIELD_NUMBER: _ClassVar[int]
    MAX_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_BOXES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_STEPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    NOT_READY_REASON_FIELD_NUMBER: _ClassVar[int]
    ENGINE_NOTICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_TITLE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_MOOD_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEGATIVE_PROMPT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_GENRES_FIELD_NUMBER: _ClassVar[int]
    MAX_GENRE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_PHRASE_CHARS_FIELD_NUMBER: _ClassVar[int]
    MIN_BOX_SIDE_FIELD_NUMBER: _ClassVar[int]
    MIN_BOX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    engine: str
    model: str
    device: str
    max_width: int
    max_height: int
    max_boxes: int
    default_steps: int
    default_guidance: float
    default_size: int
    max_queue_depth: int
    not_ready_reason: str
    engine_notice: str
    max_prompt_chars: int
    max_title_chars: int
    max_mood_chars: int
    max_negative_prompt_chars: int
    max_genres: int
    max_genre_chars: int
    max_phrase_chars: int
    min_box_side: float
    min_box_pixels: int
    max_steps: int
    def __init__(self, engine: _Optional[str] = ..., model: _Optional[str] = ..., device: _Optional[str] = ..., max_width: _Optional[int] = ..., max_height: _Optional[int] = ..., max_boxes: _Optional[int] = ..., default_steps: _Optional[int] = ..., default_guidance: _Optional[float] = ..., default_size: _Optional[int] = ..., max_queue_depth: _Optional[int] = ..., not_ready_reason: _Optional[str] = ..., engine_notice: _Optional[str] = ..., max_prompt_chars: _Optional[int] = ..., max_title_chars: _Optional[int] = ..., max_mood_chars: _Optional[int] = ..., max_negative_prompt_chars: _Optional[int] = ..., max_genres: _Optional[int] = ..., max_genre_chars: _Optional[int] = ..., max_phrase_chars: _Optional[int] = ..., min_box_side: _Optional[float] = ..., min_box_pixels: _Optional[int] = ..., max_steps: _Optional[int] = ...) -> None: ...
