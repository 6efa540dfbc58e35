"""Word pools and small text generators for the synthetic catalogue.

The pools deliberately mix ASCII with umlauts, CJK, Cyrillic, emoji, ``&`` and ``<`` so every
record kind exercises UTF-8 and XML escaping the way real Discogs data does.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

FIRST = (
    "Anna", "Jesper", "Karl", "Mika", "Yuki", "Zoë", "Jürgen", "Ольга", "Sébastien", "Björk",
    "Carl", "Dee", "Fatoumata", "Hiroshi", "Ines", "Kwame", "Lars", "Marta", "Nils", "Priya",
    "Ray", "Sun-Hee", "Tomás", "Ugo", "Wendy", "Xavier", "Ayşe", "Brian", "Chloé", "Dmitri",
)
LAST = (
    "Müller", "Dahlbäck", "山田", "Nakamura", "O'Brien", "Smith", "Nguyen", "García", "Kowalski",
    "Andersson", "Okafor", "Rossi", "Dubois", "Ivanova", "Haddad", "Svensson", "Tanaka", "Silva",
    "Novak", "Jensen", "Moreau", "Castillo", "Lindqvist", "Petrović", "Øvrebø",
)
BAND_HEAD = (
    "Electric", "Midnight", "Velvet", "Golden", "Hollow", "Neon", "Silent", "Cosmic", "Deep",
    "Red", "Parallel", "Quiet", "日本", "Дикие", "Sonic", "Lunar", "Broken", "Happy", "Iron",
)
BAND_TAIL = (
    "Orchestra", "Collective", "Sound System", "& The Machines", "Quartet", "Kids", "Brothers",
    "Ensemble", "Crew", "Experience", "Trio", "🎧 Club", "Project", "Sisters", "Band",
)
LABEL_TAIL = (
    "Records", "Recordings", "Music", "Tonträger", "Disques", "レコード", "Sounds", "Audio",
    "Productions", "Editions", "Publishing", "Studios",
)
WORDS = (
    "love", "night", "city", "dream", "fire", "river", "song", "blue", "light", "heart", "time",
    "road", "rain", "star", "machine", "dance", "echo", "shadow", "morning", "ocean", "Straße",
    "東京", "ночь", "café", "niño", "fjäll", "rock & roll", "<untitled>", "🎶", "soul", "dub",
)
GENRES = (
    "Electronic", "Rock", "Jazz", "Folk, World, & Country", "Hip Hop", "Classical", "Pop",
    "Funk / Soul", "Reggae", "Latin", "Blues", "Stage & Screen",
)
STYLES = (
    "Techno", "House", "Deep House", "Ambient", "Punk", "Indie Rock", "Hard Bop", "Soul-Jazz",
    "Baroque", "Synth-pop", "Dub", "Bossa Nova", "Drum n Bass", "Rhythm & Blues", "J-pop",
)
COUNTRIES = (
    "US", "UK", "Germany", "Japan", "France", "Sweden", "Brazil", "Netherlands", "Italy",
    "Canada", "Europe", "Russia", "Nigeria", "South Korea",
)
ROLES = (
    "Producer", "Mastered By", "Written-By", "Mixed By", "Design [Sleeve]", "Vocals", "Remix",
    "Photography By", "Bass", "Drums", "Guitar", "Lyrics By", "Engineer [Recording]",
)
DATA_QUALITY = ("Correct", "Needs Vote", "Complete and Correct", "Needs Minor Changes")
FORMATS = (
    ("Vinyl", ('12"', "33 ⅓ RPM", "Album")),
    ("Vinyl", ('7"', "45 RPM", "Single")),
    ("CD", ("Album",)),
    ("CD", ("Compilation", "Mixed")),
    ("Cassette", ("Album",)),
    ("File", ("MP3", "320 kbps")),
)
COMPANY_TYPES = (
    (13, "Phonographic Copyright (p)"),
    (14, "Copyright (c)"),
    (21, "Published By"),
    (17, "Pressed By"),
    (23, "Recorded At"),
)
IDENTIFIER_TYPES = ("Barcode", "Matrix / Runout", "Label Code", "Rights Society")


T = TypeVar("T")


def pick(rng: Random, seq: Sequence[T]) -> T:
    """``rng.choice`` without its rejection loop: the generator's hottest call."""
    return seq[int(rng.random() * len(seq))]


def between(rng: Random, low: int, high: int) -> int:
    """``rng.randint`` (inclusive), faster for the same reason."""
    return low + int(rng.random() * (high - low + 1))


def person(rng: Random) -> str:
    name = f"{pick(rng, FIRST)} {pick(rng, LAST)}"
    if rng.random() < 0.15:  # Discogs disambiguates equal names with " (n)"
        name += f" ({between(rng, 2, 9)})"
    return name


def band(rng: Random) -> str:
    return f"{pick(rng, BAND_HEAD)} {pick(rng, BAND_TAIL)}"


def label_name(rng: Random) -> str:
    head = pick(rng, BAND_HEAD) if rng.random() < 0.5 else pick(rng, LAST)
    return f"{head} {pick(rng, LABEL_TAIL)}"


def title(rng: Random, low: int = 1, high: int = 4) -> str:
    # one draw sliced into word indices: titles are the most frequent text in a release
    bits = rng.getrandbits(64)
    count = low + bits % (high - low + 1)
    bits >>= 4
    words = []
    for _ in range(count):
        words.append(WORDS[bits % len(WORDS)])
        bits //= len(WORDS)
    return " ".join(words).title()


# Prose is cut from one fixed text (one draw per sentence instead of one per word).
_PROSE_RNG = Random(0)
_PROSE = " ".join(pick(_PROSE_RNG, WORDS) for _ in range(4000))


def sentence(rng: Random, low: int = 20, high: int = 120) -> str:
    start = _PROSE.find(" ", int(rng.random() * (len(_PROSE) - high - 40))) + 1
    end = _PROSE.find(" ", start + between(rng, low, high))
    return _PROSE[start:end].capitalize() + "."


def some(rng: Random, pool: Sequence[str], low: int, high: int) -> tuple[str, ...]:
    """``low..high`` distinct consecutive pool entries from a random start."""
    count = between(rng, low, high)
    start = int(rng.random() * len(pool))
    return tuple(pool[(start + k) % len(pool)] for k in range(count))


def catno(rng: Random) -> str:
    letters = "".join(pick(rng, "ABCDEFGHKLMRSTXZ") for _ in range(between(rng, 2, 4)))
    return f"{letters} {between(rng, 1, 9999):03d}"


def duration(rng: Random) -> str:
    seconds = 60 + int(rng.random() * 660)
    return f"{seconds // 60}:{seconds % 60:02d}"
