"""What a finished run of the flow must leave in its folder (docs/client.md, "Output files"), and
the checks that it did: every file present and readable, the session naming them, the watched
movies resolved to the right catalog entries, recommendations, a layout and a rendered image of
the requested size, a summary PDF with real pages and text."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

from client_tui.session import Session

#: The documented output files (docs/client.md) and the session field that names each.
OUTPUT_FILES = {
    "image": "final.png",
    "layout_on_image": "layout_on_image.png",
    "layout_on_white": "layout_on_white.png",
    "summary_png": "summary.png",
    "summary_pdf": "summary.pdf",
}
SESSION_FILE = "session.json"


@dataclass(frozen=True)
class Expected:
    """What the run was asked for; None: not checked."""

    watched_ids: tuple[int, ...] | None = None
    k: int | None = None
    size: tuple[int, int] | None = None


def _squash(text: str) -> str:
    """Without whitespace: the PDF wraps long lines wherever the column ends."""
    return "".join(text.split())


def check_outputs(folder: Path, expected: Expected = Expected()) -> Session:
    """Asserts that `folder` holds a complete run; returns its session."""
    names = [*OUTPUT_FILES.values(), SESSION_FILE]
    missing = [n for n in names if not (folder / n).is_file() or (folder / n).stat().st_size == 0]
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else "no folder"
    assert not missing, f"{folder}: missing or empty {missing}; present: {present}"

    session = Session.load(folder / SESSION_FILE)
    for key, name in OUTPUT_FILES.items():
        assert getattr(session.files, key) == name, (
            f"session.files.{key} is {getattr(session.files, key)!r}, not {name!r}"
        )
    if expected.watched_ids is not None:
        resolved = tuple(m.movie_id for m in session.watched)
        assert resolved == expected.watched_ids, f"watched resolved to {resolved}, expected {expected.watched_ids}"
    assert session.recommendations, "session has no recommendations"
    if expected.k is not None:
        assert session.k == expected.k and len(session.recommendations) == expected.k, (
            f"asked for k={expected.k}; session k={session.k}, {len(session.recommendations)} recommendations"
        )
    watched = {m.movie_id for m in session.watched}
    assert not watched & {r.movie.movie_id for r in session.recommendations}, "a watched movie was recommended"
    assert session.layout is not None and 3 <= len(session.layout.objects) <= 5, f"layout: {session.layout}"
    assert session.result is not None, "session has no render result"

    with Image.open(folder / OUTPUT_FILES["image"]) as image:
        image.load()
        if expected.size is not None:
            assert image.size == expected.size, f"final.png is {image.size}, asked for {expected.size}"
        assert (session.result.width, session.result.height) == image.size
    for key in ("layout_on_image", "layout_on_white", "summary_png"):
        with Image.open(folder / OUTPUT_FILES[key]) as picture:
            picture.load()
    _check_pdf(folder / OUTPUT_FILES["summary_pdf"], session)
    return session


def _check_pdf(path: Path, session: Session) -> None:
    """A PDF that opens, with at least one page, whose text names the first watched movie (a
    summary is a document to read and search, not only a picture)."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), f"{path} is not a PDF"
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1, f"{path} has no page"
    text = _squash("".join(page.extract_text() or "" for page in reader.pages))
    first = session.watched[0].label
    assert _squash(first) in text, (
        f"{path} has no text naming the first watched movie {first!r} "
        f"(extracted {len(text)} characters: {text[:120]!r})"
    )


def session_summary(folder: Path) -> str:
    """One line for a failure message: what the session recorded, if it was written."""
    try:
        raw = json.loads((folder / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no session.json"
    return (
        f"session.json: {len(raw.get('watched', []))} watched, "
        f"{len(raw.get('recommendations', []))} recommendations, layout={'yes' if raw.get('layout') else 'no'}, "
        f"result={'yes' if raw.get('result') else 'no'}"
    )
