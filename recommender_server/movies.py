"""The movies: `movies.dat` (title, year, genres) joined with plots where a source has one.

Plot sources, in order: the OMDb-format `plots/movies_extrainfos.dat`, then TMDB 5000
(`plots/tmdb_5000_movies.csv` through `plots/links.csv`) for movies the first leaves without a
plot. Both are optional; a movie without a plot keeps its title, year and genres.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from marquee.titles import readable_title
from recommender_server.movielens import DataFileError

MOVIES_FILE = "movies.dat"
OMDB_FILE = "movies_extrainfos.dat"
TMDB_FILE = "tmdb_5000_movies.csv"
LINKS_FILE = "links.csv"


@dataclass(frozen=True)
class MovieRecord:
    """One movie: `title` in the readable form ("The Matrix"), `display_title` as MovieLens
    writes it ("Matrix, The (1999)"); see `marquee.titles`."""

    movie_id: int
    title: str
    year: int
    genres: tuple[str, ...]
    display_title: str
    plot: str = ""


def _records(path: Path, encoding: str, fields: int, layout: str) -> Iterator[tuple[int, list[str]]]:
    """(movie id, fields) for each `::`-separated line of `path`, checked against `layout`."""
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path} is not {encoding} text: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != fields:
            raise DataFileError(f"{path}:{number}: expected {layout}, got {line[:80]!r}")
        try:
            yield int(parts[0]), parts
        except ValueError as exc:
            raise DataFileError(f"{path}:{number}: movie id {parts[0]!r} is not an integer") from exc


def read_movies(path: Path) -> dict[int, MovieRecord]:
    """`MovieID::Title::Genres` lines (ISO-8859-1) → records keyed by movie id."""
    if not path.is_file():
        raise DataFileError(f"{path} not found: the MovieLens-1M movie list is needed")
    movies: dict[int, MovieRecord] = {}
    for movie_id, parts in _records(path, "latin-1", 3, "MovieID::Title::Genres"):
        title, year = readable_title(parts[1])
        genres = tuple(g for g in parts[2].split("|") if g)
        movies[movie_id] = MovieRecord(movie_id, title, year, genres, parts[1].strip())
    if not movies:
        raise DataFileError(f"{path} holds no movies")
    return movies


def read_omdb_plots(path: Path) -> dict[int, str]:
    """Plots from the OMDb-format file (`MovieID::Title::Year::...::Plot::PosterURL`)."""
    plots: dict[int, str] = {}
    for movie_id, parts in _records(path, "utf-8", 11, "11 '::'-separated fields (MovieID::...::Plot::PosterURL)"):
        plot = parts[9].strip()
        if plot and plot != "N/A":
            plots[movie_id] = plot
    return plots


def read_tmdb_plots(links_path: Path, tmdb_path: Path) -> dict[int, str]:
    """Overviews from TMDB 5000 keyed by MovieLens id through `links.csv`."""
    overviews: dict[int, str] = {}
    try:
        with tmdb_path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("id", "").isdigit() and row.get("overview", "").strip():
                    overviews[int(row["id"])] = row["overview"].strip()
        plots: dict[int, str] = {}
        with links_path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                tmdb_id = (row.get("tmdbId") or "").strip()
                if tmdb_id.isdigit() and int(tmdb_id) in overviews:
                    plots[int(row["movieId"])] = overviews[int(tmdb_id)]
    except (KeyError, ValueError, csv.Error, UnicodeDecodeError) as exc:
        raise DataFileError(f"{links_path} or {tmdb_path} is not in the expected format: {exc}") from exc
    return plots


def load_movies(ml1m_dir: Path, plots_dir: Path | None = None) -> dict[int, MovieRecord]:
    """Movies from `ml1m_dir/movies.dat` with plots from `plots_dir` where present."""
    movies = read_movies(ml1m_dir / MOVIES_FILE)
    plots: dict[int, str] = {}
    if plots_dir is not None:
        if (plots_dir / LINKS_FILE).is_file() and (plots_dir / TMDB_FILE).is_file():
            plots.update(read_tmdb_plots(plots_dir / LINKS_FILE, plots_dir / TMDB_FILE))
        if (plots_dir / OMDB_FILE).is_file():
            plots.update(read_omdb_plots(plots_dir / OMDB_FILE))
    return {
        movie_id: MovieRecord(m.movie_id, m.title, m.year, m.genres, m.display_title, plots.get(movie_id, ""))
        for movie_id, m in movies.items()
    }
