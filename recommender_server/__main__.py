"""`python -m recommender_server --help` lists every option."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from marquee.extras import missing_extra
from marquee.serving import run


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, so a missing extra is a message and not a traceback.
    try:
        from recommender_server.config import RecommenderSettings
        from recommender_server.service import RecommenderModelService
    except ModuleNotFoundError as error:
        return missing_extra("python -m recommender_server", "recommender", error)
    return run(RecommenderSettings, RecommenderModelService, argv, prog="python -m recommender_server")


if __name__ == "__main__":
    sys.exit(main())
