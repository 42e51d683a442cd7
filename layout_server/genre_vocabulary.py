"""What each movie genre looks like on a poster: style word, mood and light, stock figures,
settings and props with a short visual feature each, and words for titles.

Used by the offline planner (mood from the genres; objects when the plots give too few) and by
repair (the style word to prefix). Keys are the MovieLens-1M genres; other spellings are aliased.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stock:
    """A ready-made object: a name and its visual feature."""

    name: str
    feature: str


@dataclass(frozen=True)
class GenreLook:
    genre: str
    style: str
    #: Higher wins when several genres propose a style ("animated" beats "realistic").
    style_priority: int
    mood: str
    light: str
    figures: tuple[Stock, ...]
    settings: tuple[Stock, ...]
    things: tuple[Stock, ...]
    threats: tuple[Stock, ...]
    #: Nouns for made-up titles ("Dust", "Sundown").
    title_words: tuple[str, ...]
    #: Features for objects taken from the plots, when the plot gives no adjective.
    figure_features: tuple[str, ...]
    setting_features: tuple[str, ...]
    thing_features: tuple[str, ...]


def _s(*pairs: str) -> tuple[Stock, ...]:
    return tuple(Stock(*pair.split("|")) for pair in pairs)


LOOKS: dict[str, GenreLook] = {
    look.genre: look
    for look in (
        GenreLook(
            "Action",
            "cinematic",
            2,
            "high-octane tension",
            "hard orange rim light and sparks",
            _s("lone fighter|mid-stride, jaw set, sleeves torn", "getaway driver|gripping the wheel, eyes narrowed"),
            _s("burning city street|smoke rising into a red sky", "rain-slick rooftop|neon reflections in puddles"),
            _s("speeding car|headlights blazing, debris flying", "twisted metal wreckage|glowing embers at its edges"),
            _s("attack helicopter|searchlight cutting through smoke"),
            ("Fury", "Fire", "Impact", "Redline", "Payback"),
            ("braced for the fight", "mid-leap, coat flaring", "bruised but defiant"),
            ("wreathed in smoke and sparks", "lit by distant explosions"),
            ("caught mid-motion", "glinting in the firelight"),
        ),
        GenreLook(
            "Adventure",
            "cinematic",
            2,
            "sweeping sense of discovery",
            "warm late-afternoon sun",
            _s("young explorer|map in hand, scarf in the wind", "seasoned guide|weathered hat, lantern raised"),
            _s("jungle ruins|vines over crumbling stone", "mountain pass|clouds below the ridge"),
            _s("ancient map|torn edges, glowing route", "treasure chest|lid ajar, gold spilling out"),
            _s("stone guardian statue|eyes glowing in the dark"),
            ("Horizon", "Quest", "Legend", "Frontier", "Expedition"),
            ("gazing toward the horizon", "pack on the back, boots dusty"),
            ("stretching to a far horizon", "bathed in golden haze"),
            ("worn by long travel", "half-buried in sand"),
        ),
        GenreLook(
            "Animation",
            "animated",
            5,
            "bright playful whimsy",
            "soft even light with candy colours",
            _s("cheerful hero|big eyes, wide grin", "loyal sidekick|mid-bounce, arms flung wide"),
            _s("toy-strewn bedroom|sunlit, colourful clutter", "storybook village|round roofs, winding lanes"),
            _s("glowing magic gem|sparkles swirling around it", "red rocket toy|chunky fins, painted stars"),
            _s("grumpy storm cloud|scowling face, tiny lightning"),
            ("Wonder", "Friends", "Adventure", "Dreams", "Sparkle"),
            ("smiling, mid-wave", "wide-eyed with delight"),
            ("in saturated candy colours", "soft and round, like a picture book"),
            ("shiny and oversized", "bouncing with energy"),
        ),
        GenreLook(
            "Children's",
            "storybook",
            4,
            "gentle warmth and wonder",
            "soft morning sunlight",
            _s("curious child|freckled, clutching a backpack", "friendly dog|tongue out, tail wagging"),
            _s("sunny backyard|tree house and tall grass", "cosy attic|dusty trunks and a round window"),
            _s("kite|bright tail fluttering", "old toy chest|lid open, toys peeking out"),
            _s("shadowy figure at the window|only a silhouette"),
            ("Summer", "Friends", "Wonder", "Home", "Secret"),
            ("grinning, mid-run", "peeking out shyly"),
            ("warm and inviting", "dappled with sunlight"),
            ("well-loved and a little worn", "bright against the grass"),
        ),
        GenreLook(
            "Comedy",
            "realistic",
            1,
            "light-hearted, playful energy",
            "bright high-key light",
            _s("flustered man|tie askew, arms full of groceries", "exasperated woman|eyebrow raised, hands on hips"),
            _s("suburban street|picket fences and a sprinkler", "crowded office|paper flying everywhere"),
            _s("overturned cake|frosting splattered", "tiny convertible|overloaded with luggage"),
            _s("runaway goat|mid-jump, chewing a tie"),
            ("Trouble", "Mixup", "Weekend", "Chaos", "Party"),
            ("caught mid-shrug", "grinning sheepishly"),
            ("bright and cheerful", "in sunny pastel tones"),
            ("comically oversized", "about to topple over"),
        ),
        GenreLook(
            "Crime",
            "gritty",
            3,
            "tense, shadowed menace",
            "sodium streetlight and hard shadows",
            _s("hard-boiled detective|trench coat, cigarette glow", "getaway thief|hood up, bag of cash"),
            _s("rain-soaked alley|steam from the grates", "smoky back room|card table under a hanging lamp"),
            _s("revolver|gleaming on a stack of bills", "evidence folder|stamped, photos spilling out"),
            _s("looming mob boss silhouette|face hidden in shadow"),
            ("Heist", "Alibi", "Vendetta", "Score", "Street"),
            ("half in shadow, watchful", "collar up against the rain"),
            ("slick with rain and neon", "thick with cigarette smoke"),
            ("under a harsh lamp", "smeared with fingerprints"),
        ),
        GenreLook(
            "Documentary",
            "documentary",
            4,
            "honest, observational calm",
            "natural daylight",
            _s("field researcher|notebook open, boots muddy", "elderly witness|hands folded, gaze steady"),
            _s("open plain|wide sky, long shadows", "busy market street|stalls and passers-by"),
            _s("old photograph|faded, creased corners", "camera on a tripod|red light glowing"),
            _s("approaching storm front|dark band over the plain"),
            ("Truth", "Record", "Witness", "Voices", "Chronicle"),
            ("caught unposed", "mid-sentence, gesturing"),
            ("in plain daylight", "seen from a respectful distance"),
            ("worn and real", "in sharp natural detail"),
        ),
        GenreLook(
            "Drama",
            "realistic",
            1,
            "quiet, heartfelt intensity",
            "soft window light",
            _s("young woman|looking back over her shoulder", "weary father|sleeves rolled, eyes tired"),
            _s("small-town kitchen|morning light through lace", "empty train platform|long shadows at dusk"),
            _s("handwritten letter|creased, ink smudged", "old suitcase|strapped shut, scuffed"),
            _s("gathering storm clouds|heavy over the rooftops"),
            ("Silence", "Promise", "Homecoming", "Season", "Letters"),
            ("lost in thought", "holding back tears"),
            ("hushed and still", "in muted earth tones"),
            ("worn by years of use", "resting in a pool of light"),
        ),
        GenreLook(
            "Fantasy",
            "painterly",
            3,
            "enchanted, mythic awe",
            "glowing magical light through mist",
            _s("young sorcerer|robes swirling, staff glowing", "armoured knight|shield dented, cloak torn"),
            _s("enchanted forest|giant trees, floating lights", "castle on a cliff|towers piercing the clouds"),
            _s("glowing sword|runes burning along the blade", "ancient spellbook|pages fluttering open"),
            _s("winged dragon|wings spread across the sky"),
            ("Realm", "Crown", "Spell", "Kingdom", "Prophecy"),
            ("cloaked, eyes shining", "raising a hand wreathed in light"),
            ("shrouded in glowing mist", "vast and timeless"),
            ("humming with magic", "etched with ancient runes"),
        ),
        GenreLook(
            "Film-Noir",
            "noir",
            5,
            "fatalistic, smoky suspense",
            "stark black-and-white venetian-blind light",
            _s("private eye|fedora low, cigarette smoke", "femme fatale|veiled hat, cool stare"),
            _s("rain-slick city street|lone streetlamp", "shadowy office|blinds casting stripes"),
            _s("smoking pistol|on a desk beside a telegram", "whiskey glass|half empty, ring on the wood"),
            _s("silhouette in the doorway|hat brim tilted"),
            ("Shadow", "Double", "Alibi", "Midnight", "Deception"),
            ("half-lit, face unreadable", "leaning in a doorway"),
            ("striped with shadow", "drenched in rain"),
            ("catching a single shaft of light", "wreathed in smoke"),
        ),
        GenreLook(
            "Horror",
            "gothic",
            4,
            "creeping dread",
            "cold blue moonlight and deep shadows",
            _s("terrified young woman|pale, clutching a flashlight", "wide-eyed boy|frozen in the hallway"),
            _s("abandoned farmhouse|broken shutters, fog all around", "dark forest|twisted bare trees"),
            _s("flickering candle|wax dripping, flame bent", "cracked mirror|a shape behind the glass"),
            _s("looming shadowy creature|long claws, glowing eyes", "faceless figure|standing too still"),
            ("Night", "Dread", "Hollow", "Whispers", "Darkness"),
            ("frozen in fear", "backing away slowly"),
            ("shrouded in fog", "lit only by moonlight"),
            ("stained and ominous", "trembling in the dark"),
        ),
        GenreLook(
            "Musical",
            "vintage",
            2,
            "joyful, rhythmic exuberance",
            "warm stage spotlight",
            _s("singer|arms outstretched, mid-song", "dancer|skirt flaring mid-spin"),
            _s("glittering stage|footlights and velvet curtain", "city rooftop at dusk|string lights overhead"),
            _s("vintage microphone|chrome gleaming", "grand piano|lid open, keys shining"),
            _s("storm of confetti|swirling in the spotlight"),
            ("Rhythm", "Encore", "Melody", "Spotlight", "Harmony"),
            ("mid-twirl, beaming", "singing to the sky"),
            ("sparkling with lights", "alive with colour"),
            ("gleaming under the lights", "trailing musical notes"),
        ),
        GenreLook(
            "Mystery",
            "cinematic",
            2,
            "hushed, puzzling intrigue",
            "low lamplight and long shadows",
            _s("curious investigator|magnifying glass raised", "secretive housekeeper|keys on a ring"),
            _s("fog-bound manor|one window lit", "dusty library|ladders and towering shelves"),
            _s("brass key|ornate, slightly rusted", "torn photograph|one face missing"),
            _s("watcher behind the curtain|only eyes visible"),
            ("Secret", "Riddle", "Cipher", "Vanishing", "Clue"),
            ("studying something closely", "glancing over a shoulder"),
            ("half-hidden in fog", "full of hidden corners"),
            ("holding a hidden clue", "half in shadow"),
        ),
        GenreLook(
            "Romance",
            "cinematic",
            2,
            "tender, longing warmth",
            "golden-hour glow",
            _s("young woman|hair lifted by the breeze, soft smile", "young man|holding flowers behind his back"),
            _s("seaside promenade|sunset over the water", "rain-washed café terrace|fairy lights"),
            _s("bouquet of roses|petals falling", "love letter|sealed with red wax"),
            _s("departing train|steam rising between them"),
            ("Hearts", "Summer", "Always", "Promise", "Moonlight"),
            ("gazing softly", "laughing, eyes closed"),
            ("glowing in warm light", "softly blurred with bokeh"),
            ("delicate and treasured", "glowing in warm light"),
        ),
        GenreLook(
            "Sci-Fi",
            "cinematic",
            3,
            "vast, awe-struck wonder",
            "cool blue glow and lens flares",
            _s("astronaut|visor reflecting a planet", "humanoid robot|glowing eyes, chrome plates"),
            _s("space station|ring turning against the stars", "alien planet|twin moons over red dunes"),
            _s("starship|engines blazing blue", "glowing data cube|light lines pulsing"),
            _s("giant alien mothership|blotting out the sky", "rogue machine|red eye glowing"),
            ("Orbit", "Signal", "Horizon", "Nova", "Tomorrow"),
            ("suit lights glowing", "reaching toward the light"),
            ("bathed in starlight", "vast and alien"),
            ("humming with energy", "trailing light"),
        ),
        GenreLook(
            "Thriller",
            "cinematic",
            2,
            "taut, paranoid suspense",
            "cold fluorescent light and deep shadow",
            _s("hunted man|glancing back, breathing hard", "determined agent|earpiece in, gun lowered"),
            _s("empty parking garage|flickering lights", "night-time highway|headlights in the rain"),
            _s("ticking briefcase|red wires showing", "ringing phone|screen lit in the dark"),
            _s("masked stalker|reflected in a window"),
            ("Pursuit", "Countdown", "Trap", "Witness", "Edge"),
            ("on edge, poised to run", "watching from the shadows"),
            ("cold and deserted", "cut by harsh shadows"),
            ("ominously still", "lit by a single bulb"),
        ),
        GenreLook(
            "War",
            "gritty",
            3,
            "grim, heroic resolve",
            "smoky overcast light",
            _s("battle-weary soldier|helmet askew, mud on his face", "field medic|armband, kneeling"),
            _s("shell-torn battlefield|smoke and barbed wire", "bombed-out village|broken church tower"),
            _s("dog tags|tangled on a rifle", "torn battle flag|snapping in the wind"),
            _s("advancing tank column|dust plume behind"),
            ("Valor", "Front", "Honor", "Line", "Brothers"),
            ("grim and exhausted", "charging forward"),
            ("choked with smoke", "grey under a heavy sky"),
            ("scarred by battle", "caked in mud"),
        ),
        GenreLook(
            "Western",
            "cinematic",
            2,
            "dusty, lonesome grit",
            "blazing low sun and long shadows",
            _s("lone cowboy|hat low, duster coat flapping", "weathered sheriff|star badge glinting"),
            _s("desert frontier town|dust blowing down main street", "red canyon|mesas under a huge sky"),
            _s("six-shooter|holstered, worn grip", "wanted poster|nailed to a post, curling"),
            _s("outlaw gang on horseback|silhouetted on the ridge"),
            ("Dust", "Sundown", "Frontier", "Outlaw", "Canyon"),
            ("squinting into the sun", "silhouetted against the sunset"),
            ("baked under a blazing sun", "swept by dusty wind"),
            ("sun-bleached and worn", "glinting in the sun"),
        ),
    )
}

FALLBACK_GENRE = "Drama"

_ALIASES = {
    "scifi": "Sci-Fi",
    "sciencefiction": "Sci-Fi",
    "science": "Sci-Fi",
    "children": "Children's",
    "childrens": "Children's",
    "family": "Children's",
    "kids": "Children's",
    "filmnoir": "Film-Noir",
    "noir": "Film-Noir",
    "animated": "Animation",
    "anime": "Animation",
    "music": "Musical",
    "history": "War",
    "historical": "War",
    "suspense": "Thriller",
    "romcom": "Romance",
    "biography": "Drama",
    "sport": "Drama",
}
_BY_KEY = {re.sub(r"[^a-z]", "", name.lower()): name for name in LOOKS}


def canonical_genre(name: str) -> str | None:
    """The MovieLens spelling of `name` ("science fiction" -> "Sci-Fi"), or None if unknown."""
    key = re.sub(r"[^a-z]", "", name.lower())
    return _BY_KEY.get(key) or _ALIASES.get(key)


def rank_genres(watched: Sequence[str], recommended: Iterable[Sequence[str]]) -> list[tuple[str, float]]:
    """Genres by weight: the operator's watched genres (most frequent first, weighted by rank)
    count twice as much as the recommended movies' genres."""
    weights: defaultdict[str, float] = defaultdict(float)
    for rank, name in enumerate(watched):
        genre = canonical_genre(name)
        if genre:
            weights[genre] += 2.0 / (1 + rank)
    movies = [list(genres) for genres in recommended]
    for genres in movies:
        for name in genres:
            genre = canonical_genre(name)
            if genre:
                weights[genre] += 1.0 / max(1, len(movies))
    return sorted(weights.items(), key=lambda item: (-item[1], item[0]))


def look_for(genre: str) -> GenreLook:
    return LOOKS.get(genre) or LOOKS[FALLBACK_GENRE]


def style_for(ranked: Sequence[tuple[str, float]]) -> str:
    """The style word of the strongest genres: a distinctive style (animated, noir) among the
    top three wins over a generic one; "realistic" when no genre is known."""
    top = [look_for(genre) for genre, _ in ranked[:3]]
    if not top:
        return "realistic"
    best = max(top, key=lambda look: look.style_priority)
    return best.style if best.style_priority > top[0].style_priority else top[0].style
