"""The 20 first-level units of Kazakhstan (17 regions, 3 cities since 2022) and a resolver that
maps the spellings ministry staff type (kk/ru/en, Latin Kazakh, old names, abbreviations, KATO and
ISO codes) to the ISO 3166-2 code."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import polars as pl
from rapidfuzz import fuzz, process

from queries.settings import DATA_DIR

REGIONS_CSV = DATA_DIR / "regions.csv"

# Words that only say "this is a region" or "this is a city"; dropped before matching.
REGION_WORDS = frozenset(
    [
        "обл",
        "область",
        "облысы",
        "облысының",
        "oblysy",
        "oblys",
        "oblast",
        "oblast'",
        "области",
        "облась",
        "регион",
        "региона",
        "аймагы",
        "region",
        "province",
    ]
)
CITY_WORDS = frozenset(
    [
        "г",
        "гор",
        "город",
        "каласы",
        "кала",
        "к",
        "k",
        "city",
        "qalasy",
        "kalasy",
        "shahary",
        "шахары",
    ]
)
# Kazakh letters and Latin-Kazakh diacritics folded to their closest Russian/ASCII letter, so
# "Ақтөбе", "Актобе" and "Aqtöbe" meet.
FOLD = str.maketrans(
    {
        "ә": "а",
        "ғ": "г",
        "қ": "к",
        "ң": "н",
        "ө": "о",
        "ұ": "у",
        "ү": "у",
        "һ": "х",
        "і": "и",
        "ё": "е",
        "ı": "i",
        "ǵ": "g",
        "ń": "n",
        "ý": "y",
        "ú": "u",
        "ö": "o",
        "q": "k",
    }
)

# Names not in the reference table: Russian adjectives, old names, abbreviations, transliterations.
ALIASES: dict[str, tuple[str, ...]] = {
    "KZ-10": ("абайская", "abay", "semey region", "семипалатинская", "semipalatinsk region"),
    "KZ-11": (
        "акмолинская",
        "akmolinskaya",
        "akmola",
        "кокшетауская",
        "кокчетавская",
        "целиноградская",
    ),
    "KZ-15": ("актюбинская", "aktyubinsk", "aktobe", "aktyubinskaya"),
    "KZ-19": ("алматинская", "almatinskaya", "алма атинская", "талдыкорганская"),
    "KZ-23": ("атырауская", "atyrau", "гурьевская"),
    "KZ-27": (
        "зко",
        "wko",
        "zko",
        "уральская",
        "западно казахстанская",
        "батыс казакстан",
        "west kazakhstan",
        "uralsk region",
        "zapadno kazakhstanskaya",
    ),
    "KZ-31": ("жамбылская", "zhambyl", "jambyl", "джамбулская", "таразская"),
    "KZ-33": ("жетису", "zhetisu", "jetisu", "zhetysu", "жетысу"),
    "KZ-35": ("карагандинская", "karaganda", "karagandy", "qaragandy"),
    "KZ-39": ("костанайская", "кустанайская", "kostanay", "kostanai", "kustanai"),
    "KZ-43": ("кызылординская", "kyzylorda", "kzyl orda", "кзыл ординская"),
    "KZ-47": (
        "мангистауская",
        "мангыстауская",
        "мангистау",
        "мангышлакская",
        "mangistau",
        "mangystau",
        "mangyshlak",
    ),
    "KZ-55": ("павлодарская", "pavlodar"),
    "KZ-59": (
        "ско",
        "nko",
        "sko",
        "северо казахстанская",
        "солтустик казакстан",
        "north kazakhstan",
        "soltustik kazakstan",
        "severo kazakhstanskaya",
    ),
    "KZ-61": (
        "туркестанская",
        "туркестан",
        "turkestan",
        "юко",
        "yuko",
        "uko",
        "южно казахстанская",
        "south kazakhstan",
        "онтустик казакстан",
        "ontustik kazakstan",
        "чимкентская",
    ),
    "KZ-62": ("улытауская", "ulytau", "жезказганская", "zhezkazgan region"),
    "KZ-63": (
        "вко",
        "eko",
        "vko",
        "восточно казахстанская",
        "шыгыс казакстан",
        "east kazakhstan",
        "shygys kazakstan",
        "vostochno kazakhstanskaya",
    ),
    "KZ-71": (
        "нур султан",
        "nur sultan",
        "nursultan",
        "нурсултан",
        "целиноград",
        "tselinograd",
        "акмолинск",
        "astana city",
    ),
    "KZ-75": ("алма ата", "alma ata", "almaty city", "алматы каласы"),
    "KZ-79": ("чимкент", "chimkent", "shymkent city"),
}
# "Алматы" alone is the city; with a region word it is Almaty Region.
AMBIGUOUS_WITH_REGION_WORD = {"алматы": "KZ-19", "almaty": "KZ-19"}
# "Акмола" alone (or with a region word) is Akmola Region; "г. Акмола" is Astana's 1992-98 name.
AMBIGUOUS_WITH_CITY_WORD = {"акмола": "KZ-71", "akmola": "KZ-71"}
# ISO 3166-2:KZ letter codes used until 2020 (still in older spreadsheets).
OLD_ISO = {
    "ALA": "KZ-75",
    "ALM": "KZ-19",
    "AKM": "KZ-11",
    "AKT": "KZ-15",
    "ATY": "KZ-23",
    "ZAP": "KZ-27",
    "ZHA": "KZ-31",
    "KAR": "KZ-35",
    "KUS": "KZ-39",
    "KZY": "KZ-43",
    "MAN": "KZ-47",
    "PAV": "KZ-55",
    "SEV": "KZ-59",
    "YUZ": "KZ-61",
    "TUR": "KZ-61",
    "VOS": "KZ-63",
    "AST": "KZ-71",
    "SHY": "KZ-79",
}
# Russian adjective forms ("Карагандинский регион", "в Карагандинской области") -> "-ская".
ADJECTIVE_ENDING = re.compile(r"(скии|скои|скую|ского|скому|ском)$")


@cache
def reference_regions() -> pl.DataFrame:
    """The reference table: code, kato, names (en, kk, ru, kk_latn), centre, kind, population."""
    frame = pl.read_csv(REGIONS_CSV, schema_overrides={"kato": pl.Int64})
    return frame.rename({"population_2024": "population"})


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower().translate(FOLD)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return [word for word in re.split(r"[\s.,;:()/\\'\"«»_-]+", text) if word]


def normalise(text: str) -> tuple[str, bool]:
    """The matching key of a region spelling, and whether it carried a region word."""
    key, has_region_word, _ = _parts(text)
    return key, has_region_word


def _parts(text: str) -> tuple[str, bool, bool]:
    words = _words(text)
    has_region_word = any(word in REGION_WORDS for word in words)
    has_city_word = any(word in CITY_WORDS for word in words)
    core = [w for w in words if w not in REGION_WORDS and w not in CITY_WORDS]
    return " ".join(core), has_region_word, has_city_word


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for row in reference_regions().iter_rows(named=True):
        code = row["code"]
        names = [row["name_en"], row["name_kk"], row["name_ru"], row["name_kk_latn"]]
        for name in [*names, *ALIASES.get(code, ())]:
            key, _ = normalise(name)
            # A city's name wins over a region's plain core ("алматы" = the city).
            if key and (key not in table or row["kind"] == "city"):
                table[key] = code
        table[code.lower()] = code
        table[code.lower().replace("-", "")] = code
        table[str(row["kato"])] = code
    for letters, code in OLD_ISO.items():
        table["kz" + letters.lower()] = code
    return table


def resolve_region(text: object) -> str | None:
    """The ISO code for a region spelling, or None when it names no unit."""
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        return None
    raw = text.strip()
    if raw.isdigit() and len(raw) in (2, 9):  # KATO: 2-digit unit code or the full 9 digits
        return _lookup().get(raw[:2])
    key, has_region_word, has_city_word = _parts(raw)
    if has_region_word and key in AMBIGUOUS_WITH_REGION_WORD:
        return AMBIGUOUS_WITH_REGION_WORD[key]
    if has_city_word and not has_region_word and key in AMBIGUOUS_WITH_CITY_WORD:
        return AMBIGUOUS_WITH_CITY_WORD[key]
    lookup = _lookup()
    for candidate in (key, key.replace(" ", ""), ADJECTIVE_ENDING.sub("ская", key)):
        if candidate in lookup:
            return lookup[candidate]
    return None


def suggest_region(text: object) -> str | None:
    """The code of the closest known spelling (for "did you mean ..." messages), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    exact = resolve_region(text)
    if exact:
        return exact
    key, _ = normalise(text[:200])
    if not key:
        return None
    match = process.extractOne(key, list(_lookup()), scorer=fuzz.WRatio)
    return _lookup()[match[0]] if match and match[1] >= 70 else None


def resolve_column(values: pl.Series) -> pl.Series:
    """Resolve a column of spellings to codes, once per distinct value (null where unknown)."""
    distinct = values.drop_nulls().unique()
    mapping = {value: resolve_region(value) for value in distinct.to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def region_label(code: str, lang: str = "en") -> str:
    """A unit's name in kk, ru or en (for messages outside the UI)."""
    row = reference_regions().filter(pl.col("code") == code)
    return row.get_column(f"name_{lang}").item() if row.height else code
