"""The process summary as a PDF a person can search, copy from and print: real text in DejaVu Sans
(embedded, so any script the font covers comes through), the final image and both layout
pictures at their full resolution, on A4 (default) or US Letter, flowing onto more pages when
the text is long. Made with fpdf2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from marquee.fonts import font_path

Paper = Literal["a4", "letter"]
#: fpdf2's page format names; the page sizes are A4 595.28 × 841.89 pt, Letter 612 × 792 pt.
PAPER_SIZES: dict[str, str] = {"a4": "A4", "letter": "Letter"}
FONT = "DejaVu"
MARGIN_MM = 15
GAP_MM = 5
CAPTION_MM = 5
#: The tallest a picture may be, so that a portrait image leaves room for text on page one.
MAX_PICTURE_MM = 90
INK = (20, 20, 20)
MUTED = (95, 95, 95)
ACCENT = (180, 30, 45)


@dataclass
class PdfContent:
    """What the summary says: the PNG and the PDF show the same."""

    title: str
    #: The notice's first sentence (empty when there is none), under the title.
    banner: str
    #: Heading -> lines, as `summary_sections` gives them.
    sections: dict[str, list[str]]
    image: Image.Image | None = None
    layout_on_image: Image.Image | None = None
    layout_on_white: Image.Image | None = None


class _SummaryDocument(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"Marquee process summary · page {self.page_no()}/{{nb}}", align="C")


def _pictures_row(pdf: FPDF, pictures: list[tuple[str, Image.Image | None]]) -> None:
    """The pictures side by side, each under its caption, as large as the width allows."""
    count = len(pictures)
    cell_w = (pdf.epw - GAP_MM * (count - 1)) / count
    aspects = [p.width / p.height for _, p in pictures if p is not None and p.height]
    aspect = aspects[0] if aspects else 1.0
    picture_w = min(cell_w, MAX_PICTURE_MM * aspect)
    picture_h = picture_w / aspect
    if pdf.get_y() + CAPTION_MM + picture_h > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    for column, (caption, picture) in enumerate(pictures):
        left = pdf.l_margin + column * (cell_w + GAP_MM)
        pdf.set_xy(left, top)
        pdf.set_font(FONT, "B", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(cell_w, CAPTION_MM, caption)
        if picture is None:
            pdf.set_fill_color(232, 232, 232)
            pdf.rect(left, top + CAPTION_MM, picture_w, picture_h, style="F")
            pdf.set_xy(left, top + CAPTION_MM + picture_h / 2 - 2.5)
            pdf.cell(picture_w, 5, "not rendered", align="C")
        else:
            pdf.image(picture.convert("RGB"), x=left, y=top + CAPTION_MM, w=picture_w, h=picture_h)
    pdf.set_xy(pdf.l_margin, top + CAPTION_MM + picture_h + GAP_MM)


def summary_pdf(content: PdfContent, paper: Paper = "a4") -> bytes:
    """The summary as PDF bytes on `paper` ("a4" or "letter")."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}, got {paper!r}")
    pdf = _SummaryDocument(orientation="portrait", unit="mm", format=PAPER_SIZES[paper])
    pdf.add_font(FONT, "", str(font_path()))
    pdf.add_font(FONT, "B", str(font_path(bold=True)))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=MARGIN_MM + 5)
    pdf.set_title(content.title)
    pdf.set_author("Marquee")
    pdf.set_creator("Marquee (client_tui)")
    pdf.set_lang("en")
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 7, content.title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if content.banner:
        pdf.ln(1)
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 5, content.banner, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.l_margin + pdf.epw, pdf.get_y() + 2)
    pdf.ln(5)

    _pictures_row(
        pdf,
        [
            ("Final image", content.image),
            ("Layout on the image", content.layout_on_image),
            ("Layout (boxes on white)", content.layout_on_white),
        ],
    )

    for heading, lines in content.sections.items():
        if pdf.get_y() + 14 > pdf.page_break_trigger:  # no heading alone at a page's foot
            pdf.add_page()
        pdf.set_font(FONT, "B", 11)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 6, heading, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9.5)
        pdf.set_text_color(*INK)
        for line in lines:
            pdf.multi_cell(0, 4.6, line or " ", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2.5)
    return bytes(pdf.output())
