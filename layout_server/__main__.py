"""`python -m layout_server --help` lists every option."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from marquee.extras import missing_extra
from marquee.serving import run


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, so a missing extra is a message and not a traceback.
    try:
        from layout_server.config import LayoutSettings
        from layout_server.service import LayoutModelService
    except ModuleNotFoundError as error:
        return missing_extra("python -m layout_server", "layout", error)
    return run(LayoutSettings, LayoutModelService, argv, prog="python -m layout_server")


if __name__ == "__main__":
    sys.exit(main())
