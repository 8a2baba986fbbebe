"""The transliteration key of a region spelling: every way staff write a name (Cyrillic kk/ru,
the Kazakh Latin alphabets of 2017, 2018 and 2021, ad-hoc Latin, Latin letters typed inside
Cyrillic words, Russian adjective forms and cases, stray punctuation) is mapped to ONE
skeleton, and spellings are compared by skeleton. So one name needs one key, not an alias for
each of its spellings.

The skeleton is deliberately coarse (vowel classes, q=k, kh=h=k, gh=g, sh=ş=ш, doubled letters
once, one trailing vowel dropped) and the region/city words are taken out as markers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Marker(StrEnum):
    """What the words around a name say about the unit."""

    NONE = "none"
    REGION = "region"  # облысы, область, region, an adjective form ("Алматинская") ...
    CITY = "city"  # г., қаласы, city ...


@dataclass(frozen=True)
class Key:
    """A spelling's skeleton: ``joined`` (all name words run together, so "Нур-Султан",
    "Nur Sultan" and "Nursultan" meet), ``stems`` per word (for "which units contain these
    words" when the whole does not match) and the region/city ``marker``."""

    joined: str
    stems: tuple[str, ...]
    marker: Marker


CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[a-z\u00c0-\u024f]")
# Letters that look alike on the two keyboard layouts (after lower-casing).
LATIN_TO_CYRILLIC = str.maketrans("aeopcxykmthbi", "аеорсхукмтнві")
CYRILLIC_TO_LATIN = str.maketrans("аеорсхукмтнві", "aeopcxykmthbi")
LOOKALIKE_CYRILLIC, LOOKALIKE_LATIN = frozenset("аеорсхукмтнві"), frozenset("aeopcxykmthbi")

# Cyrillic (kk and ru) to the skeleton. Capitals are placeholders for one sound written with
# two Latin letters: S = ш/sh/ş, C = ч/ch/ç, J = ж/zh/j.
CYRILLIC_SKELETON = str.maketrans(
    {
        "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "i",
        "ё": "o", "ж": "J", "з": "z", "и": "i", "й": "i", "і": "i", "к": "k", "қ": "k",
        "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "k", "һ": "k",
        "ц": "ts", "ч": "C", "ш": "S", "щ": "S", "ъ": "", "ы": "i", "ь": "", "э": "i",
        "ю": "iu", "я": "ia",
    }
)  # fmt: skip
# 2017 alphabet: a letter followed by an apostrophe is a different letter.
APOSTROPHE_LETTERS = {"s": "S", "c": "C", "y": "u", "g": "g", "n": "n", "o": "o", "u": "u"}
APOSTROPHE = re.compile(r"([a-z])['’ʼ`´‘]")
# Latin letters with marks (2018 acute accents, 2021 letters, Turkish habits) before the
# marks are stripped; ý is у in the 2018 alphabet, so it goes to the u class.
LATIN_SPECIAL = str.maketrans(
    {"ş": "S", "ç": "C", "ı": "i", "ý": "u", "ú": "u", "ū": "u", "ü": "u", "ǵ": "g",
     "ğ": "g", "ń": "n", "ñ": "n", "ó": "o", "ö": "o", "á": "a", "ä": "a", "é": "i",
     "í": "i", "ß": "s"}
)  # fmt: skip
LATIN_DIGRAPHS = (("dzh", "J"), ("zh", "J"), ("sh", "S"), ("ch", "C"), ("kh", "k"), ("gh", "g"))
LATIN_SKELETON = str.maketrans(
    {"j": "J", "q": "k", "h": "k", "x": "k", "y": "i", "e": "i", "c": "s"}
)
# Doubles that transliteration makes ("Mangghystau": ng+gh, "Alma-Ata": a+a) are one letter;
# other doubled letters ("Pavlodarr") are typos, left to the "did you mean" suggestion.
DOUBLED = re.compile(r"([aiougknSCJ])\1+")
SEPARATORS = re.compile(r"[^a-zA-Z]+")
# Words before transliteration: anything but letters and the 2017 apostrophe separates them.
TOKENS = re.compile(r"[^\w'’ʼ`´‘]+|_")
# Russian adjective endings in every case ("Карагандинская", "-ской", "-скую", "-ский" ...),
# optionally with the linking "-ин-" ("Алмат-ин-ская"): the rest is the name's stem.
ADJECTIVE = re.compile(r"^(.{2,}?)(in)?sk(aia|aJa|oi|uiu|ogo|omu|om|i|iJ|ik|im|imi|oia)$")
VOWELS = "aiou"
REGION_MARKER = re.compile(r"^(obl.*|rigion.*|provins.*|aimag.*)$")  # облысы, облась ...
CITY_MARKER = frozenset(["g", "gor", "gorod", "kalasi", "kala", "k", "siti", "Sakari"])


def _script_fix(word: str) -> str:
    """Latin look-alikes typed inside a Cyrillic word (and the reverse) become the word's
    own script: a letter only one script has decides it ("Ceвepо" is Cyrillic: в), else the
    majority does."""
    cyrillic = CYRILLIC.findall(word)
    latin = LATIN.findall(word)
    if not (cyrillic and latin):
        return word
    own_cyrillic = any(ch not in LOOKALIKE_CYRILLIC for ch in cyrillic)
    own_latin = any(ch not in LOOKALIKE_LATIN for ch in latin)
    decided = own_cyrillic != own_latin
    to_cyrillic = own_cyrillic if decided else len(cyrillic) >= len(latin)
    return word.translate(LATIN_TO_CYRILLIC if to_cyrillic else CYRILLIC_TO_LATIN)


def _latin_skeleton(word: str) -> str:
    word = APOSTROPHE.sub(lambda m: APOSTROPHE_LETTERS.get(m.group(1), m.group(1)), word)
    word = word.translate(LATIN_SPECIAL)
    word = "".join(
        ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)
    )
    for digraph, sound in LATIN_DIGRAPHS:
        word = word.replace(digraph, sound)
    return word.translate(LATIN_SKELETON)


def word_skeletons(text: str) -> list[str]:
    """The skeleton of each word of ``text`` (before markers and stems are taken out)."""
    text = unicodedata.normalize("NFC", text).lower()
    out = []
    for raw in TOKENS.split(text):
        word = _script_fix(raw)
        word = _latin_skeleton(word.translate(CYRILLIC_SKELETON))
        # separators only now: the 2017 apostrophes above are letters, not punctuation
        for part in SEPARATORS.split(word):
            # ң written "ng" or "n"; Russian дж is the j of Latin "Dzhambul"/"Jambyl"
            part = DOUBLED.sub(r"\1", part).replace("ng", "n").replace("dJ", "J")
            if part:
                out.append(DOUBLED.sub(r"\1", part))
    return out


def _adjective(word: str) -> tuple[str, bool]:
    """A word without its adjective ending; whether it was an adjective (a Russian adjective
    name is always a region: "Алматинская" is not the city)."""
    match = ADJECTIVE.match(word)
    return (match.group(1), True) if match else (word, False)


def _stem(word: str) -> str:
    """Without one trailing vowel: "Караганда"/"Қарағанды"/"Карагандинская" meet."""
    return word[:-1] if len(word) > 3 and word[-1] in VOWELS else word


def spelling_key(text: str) -> Key:
    """The key of a spelling: stems of its name words and the region/city marker."""
    words: list[str] = []
    region = city = False
    for word in word_skeletons(text):
        if REGION_MARKER.match(word):
            region = True
        elif word in CITY_MARKER:
            city = True
        else:
            word, adjective = _adjective(word)
            region = region or adjective
            words.append(word)
    marker = Marker.REGION if region else Marker.CITY if city else Marker.NONE
    joined = _stem(DOUBLED.sub(r"\1", "".join(words)))
    return Key(joined, tuple(_stem(w) for w in words), marker)
