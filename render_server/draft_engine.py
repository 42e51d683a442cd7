"""The draft engine: the layout as a poster mock-up, composed on the CPU in well under a second,
without a diffusion model. It runs no denoising steps: its progress steps are layers, and it
says so (`engine_notice`, and each result's notice) so nobody takes its picture for a render.

Layers, each followed by a progress event and (unless previews are off) a preview:
background (a gradient and film grain in a palette from the mood and genres), one layer per
object (a translucent shape in the box's colour, outlined and labelled as in every layout
picture), the title set in type, and a finish (vignette, frame, genre line). The same request
and seed give the same bytes.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from marquee.fonts import truetype as font
from marquee.layout_drawing import LabelStyle, PixelBox, box_colour, draw_label, draw_outline
from render_server.draft_poster_plan import PlacedText, PosterPlan, frame_width, plan_poster
from render_server.engines import COMPOSING, Engine, EngineOutput, JobCancelled, JobControl
from render_server.spec import LayoutObject, RenderSpec

#: How to get a real render instead; part of every notice the draft engine gives.
PAINT_WITH_CREATILAYOUT = (
    "To paint the layout with CreatiLayout, start the render server with --engine creatilayout "
    "(or --model ID_OR_DIR): it loads HuiZhang0812/CreatiLayout (SiamLayout_SD3) on "
    "stabilityai/stable-diffusion-3-medium-diffusers from Hugging Face (set HF_TOKEN after "
    "accepting the SD3-Medium licence) or from a local directory (--model, --base-model); "
    "a GPU is advised."
)
ENGINE_NOTICE = (
    "The draft engine draws a layout mock-up without a diffusion model: each job is composed in "
    "(objects + 3) layers, its progress steps and previews count layers, and the requested steps "
    "and guidance are not used. " + PAINT_WITH_CREATILAYOUT
)

#: Base hue (degrees), saturation and value per MovieLens genre.
GENRE_HSV = {
    "action": (12, 0.85, 0.85),
    "adventure": (35, 0.8, 0.85),
    "animation": (300, 0.55, 0.95),
    "children's": (50, 0.7, 0.95),
    "children": (50, 0.7, 0.95),
    "comedy": (52, 0.75, 0.95),
    "crime": (222, 0.7, 0.5),
    "documentary": (95, 0.25, 0.7),
    "drama": (200, 0.5, 0.6),
    "fantasy": (270, 0.6, 0.75),
    "film-noir": (220, 0.05, 0.45),
    "horror": (356, 0.9, 0.45),
    "musical": (322, 0.7, 0.9),
    "mystery": (245, 0.55, 0.5),
    "romance": (340, 0.6, 0.9),
    "sci-fi": (185, 0.8, 0.75),
    "thriller": (210, 0.45, 0.4),
    "war": (70, 0.35, 0.5),
    "western": (30, 0.7, 0.7),
}
#: Mood words that darken (negative) or brighten (positive) the palette.
MOOD_VALUE = {
    "dark": -0.3,
    "grim": -0.3,
    "ominous": -0.3,
    "sinister": -0.3,
    "tense": -0.2,
    "gritty": -0.2,
    "melancholic": -0.2,
    "sad": -0.2,
    "moody": -0.2,
    "noir": -0.3,
    "eerie": -0.25,
    "haunting": -0.2,
    "bright": 0.2,
    "hopeful": 0.2,
    "joyful": 0.25,
    "cheerful": 0.25,
    "playful": 0.2,
    "warm": 0.1,
    "whimsical": 0.2,
    "uplifting": 0.2,
    "sunny": 0.25,
    "light": 0.15,
    "romantic": 0.1,
}
#: Mood words that pull the hue towards a temperature.
MOOD_HUE = {"warm": 30, "fiery": 15, "sunny": 45, "cold": 210, "icy": 195, "cool": 200, "toxic": 100}
LAYERS_BESIDES_OBJECTS = 3  # background, title, finish


def _word_number(word: str) -> float:
    """A stable number in [0, 1) for a word (Python's hash() changes per process)."""
    return int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") / 2**32


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360, min(1.0, max(0.0, s)), min(1.0, max(0.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def palette(mood: str, genres: Sequence[str], rng: np.random.Generator) -> dict[str, tuple[int, int, int]]:
    """Background (top, bottom), accent colours and a text colour from the mood and genres."""
    known = [GENRE_HSV[g.lower()] for g in genres if g.lower() in GENRE_HSV]
    if known:
        # Hue: circular mean of the genres' hues.
        angles = np.radians([h for h, _, _ in known])
        hue = float(np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())))
        sat = float(np.mean([s for _, s, _ in known]))
        val = float(np.mean([v for _, _, v in known]))
    else:
        seed_text = " ".join(genres) or mood or "marquee"
        hue, sat, val = 360 * _word_number(seed_text), 0.55, 0.65
    words = [w.strip(".,;:!?").lower() for w in mood.split()]
    for word in words:
        val += MOOD_VALUE.get(word, 0.0)
        if word in MOOD_HUE:
            target = MOOD_HUE[word]
            hue += 0.5 * (((target - hue + 180) % 360) - 180)
        elif word and word not in MOOD_VALUE:
            hue += 20 * (_word_number(word) - 0.5)
    hue += float(rng.uniform(-8, 8))
    val = min(0.95, max(0.25, val))
    accents = [
        _rgb(hue + offset, sat * 0.9 + 0.1, min(1.0, val + 0.25))
        for offset in (150, 40, -40, 180, 90, -90, 20, -150, 120, -120)
    ]
    return {
        "top": _rgb(hue, sat, val * 0.35),
        "bottom": _rgb(hue + 15, sat * 0.9, val),
        "text": (250, 248, 240) if val < 0.8 else (25, 22, 30),
        **{f"accent{i}": colour for i, colour in enumerate(accents)},
    }


class DraftEngine(Engine):
    """CPU poster mock-up; needs no model."""

    name = "draft"
    engine_notice = ENGINE_NOTICE

    def __init__(self, max_boxes: int = 10) -> None:
        super().__init__()
        self.max_boxes = max_boxes

    def describe_loading(self) -> str:
        return "starting the draft compositor"

    def load(self) -> None:
        font(32, bold=True)  # reads the font file once, before the first job

    def warm_up(self, control: JobControl) -> None:
        spec = RenderSpec(
            prompt="warm-up",
            objects=(LayoutObject("box", (0.2, 0.2, 0.8, 0.8)),),
            steps=1,
            guidance=0.0,
            width=64,
            height=64,
            seed=0,
            preview_interval=1,
            title="Warm-up",
        )
        self.render(spec, control)

    def steps_for(self, spec: RenderSpec) -> int:
        return len(spec.objects) + LAYERS_BESIDES_OBJECTS

    def render(self, spec: RenderSpec, control: JobControl) -> EngineOutput:
        total = self.steps_for(spec)
        rng = np.random.default_rng(spec.seed & 0xFFFFFFFFFFFFFFFF)
        colours = palette(spec.mood, spec.genres, rng)
        width, height = spec.width, spec.height
        plan = plan_poster(spec)
        style, boxes, labels = plan.style, plan.boxes, plan.labels
        step = 0

        def layer_done(canvas: Image.Image) -> None:
            nonlocal step
            step += 1
            control.progress(step, total, COMPOSING)
            if spec.preview_interval > 0 and step < total:
                control.preview(step, canvas.copy())  # later layers draw on the canvas
            if control.stop_requested:
                raise JobCancelled()

        control.progress(0, total, COMPOSING)
        canvas = self._background(width, height, colours, rng)
        layer_done(canvas)
        for index, box in enumerate(boxes):
            canvas = self._object(canvas, index, box, style, rng)
            # Labels of the objects drawn so far, again on top of the newest shape.
            draw = ImageDraw.Draw(canvas)
            for label in labels[: index + 1]:
                if label is not None:
                    draw_label(draw, label, style)
            layer_done(canvas)
        canvas = self._title(canvas, plan.title, colours)
        layer_done(canvas)
        canvas = self._finish(canvas, plan, colours)
        layer_done(canvas)
        return EngineOutput(image=canvas, steps=total, layout_steps=0, label_keep_clear=plan.reserved)

    def result_notice(self, spec: RenderSpec, steps_done: int) -> str:
        """What a person must know about this picture: it is a mock-up, and what it did instead
        of the steps asked for."""
        return (
            f"Draft engine: a layout mock-up drawn without a diffusion model, composed in {steps_done} "
            f"layers (background, {len(spec.objects)} objects, title, finish); the {spec.steps} denoising "
            f"steps and guidance {spec.guidance:g} asked for were not run. {PAINT_WITH_CREATILAYOUT}"
        )

    @staticmethod
    def _background(width: int, height: int, colours: dict, rng: np.random.Generator) -> Image.Image:
        top = np.array(colours["top"], np.float32)
        bottom = np.array(colours["bottom"], np.float32)
        t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None] ** 1.4
        column = top + (bottom - top) * t  # [h, 1, 3]
        # A soft light source off-centre, so the poster has depth.
        cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.15, 0.45)
        ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
        glow = np.exp(-(((xs - cx) ** 2) + ((ys - cy) ** 2) * (height / width) ** -2) / 0.08)
        pixels = column + glow[..., None] * 60.0
        grain = rng.normal(0.0, 6.0, size=(height, width, 1)).astype(np.float32)
        pixels = np.clip(pixels + grain, 0, 255).astype(np.uint8)
        return Image.fromarray(pixels)

    @staticmethod
    def _object(
        canvas: Image.Image, index: int, box: PixelBox, style: LabelStyle, rng: np.random.Generator
    ) -> Image.Image:
        """A translucent shape in the box's colour (the same colour as in every layout picture),
        with the box outline over it."""
        x1, y1, x2, y2 = box
        colour = box_colour(index)
        overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        kind = int(rng.integers(0, 3))
        fill = (*colour, 120)
        if kind == 0:
            draw.ellipse(box, fill=fill)
        elif kind == 1:
            draw.rounded_rectangle(box, radius=max(0, min(x2 - x1, y2 - y1) // 6), fill=fill)
        else:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            draw.polygon([(mx, y1), (x2, my), (mx, y2), (x1, my)], fill=fill)
        out = Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
        draw_outline(ImageDraw.Draw(out), box, index, style.line)
        return out

    @staticmethod
    def _title(canvas: Image.Image, title: PlacedText, colours: dict) -> Image.Image:
        draw = ImageDraw.Draw(canvas)
        x, y = title.origin
        draw.multiline_text(
            (x + title.shadow, y + title.shadow), title.text, font=title.font, fill=(0, 0, 0), align="center"
        )
        draw.multiline_text((x, y), title.text, font=title.font, fill=colours["text"], align="center")
        return canvas

    @staticmethod
    def _finish(canvas: Image.Image, plan: PosterPlan, colours: dict) -> Image.Image:
        width, height = canvas.size
        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
        shade = 1.0 - 0.35 * np.clip(xs**2 + ys**2 - 0.3, 0.0, None)
        pixels = (np.asarray(canvas, dtype=np.float32) * shade[..., None]).astype(np.uint8)
        out = Image.fromarray(pixels)
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, 0, width - 1, height - 1), outline=colours["accent0"], width=frame_width(width, height))
        genre_line = plan.genre_line
        if genre_line is not None:
            draw.text(genre_line.origin, genre_line.text, font=genre_line.font, fill=colours["text"])
        # The labels once more, crisp over the vignette, in the colours every layout picture uses.
        for label in plan.labels:
            if label is not None:
                draw_label(draw, label, plan.style)
        return out
