"""The draft engine: the layout as a poster mock-up, composed on the CPU in well under a second.

Layers, each followed by a progress event and (unless previews are off) a preview:
background (a gradient and film grain in a palette from the mood and genres), one layer per
object (a labelled shape filling its box), the title set in type, and a finish (vignette,
frame, genre line). The same request and seed give the same bytes.
"""

from __future__ import annotations

import colorsys
import hashlib
import textwrap
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from render_server.engines import COMPOSING, Engine, EngineOutput, JobCancelled, JobControl
from marquee.fonts import truetype as font
from render_server.request_validation import LayoutObject, RenderSpec

#: Base hue (degrees), saturation and value per MovieLens genre.
GENRE_HSV = {
    "action": (12, 0.85, 0.85), "adventure": (35, 0.8, 0.85), "animation": (300, 0.55, 0.95),
    "children's": (50, 0.7, 0.95), "children": (50, 0.7, 0.95), "comedy": (52, 0.75, 0.95),
    "crime": (222, 0.7, 0.5), "documentary": (95, 0.25, 0.7), "drama": (200, 0.5, 0.6),
    "fantasy": (270, 0.6, 0.75), "film-noir": (220, 0.05, 0.45), "horror": (356, 0.9, 0.45),
    "musical": (322, 0.7, 0.9), "mystery": (245, 0.55, 0.5), "romance": (340, 0.6, 0.9),
    "sci-fi": (185, 0.8, 0.75), "thriller": (210, 0.45, 0.4), "war": (70, 0.35, 0.5),
    "western": (30, 0.7, 0.7),
}
#: Mood words that darken (negative) or brighten (positive) the palette.
MOOD_VALUE = {
    "dark": -0.3, "grim": -0.3, "ominous": -0.3, "sinister": -0.3, "tense": -0.2, "gritty": -0.2,
    "melancholic": -0.2, "sad": -0.2, "moody": -0.2, "noir": -0.3, "eerie": -0.25, "haunting": -0.2,
    "bright": 0.2, "hopeful": 0.2, "joyful": 0.25, "cheerful": 0.25, "playful": 0.2, "warm": 0.1,
    "whimsical": 0.2, "uplifting": 0.2, "sunny": 0.25, "light": 0.15, "romantic": 0.1,
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
        words = " ".join(genres) or mood or "marquee"
        hue, sat, val = 360 * _word_number(words), 0.55, 0.65
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

    def __init__(self, max_boxes: int = 10) -> None:
        super().__init__()
        self.max_boxes = max_boxes

    def describe_loading(self) -> str:
        return "starting the draft compositor"

    def load(self) -> None:
        font(32, bold=True)  # reads the font file once, before the first job

    def warm_up(self, control: JobControl) -> None:
        spec = RenderSpec(
            prompt="warm-up", objects=(LayoutObject("box", (0.2, 0.2, 0.8, 0.8)),), steps=1,
            guidance=0.0, width=64, height=64, seed=0, preview_interval=1, title="Warm-up",
        )
        self.render(spec, control)

    def steps_for(self, spec: RenderSpec) -> int:
        return len(spec.objects) + LAYERS_BESIDES_OBJECTS

    def render(self, spec: RenderSpec, control: JobControl) -> EngineOutput:
        total = self.steps_for(spec)
        rng = np.random.default_rng(spec.seed & 0xFFFFFFFFFFFFFFFF)
        colours = palette(spec.mood, spec.genres, rng)
        width, height = spec.width, spec.height
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
        for index, obj in enumerate(spec.objects):
            canvas = self._object(canvas, index, obj, colours, rng)
            layer_done(canvas)
        canvas = self._title(canvas, spec.title or spec.prompt, colours, spec.objects)
        layer_done(canvas)
        canvas = self._finish(canvas, spec.genres, colours)
        layer_done(canvas)
        return EngineOutput(image=canvas, steps=total, layout_steps=0)

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
    def _object(canvas: Image.Image, index: int, obj: LayoutObject, colours: dict,
                rng: np.random.Generator) -> Image.Image:
        width, height = canvas.size
        x1, y1, x2, y2 = (round(obj.box[0] * width), round(obj.box[1] * height),
                          round(obj.box[2] * width) - 1, round(obj.box[3] * height) - 1)
        colour = colours[f"accent{index % 10}"]
        overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        line = max(1, round(min(width, height) / 170))
        kind = int(rng.integers(0, 3))
        fill = (*colour, 150)
        outline = (*colour, 255)
        if kind == 0:
            draw.ellipse((x1, y1, x2, y2), fill=fill, outline=outline, width=line)
        elif kind == 1:
            radius = max(1, min(x2 - x1, y2 - y1) // 6)
            draw.rounded_rectangle((x1, y1, x2, y2), radius=radius, fill=fill, outline=outline, width=line)
        else:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            draw.polygon([(mx, y1), (x2, my), (mx, y2), (x1, my)], fill=fill, outline=outline, width=line)
        # The phrase, wrapped to the box, in a dark tag for contrast.
        box_w, box_h = max(1, x2 - x1), max(1, y2 - y1)
        size = max(8, min(box_h // 6, round(min(width, height) / 26)))
        label_font = font(size, bold=True)
        chars = max(4, int(box_w / (0.6 * size)))
        label = "\n".join(textwrap.wrap(f"{index + 1}. {obj.phrase}", chars)[:3])
        left, top, right, bottom = draw.multiline_textbbox((0, 0), label, font=label_font, align="center")
        tw, th = right - left, bottom - top
        tx, ty = x1 + (box_w - tw) / 2, y1 + (box_h - th) / 2
        pad = max(2, size // 4)
        draw.rounded_rectangle((tx - pad, ty - pad, tx + tw + pad, ty + th + pad), radius=pad,
                               fill=(10, 10, 14, 170))
        draw.multiline_text((tx - left, ty - top), label, font=label_font, fill=(255, 255, 255, 255),
                            align="center")
        return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")

    @staticmethod
    def _title(canvas: Image.Image, title: str, colours: dict, objects: Sequence[LayoutObject]) -> Image.Image:
        width, height = canvas.size
        title = (title or "Untitled").upper()
        # Put the title where the layout leaves the most room: the top or the bottom band.
        top_use = sum(max(0.0, 0.25 - o.box[1]) * (o.box[2] - o.box[0]) for o in objects)
        bottom_use = sum(max(0.0, o.box[3] - 0.75) * (o.box[2] - o.box[0]) for o in objects)
        at_top = top_use < bottom_use
        draw = ImageDraw.Draw(canvas)
        size = max(8, round(height / 9))
        lines = [title]
        while size > 8:
            title_font = font(size, bold=True)
            lines = textwrap.wrap(title, max(1, int(width * 0.9 / (0.62 * size)))) or [title]
            if len(lines) <= 2 and all(draw.textlength(l, font=title_font) <= width * 0.92 for l in lines):
                break
            size = round(size * 0.85)
        title_font = font(size, bold=True)
        text = "\n".join(lines[:2])
        left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=title_font, align="center")
        tw, th = right - left, bottom - top
        x = (width - tw) / 2 - left
        y = (height * 0.08 if at_top else height * 0.95 - th) - top
        shadow = max(1, size // 18)
        draw.multiline_text((x + shadow, y + shadow), text, font=title_font, fill=(0, 0, 0), align="center")
        draw.multiline_text((x, y), text, font=title_font, fill=colours["text"], align="center")
        return canvas

    @staticmethod
    def _finish(canvas: Image.Image, genres: Sequence[str], colours: dict) -> Image.Image:
        width, height = canvas.size
        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
        shade = 1.0 - 0.35 * np.clip(xs**2 + ys**2 - 0.3, 0.0, None)
        pixels = (np.asarray(canvas, dtype=np.float32) * shade[..., None]).astype(np.uint8)
        out = Image.fromarray(pixels)
        draw = ImageDraw.Draw(out)
        frame = max(1, round(min(width, height) / 100))
        draw.rectangle((0, 0, width - 1, height - 1), outline=colours["accent0"], width=frame)
        if genres:
            small = font(max(7, round(height / 40)))
            line = "  •  ".join(g.upper() for g in genres)
            tw = draw.textlength(line, font=small)
            draw.text(((width - tw) / 2, frame * 2), line, font=small, fill=colours["text"])
        return out
