"""The 20 first-level units of Kazakhstan (17 regions, 3 cities since 2022) and a resolver that
maps the spellings ministry staff type (kk/ru/en, every Latin Kazakh alphabet, Russian adjective
forms, old names, abbreviations, KATO and ISO codes) to the ISO 3166-2 code.

Spellings are compared by their transliteration key (queries/reference/spelling.py): each name
below is ONE key, whatever alphabet or habit it is written in. A spelling resolves only when it
fits exactly one unit; when several units stay plausible ("Қазақстан облысы") it is refused and
the candidates are named. Fuzzy distance only suggests ("did you mean ..."), it never decides.
The conventions that decide the remaining cases are in docs/data-contract.md."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache

import polars as pl
from rapidfuzz import fuzz, process

from queries.reference.spelling import Key, Marker, spelling_key
from queries.settings import DATA_DIR

REGIONS_CSV = DATA_DIR / "regions.csv"
# Names that are not a spelling of the reference names: old names, Russian forms built on a
# different stem, abbreviations. Spellings of these (Latin, cases ...) come from the key.
ALIASES: dict[str, tuple[str, ...]] = {
    "KZ-10": ("Семипалатинская область", "Semipalatinsk region", "Semey region"),
    "KZ-11": ("Кокшетауская область", "Кокчетавская область", "Целиноградская область"),
    "KZ-15": ("Актюбинская область", "Aktyubinsk region"),
    "KZ-19": ("Талдыкорганская область",),
    "KZ-23": ("Гурьевская область",),
    "KZ-27": ("ЗКО", "WKO", "Уральская область", "Uralsk region"),
    "KZ-31": ("Джамбулская область", "Таразская область"),
    "KZ-39": ("Кустанайская область",),
    "KZ-43": ("Кзыл-Ординская область",),
    "KZ-47": ("Мангышлакская область",),
    "KZ-59": ("СКО", "NKO"),
    "KZ-61": ("ЮКО", "UKO", "Южно-Казахстанская область", "Оңтүстік Қазақстан облысы",
              "South Kazakhstan Region", "Чимкентская область", "Туркестан"),
    "KZ-62": ("Жезказганская область", "Zhezkazgan region"),
    "KZ-63": ("ВКО", "EKO"),
    "KZ-71": ("Нур-Султан", "Целиноград", "Акмолинск", "г. Акмола"),
    "KZ-79": ("Чимкент",),
}  # fmt: skip
# A bare name shared by a city and a region is the city ("Алматы", "Чимкент"), except these:
# since 1998 "Акмола" names only the region (the city was Akmola in 1992-98: "г. Акмола").
BARE_NAME_IS_REGION = frozenset(["akmol"])
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
MIN_SUGGESTION_SCORE = 70


@cache
def reference_regions() -> pl.DataFrame:
    """The reference table: code, kato, names (en, kk, ru, kk_latn), centre, kind, population."""
    frame = pl.read_csv(REGIONS_CSV, schema_overrides={"kato": pl.Int64})
    return frame.rename({"population_2024": "population"})


@dataclass(frozen=True)
class Resolution:
    """What a spelling names: one ``code``, or the ``candidates`` it leaves open (ambiguous
    when there are two or more), or neither (no unit)."""

    code: str | None = None
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.code is None and len(self.candidates) > 1


@dataclass(frozen=True)
class _Names:
    """Every name's key: the whole key to units, and each unit's per-word stems."""

    by_key: dict[str, frozenset[str]]
    stems: tuple[tuple[str, frozenset[str]], ...]  # (code, stems of one of its names)
    kind: dict[str, str]


def unit_names(code: str) -> tuple[str, ...]:
    """The names of a unit the resolver knows: the four reference names and the aliases."""
    row = reference_regions().filter(pl.col("code") == code).row(0, named=True)
    names = (row["name_en"], row["name_kk"], row["name_ru"], row["name_kk_latn"])
    return (*names, *ALIASES.get(code, ()))


@cache
def _names() -> _Names:
    by_key: dict[str, set[str]] = defaultdict(set)
    stems = []
    kind = dict(reference_regions().select("code", "kind").iter_rows())
    for code in kind:
        for name in unit_names(code):
            key = spelling_key(name)
            by_key[key.joined].add(code)
            stems.append((code, frozenset(key.stems)))
    frozen = {joined: frozenset(codes) for joined, codes in by_key.items()}
    return _Names(frozen, tuple(stems), kind)


@cache
def _codes() -> dict[str, str]:
    """Codes typed instead of names: ISO (KZ-75, kz75, KZ 75), old ISO letters, KATO."""
    table: dict[str, str] = {}
    for code, kato in reference_regions().select("code", "kato").iter_rows():
        table[code.lower().replace("-", "")] = code
        table[str(kato)] = code
    for letters, code in OLD_ISO.items():
        table["kz" + letters.lower()] = code
    return table


def _by_code(raw: str) -> str | None:
    if raw.isdigit():  # KATO: the 2-digit unit code or the full 9 digits
        return _codes().get(raw[:2]) if len(raw) in (2, 9) else None
    compact = "".join(raw.lower().split()).replace("-", "")
    return _codes().get(compact) if compact.startswith("kz") else None


def _decide(key: Key, codes: frozenset[str]) -> Resolution:
    """One unit among those sharing a key, by the region/city words, or the candidates."""
    if len(codes) == 1:
        return Resolution(next(iter(codes)))
    kind = _names().kind
    if key.marker is Marker.NONE:
        wanted = "region" if key.joined in BARE_NAME_IS_REGION else "city"
    else:
        wanted = "region" if key.marker is Marker.REGION else "city"
    fitting = sorted(c for c in codes if kind[c] == wanted)
    if len(fitting) == 1:
        return Resolution(fitting[0])
    return Resolution(None, tuple(sorted(codes)))


def _partial(key: Key) -> tuple[str, ...]:
    """Units one of whose names contains every word given ("Қазақстан" is in four)."""
    given = frozenset(key.stems)
    return tuple(sorted({code for code, stems in _names().stems if given < stems}))


@lru_cache(maxsize=65_536)  # bounded: files may carry any number of distinct junk values
def _resolve_text(raw: str) -> Resolution:
    by_code = _by_code(raw)
    if by_code:
        return Resolution(by_code)
    key = spelling_key(raw)
    if len(key.joined) < 2:
        return Resolution()
    codes = _names().by_key.get(key.joined)
    if codes:
        return _decide(key, codes)
    return Resolution(None, _partial(key))


def resolution(text: object) -> Resolution:
    """What ``text`` names (see ``Resolution``); non-text and over-long text name nothing."""
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        return Resolution()
    return _resolve_text(text.strip())


def resolve_region(text: object) -> str | None:
    """The ISO code for a region spelling, or None when it names no unit or several."""
    return resolution(text).code


def region_candidates(text: object) -> tuple[str, ...]:
    """The units an ambiguous spelling fits (two or more), else ()."""
    found = resolution(text)
    return found.candidates if found.ambiguous else ()


def suggest_region(text: object) -> str | None:
    """The code of the closest known spelling (for "did you mean ..." messages), or None.
    An ambiguous spelling gets no single suggestion: its candidates are named instead."""
    found = resolution(text)
    if found.code or found.ambiguous:
        return found.code
    if len(found.candidates) == 1:
        return found.candidates[0]
    if not isinstance(text, str):
        return None
    key = spelling_key(text[:200])
    if len(key.joined) < 3:
        return None
    names = _names().by_key
    match = process.extractOne(key.joined, list(names), scorer=fuzz.ratio)
    if not match or match[1] < MIN_SUGGESTION_SCORE:
        return None
    return _decide(key, names[match[0]]).code


def region_hint(text: object) -> dict[str, str]:
    """Message parameters for a spelling that did not resolve: the ``candidates`` when it is
    ambiguous, else the ``suggestion`` (code and English name) when there is one."""
    candidates = region_candidates(text)
    code = None if candidates else suggest_region(text)
    return {
        "suggestion": f"{code} ({region_label(code)})" if code else "",
        "suggested_code": code or "",
        "candidates": ", ".join(f"{c} ({region_label(c)})" for c in candidates),
    }


def resolve_column(values: pl.Series) -> pl.Series:
    """Resolve a column of spellings to codes, once per distinct value (null where unknown)."""
    distinct = values.drop_nulls().unique()
    mapping = {value: resolve_region(value) for value in distinct.to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def region_label(code: str, lang: str = "en") -> str:
    """A unit's name in kk, ru or en (for messages outside the UI)."""
    row = reference_regions().filter(pl.col("code") == code)
    return row.get_column(f"name_{lang}").item() if row.height else code
