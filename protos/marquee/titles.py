"""The one home of movie-title rules, shared by every process (stdlib only).

MovieLens writes titles its own way: "Usual Suspects, The (1995)" moves the leading article to
the end, in whichever language the title is in ("Misérables, Les", "Postino, Il"), and keeps
alternate titles in parentheses ("Life Is Beautiful (La Vita è bella) (1997)"). People write
"The Usual Suspects", with or without the year, in any case, with or without accents. These
functions turn either form into the same comparable keys, so the recommender's catalog and
search, its title resolution and the layout planner's name checks all agree.

Vocabulary: the *MovieLens form* is "Matrix, The (1999)"; the *readable form* is "The Matrix";
a *name* is a title without its year; its *parts* are the main title and each alternate title.
"""

from __future__ import annotations

import re
import unicodedata

#: How many queries one `ResolveTitles` call may carry, and how long each may be (characters).
MAX_RESOLVE_QUERIES = 100
MAX_RESOLVE_QUERY_CHARS = 300
#: How long a `SearchMovies` query may be (characters); search cost grows with every word.
MAX_SEARCH_QUERY_CHARS = 200

#: Articles MovieLens moves to the end of a title or of an alternate title. Every one that
#: movies.dat uses (The, A, An, La, Les, Le, L', El, Il, Der, Das, I, O, Die, Det) plus the
#: other articles of those languages, so a user's "Vita è bella, La" reads like the catalog's.
ARTICLES: tuple[str, ...] = (
    "The",
    "A",
    "An",  # English
    "L'",
    "La",
    "Le",
    "Les",
    "Un",
    "Une",  # French
    "Il",
    "Lo",
    "I",
    "Gli",
    "Una",
    "Uno",  # Italian (La, Le, L', Un shared with French)
    "El",
    "Los",
    "Las",  # Spanish
    "O",
    "Os",
    "As",  # Portuguese
    "Der",
    "Die",
    "Das",
    "Ein",
    "Eine",  # German
    "Den",
    "Det",
    "Het",  # Scandinavian, Dutch
)
# Only English articles are taken off the front of a title: a leading foreign-looking word is
# often English ("Die Hard", "I Shot Andy Warhol", "O Brother, Where Art Thou?").
LEADING_ARTICLES: tuple[str, ...] = ("The", "A", "An")

_ARTICLE_GROUP = "|".join(re.escape(a) for a in sorted(ARTICLES, key=len, reverse=True))
_TRAILING_ARTICLE = re.compile(rf"^(?P<rest>.*\S),\s*(?P<article>{_ARTICLE_GROUP})\s*$", re.IGNORECASE)
_LEADING_ARTICLE = re.compile(rf"^(?:{'|'.join(LEADING_ARTICLES)})\s+(?P<rest>\S.*)$", re.IGNORECASE)
_YEAR = re.compile(r"^(?P<name>.*?)\s*\((?P<year>\d{4})\)\s*$")
_BARE_YEAR = re.compile(r"^(?P<name>.*\S)\s+(?P<year>(?:18|19|20)\d\d)$")
_ALTERNATE = re.compile(r"^(?P<main>.*?)\s*\((?P<alt>[^()]*)\)$")
_AKA = re.compile(r"^a\.?k\.?a\.?\s+", re.IGNORECASE)
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Letters that Unicode does not decompose into an ASCII base letter.
_LIGATURES = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "þ": "th", "ð": "d"})


def fold(text: str) -> str:
    """ "Amélie, Le Fabuleux Destin d'" → "amelie le fabuleux destin d": no accents, no case,
    no punctuation, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", ascii_only.casefold()).strip()


def split_year(text: str) -> tuple[str, int | None]:
    """("Toy Story", 1995) from "Toy Story (1995)"; (text, None) when no "(yyyy)" ends it."""
    match = _YEAR.match(text)
    if match:
        return match["name"], int(match["year"])
    return text.strip(), None


def split_bare_year(text: str) -> tuple[str, int] | None:
    """("heat", 1995) from "heat 1995": a year typed without parentheses, or None. Only a second
    reading: "Godzilla 2000" and "Death Race 2000" are titles."""
    match = _BARE_YEAR.match(text.strip())
    return (match["name"], int(match["year"])) if match else None


def _split_alternates(name: str) -> tuple[str, list[str]]:
    """("Seven Samurai", ["The Magnificent Seven", "Shichinin no samurai"]) from the name
    "Seven Samurai (The Magnificent Seven) (Shichinin no samurai)"."""
    alternates: list[str] = []
    rest = name.strip()
    while True:
        match = _ALTERNATE.match(rest)
        if not match or not match["main"]:
            break
        alternates.insert(0, match["alt"].strip())
        rest = match["main"]
    return rest.strip(), alternates


def front_article(part: str) -> str:
    """ "The Usual Suspects" from "Usual Suspects, The", "L'Homme" from "Homme, L'"; anything
    else unchanged."""
    match = _TRAILING_ARTICLE.match(part.strip())
    if not match:
        return part.strip()
    article = match["article"]
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{match['rest']}"


def strip_article(part: str) -> str:
    """ "Usual Suspects" from "Usual Suspects, The" or "The Usual Suspects": the article MovieLens
    moved to the end, or a leading English one."""
    part = part.strip()
    match = _TRAILING_ARTICLE.match(part) or _LEADING_ARTICLE.match(part)
    return match["rest"].strip() if match else part


def title_parts(name: str) -> list[str]:
    """The main title and each alternate title of a name (no year), "a.k.a." dropped:
    ["Life Is Beautiful", "La Vita è bella"] from "Life Is Beautiful (La Vita è bella)"."""
    main, alternates = _split_alternates(name)
    parts = [main, *(_AKA.sub("", alt).strip() for alt in alternates)]
    return [p for p in parts if p]


def readable_name(name: str) -> str:
    """ "The Dinner Game (Le Dîner de cons)" from "Dinner Game, The (Dîner de cons, Le)": every
    part with its article in front, alternates kept in parentheses."""
    main, alternates = _split_alternates(name)
    return front_article(main) + "".join(f" ({front_article(alt)})" for alt in alternates)


def readable_title(raw: str) -> tuple[str, int]:
    """("The Usual Suspects", 1995) from "Usual Suspects, The (1995)"; year 0 when there is none."""
    name, year = split_year(raw)
    return readable_name(name), year or 0


def title_key(name: str) -> str:
    """The key two spellings of one whole name share: "Matrix, The", "the matrix" and
    "THE MATRIX" all give "the matrix"."""
    return fold(readable_name(name))


def part_keys(name: str) -> list[str]:
    """A key for each part of a name (see `title_key`), so an alternate title alone matches:
    ["life is beautiful", "la vita e bella"]."""
    return [key for key in (fold(front_article(p)) for p in title_parts(name)) if key]


def loose_keys(name: str) -> list[str]:
    """Keys without articles, for a title typed without its article ("Usual Suspects"): one for
    each part and one for the whole name."""
    stripped = [strip_article(p) for p in title_parts(name)]
    keys = [fold(s) for s in stripped]
    if len(stripped) > 1:
        keys.append(fold(" ".join(stripped)))
    return [k for k in dict.fromkeys(keys) if k]
