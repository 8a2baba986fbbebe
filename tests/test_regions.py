"""The region resolver (queries/regions.py): every spelling a ministry employee types maps to
the ISO code; unknown names map to nothing but get a "did you mean" suggestion."""

from __future__ import annotations

import polars as pl
import pytest

from queries.reference.regions import (
    reference_regions,
    region_label,
    resolve_column,
    resolve_region,
    suggest_region,
)


def test_reference_table_has_the_twenty_units():
    regions = reference_regions()
    assert regions.height == 20
    assert regions.filter(pl.col("kind") == "city").get_column("code").to_list() == [
        "KZ-71",
        "KZ-75",
        "KZ-79",
    ]
    assert {"code", "kato", "name_en", "name_kk", "name_ru", "name_kk_latn", "population"} <= set(
        regions.columns
    )


def test_every_official_name_code_and_kato_resolves_to_its_own_unit():
    for row in reference_regions().iter_rows(named=True):
        for text in (
            row["name_en"],
            row["name_kk"],
            row["name_ru"],
            row["name_kk_latn"],
            row["code"],
            str(row["kato"]),
            row["name_ru"].upper(),
            f"  {row['name_kk'].lower()}  ",
        ):
            assert resolve_region(text) == row["code"], text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # cities versus the region of the same name
        ("Алматы", "KZ-75"),
        ("г.Алматы", "KZ-75"),
        ("г. Алматы", "KZ-75"),
        ("Almaty", "KZ-75"),
        ("Алматы қаласы", "KZ-75"),
        ("Алма-Ата", "KZ-75"),
        ("Almaty city", "KZ-75"),
        ("Алматы облысы", "KZ-19"),
        ("Алматинская обл.", "KZ-19"),
        ("Алма-Атинская область", "KZ-19"),
        ("Алматинский регион", "KZ-19"),
        ("Almaty oblysy", "KZ-19"),
        # Astana's names since 1961
        ("Астана", "KZ-71"),
        ("Нур-Султан", "KZ-71"),
        ("НУРСУЛТАН", "KZ-71"),
        ("Nur-Sultan city", "KZ-71"),
        ("г. Акмола", "KZ-71"),
        ("Целиноград", "KZ-71"),
        # ... while the region keeps "Акмола"
        ("Акмола", "KZ-11"),
        ("Ақмола облысы", "KZ-11"),
        ("Акмолинская область", "KZ-11"),
        ("Целиноградская область", "KZ-11"),
        ("Шымкент", "KZ-79"),
        ("Шымкент қ.", "KZ-79"),
        ("Чимкент", "KZ-79"),
        # abbreviations and the old South Kazakhstan
        ("ВКО", "KZ-63"),
        ("вко", "KZ-63"),
        ("ЗКО", "KZ-27"),
        ("СКО", "KZ-59"),
        ("ЮКО", "KZ-61"),
        ("Южно-Казахстанская область", "KZ-61"),
        ("South Kazakhstan Region", "KZ-61"),
        ("Түркістан облысы", "KZ-61"),
        ("Turkestan region", "KZ-61"),
        # Latin-script Kazakh, with and without diacritics
        ("Aqtöbe oblysy", "KZ-15"),
        ("Aqtobe", "KZ-15"),
        ("Shyǵys Qazaqstan oblysy", "KZ-63"),
        ("Qarag'andy", "KZ-35"),
        ("Mańǵystaý", "KZ-47"),
        # Russian cases, ё/е, spacing, region words
        ("Карагандинской области", "KZ-35"),
        ("Северо-Казахстанская обл", "KZ-59"),
        ("  жетісу   облысы ", "KZ-33"),
        ("ЖЕТЫСУ", "KZ-33"),
        ("Семипалатинская обл.", "KZ-10"),
        ("Жезказганская область", "KZ-62"),
        ("Ұлытау облысы", "KZ-62"),
        ("Абай облысы", "KZ-10"),
        # codes: ISO (current and pre-2020 letters), KATO (2 or 9 digits)
        ("KZ-62", "KZ-62"),
        ("kz62", "KZ-62"),
        ("KZ 75", "KZ-75"),
        ("KZ-ALA", "KZ-75"),
        ("KZ-YUZ", "KZ-61"),
        ("62", "KZ-62"),
        ("750000000", "KZ-75"),
        ("631010000", "KZ-63"),
    ],
)
def test_region_spellings(text, code):
    assert resolve_region(text) == code


@pytest.mark.parametrize(
    "text", ["Атлантида", "", "   ", "KZ-99", "99", "12345", "г.", "область", "x" * 300]
)
def test_names_of_no_unit(text):
    assert resolve_region(text) is None


@pytest.mark.parametrize("value", [None, 75, 7.5, b"KZ-75", ["KZ-75"]])
def test_non_text_is_no_region(value):
    assert resolve_region(value) is None and suggest_region(value) is None


@pytest.mark.parametrize(
    ("typo", "code"),
    [
        ("Pavlodarr", "KZ-55"),
        ("Алмата", "KZ-75"),
        ("Шымкет", "KZ-79"),
        ("Карагнда", "KZ-35"),
        ("Павлодр обл", "KZ-55"),
        ("Караганды обл", "KZ-35"),
        ("Кызыл-Орда", "KZ-43"),
        ("Алёматы", "KZ-75"),
    ],
)
def test_suggestions_for_typos(typo, code):
    assert suggest_region(typo) == code


def test_suggestion_of_a_known_spelling_is_its_own_unit():
    assert suggest_region("Almaty oblysy") == "KZ-19"


@pytest.mark.parametrize("text", ["Атлантида", "x", "Москва", "Бишкек", "", "   ", "г.", "обл."])
def test_no_suggestion_for_nonsense(text):
    assert resolve_region(text) is None
    assert suggest_region(text) is None


def test_resolve_column_once_per_distinct_value():
    column = pl.Series("region", ["ВКО", None, "Атлантида", "ВКО", "г. Астана"])
    assert resolve_column(column).to_list() == ["KZ-63", None, None, "KZ-63", "KZ-71"]


def test_region_label_in_three_languages():
    assert region_label("KZ-63", "en") == "East Kazakhstan Region"
    assert region_label("KZ-63", "kk") == "Шығыс Қазақстан облысы"
    assert region_label("KZ-63", "ru") == "Восточно-Казахстанская область"
    assert region_label("KZ-00") == "KZ-00"
