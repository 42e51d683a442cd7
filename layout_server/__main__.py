"""`python -m layout_server --help` lists every option."""

from __future__ import annotations

import sys
from typing import Sequence

from marquee.serving import run
from layout_server.config import LayoutSettings
from layout_server.service import LayoutService


def main(argv: Sequence[str] | None = None) -> int:
    return run(LayoutSettings, LayoutService, argv, prog="python -m layout_server")


if __name__ == "__main__":
    sys.exit(main())
