"""MovieLens-1M interactions: each user's movies in the order they were rated.

Two sources give the same sequences: the official `ratings.dat` (`UserID::MovieID::Rating::
Timestamp`, sorted here per user by timestamp, stably) and the chronological `user_sequences.txt`
(`UserID MovieID MovieID ...`) that ships beside the project. Either is enough for sequential
recommendation; `load_interactions` prefers the official file when both are present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATINGS_FILE = "ratings.dat"
SEQUENCES_FILE = "user_sequences.txt"


class DataFileError(ValueError):
    """A data file is missing or does not have the expected format; the message names the file."""


def _open_lines(path: Path, encoding: str) -> list[str]:
    if not path.is_file():
        raise DataFileError(f"{path} not found")
    try:
        return path.read_text(encoding=encoding).splitlines()
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path} is not {encoding} text: {exc}") from exc


def read_ratings(path: Path) -> dict[int, list[int]]:
    """Each user's movies from an official `ratings.dat`, oldest first.

    Python's sort is stable, so ratings within the same second keep their file order."""
    per_user: dict[int, list[tuple[int, int]]] = {}
    for number, line in enumerate(_open_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 4:
            raise DataFileError(f"{path}:{number}: expected UserID::MovieID::Rating::Timestamp, got {line[:80]!r}")
        try:
            user, movie, _rating, timestamp = (int(p) for p in parts)
        except ValueError as exc:
            raise DataFileError(f"{path}:{number}: non-integer field in {line[:80]!r}") from exc
        per_user.setdefault(user, []).append((timestamp, movie))
    if not per_user:
        raise DataFileError(f"{path} holds no ratings")
    return {
        user: [movie for _ts, movie in sorted(rows, key=lambda row: row[0])] for user, rows in sorted(per_user.items())
    }


def read_user_sequences(path: Path) -> dict[int, list[int]]:
    """Each user's movies from `user_sequences.txt` (one line per user, oldest first)."""
    sequences: dict[int, list[int]] = {}
    for number, line in enumerate(_open_lines(path, "utf-8"), start=1):
        if not line.strip():
            continue
        try:
            user, *movies = (int(p) for p in line.split())
        except ValueError as exc:
            raise DataFileError(f"{path}:{number}: expected 'UserID MovieID MovieID ...', got {line[:80]!r}") from exc
        if not movies:
            raise DataFileError(f"{path}:{number}: user {user} has no movies")
        if user in sequences:
            raise DataFileError(f"{path}:{number}: user {user} appears twice")
        sequences[user] = movies
    if not sequences:
        raise DataFileError(f"{path} holds no user sequences")
    return sequences


@dataclass(frozen=True)
class Interactions:
    """User sequences plus the item vocabulary the model is trained on.

    `movie_ids` (ascending MovieLens ids of every rated movie) is the catalog order of the model's
    output; the model's item index of `movie_ids[i]` is `i + 1` (0 is padding)."""

    sequences: dict[int, list[int]]
    movie_ids: np.ndarray
    source: Path

    @property
    def num_items(self) -> int:
        return int(self.movie_ids.shape[0])

    @property
    def num_interactions(self) -> int:
        return sum(len(s) for s in self.sequences.values())

    def index_of(self) -> dict[int, int]:
        return {int(movie): i + 1 for i, movie in enumerate(self.movie_ids)}

    def indexed_sequences(self) -> dict[int, np.ndarray]:
        """Sequences as item indices (1..num_items), oldest first."""
        lookup = np.zeros(int(self.movie_ids.max()) + 1, dtype=np.int64)
        lookup[self.movie_ids] = np.arange(1, self.num_items + 1)
        return {user: lookup[np.asarray(seq, dtype=np.int64)] for user, seq in self.sequences.items()}


def from_sequences(sequences: dict[int, list[int]], source: Path) -> Interactions:
    movies = np.unique(np.fromiter((m for s in sequences.values() for m in s), dtype=np.int64))
    return Interactions(sequences=sequences, movie_ids=movies, source=source)


def load_interactions(ml1m_dir: Path) -> Interactions:
    """Reads `ratings.dat` if present, else `user_sequences.txt`, from an `ml-1m` directory."""
    ratings = ml1m_dir / RATINGS_FILE
    if ratings.is_file():
        return from_sequences(read_ratings(ratings), ratings)
    sequences = ml1m_dir / SEQUENCES_FILE
    if sequences.is_file():
        return from_sequences(read_user_sequences(sequences), sequences)
    raise DataFileError(
        f"neither {ratings} nor {sequences} found: MovieLens-1M interactions are needed "
        "(set MARQUEE_DATA_DIR to a directory holding ml-1m/)"
    )


@dataclass(frozen=True)
class LeaveOneOut:
    """The standard split: the last movie is the test item, the one before the validation item."""

    train: dict[int, np.ndarray]
    valid: dict[int, int]
    test: dict[int, int]
    full: dict[int, np.ndarray]


def leave_one_out(indexed: dict[int, np.ndarray], min_length: int = 3) -> LeaveOneOut:
    """Splits sequences of item indices; users with fewer than `min_length` movies are skipped."""
    train, valid, test, full = {}, {}, {}, {}
    for user, seq in indexed.items():
        if len(seq) < min_length:
            continue
        train[user] = seq[:-2]
        valid[user] = int(seq[-2])
        test[user] = int(seq[-1])
        full[user] = seq
    return LeaveOneOut(train=train, valid=valid, test=test, full=full)
