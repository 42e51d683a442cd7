"""`python -m render_server --help` lists every option."""

from __future__ import annotations

import sys
from typing import Sequence

from marquee.serving import run
from render_server.config import RenderSettings
from render_server.service import RenderService


def main(argv: Sequence[str] | None = None) -> int:
    return run(RenderSettings, RenderService, argv, prog="python -m render_server")


if __name__ == "__main__":
    sys.exit(main())
