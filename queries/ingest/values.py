"""Parsers for one column of text, vectorised: each returns the parsed column and a Boolean
``bad`` column (True where a non-blank value could not be parsed)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from queries.contract.vocabulary import MISSING_CODES, NO, YES

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
DATE_SHAPE = r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4})$"
TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"


def _lower(col: pl.Series) -> pl.Series:
    """Lower case, one space between words, ё as е: how vocabularies are matched."""
    return (
        col.str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        .str.replace_all("ё", "е", literal=True)
        .str.strip_chars()
    )


def by_distinct(col: pl.Series, parse: Callable[[pl.Series], tuple[pl.Series, ...]]):
    """Run ``parse`` once per distinct value and spread its results back to every row: a
    million answers hold a few dozen distinct spellings, so this is where the time goes."""
    distinct = col.unique()
    results = parse(distinct)
    lookup = pl.DataFrame(
        [distinct.rename("_key"), *(r.rename(f"_r{i}") for i, r in enumerate(results))]
    )
    joined = (
        col.rename("_key")
        .to_frame()
        .join(lookup, on="_key", how="left", nulls_equal=True, maintain_order="left")
    )
    return tuple(joined.get_column(f"_r{i}").rename(col.name) for i in range(len(results)))


def parse_choice(col: pl.Series, mapping: dict[str, str]) -> tuple[pl.Series, pl.Series]:
    """A value from a fixed vocabulary (case-insensitive synonyms -> canonical code)."""

    def parse(values: pl.Series) -> tuple[pl.Series, pl.Series]:
        parsed = _lower(values).replace_strict(mapping, default=None, return_dtype=pl.String)
        return parsed, values.is_not_null() & parsed.is_null()

    return by_distinct(col, parse)


def parse_yes_no(col: pl.Series) -> tuple[pl.Series, pl.Series]:
    """yes/no in the contract's spellings -> Boolean."""
    mapping = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}

    def parse(values: pl.Series) -> tuple[pl.Series, pl.Series]:
        parsed = _lower(values).replace_strict(mapping, default=None, return_dtype=pl.Boolean)
        return parsed, values.is_not_null() & parsed.is_null()

    return by_distinct(col, parse)


def _to_float(col: pl.Series, decimal_comma: bool) -> pl.Series:
    text = col.str.replace_all(r"[\s\u00a0]", "")
    if decimal_comma:
        text = text.str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=False)


def parse_number(col: pl.Series, decimal_comma: bool) -> tuple[pl.Series, pl.Series]:
    """A real number (decimal comma accepted when the file's delimiter is not a comma)."""
    parsed = _to_float(col, decimal_comma)
    # NaN and infinity ("inf", "1e400") are not amounts anyone means: unparseable, not numbers.
    parsed = pl.select(pl.when(parsed.is_finite()).then(parsed)).to_series().rename(col.name)
    return parsed, col.is_not_null() & parsed.is_null()


def parse_integer(col: pl.Series, decimal_comma: bool) -> tuple[pl.Series, pl.Series]:
    """A whole number (``12`` or ``12.0``; not ``12.5``)."""
    number = _to_float(col, decimal_comma)
    whole = number.is_not_null() & number.is_finite() & (number == number.round(0))
    whole = whole & (number.abs() < 1e15)
    parsed = pl.select(pl.when(whole).then(number).otherwise(None).cast(pl.Int64)).to_series()
    return parsed.rename(col.name), col.is_not_null() & parsed.is_null()


def parse_score(col: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """A 0-10 item: missing codes -> null (never zero). Returns parsed, bad, out_of_range."""
    return by_distinct(col, _parse_score)


def _parse_score(col: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    lowered = _lower(col)
    is_missing = lowered.is_in(list(MISSING_CODES))
    number = lowered.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    whole = number.is_not_null() & (number == number.round(0)) & number.is_finite()
    in_range = whole & (number >= 0) & (number <= 10)
    parsed = pl.select(pl.when(in_range & ~is_missing).then(number).cast(pl.Int8)).to_series()
    given = col.is_not_null() & ~is_missing
    out_of_range = (given & whole & ~in_range).fill_null(False)
    bad = (given & ~whole.fill_null(False)).fill_null(False)
    return parsed.rename(col.name), bad, out_of_range


def parse_date(col: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A date: ISO, day.month.year or day/month/year (four-digit year, 1900-2100); a time
    after the date, as Excel writes date-time cells, is ignored."""
    return by_distinct(col, _parse_date)


def _parse_date(col: pl.Series) -> tuple[pl.Series, pl.Series]:
    text = col.str.strip_chars().str.replace(TIME_SUFFIX, "")
    shaped = text.str.contains(DATE_SHAPE)
    parsed = pl.select(
        pl.coalesce(*[text.str.strptime(pl.Date, fmt, strict=False) for fmt in DATE_FORMATS])
    ).to_series()
    year = parsed.dt.year()
    parsed = pl.select(pl.when(shaped & (year >= 1900) & (year <= 2100)).then(parsed)).to_series()
    return parsed.rename(col.name), col.is_not_null() & parsed.is_null()


def parse_pattern(col: pl.Series, pattern: str) -> tuple[pl.Series, pl.Series]:
    """A label that must match ``pattern`` (after upper-casing ``q`` in quarters)."""

    def parse(values: pl.Series) -> tuple[pl.Series, pl.Series]:
        text = values.str.strip_chars().str.to_uppercase()
        ok = text.str.contains(pattern)
        parsed = pl.select(pl.when(ok).then(text)).to_series()
        return parsed, values.is_not_null() & ~ok.fill_null(False)

    return by_distinct(col, parse)


def wave_start(labels: pl.Series) -> pl.Series:
    """First day of a wave or period label: 2025-Q3 -> 2025-07-01, 2025-10 -> 2025-10-01."""
    year = labels.str.slice(0, 4)
    part = labels.str.slice(5)
    month = (
        pl.select(
            pl.when(part.str.starts_with("Q"))
            .then((part.str.slice(1).cast(pl.Int32, strict=False) - 1) * 3 + 1)
            .when(part.str.len_chars() > 0)
            .then(part.cast(pl.Int32, strict=False))
            .otherwise(1)
        )
        .to_series()
        .cast(pl.String)
        .str.zfill(2)
    )
    return (year + "-" + month + "-01").str.to_date("%Y-%m-%d", strict=False).rename("start")
