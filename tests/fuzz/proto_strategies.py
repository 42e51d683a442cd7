"""Hypothesis strategies for any protobuf message, built from its descriptor alone.

Every field kind is covered: strings (ordinary, hostile, and a few MiB long), bytes, integers at
their type's edges, floats with NaN and infinities, open enums with undefined values, nested and
repeated messages (including one element repeated thousands of times), maps and oneofs. A new
field or RPC is fuzzed without touching this module.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, TypeVar

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
    "", " ", "\t\n", "\x00", "\x00" * 64, "²", "٣", "9" * 5_000, "-1", "NaN", "inf", "1e309",
    "../../../../etc/passwd", "'; DROP TABLE movies; --", "{{7*7}}", "%s%s%n", "\u202e\u2066",
    "Ｔｏｙ Ｓｔｏｒｙ", "🎬" * 20, "a\r\nb", "Bearer sk-fuzz", "<script>alert(1)</script>",
    "Toy Story (1995)", "sasrec", "movie_ids", "scores", "1", "2",
)
HUGE_FILL = ("x", "é", "🎬", " ", "\x00")

_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1), F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of `choices`, each drawn in proportion to its weight."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


def _huge_text(fill: str, size: int) -> str:
    return fill * max(1, size // len(fill.encode()))


@lru_cache(maxsize=None)
def texts() -> st.SearchStrategy[str]:
    return weighted(
        (6, st.text(st.characters(exclude_categories=("Cs",)), max_size=40)),
        (3, st.sampled_from(HOSTILE_TEXT)),
        (1, st.builds(_huge_text, st.sampled_from(HUGE_FILL), st.sampled_from(HUGE_SIZES))),
    )


@lru_cache(maxsize=None)
def binaries() -> st.SearchStrategy[bytes]:
    return weighted(
        (6, st.binary(max_size=64)),
        (1, st.sampled_from(HUGE_SIZES).map(lambda n: b"\xff" * n)),
    )


@lru_cache(maxsize=None)
def integers(field_type: int) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field_type]
    edges = sorted({low, high, 0, 1, -1 if low < 0 else 0, 2**31 - 1, 2**16, 10_000_000})
    return weighted(
        (4, st.integers(max(low, -3), min(high, 300))),
        (3, st.sampled_from([e for e in edges if low <= e <= high])),
        (2, st.integers(low, high)),
    )


@lru_cache(maxsize=None)
def floats(width: int) -> st.SearchStrategy[float]:
    edges = [0.0, -0.0, 1.0, 0.5, 1e-7, -1e-7, 1 + 1e-7, float("nan"), float("inf"), float("-inf"),
             3.4e38 if width == 32 else 1.7e308, 1e-45 if width == 32 else 5e-324]
    return weighted(
        (3, st.floats(-2.0, 2.0, width=width)),
        (3, st.sampled_from(edges)),
        (2, st.floats(allow_nan=True, allow_infinity=True, width=width)),
    )


@lru_cache(maxsize=None)
def enums(field: FieldDescriptor) -> st.SearchStrategy[int]:
    defined = [value.number for value in field.enum_type.values]
    return weighted((3, st.sampled_from(defined)), (1, st.integers(-(2**31), 2**31 - 1)))


@lru_cache(maxsize=None)
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


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


_REPEAT_COUNTS = weighted((8, st.integers(0, 4)), (1, st.sampled_from(DEEP_REPEATS)))


def _fill(draw: Callable, message: Message, field: FieldDescriptor, depth: int) -> None:
    name = field.name
    if _is_map(field):
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
    element = (lambda: draw(messages(field.message_type, depth + 1))) if is_message else (
        lambda: draw(scalars(field)))
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


@lru_cache(maxsize=None)
def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of type `descriptor`: each oneof gets at most one member, every other field is
    set or left unset at random (for `optional` fields, setting a default value marks presence)."""
    return _messages(descriptor, depth)


@lru_cache(maxsize=None)
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
            nested = (field.type == F.TYPE_MESSAGE and not _is_map(field) and depth < MAX_DEPTH
                      and draw(st.booleans()))
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
    b"\x08", b"\x0a", b"\x0a\x05ab", b"\x0a\x02\xff\xfe", b"\x12\x03\xc3\x28a", b"\x0b",
    b"\x0c", b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x0a\xff\xff\xff\xff\x0f",
    b"\x0a\x80" * 2, b"\x07", b"\xff" * 16, b"\x00", b"\x00" * 4096,
    b"\x12\x02\x0a\x05", b"\x0a" + b"\x7f" + b"\x0a" * 127, _nested(120), _nested(5_000),
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

    return weighted(
        (4, st.binary(max_size=256)),
        (3, st.sampled_from(MALFORMED)),
        (3, damaged()),
    )


#: Line breaks, tabs, escapes and bidi controls: text that drawing and logging code must survive.
CONTROL_TEXT = "one\r\ntwo\n\tthree\x1b[31m\u202efour\x00"


def _extreme_scalar(field: FieldDescriptor, variant: str) -> object:
    """The value of `field` in the `variant` example; None keeps the field as it is."""
    kind = field.type
    if variant == "text":
        return CONTROL_TEXT if kind == F.TYPE_STRING else None
    if kind == F.TYPE_STRING:
        return {"huge": _huge_text("é", 1 << 20), "edge": "\x00²", "low": ""}[variant]
    if kind == F.TYPE_BYTES:
        return {"huge": b"\xff" * (1 << 20), "edge": b"\x00", "low": b""}[variant]
    if kind == F.TYPE_BOOL:
        return variant != "low"
    if kind == F.TYPE_ENUM:
        return {"huge": 2**31 - 1, "edge": -1, "low": -(2**31)}[variant]
    if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return {"huge": float("inf"), "edge": float("nan"), "low": float("-inf")}[variant]
    low, high = _INT_RANGES[kind]
    return {"huge": high, "edge": -1 if low < 0 else high, "low": low}[variant]


def _push_to_extremes(message: Message, variant: str, depth: int) -> None:
    """Every scalar field of `message` (set or not) and of the messages it holds, at an extreme."""
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        if field.containing_oneof is not None and not field.containing_oneof.fields[0] is field \
                and message.WhichOneof(field.containing_oneof.name) != field.name:
            continue  # one member per oneof: the set one, else the first
        if _is_map(field):
            continue
        if field.type == F.TYPE_MESSAGE:
            if depth >= MAX_DEPTH:
                continue
            children = list(getattr(message, field.name)) if field.is_repeated else [getattr(message, field.name)]
            if field.is_repeated and not children:
                children = [getattr(message, field.name).add()]
            for child in children:
                _push_to_extremes(child, variant, depth + 1)
            continue
        value = _extreme_scalar(field, variant)
        if value is None:
            continue
        if field.is_repeated and variant == "text":
            getattr(message, field.name).append(value)
        elif field.is_repeated:
            target = getattr(message, field.name)
            del target[:]
            target.extend([value] * (1 if variant == "huge" else DEEP_REPEATS[-1]))
        else:
            setattr(message, field.name, value)


def extremes(descriptor: Descriptor, base: Message | None = None) -> list[Message]:
    """Explicit examples run on every fuzz run: every field of `base` (or of an empty message)
    at once a few MiB long or at its type's maximum; NaN, -1 and undefined enum values with
    deep repeats; empty strings with minimum values and -inf; every string with line breaks and
    control characters, the rest of `base` kept valid."""
    found: dict[bytes, Message] = {}
    for variant in ("huge", "edge", "low", "text"):
        message = message_factory.GetMessageClass(descriptor)()
        if base is not None:
            message.CopyFrom(base)
        _push_to_extremes(message, variant, 0)
        if message.ByteSize() <= MAX_REQUEST_BYTES:
            found.setdefault(message.SerializeToString(), message)
    return list(found.values())


#: What each kind of field is set to, one field at a time, in a valid request.
_ONE_FIELD_VALUES = {
    F.TYPE_STRING: ("²", "9" * 5_000, CONTROL_TEXT),
    F.TYPE_FLOAT: (float("nan"), 1e-7),
    F.TYPE_DOUBLE: (float("nan"), 1e-7),
}


def _one_field_values(field: FieldDescriptor) -> tuple[object, ...]:
    if field.type in _ONE_FIELD_VALUES:
        return _ONE_FIELD_VALUES[field.type]
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        return (high, -1) if low < 0 else (high,)
    return ()


def one_field_at_a_time(base: Message, limit: int = 40) -> list[Message]:
    """Copies of the valid request `base`, each with one scalar field it sets (at any depth)
    pushed to a hostile value: a Unicode digit, a 5,000-digit number, control characters, NaN,
    a tiny float, the type's maximum, -1. Everything else stays valid, so the value reaches the
    code behind validation. At most `limit`, spread over the fields."""
    found: list[Message] = []

    def visit(message: Message, path: list[tuple[str, int | None]]) -> None:
        for field, value in message.ListFields():
            if field.type == F.TYPE_MESSAGE:
                if _is_map(field):
                    continue
                items = list(value) if field.is_repeated else [value]
                for index, item in enumerate(items):
                    visit(item, [*path, (field.name, index if field.is_repeated else None)])
                continue
            for hostile in _one_field_values(field):
                copy = type(base)()
                copy.CopyFrom(base)
                target = copy
                for name, index in path:
                    target = getattr(target, name)[index] if index is not None else getattr(target, name)
                if field.is_repeated:
                    getattr(target, field.name)[0] = hostile
                else:
                    setattr(target, field.name, hostile)
                found.append(copy)

    visit(base, [])
    step = max(1, -(-len(found) // limit))
    return found[::step]
