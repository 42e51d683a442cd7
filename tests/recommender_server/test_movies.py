"""The movie catalog: titles, years and genres from movies.dat, plots where a source has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from marquee.titles import readable_title
from recommender_server.movielens import DataFileError
from recommender_server.movies import load_movies


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Usual Suspects, The (1995)", "The Usual Suspects", 1995),
        ("City of Lost Children, The (1995)", "The City of Lost Children", 1995),
        ("Dinner Game, The (Dîner de cons, Le) (1998)", "The Dinner Game (Le Dîner de cons)", 1998),
        (
            "Seven Samurai (The Magnificent Seven) (Shichinin no samurai) (1954)",
            "Seven Samurai (The Magnificent Seven) (Shichinin no samurai)",
            1954,
        ),
        ("Untitled", "Untitled", 0),
    ],
)
def test_readable_title(raw: str, title: str, year: int) -> None:
    assert readable_title(raw) == (title, year)


def test_real_catalog_has_every_movie_and_most_plots(shared_data: Path) -> None:
    catalog = load_movies(shared_data / "ml-1m", shared_data / "plots")
    assert len(catalog) == 3883
    toy = catalog[1]
    assert (toy.title, toy.year, toy.genres, toy.display_title) == (
        "Toy Story",
        1995,
        ("Animation", "Children's", "Comedy"),
        "Toy Story (1995)",
    )
    assert "Woody" in toy.plot
    with_plot = sum(1 for m in catalog.values() if m.plot)
    assert with_plot == 3845
    no_plot = next(m for m in catalog.values() if not m.plot)
    assert no_plot.title and no_plot.year and no_plot.genres


def _write_movies(ml1m: Path) -> None:
    ml1m.mkdir(parents=True)
    (ml1m / "movies.dat").write_bytes(
        "1::Toy Story (1995)::Animation|Comedy\n2::Amélie (2001)::Comedy\n3::Heat (1995)::Action\n".encode("latin-1")
    )


def test_plots_come_from_omdb_then_tmdb(tmp_path: Path) -> None:
    _write_movies(tmp_path / "ml-1m")
    plots = tmp_path / "plots"
    plots.mkdir()
    fields = ["Rated", "Released", "Genre", "Director", "Writer", "Actors"]
    (plots / "movies_extrainfos.dat").write_text(
        "::".join(["1", "Toy Story", "1995", *fields, "Toys come alive.", "N/A"])
        + "\r\n"
        + "::".join(["2", "Amelie", "2001", *fields, "N/A", "N/A"])
        + "\r\n",
        encoding="utf-8",
    )
    (plots / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n2,0211915,194\n")
    (plots / "tmdb_5000_movies.csv").write_text(
        'id,overview,title\n862,"TMDB toy plot",Toy Story\n194,"A shy waitress, Paris.",Amelie\n'
    )
    catalog = load_movies(tmp_path / "ml-1m", plots)
    assert catalog[1].plot == "Toys come alive."  # OMDb wins where it has a plot
    assert catalog[2].plot == "A shy waitress, Paris."  # TMDB fills the gap
    assert catalog[2].title == "Amélie"
    assert catalog[3].plot == "" and catalog[3].genres == ("Action",)


def test_without_plot_sources_movies_keep_their_metadata(tmp_path: Path) -> None:
    _write_movies(tmp_path / "ml-1m")
    catalog = load_movies(tmp_path / "ml-1m", tmp_path / "no-plots-here")
    assert [m.plot for m in catalog.values()] == ["", "", ""]
    assert catalog[3].year == 1995


def test_missing_movies_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"movies\.dat not found"):
        load_movies(tmp_path, None)


def test_corrupt_movies_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "movies.dat").write_text("1::Toy Story (1995)::Comedy\n2::Broken line\n")
    with pytest.raises(DataFileError, match=r"movies\.dat:2: expected MovieID::Title::Genres"):
        load_movies(tmp_path, None)


def test_corrupt_plot_file_is_named(tmp_path: Path) -> None:
    _write_movies(tmp_path / "ml-1m")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "movies_extrainfos.dat").write_text("1::Toy Story::1995\n")
    with pytest.raises(DataFileError, match=r"movies_extrainfos\.dat:1: expected 11"):
        load_movies(tmp_path / "ml-1m", plots)
