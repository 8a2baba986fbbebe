"""The composite over a non-default set of institutions (issue 11) from the database's cache:
summed in SQL per cell, it gives the raw-row path's numbers (every Overview number, and the
cells of the composite and its OECD splits, to 1e-9 relative) on SQLite and PostgreSQL; an
upload or a rollback of a wave drops that wave's cached composites in its own transaction; and
another process (another engine and snapshot) reads the cache without reading a survey row."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from queries.db import make_engine
from queries.ingest.uploads import rollback
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.metrics.trust import COMPOSITE, composite_expr, split_exprs
from queries.schema.summaries import summary_composite_waves, summary_composites
from queries.summaries.cells import cell_sums
from queries.summaries.composite import composite_cells, composite_measure, set_key
from queries.summaries.memory import load_snapshot, overview_from_summaries
from queries.summaries.store import stored_rows
from tests.test_summaries import (  # noqa: F401 (loaded: the fixture)
    INSTITUTIONS,
    SLOW,
    SOURCES,
    WAVES,
    assert_same_frame,
    assert_same_overview,
    filters_strategy,
    load,
    loaded,
    survey_file,
)

ALL = (*INSTITUTIONS, "akimat")  # akimat: asked in one later upload only
RAW_TABLES = ("trust_scores", "responses")


def institution_sets() -> st.SearchStrategy[tuple[str, ...]]:
    """Non-default sets, in any order (the cache key does not depend on it)."""
    return st.lists(st.sampled_from(ALL), unique=True, min_size=1, max_size=4).map(tuple)


def all_waves(engine) -> list[tuple[str, str]]:
    return load_snapshot(engine).strata.select("source", "wave").unique().sort("*").rows()


def cached_waves(engine, institutions) -> set[tuple[str, str]]:
    m = summary_composite_waves.c
    query = select(m.source, m.wave).where(m.institutions == set_key(institutions))
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query).all()}


def cached_rows(engine, wave) -> int:
    c = summary_composites.c
    query = select(func.count()).where(c.source == wave[0], c.wave == wave[1])
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def raw_composite_cells(engine, institutions, waves) -> pl.DataFrame:
    """The cells of the composite and its splits from the stored rows, by the polars code."""
    columns = [f"trust_{i}" for i in institutions]
    variables = split_exprs(COMPOSITE, composite_expr(columns))
    with engine.connect() as conn:
        rows = pl.concat([stored_rows(conn, w) for w in waves], how="diagonal_relaxed")
    rows = rows.with_columns(pl.lit(None, pl.Float64).alias(c) for c in columns
                             if c not in rows.columns)  # fmt: skip
    return cell_sums(rows, variables)[1]


def test_the_composite_expression_is_recognised_with_its_splits():
    columns = ["trust_police", "trust_government"]
    for measure, expr in split_exprs(COMPOSITE, composite_expr(columns)).items():
        assert composite_measure(expr) == (("police", "government"), measure)
    assert composite_measure(pl.col("trust_police")) is None  # a single item is stored as such
    assert composite_measure(pl.col("state_listens")) is None


@pytest.mark.slow
def test_cached_cells_of_the_composite_and_its_splits_equal_the_polars_sums(loaded):  # noqa: F811
    waves = all_waves(loaded)

    @given(institutions=institution_sets())
    @SLOW
    def same(institutions):
        raw = raw_composite_cells(loaded, institutions, waves)
        keys = ["source", "wave", "region", "sex", "age_group", "settlement", "variable"]
        for measure in split_exprs(COMPOSITE, composite_expr(["_"])):
            got = composite_cells(loaded, institutions, waves, measure)
            want = raw.filter(pl.col("variable") == measure)
            assert_same_frame(want.sort(keys, nulls_last=True), got.sort(keys, nulls_last=True),
                              f"{institutions} {measure}")  # fmt: skip

    same()


@pytest.mark.slow
def test_overview_with_a_non_default_set_equals_the_raw_row_path(loaded):  # noqa: F811
    """Random filters (either weights) with a non-default institution set: every Overview
    number from the cached SQL sums equals ``overview_numbers`` on the loaded rows."""
    data = load_dataset(loaded)
    snapshot = load_snapshot(loaded)
    weights = st.sampled_from(("delivered", "calibrated"))

    @given(filters=filters_strategy(), institutions=institution_sets(), weight=weights,
           source=st.sampled_from(SOURCES))  # fmt: skip
    @SLOW
    def same(filters, institutions, weight, source):
        filters = dataclasses.replace(filters, institutions=institutions, weights=weight)
        try:
            raw = overview_numbers(data, filters, source)
        except Exception as exc:  # e.g. an unknown wave: the same message both ways
            with pytest.raises(type(exc)) as caught:
                overview_from_summaries(loaded, filters, source, snapshot=snapshot)
            assert str(caught.value) == str(exc)
            return
        assert_same_overview(raw, overview_from_summaries(loaded, filters, source,
                                                          snapshot=snapshot))  # fmt: skip

    same()


def test_an_upload_and_a_rollback_drop_the_cached_wave_in_their_transaction(loaded):  # noqa: F811
    """Cache a set for every wave; a file growing one wave drops that wave's cached rows (and
    only those), the next use sums it again from the grown rows; its rollback drops it again."""
    institutions = ("police", "government")
    grown_wave = (SOURCES[0], WAVES[SOURCES[0]][-1])
    waves = all_waves(loaded)
    filters = Filters(institutions=institutions, weights="delivered")

    def overview_agrees():
        snapshot = load_snapshot(loaded)  # a new data version: a new snapshot
        raw = overview_numbers(load_dataset(loaded), filters, SOURCES[0])
        assert_same_overview(raw, overview_from_summaries(loaded, filters, SOURCES[0],
                                                          snapshot=snapshot))  # fmt: skip
        assert cached_waves(loaded, institutions) == set(waves)

    overview_agrees()
    assert cached_rows(loaded, grown_wave) > 0
    file = survey_file(57, source=grown_wave[0], wave=grown_wave[1], n=70, start=8000)
    upload = load(loaded, file, "grown.csv")
    assert cached_waves(loaded, institutions) == set(waves) - {grown_wave}
    assert cached_rows(loaded, grown_wave) == 0
    overview_agrees()
    rollback(loaded, upload, by="test")
    assert cached_waves(loaded, institutions) == set(waves) - {grown_wave}
    assert cached_rows(loaded, grown_wave) == 0
    overview_agrees()


def test_a_second_process_reads_the_cache_without_touching_the_rows(loaded):  # noqa: F811
    """The first snapshot sums the set in SQL (it reads the survey tables: the probe sees it);
    a second engine and snapshot, as another process has, reads only the cache."""
    institutions = ("courts", "media", "police")
    filters = Filters(institutions=institutions, weights="delivered")
    url = loaded.url.render_as_string(hide_password=False)
    first, second = make_engine(url), make_engine(url)
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def probe(name):
        def record(conn, cursor, statement, parameters, context, executemany):
            seen[name] += [t for t in RAW_TABLES if t in statement]

        return record

    event.listen(first, "before_cursor_execute", probe("first"))
    event.listen(second, "before_cursor_execute", probe("second"))
    try:
        made = overview_from_summaries(first, filters, SOURCES[0])
        assert "responses" in seen["first"]  # the probe sees a raw read when there is one
        again = overview_from_summaries(second, filters, SOURCES[0], snapshot=load_snapshot(second))
        assert seen["second"] == []
        assert_same_overview(made, again)
        raw = overview_numbers(load_dataset(loaded), filters, SOURCES[0])
        assert_same_overview(raw, again)
    finally:
        first.dispose()
        second.dispose()
