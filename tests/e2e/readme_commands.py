"""The `python -m client_tui run` commands a document shows in its code blocks, as a reader would
copy them: backslash-continued lines joined, split the way a POSIX shell splits them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

PREFIX = ("python", "-m", "client_tui", "run")
_FENCE = re.compile(r"^```[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
#: A usage synopsis marks optional parts as `[--flag ...]`.
_OPTIONAL = re.compile(r"\s*\[[^\]]*\]")


@dataclass(frozen=True)
class DocCommand:
    source: str
    line: int
    text: str
    #: True when the document shows a synopsis: `words` is its required part (optional groups
    #: dropped), not the text verbatim.
    synopsis: bool

    @property
    def words(self) -> list[str]:
        return shlex.split(_OPTIONAL.sub("", self.text) if self.synopsis else self.text)


def client_run_commands(path: Path) -> list[DocCommand]:
    text = path.read_text(encoding="utf-8")
    commands = []
    for block in _FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start("body")) + 1
        logical = ""
        start = first_line
        for offset, line in enumerate(block["body"].splitlines()):
            if not logical:
                start = first_line + offset
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            logical = (logical + line).strip()
            if tuple(logical.split()[:4]) == PREFIX:
                commands.append(DocCommand(path.name, start, logical, synopsis="[" in logical))
            logical = ""
    return commands


def option_values(words: list[str], flag: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == flag]
