"""The process summary: its parts checked from its JSON record and its image regions; the export
folder (fixed names, atomic writes) and reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from client_tui.export import FILE_NAMES, export_session, load_images
from client_tui.session import Session, SessionError
from client_tui.summary import COLUMN, SummaryImages, _font, compose_summary, wrap
from tests.client_tui.fixed_session import fixed_session


def _images(size: int = 256) -> SummaryImages:
    final = Image.new("RGB", (size, size), (20, 90, 160))
    ImageDraw.Draw(final).ellipse((40, 40, 200, 200), fill=(240, 200, 30))
    on_white = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(on_white).rectangle((10, 10, 120, 200), outline=(230, 25, 75), width=4)
    on_image = final.copy()
    ImageDraw.Draw(on_image).rectangle((10, 10, 120, 200), outline=(230, 25, 75), width=4)
    return SummaryImages(image=final, layout_on_image=on_image, layout_on_white=on_white)


def _crop(page: Image.Image, region: list[int]) -> np.ndarray:
    return np.asarray(page.crop(tuple(region)).convert("RGB"), dtype=np.int16)


def _resized(picture: Image.Image, region: list[int]) -> np.ndarray:
    size = (region[2] - region[0], region[3] - region[1])
    return np.asarray(picture.convert("RGB").resize(size, Image.Resampling.LANCZOS), dtype=np.int16)


def test_summary_regions_hold_the_images_in_the_seed_arrangement() -> None:
    images = _images()
    summary = compose_summary(fixed_session(), images)
    regions = summary.record.regions
    page = summary.image
    assert summary.record.size == list(page.size)
    text, image = regions["text"], regions["image"]
    on_white, on_image = regions["layout_on_white"], regions["layout_on_image"]
    # Text block beside the final image; the two layout pictures below, side by side.
    assert text[2] <= image[0] and text[1] == image[1]
    assert on_white[1] >= max(text[3], image[3]) and on_image[1] == on_white[1]
    assert on_white[2] <= on_image[0]
    # Each region shows what it claims (resized), not something else.
    for name, picture in (
        ("image", images.image),
        ("layout_on_white", images.layout_on_white),
        ("layout_on_image", images.layout_on_image),
    ):
        assert np.abs(_crop(page, regions[name]) - _resized(picture, regions[name])).mean() < 2.0, name
    assert np.abs(_crop(page, image) - _resized(images.layout_on_white, image)).mean() > 50
    # The text block has ink, the margin right of it none.
    assert (_crop(page, text) < 128).any()
    assert (_crop(page, [text[2] + 2, text[1], image[0] - 2, text[3]]) == 255).all()


def test_summary_text_names_every_part() -> None:
    session = fixed_session()
    sections = compose_summary(session, _images()).record.sections
    flat = "\n".join(line for lines in sections.values() for line in lines)
    assert list(sections)[:2] == ["Watched", "Recommended (k=3, fake-sasrec v1)"]
    for expected in (
        "Toy Story (1995)",
        "Jumanji (1995)",
        "1. Toy Story 2 (1999) — score 4.50",
        "Title: Toys After Dark",
        "1. cowboy doll — worried frown  [0.05, 0.20, 0.55, 0.95]",
        "Planned by: offline planner (auto asked)",
        session.global_prompt,
        "Engine: fake",
        "Seed 7 · 8 steps · guidance 7 · 256×256",
        "render 1.30 s",
        "Woody is stolen.",
    ):
        assert expected in flat, expected


def test_text_is_wrapped_to_the_column() -> None:
    font = _font(17)
    long = "supercalifragilistic " * 30 + "x" * 300
    lines = wrap(long, font, COLUMN)
    assert len(lines) > 5
    assert all(font.getlength(line) <= COLUMN for line in lines)
    assert "".join(lines).replace(" ", "") == long.replace(" ", "")
    session = fixed_session()
    session.scenario = long
    summary = compose_summary(session, _images())
    assert summary.record.regions["text"][2] - summary.record.regions["text"][0] == COLUMN


def test_summary_without_a_render_draws_placeholders_and_the_layout() -> None:
    session = fixed_session()
    session.result = None
    summary = compose_summary(session, SummaryImages())
    assert "Not rendered yet" in summary.record.sections["Render"][0]
    page = summary.image
    on_white = _crop(page, summary.record.regions["layout_on_white"])
    # The client drew the boxes itself: box 1's colour is there.
    assert (np.abs(on_white - np.array([230, 25, 75])).sum(axis=2) < 30).any()


def test_export_writes_fixed_names_and_reads_back(tmp_path: Path) -> None:
    session = fixed_session()
    images = _images()
    folder = tmp_path / "out"
    exported = export_session(session, images, folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILE_NAMES.values())
    assert not list(folder.glob(".*.part"))
    assert (folder / "summary.pdf").read_bytes().startswith(b"%PDF-")
    assert Image.open(folder / "summary.png").size == tuple(exported.summary.record.size)
    raw = json.loads((folder / "session.json").read_text())
    assert raw["files"] == {
        "image": "final.png",
        "layout_on_image": "layout_on_image.png",
        "layout_on_white": "layout_on_white.png",
        "summary_png": "summary.png",
        "summary_pdf": "summary.pdf",
    }
    assert raw["summary"]["regions"]["image"] == exported.summary.record.regions["image"]
    loaded = Session.load(folder / "session.json")
    back = load_images(loaded, folder)
    assert back.image is not None and np.array_equal(np.asarray(back.image), np.asarray(images.image))
    # Re-export from the loaded session gives the same summary.
    again = export_session(loaded, back, tmp_path / "again")
    assert np.array_equal(np.asarray(again.summary.image), np.asarray(exported.summary.image))


def test_session_file_names_are_not_trusted(tmp_path: Path) -> None:
    session = fixed_session()
    session.files.image = "../../etc/passwd"
    with pytest.raises(SessionError, match=r"files.image must be 'final.png'"):
        load_images(session, tmp_path)
    session.files.image = "final.png"
    with pytest.raises(SessionError, match="cannot be read"):
        load_images(session, tmp_path)
    (tmp_path / "final.png").write_bytes(b"not a png")
    with pytest.raises(SessionError, match="not a PNG or JPEG"):
        load_images(session, tmp_path)


def test_export_into_an_unwritable_place(tmp_path: Path) -> None:
    from client_tui.export import ExportError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write into"):
        export_session(fixed_session(), _images(), blocker / "out")


@pytest.mark.parametrize(("engine", "notice"), [("creatilayout", True), ("draft", False)])
def test_summary_says_powered_by_stability_only_for_the_sd3_engine(engine: str, notice: bool) -> None:
    session = fixed_session()
    assert session.result is not None
    session.result.engine = engine
    render_lines = compose_summary(session, _images()).record.sections["Render"]
    assert ("Powered by Stability AI" in render_lines) is notice


# -- a PDF with real text on a real paper size ------------------------------------------------

PAGE_POINTS = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


def _pdf(path: Path):  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    return PdfReader(path)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_pdf_carries_the_text_and_images_on_a4_or_letter(tmp_path: Path, paper: str) -> None:
    session = fixed_session()
    export_session(session, _images(), tmp_path, paper=paper)
    reader = _pdf(tmp_path / "summary.pdf")
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(PAGE_POINTS[paper], abs=0.01)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Marquee — process summary: Toys After Dark",
        "Watched",
        "Toy Story (1995)",
        "Recommended (k=3, fake-sasrec v1)",
        "Scenario",
        "Woody is stolen.",
        "Layout",
        "1. cowboy doll — worried frown",
        "Global prompt",
        "Render",
        "Engine: fake",
        "Timings",
    ):
        assert expected in text, expected
    assert reader.metadata.title == "Marquee — process summary: Toys After Dark"
    # The final image and both layout pictures, embedded whole (not one picture of a page).
    images = reader.pages[0].images
    assert len(images) == 3 and all(image.image.size == (256, 256) for image in images)


def test_pdf_paper_must_be_a4_or_letter(tmp_path: Path) -> None:
    summary = compose_summary(fixed_session(), _images())
    with pytest.raises(ValueError, match="paper must be one of a4, letter, got 'a5'"):
        summary.pdf_bytes("a5")  # type: ignore[arg-type]


def test_cli_paper_flag() -> None:
    import argparse

    from client_tui.run_arguments import add_run_arguments

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    assert parser.parse_args([]).paper == "a4"
    assert parser.parse_args(["--paper", "letter"]).paper == "letter"
    with pytest.raises(SystemExit):
        parser.parse_args(["--paper", "a5"])


def test_long_text_flows_onto_more_pages(tmp_path: Path) -> None:
    session = fixed_session()
    session.scenario = "\n".join(f"- Movie {i}: " + "a plot that goes on and on " * 12 for i in range(40))
    export_session(session, _images(), tmp_path)
    reader = _pdf(tmp_path / "summary.pdf")
    assert len(reader.pages) >= 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Movie 39:" in text and "Timings" in text


# -- the draft engine's notice, from the real render server to the summary --------------------


async def test_draft_notice_and_box_colours_reach_the_summary(tmp_path: Path) -> None:
    """The real render server (draft engine) renders the session's layout; the summary says what
    the picture is (banner, Render section, PDF), and box N has the same colour in the server's
    layout picture and in the one the client draws itself."""
    from client_tui.records import RenderOutcome
    from client_tui.session import render_request
    from marquee.layout_drawing import box_colour, pixel_box
    from tests.render_server.helpers import running_server

    session = fixed_session()
    request = render_request(session)
    request.steps = 28
    async with running_server(tmp_path / "server") as server:
        responses = [r async for r in server.stub.Render(request)]
    result = responses[-1].result
    session.result = RenderOutcome.from_proto(result.metadata)
    assert session.result.steps == 6 and session.result.steps_requested == 28
    assert "layout mock-up drawn without a diffusion model" in session.result.notice

    from client_tui.images import decode_bytes

    server_white = decode_bytes(result.layout_on_white.data).convert("RGB")
    image = decode_bytes(result.image.data)
    summary = compose_summary(session, SummaryImages(image=image))  # the client draws the layouts
    sections = summary.record.sections
    assert "Seed 7 · 6 steps run (28 asked) · guidance 7 · 256×256" in sections["Render"]
    assert f"Notice: {session.result.notice}" in sections["Render"]
    client_white = summary.content.layout_on_white
    assert client_white is not None
    # One drawing: the client's picture is the server's, pixel for pixel.
    assert np.array_equal(np.asarray(client_white), np.asarray(server_white))
    assert session.layout is not None
    for index, obj in enumerate(session.layout.objects):
        _left, _top, right, bottom = pixel_box(obj.box.as_list(), 256, 256)
        # The bottom-right corner of each outline (labels sit elsewhere here) is the box's colour.
        assert server_white.getpixel((right, bottom)) == box_colour(index)
        region = summary.record.regions["layout_on_white"]
        scale = (region[2] - region[0]) / 256
        x, y = region[0] + round((right + 0.5) * scale), region[1] + round((bottom + 0.5) * scale)
        near = np.asarray(summary.image.crop((x - 3, y - 3, x + 4, y + 4)), dtype=int).reshape(-1, 3)
        assert np.abs(near - box_colour(index)).sum(axis=1).min() < 40, index

    export_session(session, SummaryImages(image=image), tmp_path / "out")
    text = "\n".join(page.extract_text() for page in _pdf(tmp_path / "out" / "summary.pdf").pages)
    flat = " ".join(text.split())
    assert "Draft engine: a layout mock-up drawn without a diffusion model" in flat
    assert "--engine creatilayout" in flat and "HF_TOKEN" in flat
