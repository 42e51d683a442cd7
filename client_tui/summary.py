"""The one-page process summary, in the seed's arrangement: a text block (watched, recommended,
scenario, layout, global prompt, engine, seed, timings) beside the final image, and the layout
visualisation below it (boxes on white | boxes on the image). Drawn with Pillow in DejaVu Sans,
text wrapped to the column width; saved as PNG, and as a PDF with real text on A4 or Letter
(`client_tui.summary_pdf`). A result that comes with a notice (a draft mock-up) says so under
the title and in full under Render."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from client_tui.records import SummaryRecord, global_prompt
from client_tui.session import Session
from client_tui.staleness import mark_stale

# One palette for the PNG and the PDF.
from client_tui.summary_pdf import ACCENT, INK, MUTED, PAPER_SIZES, Paper, PdfContent, summary_pdf
from marquee.fonts import truetype as _font
from marquee.layout_drawing import layout_on_image, layout_on_white

MARGIN = 32
COLUMN = 720
HEADER = 64
CAPTION = 34
BODY_SIZE = 17
HEADING_SIZE = 19
LINE_SPACING = 1.32
#: The engine built on Stable Diffusion 3, and the notice its licence asks for.
STABILITY_ENGINE = "creatilayout"
POWERED_BY_STABILITY = "Powered by Stability AI"


@dataclass
class SummaryImages:
    """The pictures the summary shows; any may be missing (drawn as a placeholder or redrawn)."""

    image: Image.Image | None = None
    layout_on_image: Image.Image | None = None
    layout_on_white: Image.Image | None = None


@dataclass
class Summary:
    image: Image.Image
    record: SummaryRecord
    #: What the PDF shows: the same title, banner, sections and pictures as the PNG.
    content: PdfContent

    def png_bytes(self) -> bytes:
        buffer = io.BytesIO()
        # Level 1: a third of the encoding time of the default 6, files ~20 % larger.
        self.image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def pdf_bytes(self, paper: Paper = "a4") -> bytes:
        """The summary as a PDF with real (searchable, copyable) text, on A4 or Letter."""
        if paper not in PAPER_SIZES:
            raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}, got {paper!r}")
        return summary_pdf(self.content, paper)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap by rendered width; words wider than a line are split."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split(" ")
        current = ""
        for word in words:
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = word
            while font.getlength(current) > width and len(current) > 1:
                cut = len(current)
                while cut > 1 and font.getlength(current[:cut]) > width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        lines.append(current)
    return lines


def _fmt_box(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def summary_sections(session: Session) -> dict[str, list[str]]:
    """The text block's sections, heading -> logical lines (before wrapping)."""
    sections: dict[str, list[str]] = {}
    sections["Watched"] = [
        f"• {m.label} — {', '.join(m.genres)}" if m.genres else f"• {m.label}" for m in session.watched
    ] or ["(none)"]
    heading = f"Recommended (k={session.k}"
    if session.recommender_model:
        heading += f", {session.recommender_model}"
        if session.recommender_version:
            heading += f" v{session.recommender_version}"
    heading += ")"
    sections[heading] = [
        f"{r.rank}. {r.movie.label} — score {r.score:.2f} — {', '.join(r.movie.genres)}"
        for r in session.recommendations
    ] or ["(none)"]
    if session.top_genres:
        sections[heading].append(f"Mood preference: {', '.join(session.top_genres)}")
    sections["Scenario"] = session.scenario.splitlines() or ["(none)"]
    layout_lines: list[str] = []
    if session.layout is not None:
        layout_lines.append(f"Title: {session.layout.title}")
        layout_lines.append(f"Mood: {session.layout.mood}")
        for index, obj in enumerate(session.layout.objects, start=1):
            feature = f" — {obj.feature}" if obj.feature else ""
            layout_lines.append(f"{index}. {obj.name}{feature}  {_fmt_box(obj.box.as_list())}")
    if session.plan is not None:
        layout_lines.append(f"Planned by: {session.plan.description}")
        edited = session.layout is not None and session.plan.planned_layout not in (None, session.layout)
        if edited:
            layout_lines.append("Edited by hand after planning.")
    sections["Layout"] = layout_lines or ["(not planned)"]
    prompt = session.global_prompt or (global_prompt(session.layout) if session.layout else "")
    sections["Global prompt"] = [prompt or "(none)"]
    if session.result is not None:
        r = session.result
        engine = f"{r.engine} ({r.model})" if r.model else r.engine
        steps = f"{r.steps} steps"
        if r.steps_requested and r.steps_requested != r.steps:
            steps = f"{r.steps} steps run ({r.steps_requested} asked)"
        render = [f"Engine: {engine}", f"Seed {r.seed} · {steps} · guidance {r.guidance:g} · {r.width}×{r.height}"]
        if r.layout_steps:
            render.append(f"Layout branch on for the first {r.layout_steps} steps")
        if r.attempts > 1:
            render.append(f"Rendered on attempt {r.attempts} (earlier replicas were lost)")
        if r.engine == STABILITY_ENGINE:
            # The Stability AI Community Licence of SD3 asks products to say so.
            render.append(POWERED_BY_STABILITY)
        if r.notice:
            render.append(f"Notice: {r.notice}")
    else:
        p = session.render
        seed = p.seed if p.seed is not None else "random"
        render = [f"Not rendered yet · seed {seed} · {p.steps} steps · guidance {p.guidance:g}"]
    sections["Render"] = render
    client = " · ".join(f"{name} {seconds:.2f} s" for name, seconds in session.timings.items())
    timings = [client] if client else []
    if session.result is not None:
        r = session.result
        timings.append(
            f"server: queued {r.queued_seconds:.2f} s, total {r.total_seconds:.2f} s, "
            f"first preview {r.first_preview_seconds:.2f} s, {r.seconds_per_step:.3f} s/step"
        )
    sections["Timings"] = timings or ["(none)"]
    stale_headings = {"recommendations": heading, "scenario": "Scenario", "layout": "Layout", "image": "Render"}
    return mark_stale(sections, session.stale_steps(), stale_headings)


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _placeholder(width: int, height: int, text: str) -> Image.Image:
    image = Image.new("RGB", (width, height), (232, 232, 232))
    draw = ImageDraw.Draw(image)
    font = _font(BODY_SIZE)
    draw.text((width / 2, height / 2), text, fill=MUTED, font=font, anchor="mm")
    return image


def summary_title(session: Session) -> str:
    title = "Marquee — process summary"
    if session.layout is not None and session.layout.title:
        title += f": {session.layout.title}"
    return title


def notice_banner(session: Session) -> str:
    """The notice's first sentence, shown under the title so nobody misses it (the whole notice
    is under Render); empty when the result has none."""
    notice = session.result.notice.strip() if session.result is not None else ""
    if not notice:
        return ""
    first, dot, _ = notice.partition(". ")
    return first + "." if dot else notice


def compose_summary(session: Session, images: SummaryImages) -> Summary:
    """Draws the summary page; the record says what is where."""
    body, heading_font = _font(BODY_SIZE), _font(HEADING_SIZE, bold=True)
    line_height = round(BODY_SIZE * LINE_SPACING)
    heading_height = round(HEADING_SIZE * LINE_SPACING) + 4
    sections = summary_sections(session)

    rendered: list[tuple[str, bool]] = []  # (line, is_heading)
    for heading, lines in sections.items():
        rendered.append((heading, True))
        for line in lines:
            rendered.extend((part, False) for part in wrap(line, body, COLUMN))
        rendered.append(("", False))
    text_height = sum(heading_height if is_heading else line_height for _, is_heading in rendered)

    width, height = session.render.width, session.render.height
    if session.result is not None:
        width, height = session.result.width, session.result.height
    aspect = width / height if height else 1.0
    if images.image is not None:
        aspect = images.image.width / images.image.height
    image_w = COLUMN if aspect >= 1 else round(COLUMN * aspect)
    image_h = round(image_w / aspect)
    top_height = max(text_height, image_h)

    panel_h = round(COLUMN / aspect) if aspect >= 1 else COLUMN
    page_w = 3 * MARGIN + 2 * COLUMN
    title, banner = summary_title(session), notice_banner(session)
    banner_font = _font(BODY_SIZE, bold=True)
    banner_lines = wrap(banner, banner_font, page_w - 2 * MARGIN) if banner else []
    header = HEADER + len(banner_lines) * line_height + (6 if banner_lines else 0)
    page_h = header + top_height + MARGIN + CAPTION + panel_h + MARGIN
    page = Image.new("RGB", (page_w, page_h), "white")
    draw = ImageDraw.Draw(page)

    title_font = _font(26, bold=True)
    title_lines = wrap(title, title_font, page_w - 2 * MARGIN)
    draw.text((MARGIN, 18), title_lines[0], fill=INK, font=title_font)
    for number, line in enumerate(banner_lines):
        draw.text((MARGIN, HEADER - 6 + number * line_height), line, fill=ACCENT, font=banner_font)
    draw.line((MARGIN, header - 8, page_w - MARGIN, header - 8), fill=(200, 200, 200), width=2)

    regions: dict[str, list[int]] = {"header": [0, 0, page_w, header]}
    x, y = MARGIN, header
    for line, is_heading in rendered:
        if is_heading:
            draw.text((x, y + 2), line, fill=ACCENT, font=heading_font)
            y += heading_height
        else:
            draw.text((x, y), line, fill=INK, font=body)
            y += line_height
    regions["text"] = [MARGIN, header, MARGIN + COLUMN, header + text_height]

    image_left = 2 * MARGIN + COLUMN
    final = _fit(images.image, image_w, image_h) if images.image is not None else None
    if final is None:
        final = _placeholder(image_w, image_h, "not rendered")
    page.paste(final, (image_left, header))
    regions["image"] = [image_left, header, image_left + final.width, header + final.height]

    panels_top = header + top_height + MARGIN
    # The server's pictures when it sent them; otherwise drawn here by the same code, so box N
    # has the same colour and label either way.
    boxes = [(o.phrase, o.box.as_list()) for o in session.layout.objects] if session.layout is not None else []
    on_white = images.layout_on_white
    if on_white is None:
        on_white = layout_on_white(boxes, width, height)
    on_image = images.layout_on_image
    if on_image is None and images.image is not None:
        on_image = layout_on_image(images.image, boxes)
    caption_font = _font(BODY_SIZE, bold=True)
    for name, caption, picture, left in (
        ("layout_on_white", "Layout (boxes on white)", on_white, MARGIN),
        ("layout_on_image", "Layout on the image", on_image, image_left),
    ):
        draw.text((left, panels_top), caption, fill=MUTED, font=caption_font)
        if picture is None:
            fitted = _placeholder(round(panel_h * aspect) if aspect < 1 else COLUMN, panel_h, "not rendered")
        else:
            fitted = _fit(picture, COLUMN, panel_h)
        top = panels_top + CAPTION
        page.paste(fitted, (left, top))
        regions[name] = [left, top, left + fitted.width, top + fitted.height]

    record = SummaryRecord(sections=sections, regions=regions, size=[page_w, page_h])
    content = PdfContent(
        title=title,
        banner=banner,
        sections=sections,
        image=images.image,
        layout_on_image=on_image,
        layout_on_white=on_white,
    )
    return Summary(image=page, record=record, content=content)
