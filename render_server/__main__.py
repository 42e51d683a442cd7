"""`python -m render_server --help` lists every option."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from marquee.extras import missing_extra
from marquee.serving import run


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, so a missing extra is a message and not a traceback.
    try:
        from render_server.config import RenderSettings
        from render_server.service import RenderModelService
    except ModuleNotFoundError as error:
        return missing_extra("python -m render_server", "render", error)
    return run(RenderSettings, RenderModelService, argv, prog="python -m render_server")


if __name__ == "__main__":
    sys.exit(main())
