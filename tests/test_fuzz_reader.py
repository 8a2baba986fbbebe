"""Property tests: no input makes the reader raise anything but InputFileError, validation never
raises on a table the reader accepted, and the region resolver returns a known code or None."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.errors import InputFileError
from queries.ingest.reading import read_table
from queries.ingest.validate import ERROR_SCHEMA, validate
from queries.reference.regions import reference_regions, resolve_region, suggest_region

CODES = set(reference_regions().get_column("code"))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
HEADERS = [
    "respondent_id",
    "source",
    "wave",
    "region",
    "trust_government",
    "age",
    "weight",
    "period",
    "registered_ngos",
    "proposal_id",
    "status",
    "submitted_on",
    "topic",
]
NUMBERS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: f"{x:.3f}".replace(".", ",")),
)
CELLS = st.one_of(
    st.text(max_size=10),
    NUMBERS,
    st.sampled_from(
        [
            "Алматы",
            "ВКО",
            "KZ-75",
            "2025-Q3",
            "kurultai",
            "DK",
            "99",
            "да",
            "1,5",
            "08.10.2025",
            '"',
            '""',
            "=1+1",
            "\r",
            "\n",
            ";",
            ",",
            "\t",
            "\ufeff",
        ]
    ),
)


def read_or_refuse(content: bytes) -> pl.DataFrame | None:
    try:
        table = read_table(content, "fuzz.csv", max_bytes=200_000)
    except InputFileError as error:
        assert str(error).startswith("fuzz.csv: ")
        return None
    assert table.frame.columns[0] == "_row"
    assert all(dtype == pl.String for dtype in table.frame.drop("_row").dtypes)
    for kind in ("survey", "ngo", "proposals"):
        v = validate(kind, table)
        assert v.errors.schema == ERROR_SCHEMA
        assert v.ok == (v.error_count == 0)
        assert v.clean.height <= table.frame.height
    return table.frame


@SETTINGS
@pytest.mark.slow
@given(st.binary(max_size=4000))
def test_any_bytes(content):
    read_or_refuse(content)


@SETTINGS
@given(
    st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8, unique=True),
    st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=12),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_table_like_text_in_every_encoding(header, rows, delimiter, encoding, newline):
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    text = newline.join(lines) + newline
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8")
    read_or_refuse(content)


@SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_a_valid_file_with_garbage_spliced_in(head, tail):
    good = "respondent_id,source,wave,region,trust_government\nA,kurultai,2025-10,Алматы,5\n"
    read_or_refuse(head + good.encode() + tail)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.text(max_size=300), st.none(), st.integers(), st.floats(), st.binary(max_size=30))
)
def test_region_resolver_returns_a_code_or_none(value):
    code = resolve_region(value)
    assert code in CODES | {None}
    suggestion = suggest_region(value)
    assert suggestion in CODES | {None}
    if code is not None:
        assert suggestion == code  # a known spelling is its own best suggestion


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(CODES)),
    st.sampled_from(["name_en", "name_kk", "name_ru", "name_kk_latn"]),
    st.sampled_from(["", "  ", "\t"]),
    st.sampled_from([str, str.upper, str.lower, str.title]),
)
def test_official_names_survive_case_and_padding(code, language, pad, case):
    name = reference_regions().filter(pl.col("code") == code).item(0, language)
    assert resolve_region(pad + case(name) + pad) == code


@pytest.mark.slow
@SETTINGS
@given(
    st.lists(st.tuples(NUMBERS, NUMBERS, NUMBERS), min_size=1, max_size=6),
    st.sampled_from([",", ";"]),
)
def test_numeric_columns_never_raise_and_accept_only_valid_values(cells, delimiter):
    lines = ["respondent_id,source,wave,region,age,weight,trust_government".replace(",", delimiter)]
    for i, (age, weight, trust) in enumerate(cells):
        row = [f"R{i}", "kurultai", "2025-10", "KZ-75", age, weight, trust]
        lines.append(delimiter.join(f'"{c}"' for c in row))
    v = validate("survey", read_table(("\n".join(lines) + "\n").encode(), "n.csv"))
    for row in v.clean.iter_rows(named=True):
        assert row["age"] is None or 16 <= row["age"] <= 110
        assert 0 < row["weight"] < float("inf")
        assert row["trust_government"] is None or 0 <= row["trust_government"] <= 10
    assert v.clean.height + len(v.errors.get_column("row").unique()) == len(cells)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(CODES)), st.sampled_from(["", " ", "  ", "\t"]), st.booleans())
def test_codes_survive_spacing_and_case(code, pad, lower):
    text = pad + (code.lower() if lower else code) + pad
    assert resolve_region(text) == code
