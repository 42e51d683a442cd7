"""Poster compositions from design practice, as boxes for the offline planner.

Each template is a classic movie-poster arrangement with 3-5 slots; a slot has a role (which kind
of object fills it) and a box that already satisfies the layout rules (inside the image, area >=
0.16; overlapping, since five such boxes cannot tile the image). A template is chosen by how well
the genres and the words of the plots fit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["hero", "second", "setting", "thing", "threat", "crowd"]


@dataclass(frozen=True)
class Slot:
    role: Role
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class PosterTemplate:
    name: str
    description: str
    slots: tuple[Slot, ...]
    #: How well each genre suits it (0..3); unlisted genres score 0.
    genres: dict[str, float] = field(default_factory=dict)
    #: Plot words that call for it ("two", "rivals" for a face-off).
    cues: frozenset[str] = frozenset()
    #: How many distinct figures (people or creatures) it needs to look right.
    figures_needed: int = 1


def _cues(words: str) -> frozenset[str]:
    return frozenset(words.split())


TEMPLATES: tuple[PosterTemplate, ...] = (
    PosterTemplate(
        "title_band",
        "a band across the top kept for the title; the scene fills the lower three quarters",
        (
            Slot("setting", (0.0, 0.22, 1.0, 1.0)),
            Slot("hero", (0.28, 0.3, 0.72, 0.98)),
            Slot("thing", (0.04, 0.56, 0.46, 0.98)),
        ),
        {"Drama": 2, "Documentary": 3, "Musical": 2, "Comedy": 1, "War": 1},
        _cues("story life true journey years town history memoir"),
    ),
    PosterTemplate(
        "rule_of_thirds",
        "the hero on the left third line, the setting behind, a key object on the right third",
        (
            Slot("setting", (0.0, 0.0, 1.0, 0.62)),
            Slot("hero", (0.04, 0.12, 0.54, 0.96)),
            Slot("thing", (0.56, 0.5, 0.96, 0.92)),
            Slot("second", (0.52, 0.14, 0.94, 0.56)),
        ),
        {"Drama": 3, "Romance": 1, "Thriller": 2, "Mystery": 2, "Crime": 1},
        _cues("alone discovers decides secret past returns"),
    ),
    PosterTemplate(
        "central_hero",
        "one towering figure in the centre over a full-bleed setting, an emblem above",
        (
            Slot("setting", (0.0, 0.0, 1.0, 1.0)),
            Slot("hero", (0.24, 0.12, 0.76, 0.96)),
            Slot("thing", (0.3, 0.56, 0.7, 0.98)),
            Slot("threat", (0.18, 0.0, 0.82, 0.34)),
        ),
        {"Action": 2, "Sci-Fi": 3, "Fantasy": 3, "Adventure": 2, "War": 1},
        _cues("hero chosen destiny save world must power only"),
    ),
    PosterTemplate(
        "duo_face_off",
        "two figures facing each other from the left and right halves, the stake between them",
        (
            Slot("hero", (0.0, 0.16, 0.5, 1.0)),
            Slot("second", (0.5, 0.16, 1.0, 1.0)),
            Slot("thing", (0.29, 0.36, 0.71, 0.76)),
            Slot("setting", (0.0, 0.0, 1.0, 0.5)),
        ),
        {"Romance": 3, "Western": 2, "Crime": 2, "Thriller": 1, "Comedy": 1, "Action": 1},
        _cues("two rival rivals versus against enemy enemies couple love partner partners pair duel"),
        figures_needed=2,
    ),
    PosterTemplate(
        "ensemble",
        "a cast of five arranged in two overlapping rows, the lead in front and centre",
        (
            Slot("hero", (0.3, 0.22, 0.7, 0.98)),
            Slot("crowd", (0.0, 0.32, 0.4, 1.0)),
            Slot("crowd", (0.6, 0.32, 1.0, 1.0)),
            Slot("crowd", (0.1, 0.04, 0.5, 0.5)),
            Slot("crowd", (0.5, 0.04, 0.9, 0.5)),
        ),
        {"Comedy": 3, "Children's": 2, "Animation": 2, "Musical": 2, "War": 1, "Adventure": 1},
        _cues("friends family team group gang band crew together kids brothers sisters"),
        figures_needed=3,
    ),
    PosterTemplate(
        "landscape_vista",
        "a wide landscape under a big sky, a small figure on the lower right third",
        (
            Slot("setting", (0.0, 0.32, 1.0, 1.0)),
            Slot("threat", (0.0, 0.0, 1.0, 0.46)),
            Slot("hero", (0.56, 0.52, 0.96, 0.94)),
        ),
        {"Western": 3, "Adventure": 3, "Documentary": 1, "War": 1, "Sci-Fi": 1, "Drama": 1},
        _cues(
            "desert frontier journey mountain mountains ocean sea land wilderness planet island "
            "travels across west expedition"
        ),
    ),
    PosterTemplate(
        "object_close_up",
        "one telling object in extreme close-up in the centre, a hand reaching for it",
        (
            Slot("setting", (0.0, 0.0, 1.0, 1.0)),
            Slot("thing", (0.15, 0.15, 0.85, 0.85)),
            Slot("hero", (0.0, 0.55, 0.46, 1.0)),
        ),
        {"Mystery": 3, "Crime": 2, "Film-Noir": 2, "Thriller": 2, "Horror": 1},
        _cues("stolen steal diamond ring key letter money treasure murder weapon clue evidence heist secret"),
    ),
    PosterTemplate(
        "looming_threat",
        "a menace filling the top of the frame, dwarfing a small figure below",
        (
            Slot("threat", (0.0, 0.0, 1.0, 0.66)),
            Slot("hero", (0.3, 0.5, 0.7, 0.98)),
            Slot("setting", (0.0, 0.4, 1.0, 1.0)),
        ),
        {"Horror": 3, "Thriller": 2, "Sci-Fi": 2, "Film-Noir": 1, "War": 1},
        _cues("monster killer creature haunted evil terror attack hunted hunts stalks ghost alien shark beast demon"),
    ),
    PosterTemplate(
        "diagonal_action",
        "figures and objects along a rising diagonal for motion, the setting behind",
        (
            Slot("hero", (0.36, 0.04, 0.96, 0.68)),
            Slot("second", (0.0, 0.4, 0.5, 0.98)),
            Slot("thing", (0.04, 0.04, 0.5, 0.42)),
            Slot("setting", (0.0, 0.0, 1.0, 1.0)),
        ),
        {"Action": 3, "Adventure": 2, "War": 2, "Thriller": 1, "Sci-Fi": 1},
        _cues("chase race escape fight battle run races fights war mission explosion"),
        figures_needed=2,
    ),
    PosterTemplate(
        "split_screen",
        "the frame split down the middle between two worlds or two people, an object bridging them",
        (
            Slot("hero", (0.0, 0.0, 0.55, 1.0)),
            Slot("second", (0.45, 0.0, 1.0, 1.0)),
            Slot("thing", (0.29, 0.58, 0.71, 1.0)),
        ),
        {"Drama": 1, "Comedy": 2, "Romance": 2, "Sci-Fi": 1, "Mystery": 1},
        _cues("double switch swap identity worlds two lives past present between divided"),
        figures_needed=2,
    ),
)

TEMPLATES_BY_NAME = {template.name: template for template in TEMPLATES}
