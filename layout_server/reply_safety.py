"""What of an LLM endpoint's answer may travel on: capped text, and no secrets.

An endpoint is not trusted. Its reply may be megabytes long (kept whole it would break the gRPC
message limit of the client, or of the server itself, and cost tokens when sent back in a
re-ask), and it may echo what it was sent (an `Authorization` header, a key in the URL). So a
raw reply is kept once, cut to a cap with a marker saying how long it was, and every string
field of a response is passed through the log redactor, which masks the configured secrets by
value and credential-shaped text by pattern.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from marquee.serving.structured_logs import redact_text

#: The most of a raw reply kept in a response (a valid layout is about 1,500 characters).
MAX_KEPT_REPLY_CHARS = 16_000
#: The most of a rejected reply sent back to the model in a re-ask.
MAX_REASK_REPLY_CHARS = 4_000
#: The most of an endpoint's error text quoted in an attempt or a status message.
MAX_CAUSE_CHARS = 1_000


#: Text kept beyond a cap before masking, so that a secret cut by the cap is still masked whole.
_SECRET_MARGIN = 4_096


def excerpt(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, secrets masked, with a marker giving the full length
    when it was cut. Masks before cutting: a cut through a secret must not leave half of it."""
    head = redact_text(text[: limit + _SECRET_MARGIN])
    if len(text) <= limit:
        return head
    return f"{head[:limit]}…[truncated: {len(text):,} characters in all]"


_M = TypeVar("_M", bound=Message)


def scrub_message(message: _M) -> _M:
    """Masks secrets in every string field of `message` (nested and repeated ones too), in place;
    returns it."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                value[:] = [redact_text(item) for item in value]
            else:
                setattr(message, field.name, redact_text(value))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue  # no maps in the layout contract
            for item in value if field.is_repeated else [value]:
                scrub_message(item)
    return message
