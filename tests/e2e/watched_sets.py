"""The watched sets the whole-flow sweep sends through the client: titles exactly as `movies.dat`
writes them (latin-1 decoded), drawn with a fixed seed from the real data.

Four kinds: named sets (the README's pair, the blockbusters, the long-plot movies together,
every title with trailing articles, accents, alternate and a.k.a. titles, remakes); windows of real users'
histories (`user_sequences.txt`, what operators actually type); random catalog titles, half of
them from the hard pools; and, built at run time against the real recommender, one history per
long-plot movie that gets it recommended (`long_plot_history`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from marquee.v1 import recommender_pb2, recommender_pb2_grpc

SEED = 20261129
#: The largest watched set the sweep sends (a long evening's history typed as flags).
MAX_TITLES = 50
HISTORY_SETS = 85
RANDOM_SETS = 85
_YEAR = re.compile(r"\s*\(\d{4}\)$")
_TRAILING_ARTICLE = re.compile(r", (The|A|An|La|Le|Les|L'|Il|El|Das|Der|Die|Los|Las|Lo|Une|Un)( \(|$)")
_ALTERNATE = re.compile(r"\)\s*\(\d{4}\)$")
BLOCKBUSTERS = ("Titanic (1997)", "American Beauty (1999)", "Matrix, The (1999)")
README_PAIR = ("Toy Story (1995)", "Matrix, The (1999)")


@dataclass(frozen=True)
class WatchedSet:
    name: str
    titles: tuple[str, ...]
    movie_ids: tuple[int, ...]
    k: int = 5


@dataclass(frozen=True)
class MovieLensData:
    """`ml-1m/movies.dat` and `user_sequences.txt`, read the way MovieLens ships them."""

    root: Path

    @cached_property
    def titles(self) -> dict[int, str]:
        """Movie id → title, exactly as written in movies.dat (ISO-8859-1)."""
        text = (self.root / "ml-1m" / "movies.dat").read_text(encoding="latin-1")
        rows = (line.split("::") for line in text.splitlines() if line.strip())
        return {int(row[0]): row[1] for row in rows}

    @cached_property
    def ids(self) -> dict[str, int]:
        return {title: movie_id for movie_id, title in self.titles.items()}

    @cached_property
    def histories(self) -> list[list[int]]:
        """Each user's movies, oldest first."""
        lines = (self.root / "ml-1m" / "user_sequences.txt").read_text().splitlines()
        return [[int(x) for x in line.split()[1:]] for line in lines if line.strip()]

    @cached_property
    def rated(self) -> frozenset[int]:
        """Movies someone rated: the only ones the model knows."""
        return frozenset(m for history in self.histories for m in history)

    def pools(self) -> dict[str, list[int]]:
        """The titles the client's resolution finds hardest, by kind."""
        titles = self.titles
        names = Counter(_YEAR.sub("", t) for t in titles.values())
        return {
            "accents": [i for i, t in titles.items() if any(ord(c) > 127 for c in t)],
            "aka": [i for i, t in titles.items() if "a.k.a." in t],
            "alternate": [i for i, t in titles.items() if _ALTERNATE.search(t)],
            "articles": [i for i, t in titles.items() if _TRAILING_ARTICLE.search(t)],
            "remakes": [i for i, t in titles.items() if names[_YEAR.sub("", t)] > 1],
        }

    def watched(self, name: str, movie_ids: list[int], k: int = 5) -> WatchedSet:
        unique = list(dict.fromkeys(movie_ids))
        return WatchedSet(name, tuple(self.titles[i] for i in unique), tuple(unique), k)


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def named_sets(data: MovieLensData, long_plot_ids: list[int]) -> list[WatchedSet]:
    ids = data.ids
    sets = [data.watched("readme-pair", [ids[t] for t in README_PAIR])]
    sets += [data.watched(f"blockbuster-{ids[t]}", [ids[t]]) for t in BLOCKBUSTERS]
    sets.append(data.watched("blockbusters", [ids[t] for t in BLOCKBUSTERS]))
    sets.append(data.watched("all-long-plots", long_plot_ids[:MAX_TITLES]))
    for kind, pool in data.pools().items():
        # Each set keeps one movie the model knows, so none is refused for lack of signal.
        rated = [i for i in pool if i in data.rated]
        for number, chunk in enumerate(_chunks(sorted(pool), MAX_TITLES - 1)):
            anchor = [] if any(i in data.rated for i in chunk) else rated[:1]
            sets.append(data.watched(f"{kind}-{number}", chunk + anchor))
    return sets


def history_sets(data: MovieLensData, count: int = HISTORY_SETS, seed: int = SEED) -> list[WatchedSet]:
    """Windows of 1–50 consecutive movies from random users' real histories."""
    rng = random.Random(seed)
    sets = []
    for number in range(count):
        history = rng.choice(data.histories)
        length = rng.randint(1, min(MAX_TITLES, len(history)))
        end = rng.randint(length, len(history))
        sets.append(data.watched(f"history-{number:03d}", history[end - length : end], k=rng.choice((1, 5, 10))))
    return sets


def random_sets(data: MovieLensData, count: int = RANDOM_SETS, seed: int = SEED) -> list[WatchedSet]:
    """1–50 catalog titles each, about half from the hard pools, always one the model knows."""
    rng = random.Random(seed + 1)
    everything = sorted(data.titles)
    hard = sorted({i for pool in data.pools().values() for i in pool})
    rated = sorted(data.rated)
    sets = []
    for number in range(count):
        size = rng.randint(1, MAX_TITLES)
        chosen: list[int] = []
        while len(chosen) < size:
            movie_id = rng.choice(hard if rng.random() < 0.5 else everything)
            if movie_id not in chosen:
                chosen.append(movie_id)
        if not any(i in data.rated for i in chosen):
            chosen[-1] = rng.choice(rated)
        sets.append(data.watched(f"random-{number:03d}", chosen, k=rng.randint(1, 10)))
    return sets


def sweep_sets(data: MovieLensData, long_plot_ids: list[int]) -> list[WatchedSet]:
    return named_sets(data, long_plot_ids) + history_sets(data) + random_sets(data)


def long_plot_ids(root: Path, cap: int) -> list[int]:
    """Movies whose plot, as the recommender's catalog joins it, is longer than `cap`."""
    from recommender_server.movies import load_movies

    catalog = load_movies(root / "ml-1m", root / "plots")
    return sorted(movie_id for movie_id, movie in catalog.items() if len(movie.plot) > cap)


def long_plot_candidates(data: MovieLensData, movie_id: int) -> list[list[int]]:
    """Real histories just before a user watched `movie_id` (last 50, 20, 10, 5 movies): the
    windows most likely to get it recommended."""
    windows = []
    for history in data.histories:
        if movie_id in history:
            end = history.index(movie_id)
            windows += [history[max(0, end - n) : end] for n in (50, 20, 10, 5) if end >= n or n == 50]
    return [w for w in windows if w]


def long_plot_history(
    data: MovieLensData, stub: recommender_pb2_grpc.RecommenderServiceStub, movie_id: int
) -> WatchedSet | None:
    """A real history after which the real recommender puts `movie_id` in its top 5 (else top
    10), so its full plot reaches the planner; None when no history does."""
    candidates = long_plot_candidates(data, movie_id)
    for k in (5, 10):
        for window in candidates:
            reply = stub.Recommend(recommender_pb2.RecommendRequest(watched_movie_ids=window, k=k), timeout=10)
            if movie_id in (r.movie.movie_id for r in reply.recommendations):
                return data.watched(f"long-plot-recommended-{movie_id}", window, k=k)
    return None
