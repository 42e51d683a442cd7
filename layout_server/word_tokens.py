"""Words and sentence stops of a text, tokenised once and cached.

Plots are read three ways per request (noun phrases, cue words, character names) and come back
request after request while an operator edits a scenario; one cached tokenisation serves all.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*|[.!?;:]")
#: Tokens that end a sentence (or a clause that starts like one).
SENTENCE_STOPS = frozenset(".!?;:")


@lru_cache(maxsize=4096)
def word_tokens(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(tokens as written, the same tokens in lower case): ASCII words (with ' and -) and the
    punctuation in `SENTENCE_STOPS`."""
    tokens = tuple(_TOKEN.findall(text))
    return tokens, tuple(token.lower() for token in tokens)


def clear_cache() -> None:
    word_tokens.cache_clear()
