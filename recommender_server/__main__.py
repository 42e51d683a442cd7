"""`python -m recommender_server --help` lists every option."""

from __future__ import annotations

import sys
from typing import Sequence

from marquee.serving import run
from recommender_server.config import RecommenderSettings
from recommender_server.service import RecommenderService


def main(argv: Sequence[str] | None = None) -> int:
    return run(RecommenderSettings, RecommenderService, argv, prog="python -m recommender_server")


if __name__ == "__main__":
    sys.exit(main())
