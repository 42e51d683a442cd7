"""Writes a session's outputs into a folder under fixed names (never derived from user or server
text), each file atomically: the final image, the layout visualisations, the summary PNG and PDF,
and the session JSON last, so a session file always names files that exist."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from client_tui.images import ImageError, decode_bytes, png_bytes
from client_tui.session import Session, SessionError
from client_tui.summary import Summary, SummaryImages, compose_summary
from client_tui.summary_pdf import Paper
from marquee.atomic_files import atomic_write_bytes, atomic_write_text

FILE_NAMES = {
    "image": "final.png",
    "layout_on_image": "layout_on_image.png",
    "layout_on_white": "layout_on_white.png",
    "summary_png": "summary.png",
    "summary_pdf": "summary.pdf",
    "session": "session.json",
}


class ExportError(OSError):
    """The output folder cannot be written."""


@dataclass
class Exported:
    folder: Path
    files: dict[str, Path]
    summary: Summary


def export_session(session: Session, images: SummaryImages, folder: Path, paper: Paper = "a4") -> Exported:
    """Composes the summary and writes everything (the PDF on `paper`, "a4" or "letter");
    updates `session.files` and `.summary`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for key in ("image", "layout_on_image", "layout_on_white"):
            picture: Image.Image | None = getattr(images, key)
            if picture is not None:
                written[key] = atomic_write_bytes(folder / FILE_NAMES[key], png_bytes(picture))
        summary = compose_summary(session, images)
        written["summary_png"] = atomic_write_bytes(folder / FILE_NAMES["summary_png"], summary.png_bytes())
        written["summary_pdf"] = atomic_write_bytes(folder / FILE_NAMES["summary_pdf"], summary.pdf_bytes(paper))
        for key in ("image", "layout_on_image", "layout_on_white", "summary_png", "summary_pdf"):
            setattr(session.files, key, FILE_NAMES[key] if key in written else None)
        session.summary = summary.record
        written["session"] = atomic_write_text(folder / FILE_NAMES["session"], session.to_json())
    except OSError as exc:
        raise ExportError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    return Exported(folder=folder, files=written, summary=summary)


def save_session(session: Session, path: Path) -> Path:
    try:
        return atomic_write_text(path, session.to_json())
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load_images(session: Session, folder: Path) -> SummaryImages:
    """The images a saved session names, read from its folder; names are checked to be plain
    file names inside it (a session file is untrusted input)."""
    images = SummaryImages()
    for key in ("image", "layout_on_image", "layout_on_white"):
        name = getattr(session.files, key)
        if not name:
            continue
        if name != FILE_NAMES[key]:
            raise SessionError(f"files.{key} must be {FILE_NAMES[key]!r}, got {name!r}")
        path = folder / name
        try:
            setattr(images, key, decode_bytes(path.read_bytes()))
        except OSError as exc:
            raise SessionError(f"the session names {path}, which cannot be read: {exc.strerror or exc}") from exc
        except ImageError as exc:
            raise SessionError(f"{path}: {exc}") from exc
    return images
