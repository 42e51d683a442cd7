"""Visual noun phrases from plot and scenario text ("a little boy", "the desert town", "a stolen
diamond"), without a language model.

Nouns come only from fixed lexicons of things a poster can show (figures, creatures, settings,
things), so a proper name ("Woody", "Andy") can never become an object; an adjective directly
before the noun becomes the object's feature. Deterministic and a few milliseconds per request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from layout_server.word_tokens import SENTENCE_STOPS, word_tokens
from layout_server.word_tokens import clear_cache as clear_token_cache

Kind = Literal["figure", "creature", "setting", "thing"]

_FIGURES = """
man woman boy girl child kid baby teenager teen youth girlfriend boyfriend husband wife mother
father mom dad son daughter brother sister grandmother grandfather grandpa grandma uncle aunt
family couple lover bride groom widow widower orphan stranger hero heroine villain cowboy sheriff
outlaw gunslinger detective cop policeman officer agent spy soldier sergeant captain general
commander pilot astronaut scientist doctor nurse surgeon lawyer judge teacher student professor
priest nun monk preacher king queen prince princess knight wizard witch sorcerer warrior
samurai ninja pirate sailor fisherman farmer rancher hunter thief robber burglar gangster
mobster assassin killer hitman bodyguard boxer fighter wrestler dancer singer musician
drummer guitarist actor actress artist painter writer novelist journalist reporter photographer
businessman executive banker millionaire billionaire tycoon waitress bartender cook chef driver
trucker cabbie mechanic miner worker janitor maid butler nanny governess servant slave prisoner
convict inmate guard warden ranger explorer adventurer archaeologist mercenary rebel
revolutionary president senator politician mayor diplomat ambassador psychiatrist therapist
inventor hacker student athlete coach quarterback player champion gambler hustler con-man
drifter hitchhiker runaway refugee immigrant tourist traveler traveller survivor veteran
marine paratrooper commando sniper gunman vigilante superhero clown magician puppeteer model
cheerleader surfer skater biker rockstar teenager nerd bully tomboy debutante heiress
landlord tenant neighbor neighbour housewife salesman shopkeeper fireman firefighter
lifeguard paramedic coroner mortician gravedigger hermit shepherd blacksmith peasant
nobleman emperor empress pharaoh tribe chief warlord general dictator crew team gang band
""".split()
_CREATURES = """
dog puppy cat kitten horse pony pig cow bull sheep goat chicken duck goose bird eagle hawk owl
raven crow parrot penguin fish shark whale dolphin octopus squid snake serpent crocodile
alligator lizard turtle frog spider scorpion bee ant insect bear wolf fox lion tiger leopard
panther gorilla ape monkey chimpanzee elephant rhino hippo giraffe zebra deer moose rabbit
mouse rat bat dinosaur dragon unicorn monster creature beast alien robot android cyborg
vampire werewolf zombie ghost spirit demon devil angel mummy troll ogre goblin elf
dwarf fairy mermaid
""".split()
_SETTINGS = """
city town village suburb neighborhood neighbourhood street alley road highway bridge tunnel
house home mansion castle palace fortress tower cabin cottage farm ranch barn church
cathedral temple monastery school college university campus hospital asylum prison jail
courtroom office bank casino hotel motel bar saloon nightclub club restaurant diner cafe
kitchen bedroom attic basement cellar garage warehouse factory mill mine laboratory lab
station airport train subway ship boat yacht submarine spaceship spacecraft starship
airplane plane helicopter island beach ocean sea lake river shore coast harbor harbour port
desert jungle forest woods swamp marsh mountain mountains valley canyon cave glacier arctic
tundra prairie plain plains field meadow garden park cemetery graveyard battlefield trench
frontier wilderness countryside kingdom empire planet moon galaxy space universe underworld
stage theater theatre studio arena stadium racetrack circus carnival fair zoo museum
library market bazaar slum ghetto estate plantation colony outpost base bunker embassy
skyscraper rooftop penthouse apartment dormitory camp village hideout lair dungeon labyrinth
""".split()
_THINGS = """
gun pistol revolver rifle shotgun sword knife dagger axe bow arrow spear shield bomb grenade
missile rocket car truck van bus taxi motorcycle bicycle tank jeep train wagon carriage
boat canoe raft balloon kite map letter diary journal book notebook photograph photo camera
film tape computer phone telephone radio television key lock door window mirror clock watch
ring necklace crown jewel jewels diamond gem gold treasure money cash coin briefcase suitcase
bag box chest package envelope bottle glass cup wine whiskey cigarette cigar candle lantern
lamp torch fire flame flower flowers rose roses tree guitar piano violin trumpet drum microphone
ball bat trophy medal flag badge uniform mask helmet hat coat dress gown shoes boots glove
umbrella chair throne bed table desk typewriter painting statue sculpture idol amulet talisman
crystal orb wand staff potion scroll artifact relic skull bone blood egg cake pie feast
costume puppet doll toy dice cards chessboard
""".split()
# An empty kind marks a pair that is no phrase at all ("new york"): neither word counts alone.
_COMPOUNDS: dict[str, Kind | Literal[""]] = {
    "space station": "setting",
    "police officer": "figure",
    "high school": "setting",
    "small town": "setting",
    "new york": "",
    "fbi agent": "figure",
    "secret agent": "figure",
    "police station": "setting",
    "train station": "setting",
    "gas station": "setting",
    "haunted house": "setting",
    "summer camp": "setting",
    "war zone": "setting",
    "time machine": "thing",
    "board game": "thing",
    "treasure map": "thing",
    "race car": "thing",
    "love letter": "thing",
    "wedding dress": "thing",
    "private eye": "figure",
    "bounty hunter": "figure",
    "serial killer": "figure",
    "hit man": "figure",
    "con man": "figure",
    "best friend": "figure",
    "young man": "figure",
    "young woman": "figure",
    "old man": "figure",
    "old woman": "figure",
    "little boy": "figure",
    "little girl": "figure",
    "cowboy doll": "thing",
    "space ranger": "figure",
    "action figure": "thing",
    "birthday party": "setting",
    "wedding ring": "thing",
    "police car": "thing",
    "movie star": "figure",
    "rock star": "figure",
}
_IRREGULAR_PLURALS = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "wives": "wife",
    "thieves": "thief",
    "knives": "knife",
    "wolves": "wolf",
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "people": "",
    "elves": "elf",
    "dwarves": "dwarf",
    "lives": "",
    "yourselves": "",
}
_ADJECTIVES = frozenset(
    """
young old little small tiny big huge giant enormous tall short fat thin beautiful handsome
pretty ugly lonely lone mysterious strange eccentric shy bold brave fearless cowardly
ambitious desperate ruthless cruel kind gentle grumpy cheerful happy sad angry jealous bitter
wealthy rich poor broke homeless wild dangerous deadly evil wicked sinister dark haunted
abandoned ancient modern futuristic secret hidden lost stolen forbidden magical magic
enchanted cursed sacred legendary mythical mechanical alien robotic wooden golden silver
iron stone glass crystal red blue green black white grey gray crimson scarlet frozen icy
snowy burning fiery dusty sandy rocky muddy stormy rainy foggy misty sunny remote isolated
deserted crowded busy sleepy quiet peaceful violent brutal bloody corrupt crooked honest
loyal faithful devoted retired aging elderly teenage orphaned widowed divorced married
single pregnant sick dying wounded injured blind deaf crippled disabled famous infamous
notorious struggling aspiring talented gifted brilliant clever cunning naive innocent
guilty troubled tormented rebellious reckless restless hapless bumbling clumsy
hard-boiled hard-nosed tough fierce savage feral exotic tropical arctic rural urban
suburban small-town big-city southern northern western eastern royal imperial noble
humble common ordinary mad crazy insane psychotic deranged undercover renegade rogue
runaway fugitive missing shadowy spooky creepy eerie gothic medieval favorite favourite
victorian prehistoric giant-sized mutant monstrous heroic villainous spoiled
""".split()
)
_ADJECTIVE_SUFFIXES = ("ful", "ous", "ive", "less", "ish", "ic", "able", "ible")
# Words with an adjective's ending that are verbs or nouns.
_NOT_ADJECTIVES = frozenset(
    """
give live drive arrive survive strive dive thrive forgive receive archive unless bless wish
finish publish punish establish vanish cherish demolish accomplish relish banish perish
flourish diminish nourish abolish astonish dish swish able unable cable bible panic picnic
traffic topic logic music clinic critic
""".split()
)
_STOP = frozenset(
    """
the a an his her their its our your my this that these those of to in on at by for with from
and or but as is are was were be been being has have had who whom which what when where why
how not no into onto over under about after before while than then there here he she it they
we you i me him them us one two three four five some any all each every other another such
own same so very too just only also even still yet more most much many few less least
""".split()
)

_COMPOUND_HEADS = frozenset(pair.split()[0] for pair in _COMPOUNDS)
_CANDIDATES: frozenset[str] = frozenset()  # filled below, once the lexicons are known
_FIGURE_SET = frozenset(_FIGURES)
_CREATURE_SET = frozenset(_CREATURES)
_SETTING_SET = frozenset(_SETTINGS)
_THING_SET = frozenset(_THINGS)


@dataclass(frozen=True)
class Phrase:
    """A visual noun phrase: the noun, its kind, an adjective seen with it, how often it came
    up (scenario mentions count double) and where it first did."""

    noun: str
    kind: Kind
    adjective: str
    weight: float
    first: int

    @property
    def text(self) -> str:
        return f"{self.adjective} {self.noun}" if self.adjective else self.noun


def _kind_of(word: str) -> Kind | None:
    if word in _FIGURE_SET:
        return "figure"
    if word in _CREATURE_SET:
        return "creature"
    if word in _SETTING_SET:
        return "setting"
    if word in _THING_SET:
        return "thing"
    return None


def _surface_forms() -> dict[str, tuple[str, Kind]]:
    """Every written form (singular, plural) of every lexicon noun -> (noun, kind). A word in two
    lexicons takes the kind `_kind_of` gives it; a singular beats a plural of another noun."""
    lexicons: tuple[tuple[Kind, list[str]], ...] = (
        ("thing", _THINGS),
        ("setting", _SETTINGS),
        ("creature", _CREATURES),
        ("figure", _FIGURES),
    )
    forms: dict[str, tuple[str, Kind]] = {}
    for kind, nouns in lexicons:  # in rising priority: later kinds overwrite
        for noun in nouns:
            plurals = [noun + "s", noun + "es"] + ([noun[:-1] + "ies"] if noun.endswith("y") else [])
            for form in plurals:
                forms[form] = (noun, kind)
    for kind, nouns in lexicons:
        for noun in nouns:
            forms[noun] = (noun, kind)
    for plural, noun in _IRREGULAR_PLURALS.items():
        plural_kind = _kind_of(noun) if noun else None
        if plural_kind is None:
            forms.pop(plural, None)
        else:
            forms[plural] = (noun, plural_kind)
    return forms


def _noun_of(word: str) -> tuple[str, Kind | None]:
    """The lexicon noun and kind of a lower-case word (plurals folded)."""
    return _SURFACE.get(word) or (word, None)


_COLOURS = frozenset("red blue green black white grey gray crimson scarlet golden silver".split())
_SIZES = frozenset("little small tiny big huge enormous".split())
_MASS_NOUNS = frozenset("money cash gold blood fire wine whiskey treasure".split())


def _fits(adjective: str, noun: str, kind: Kind) -> bool:
    """Skips pairs that read wrong on a poster: colours of people ("white actor") and sizes of
    amounts ("little money")."""
    if kind == "figure" and adjective in _COLOURS:
        return False
    return not (noun in _MASS_NOUNS and adjective in _SIZES)


@lru_cache(maxsize=65536)
def _is_adjective(word: str) -> bool:
    if word in _STOP or _kind_of(word) or len(word) < 3:
        return False
    if word in _NOT_ADJECTIVES:
        return False
    return word in _ADJECTIVES or word.endswith(_ADJECTIVE_SUFFIXES)


@lru_cache(maxsize=2048)
def _phrases_of(text: str) -> tuple[tuple[str, Kind, str, int, int], ...]:
    """(noun, kind, adjective, count, first token index) per noun of one text. Cached: the same
    plots come back request after request while an operator edits a scenario."""
    tokens, words = word_tokens(text)
    found: dict[tuple[str, Kind], list] = {}
    end = len(words)
    skip_until = -1
    # Only a few words in a hundred are nouns of the lexicons: look at those alone.
    for index in [i for i, word in enumerate(words) if word in _CANDIDATES]:
        if index < skip_until:
            continue
        word = words[index]
        noun = ""
        kind: Kind | None = None
        if word in _COMPOUND_HEADS and index + 1 < end:
            pair = f"{word} {words[index + 1]}"
            if pair in _COMPOUNDS:
                noun, kind = pair, _COMPOUNDS[pair] or None
                skip_until = index + 2
        if not noun:
            noun, kind = _noun_of(word)
        if kind is None or (
            # A capitalised word mid-sentence is a name ("Hope", "Rose"), never an object.
            index > 0 and tokens[index][0].isupper() and words[index - 1] not in SENTENCE_STOPS
        ):
            continue
        adjective = ""
        if index > 0 and tokens[index - 1][0].islower() and _is_adjective(words[index - 1]):
            adjective = words[index - 1]
            if noun.split()[0] == adjective or not _fits(adjective, noun, kind):
                adjective = ""
        entry = found.get((noun, kind))
        if entry is None:
            found[(noun, kind)] = [adjective, 1, index]
        else:
            entry[1] += 1
            if adjective and not entry[0]:
                entry[0] = adjective
    return tuple((noun, kind, adj, count, first) for (noun, kind), (adj, count, first) in found.items())


def extract_phrases(texts: Sequence[tuple[str, float]]) -> list[Phrase]:
    """Phrases from `texts` (each with a weight), strongest first; ties keep text order."""
    merged: dict[tuple[str, Kind], list] = {}
    offset = 0
    for text, weight in texts:
        for noun, kind, adjective, count, first in _phrases_of(text):
            entry = merged.get((noun, kind))
            if entry is None:
                merged[(noun, kind)] = [adjective, count * weight, offset + first]
            else:
                entry[1] += count * weight
                if adjective and not entry[0]:
                    entry[0] = adjective
        offset += len(text) + 1
    phrases = [Phrase(noun, kind, adj, weight, first) for (noun, kind), (adj, weight, first) in merged.items()]
    phrases.sort(key=lambda p: (-p.weight, p.first))
    return phrases


@lru_cache(maxsize=2048)
def _word_counts_of(text: str) -> Counter[str]:
    return Counter(word_tokens(text)[1])


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """Lower-case word frequencies of `texts` (for matching cue words)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_word_counts_of(text))
    return counts


def clear_caches() -> None:
    """Forgets the per-text caches (benchmarks measure first sight of a plot with this)."""
    _phrases_of.cache_clear()
    _word_counts_of.cache_clear()
    clear_token_cache()


_SURFACE = _surface_forms()
_CANDIDATES = frozenset(_SURFACE) | _COMPOUND_HEADS
