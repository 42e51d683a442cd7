"""The shared title rules (`marquee.titles`) that the catalog, search, resolution and the layout
planner's name checks all use."""

from __future__ import annotations

import pytest

from layout_server.layout_rules import ForbiddenNames
from marquee.titles import (
    ARTICLES,
    fold,
    front_article,
    loose_keys,
    part_keys,
    readable_title,
    split_bare_year,
    split_year,
    strip_article,
    title_key,
    title_parts,
)
from marquee.v1 import common_pb2


def test_fold_removes_case_accents_ligatures_and_punctuation() -> None:
    assert fold("Amélie, Le Fabuleux DESTIN d'") == "amelie le fabuleux destin d"
    assert fold("  Æon   Flux!! ") == "aeon flux"
    assert fold("Straße") == "strasse"
    assert fold("Phörpa") == fold("PHORPA") == "phorpa"


@pytest.mark.parametrize("article", ARTICLES)
def test_every_article_moves_to_the_front(article: str) -> None:
    joiner = "" if article.endswith("'") else " "
    assert front_article(f"Word Here, {article}") == f"{article}{joiner}Word Here"
    assert strip_article(f"Word Here, {article}") == "Word Here"


def test_articles_movies_dat_uses_are_known() -> None:
    # Every ", X" ending a title or an alternate title of movies.dat that is an article.
    for article in ("The", "A", "An", "La", "Les", "Le", "L'", "El", "Il", "Der", "Das", "I", "O", "Die", "Det"):
        assert article in ARTICLES


def test_words_after_a_comma_that_are_not_articles_stay() -> None:
    for title in ("Paris, Texas", "Girl, Interrupted", "Good Morning, Vietnam", "301, 302"):
        assert front_article(title) == title
        assert strip_article(title) == title


def test_only_english_articles_come_off_the_front() -> None:
    assert strip_article("The Usual Suspects") == "Usual Suspects"
    assert strip_article("A Bug's Life") == "Bug's Life"
    # "Die Hard", "I Shot Andy Warhol", "O Brother": leading foreign-looking words are English.
    assert strip_article("Die Hard") == "Die Hard"
    assert strip_article("I Shot Andy Warhol") == "I Shot Andy Warhol"


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("Star Maker, The (Uomo delle stelle, L') (1995)", ("The Star Maker (L'Uomo delle stelle)", 1995)),
        (
            "Children Are Watching us, The (Bambini ci guardano, I) (1942)",
            ("The Children Are Watching us (I Bambini ci guardano)", 1942),
        ),
        ("Convent, The (Convento, O) (1995)", ("The Convent (O Convento)", 1995)),
        ("Seventh Seal, The (Sjunde inseglet, Det) (1957)", ("The Seventh Seal (Det Sjunde inseglet)", 1957)),
    ],
)
def test_readable_title_handles_every_language(raw: str, readable: tuple[str, int]) -> None:
    assert readable_title(raw) == readable


def test_years() -> None:
    assert split_year("Toy Story (1995)") == ("Toy Story", 1995)
    assert split_year("Toy Story") == ("Toy Story", None)
    assert split_bare_year("heat 1995") == ("heat", 1995)
    assert split_bare_year("Heat") is None


def test_keys_agree_across_spellings() -> None:
    assert title_key("Matrix, The") == title_key("the matrix") == title_key("THE MATRIX") == "the matrix"
    assert title_key("Dinner Game, The (Dîner de cons, Le)") == title_key("The Dinner Game (Le Diner de cons)")
    assert part_keys("Life Is Beautiful (La Vita è bella)") == ["life is beautiful", "la vita e bella"]
    assert "usual suspects" in loose_keys("Usual Suspects, The")
    assert title_parts("Summer Fling (a.k.a. Last of the High Kings)") == ["Summer Fling", "Last of the High Kings"]


def test_layout_name_checks_use_the_shared_rules() -> None:
    # The layout planner's own copy missed "L'" and the Italian "I": these names got through.
    names = ForbiddenNames.from_movies(
        [
            common_pb2.Movie(
                title="The Star Maker (L'Uomo delle stelle)",
                year=1995,
                display_title="Star Maker, The (Uomo delle stelle, L') (1995)",
            ),
            common_pb2.Movie(
                title="The Children Are Watching us (I Bambini ci guardano)",
                year=1942,
                display_title="Children Are Watching us, The (Bambini ci guardano, I) (1942)",
            ),
        ]
    )
    assert names.movie_named_in("a poster for uomo delle stelle") is not None
    assert names.movie_named_in("bambini ci guardano at dusk") is not None
    assert names.movie_named_in("a star maker's tent") is not None
    assert names.movie_named_in("children playing in a field") is None
