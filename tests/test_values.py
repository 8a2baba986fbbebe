"""Column parsers (queries/values.py): each value the contract allows, and what is refused."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from queries.contract import vocabulary as names
from queries.ingest import values as v


def s(*items: str | None) -> pl.Series:
    return pl.Series("x", list(items), dtype=pl.String)


def test_dates_iso_dotted_slashed_and_excel_times():
    parsed, bad = v.parse_date(
        s("2025-10-08", "08.10.2025", "8/10/2025", "2025-1-5", "08.10.2025 14:30", None)
    )
    assert parsed.to_list() == [
        dt.date(2025, 10, 8),
        dt.date(2025, 10, 8),
        dt.date(2025, 10, 8),
        dt.date(2025, 1, 5),
        dt.date(2025, 10, 8),
        None,
    ]
    assert bad.to_list() == [False] * 6


@pytest.mark.parametrize(
    "text", ["08.10.25", "31.02.2025", "20251008", "2025.10.08", "0001-01-01", "08.10/2025", "x"]
)
def test_bad_dates(text):
    parsed, bad = v.parse_date(s(text))
    assert parsed.to_list() == [None] and bad.to_list() == [True]


def test_yes_no_in_three_languages_blank_is_unknown():
    items = ("yes", "No", "Y", "n", "1", "0", "TRUE", "false", "Да", "нет", "Иә", "жоқ", None)
    parsed, bad = v.parse_yes_no(s(*items))
    assert parsed.to_list() == [True, False] * 6 + [None]
    assert not bad.any()
    parsed, bad = v.parse_yes_no(s("maybe", "2"))
    assert parsed.to_list() == [None, None] and bad.to_list() == [True, True]


def test_scores_missing_codes_are_missing_never_zero():
    codes = ("DK", "na", "N/A", "-1", "98", "99", "Не знаю", "білмеймін", "затрудняюсь ответить")
    parsed, bad, out = v.parse_score(s(*codes, None))
    assert parsed.to_list() == [None] * 10
    assert not bad.any() and not out.any()
    parsed, bad, out = v.parse_score(s("0", "10", " 7 ", "5.0"))
    assert parsed.to_list() == [0, 10, 7, 5] and parsed.dtype == pl.Int8


def test_scores_out_of_range_and_not_scores():
    parsed, bad, out = v.parse_score(s("11", "-2", "97", "7.5", "seven", "nan"))
    assert parsed.to_list() == [None] * 6
    assert out.to_list() == [True, True, True, False, False, False]
    assert bad.to_list() == [False, False, False, True, True, True]


def test_numbers_with_decimal_comma_and_thousand_spaces():
    parsed, bad = v.parse_number(s("1,25", "1 500 000,75", "0.5", "abc"), decimal_comma=True)
    assert parsed.to_list() == [1.25, 1500000.75, 0.5, None]
    assert bad.to_list() == [False, False, False, True]
    parsed, bad = v.parse_number(s("1,25"), decimal_comma=False)
    assert parsed.to_list() == [None] and bad.to_list() == [True]


def test_integers_accept_whole_decimals_only():
    parsed, bad = v.parse_integer(s("34", "34.0", "34,0", "34.5", "1e30", None), True)
    assert parsed.to_list() == [34, 34, 34, None, None, None]
    assert bad.to_list() == [False, False, False, True, True, False]


def test_choices_by_synonym_in_any_case_and_spacing():
    parsed, bad = v.parse_choice(s("Қала", "ауыл", "ГОРОД", "Село", "town"), names.SETTLEMENT)
    assert parsed.to_list() == ["urban", "rural", "urban", "rural", None]
    assert bad.to_list() == [False, False, False, False, True]
    parsed, _ = v.parse_choice(s("Ж", "муж", "Әйел", "Female"), names.SEX)
    assert parsed.to_list() == ["female", "male", "female", "female"]
    parsed, _ = v.parse_choice(s("Ұлттық  Құрылтай", "Public Trust Council"), names.SURVEY_SOURCE)
    assert parsed.to_list() == ["kurultai", "public_trust_council"]


def test_wave_and_period_labels():
    parsed, bad = v.parse_pattern(
        s("2025-q3", "2025-10", "2025", "2025-13", "25-Q1"), names.WAVE_PATTERN
    )
    assert parsed.to_list() == ["2025-Q3", "2025-10", "2025", None, None]
    assert bad.to_list() == [False, False, False, True, True]
    _, bad = v.parse_pattern(s("2025", "2025-Q4", "2025-10"), names.PERIOD_PATTERN)
    assert bad.to_list() == [False, False, True]


def test_wave_start_dates():
    starts = v.wave_start(s("2025-Q3", "2025-10", "2025", "2024-Q1", "2024-Q4"))
    assert starts.to_list() == [
        dt.date(2025, 7, 1),
        dt.date(2025, 10, 1),
        dt.date(2025, 1, 1),
        dt.date(2024, 1, 1),
        dt.date(2024, 10, 1),
    ]
