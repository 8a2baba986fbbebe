"""Translations: every user-facing string goes through ``t()``.

Catalogues are TOML files in this folder, one per area of the app (``common.toml``,
``overview.toml``, ...), each holding all three languages side by side so a missing translation is
visible in review and caught by a test::

    [overview]
    title = { kk = "Шолу", ru = "Обзор", en = "Overview" }

Keys are the dotted table path (``overview.title``). The language lives in the session state key
``lang`` (bound to the URL by the sidebar's language widget).
"""

from __future__ import annotations

import datetime as dt
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import streamlit as st

from queries.contract import LABELS
from queries.reference.reform import COMPARABLE_UNITS
from queries.reference.regions import reference_regions

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANG_KEY = "lang"
CATALOGUE_DIR = Path(__file__).parent


def _flatten(table: dict, prefix: str, out: dict[str, dict[str, str]], origin: str) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict) and value and set(value) <= set(LANGUAGES):
            if key in out:
                raise ValueError(f"translation key {key!r} defined twice ({origin})")
            out[key] = value
        elif isinstance(value, dict):
            _flatten(value, key, out, origin)
        else:
            raise ValueError(f"{origin}: {key!r} must be a table of kk/ru/en strings")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every translation, ``key -> {lang: text}``, from all TOML files in this folder."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            _flatten(tomllib.load(handle), "", out, path.name)
    # the data contract names its own columns (queries/contract/labels.py)
    _flatten({"contract": LABELS}, "", out, "queries/contract/labels.py")
    return out


_RUN = threading.local()  # the language fixed for the rest of a script run (fixed_language)


@contextmanager
def fixed_language() -> Iterator[str]:
    """The session's language read once for the rest of this run (its thread), once the switch
    has been drawn: a page asks for it hundreds of times (every label, number and name), each a
    trip through Streamlit's session state (issue 11: ~4% of a Regions filter change)."""
    _RUN.lang = lang = _session_language()
    try:
        yield lang
    finally:
        _RUN.lang = None


def language() -> str:
    """The language of this session (kk when unset or invalid)."""
    fixed = getattr(_RUN, "lang", None)
    return fixed if fixed is not None else _session_language()


def _session_language() -> str:
    try:
        lang = st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)
    except Exception:  # outside a Streamlit run (plain scripts, unit tests)
        lang = DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translate(key: str, lang: str, **params: object) -> str:
    """The text of ``key`` in ``lang`` with ``params`` filled in; the key itself when unknown."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**params) if params else text


def t(key: str, **params: object) -> str:
    """The text of ``key`` in the session's language."""
    return translate(key, language(), **params)


def has_key(key: str) -> bool:
    """Whether ``key`` is in the catalogue (for optional labels such as unknown institutions)."""
    return key in catalogue()


@cache
def _region_names() -> dict[str, dict[str, str]]:
    frame = reference_regions()
    return {
        row["code"]: {"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}
        for row in frame.iter_rows(named=True)
    }


def region_name(code: str | None, lang: str | None = None) -> str:
    """A region's name in the language (the reference table holds all three)."""
    if code is None:
        return t("common.national")
    names = _region_names().get(code)
    if names is None and code in COMPARABLE_UNITS:  # region-reform: "..., pre-2022 boundaries"
        return translate(f"reform.old_{code[3:5]}", lang or language())
    return names[lang or language()] if names else code


def institution_name(institution: str, lang: str | None = None) -> str:
    """An institution's name; institutions outside the catalogue show their code, readable."""
    key = f"institution.{institution}"
    if has_key(key):
        return translate(key, lang or language())
    return institution.replace("_", " ").capitalize()


def fmt_number(value: float | int | None, decimals: int = 0, lang: str | None = None) -> str:
    """A number in the language's style: kk/ru ``12 345,6``; en ``12,345.6``."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    if (lang or language()) == "en":
        return text
    return text.replace(",", "\u00a0").replace(".", ",")


def fmt_percent(share: float | None, decimals: int = 0, lang: str | None = None) -> str:
    """A 0-1 share as a percentage in the language's style."""
    if share is None:
        return "—"
    return f"{fmt_number(share * 100, decimals, lang)}%"


def fmt_date(value: dt.date | dt.datetime | None, lang: str | None = None) -> str:
    """A date as day.month.year (kk/ru) or ISO year-month-day (en)."""
    if value is None:
        return "—"
    if (lang or language()) == "en":
        return value.strftime("%Y-%m-%d")
    return value.strftime("%d.%m.%Y")
