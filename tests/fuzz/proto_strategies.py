"""Hypothesis strategies for any protobuf message, built from its descriptor alone (the explicit
examples every run adds are in `tests.fuzz.hostile_examples`).

Every field kind is covered: strings (ordinary, hostile, and a few MiB long), bytes, integers at
their type's edges, floats with NaN and infinities, open enums with undefined values, nested and
repeated messages (including one element repeated thousands of times), maps and oneofs. A new
field or RPC is fuzzed without touching this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

T = TypeVar("T")
F = FieldDescriptor

#: Requests larger than this are not generated: over the servers' 64 MiB limit a request is
#: refused by gRPC itself (RESOURCE_EXHAUSTED), which says nothing about the server's code.
MAX_REQUEST_BYTES = 12 * 1024 * 1024
#: How deep nested messages go (recursive types such as google.protobuf.Value stop here).
MAX_DEPTH = 4
#: Byte sizes of the huge strings and bytes values.
HUGE_SIZES = (4_097, 70_000, 1 << 20, 3 << 20)
#: How many times one element is repeated in a "deep repeat", when it is small.
DEEP_REPEATS = (1_000, 20_000)

HOSTILE_TEXT = (
    "",
    " ",
    "\t\n",
    "\x00",
    "\x00" * 64,
    "²",
    "٣",
    "9" * 5_000,
    "-1",
    "NaN",
    "inf",
    "1e309",
    "../../../../etc/passwd",
    "'; DROP TABLE movies; --",
    "{{7*7}}",
    "%s%s%n",
    "\u202e\u2066",
    "Ｔｏｙ Ｓｔｏｒｙ",
    "🎬" * 20,
    "a\r\nb",
    "Bearer sk-fuzz",
    "<script>alert(1)</script>",
    "Toy Story (1995)",
    "sasrec",
    "movie_ids",
    "scores",
    "1",
    "2",
)
HUGE_FILL = ("x", "é", "🎬", " ", "\x00")

INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of `choices`, each drawn in proportion to its weight."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


def huge_text(fill: str, size: int) -> str:
    return fill * max(1, size // len(fill.encode()))


@cache
def texts() -> st.SearchStrategy[str]:
    return weighted(
        (6, st.text(st.characters(exclude_categories=("Cs",)), max_size=40)),
        (3, st.sampled_from(HOSTILE_TEXT)),
        (1, st.builds(huge_text, st.sampled_from(HUGE_FILL), st.sampled_from(HUGE_SIZES))),
    )


@cache
def binaries() -> st.SearchStrategy[bytes]:
    return weighted((6, st.binary(max_size=64)), (1, st.sampled_from(HUGE_SIZES).map(lambda n: b"\xff" * n)))


@cache
def integers(field_type: int) -> st.SearchStrategy[int]:
    low, high = INT_RANGES[field_type]
    edges = sorted({low, high, 0, 1, -1 if low < 0 else 0, 2**31 - 1, 2**16, 10_000_000})
    return weighted(
        (4, st.integers(max(low, -3), min(high, 300))),
        (3, st.sampled_from([e for e in edges if low <= e <= high])),
        (2, st.integers(low, high)),
    )


@cache
def floats(width: int) -> st.SearchStrategy[float]:
    edges = [
        0.0,
        -0.0,
        1.0,
        0.5,
        1e-7,
        -1e-7,
        1 + 1e-7,
        float("nan"),
        float("inf"),
        float("-inf"),
        3.4e38 if width == 32 else 1.7e308,
        1e-45 if width == 32 else 5e-324,
    ]
    return weighted(
        (3, st.floats(-2.0, 2.0, width=width)),
        (3, st.sampled_from(edges)),
        (2, st.floats(allow_nan=True, allow_infinity=True, width=width)),
    )


@cache
def enums(field: FieldDescriptor) -> st.SearchStrategy[int]:
    defined = [value.number for value in field.enum_type.values]
    return weighted((3, st.sampled_from(defined)), (1, st.integers(-(2**31), 2**31 - 1)))


@cache
def scalars(field: FieldDescriptor) -> st.SearchStrategy[object]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return texts()
    if kind == F.TYPE_BYTES:
        return binaries()
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        return enums(field)
    if kind == F.TYPE_FLOAT:
        return floats(32)
    if kind == F.TYPE_DOUBLE:
        return floats(64)
    return integers(kind)


def is_map_field(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


_REPEAT_COUNTS = weighted((8, st.integers(0, 4)), (1, st.sampled_from(DEEP_REPEATS)))


def _fill(draw: Callable, message: Message, field: FieldDescriptor, depth: int) -> None:
    name = field.name
    if is_map_field(field):
        key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        target = getattr(message, name)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(scalars(key_field))
            if value_field.type == F.TYPE_MESSAGE:
                target[key].CopyFrom(draw(messages(value_field.message_type, depth + 1)))
            else:
                target[key] = draw(scalars(value_field))
        return
    is_message = field.type == F.TYPE_MESSAGE
    if is_message and depth >= MAX_DEPTH:
        return
    element = (lambda: draw(messages(field.message_type, depth + 1))) if is_message else (lambda: draw(scalars(field)))
    if not field.is_repeated:
        value = element()
        if is_message:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
        return
    count = draw(_REPEAT_COUNTS)
    target = getattr(message, name)
    if count <= 4:
        values = [element() for _ in range(count)]
    else:
        # A deep repeat: one small element many times (thousands of draws would be slow).
        one = element()
        size = one.ByteSize() if is_message else len(one) if isinstance(one, (str, bytes)) else 8
        values = [one] * (count if size * count <= MAX_REQUEST_BYTES // 4 else 1)
    if is_message:
        for value in values:
            target.add().CopyFrom(value)
    else:
        target.extend(values)


@cache
def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of type `descriptor`: each oneof gets at most one member, every other field is
    set or left unset at random (for `optional` fields, setting a default value marks presence)."""
    return _messages(descriptor, depth)


@cache
def _members(oneof: object) -> st.SearchStrategy[FieldDescriptor | None]:
    return st.sampled_from([None, *oneof.fields])


@st.composite
def _messages(draw: Callable, descriptor: Descriptor, depth: int) -> Message:
    message = message_factory.GetMessageClass(descriptor)()
    for oneof in descriptor.oneofs:
        chosen = draw(_members(oneof))
        if chosen is not None:
            _fill(draw, message, chosen, depth)
    for field in descriptor.fields:
        if field.containing_oneof is None and draw(st.booleans()):
            _fill(draw, message, field, depth)
    return message


@st.composite
def mutations(draw: Callable, base: Message) -> Message:
    """`base` (a valid request) with one to three fields, at any depth, replaced by fuzzed values:
    reaches the code behind the first validation, which random messages seldom pass."""
    message = type(base)()
    message.CopyFrom(base)
    for _ in range(draw(st.integers(1, 3))):
        target = message
        depth = 0
        while True:
            field = draw(st.sampled_from(list(target.DESCRIPTOR.fields)))
            nested = (
                field.type == F.TYPE_MESSAGE and not is_map_field(field) and depth < MAX_DEPTH and draw(st.booleans())
            )
            if not nested:
                target.ClearField(field.name)
                _fill(draw, target, field, depth)
                break
            if field.is_repeated:
                items = getattr(target, field.name)
                if not items:
                    _fill(draw, target, field, depth)
                    break
                target = items[draw(st.integers(0, len(items) - 1))]
            else:
                target = getattr(target, field.name)
            depth += 1
    return message


def _nested(levels: int) -> bytes:
    """`levels` length-delimited fields 2 inside each other: deeper than parsers' recursion limits."""
    data = b""
    for _ in range(levels):
        length, size = b"", len(data)
        while True:
            low, size = size & 0x7F, size >> 7
            length += bytes([low | (0x80 if size else 0)])
            if not size:
                break
        data = b"\x12" + length + data
    return data


#: Payloads that are not valid protobuf, or are valid only by accident.
MALFORMED = (
    b"\x08",
    b"\x0a",
    b"\x0a\x05ab",
    b"\x0a\x02\xff\xfe",
    b"\x12\x03\xc3\x28a",
    b"\x0b",
    b"\x0c",
    b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x0a\xff\xff\xff\xff\x0f",
    b"\x0a\x80" * 2,
    b"\x07",
    b"\xff" * 16,
    b"\x00",
    b"\x00" * 4096,
    b"\x12\x02\x0a\x05",
    b"\x0a" + b"\x7f" + b"\x0a" * 127,
    _nested(120),
    _nested(5_000),
)


def raw_payloads(valid: st.SearchStrategy[Message]) -> st.SearchStrategy[bytes]:
    """Bytes as the request: random, known-malformed, and valid messages cut or corrupted."""

    @st.composite
    def damaged(draw: Callable) -> bytes:
        data = bytearray(draw(valid).SerializeToString())
        if not data:
            return b"\x0a\x01"
        if draw(st.booleans()):
            return bytes(data[: draw(st.integers(0, len(data) - 1))])
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)

    return weighted((4, st.binary(max_size=256)), (3, st.sampled_from(MALFORMED)), (3, damaged()))
