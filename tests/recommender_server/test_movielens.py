"""MovieLens interactions: the official ratings format and the chronological sequence file agree,
and broken files fail with errors that name them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from recommender_server.movielens import (
    DataFileError,
    leave_one_out,
    load_interactions,
    read_ratings,
    read_user_sequences,
)


def _timestamp_groups(path: Path) -> dict[int, list[tuple[int, int]]]:
    """Per user, (timestamp, movie) in file order."""
    rows: dict[int, list[tuple[int, int]]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        user, movie, _rating, ts = (int(p) for p in line.split("::"))
        rows.setdefault(user, []).append((ts, movie))
    return rows


def test_ratings_file_and_sequence_file_agree(shared_data: Path) -> None:
    ml1m = shared_data / "ml-1m"
    ratings_path = ml1m / "ratings_users1-2999.dat"
    from_ratings = read_ratings(ratings_path)
    from_sequences = read_user_sequences(ml1m / "user_sequences.txt")
    shared_users = sorted(set(from_ratings) & set(from_sequences))
    assert len(shared_users) == 2999
    timestamps = _timestamp_groups(ratings_path)
    reordered_users = 0
    for user in shared_users:
        ours, theirs = from_ratings[user], from_sequences[user]
        assert Counter(ours) == Counter(theirs), f"user {user}: different movies"
        # Ratings within one second may be in any order: compare the sequence of timestamp
        # groups, each group as a set.
        ts_of = dict((movie, ts) for ts, movie in timestamps[user])
        assert [ts_of[m] for m in ours] == sorted(ts_of[m] for m in ours), f"user {user}: not chronological"
        assert [ts_of[m] for m in theirs] == [ts_of[m] for m in ours], f"user {user}: order differs"
        reordered_users += ours != theirs
    # The files disagree only inside same-second groups, and only for some users.
    assert reordered_users < len(shared_users)


def test_ratings_sort_is_stable_within_one_second(tmp_path: Path) -> None:
    path = tmp_path / "ratings.dat"
    path.write_text("7::30::5::200\n7::10::4::100\n7::20::3::100\n8::5::1::50\n")
    assert read_ratings(path) == {7: [10, 20, 30], 8: [5]}


def test_load_interactions_prefers_official_ratings(tmp_path: Path) -> None:
    (tmp_path / "user_sequences.txt").write_text("1 4 5 6\n")
    only_sequences = load_interactions(tmp_path)
    assert only_sequences.sequences == {1: [4, 5, 6]}
    (tmp_path / "ratings.dat").write_text("1::9::5::2\n1::8::5::1\n")
    official = load_interactions(tmp_path)
    assert official.sequences == {1: [8, 9]}
    assert official.source.name == "ratings.dat"
    assert list(official.movie_ids) == [8, 9]


def test_whole_dataset_shape(shared_data: Path) -> None:
    interactions = load_interactions(shared_data / "ml-1m")
    assert len(interactions.sequences) == 6040
    assert interactions.num_items == 3706
    assert interactions.num_interactions == 1_000_209
    indexed = interactions.indexed_sequences()
    user = 1
    assert interactions.movie_ids[indexed[user] - 1].tolist() == interactions.sequences[user]


def test_leave_one_out_split() -> None:
    split = leave_one_out({1: np.array([3, 1, 4, 1, 5]), 2: np.array([9, 2]), 3: np.array([2, 6, 5])})
    assert set(split.train) == {1, 3}  # user 2 is too short for a split
    assert split.train[1].tolist() == [3, 1, 4]
    assert split.valid[1] == 1 and split.test[1] == 5
    assert split.train[3].tolist() == [2] and split.valid[3] == 6 and split.test[3] == 5


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ratings.dat", "1::2::3\n", "ratings.dat:1: expected UserID::MovieID::Rating::Timestamp"),
        ("ratings.dat", "1::2::x::4\n", "ratings.dat:1: non-integer field"),
        ("ratings.dat", "", "ratings.dat holds no ratings"),
        ("user_sequences.txt", "1 2 3\nfoo 4\n", "user_sequences.txt:2: expected 'UserID MovieID"),
        ("user_sequences.txt", "1 2\n1 3\n", "user_sequences.txt:2: user 1 appears twice"),
        ("user_sequences.txt", "5\n", "user_sequences.txt:1: user 5 has no movies"),
    ],
)
def test_corrupt_files_name_the_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_interactions(tmp_path)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        load_interactions(tmp_path)
    assert str(tmp_path / "ratings.dat") in str(info.value)
    assert str(tmp_path / "user_sequences.txt") in str(info.value)
