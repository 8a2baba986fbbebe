"""Property tests: no input makes the reader raise anything but InputFileError, validation never
raises on a table the reader accepted, and the region resolver returns a known code or None."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.csvfile import read_table
from queries.errors import InputFileError
from queries.regions import reference_regions, resolve_region, suggest_region
from queries.validate import ERROR_SCHEMA, validate

CODES = set(reference_regions().get_column("code"))
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
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
CELLS = st.one_of(
    st.text(max_size=10),
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


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(st.text(max_size=300), st.none(), st.integers(), st.floats(), st.binary(max_size=30))
)
def test_region_resolver_returns_a_code_or_none(value):
    assert resolve_region(value) in CODES | {None}
    assert suggest_region(value) in CODES | {None}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CODES)), st.sampled_from(["", " ", "  ", "\t"]), st.booleans())
def test_codes_survive_spacing_and_case(code, pad, lower):
    text = pad + (code.lower() if lower else code) + pad
    assert resolve_region(text) == code
