"""Hand-picked requests run on every fuzz run (hypothesis' explicit examples), derived from a
message's descriptor and, where there is one, a valid request: every field at once at an extreme,
and one field at a time made hostile while the rest stays valid."""

from __future__ import annotations

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from tests.fuzz.proto_strategies import DEEP_REPEATS, INT_RANGES, MAX_DEPTH, MAX_REQUEST_BYTES, huge_text, is_map_field

F = FieldDescriptor

#: Line breaks, tabs, escapes and bidi controls: text that drawing and logging code must survive.
CONTROL_TEXT = "one\r\ntwo\n\tthree\x1b[31m\u202efour\x00"


def _extreme_scalar(field: FieldDescriptor, variant: str) -> object:
    """The value of `field` in the `variant` example; None keeps the field as it is."""
    kind = field.type
    if variant == "text":
        return CONTROL_TEXT if kind == F.TYPE_STRING else None
    if kind == F.TYPE_STRING:
        return {"huge": huge_text("é", 1 << 20), "edge": "\x00²", "low": ""}[variant]
    if kind == F.TYPE_BYTES:
        return {"huge": b"\xff" * (1 << 20), "edge": b"\x00", "low": b""}[variant]
    if kind == F.TYPE_BOOL:
        return variant != "low"
    if kind == F.TYPE_ENUM:
        return {"huge": 2**31 - 1, "edge": -1, "low": -(2**31)}[variant]
    if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return {"huge": float("inf"), "edge": float("nan"), "low": float("-inf")}[variant]
    low, high = INT_RANGES[kind]
    return {"huge": high, "edge": -1 if low < 0 else high, "low": low}[variant]


def _push_to_extremes(message: Message, variant: str, depth: int) -> None:
    """Every scalar field of `message` (set or not) and of the messages it holds, at an extreme."""
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        if (
            field.containing_oneof is not None
            and field.containing_oneof.fields[0] is not field
            and message.WhichOneof(field.containing_oneof.name) != field.name
        ):
            continue  # one member per oneof: the set one, else the first
        if is_map_field(field):
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
    if field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
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
                if is_map_field(field):
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
