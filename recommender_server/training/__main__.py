"""`python -m recommender_server.training --help` lists every option."""

from recommender_server.training.loop import main

if __name__ == "__main__":
    raise SystemExit(main())
