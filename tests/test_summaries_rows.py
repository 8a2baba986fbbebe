"""Rows read with the selection pushed down to SQL (issue 11, ``queries/summaries/rows.py``):
for random filters they equal the full dataset cut by ``apply_filters`` (hypothesis, SQLite and
PostgreSQL); a wave read once, compactly, and cut in memory equals the SQL cut; the drivers
model from it equals the raw-row path's; and the Drivers page draws in kk, ru and en with the
survey-row loader forbidden."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dashboard.data
from dashboard.i18n import LANGUAGES, translate
from queries.db import engine_for
from queries.errors import SenimError
from queries.metrics.dataset import load_dataset
from queries.metrics.drivers import ANSWERS, OUTCOMES, Drivers, drivers_numbers
from queries.metrics.filters import Filters, apply_filters
from queries.summaries.memory import load_snapshot
from queries.summaries.rows import (
    WaveAnswers,
    _compact,
    drivers_from_store,
    survey_rows,
    wave_answers,
    wave_rows,
)
from queries.summaries.standing import latest_wave
from tests.apptest_helpers import DEFAULT_SOURCE, use_database, view
from tests.test_summaries import (  # noqa: F401 (loaded: a fixture)
    SLOW,
    SOURCES,
    WAVES,
    assert_same_frame,
    filters_strategy,
    loaded,
)

TRUST = ("trust_government", "trust_police", "trust_courts", "trust_media", "trust_akimat")
COLUMNS = (*ANSWERS, *TRUST, "trust_nowhere")  # an institution never asked: all null


def _wave_choice(source: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(WAVES[source]), min_size=1, unique=True)


def test_pushed_down_rows_equal_the_filtered_dataset(loaded):  # noqa: F811
    data = load_dataset(loaded)

    @given(
        filters=filters_strategy(),
        source=st.sampled_from(SOURCES),
        pick=st.integers(0, 15),
        columns=st.lists(st.sampled_from(COLUMNS), unique=True, max_size=6),
    )
    @SLOW
    def same(filters: Filters, source: str, pick: int, columns: list[str]) -> None:
        waves = [w for i, w in enumerate(WAVES[source]) if pick >> i & 1] or [WAVES[source][-1]]
        got = survey_rows(loaded, source=source, waves=waves, columns=columns, filters=filters)
        # the raw-row path: every row of the full dataset, cut by the same filters (their
        # sources and wave range are the caller's, resolved into source and waves)
        full = data.responses.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in columns if c not in data.responses.columns
        )
        want = (
            apply_filters(full, replace(filters, sources=(), wave_from=None, wave_to=None))
            .filter(pl.col("source") == source, pl.col("wave").is_in(waves), pl.col("in_domain"))
            .select(got.columns)
        )
        assert got.height > 0 or want.height == 0
        assert got.equals(want), (filters, source, waves)

    same()


def test_no_filter_reads_the_whole_wave_and_an_unknown_age_group_none(loaded):  # noqa: F811
    source, wave = SOURCES[0], WAVES[SOURCES[0]][-1]
    whole = survey_rows(loaded, source=source, waves=[wave])
    counted = load_dataset(loaded).responses.filter(pl.col("wave") == wave).height
    assert whole.height == counted > 0
    assert "trust_government" not in whole.columns  # just the design's columns
    odd = survey_rows(loaded, source=source, waves=[wave], filters=Filters(age_groups=("x",)))
    assert odd.is_empty()


def keeper(engine, snapshot) -> Callable[[str, str | None], WaveAnswers | None]:
    """``wave_answers`` of (source, wave) read once and kept, as the dashboard keeps them."""
    kept: dict[tuple[str, str], WaveAnswers] = {}

    def answers(source: str, wave: str | None) -> WaveAnswers | None:
        if wave is not None and (source, wave) not in kept:
            kept[source, wave] = wave_answers(
                engine, source=source, wave=wave, institutions=snapshot.institutions,
                population=snapshot.population,
            )  # fmt: skip
        return kept.get((source, wave))

    return answers


def test_a_wave_read_once_and_cut_in_memory_equals_the_sql_cut(loaded):  # noqa: F811
    snapshot = load_snapshot(loaded)
    answers_of = keeper(loaded, snapshot)

    whole = answers_of(SOURCES[0], WAVES[SOURCES[0]][-1])
    # compact: no text, no float but the weights, the wave's one-value columns apart
    assert {"source", "wave", "period_start"} <= set(whole.constants)
    assert not {pl.String, pl.Float64} & set(whole.frame.drop("weight").dtypes)
    assert whole.frame.get_column("trust_government").dtype == pl.Int8

    @given(
        filters=filters_strategy(),
        source=st.sampled_from(SOURCES),
        index=st.integers(0, 3),
        chosen=st.lists(st.sampled_from(snapshot.institutions), unique=True, max_size=3),
    )
    @SLOW
    def same(filters: Filters, source: str, index: int, chosen: list[str]) -> None:
        wave = WAVES[source][index % len(WAVES[source])]
        trust = [f"trust_{i}" for i in chosen]
        got = wave_rows(answers_of(source, wave), filters, institutions=chosen).responses
        want = survey_rows(
            loaded, source=source, waves=[wave], columns=[*ANSWERS, *trust], filters=filters
        ).drop("response_id")
        # every column (its order aside), each value the read's once in the read's types
        got = got.select(*want.columns, "in_domain").cast(want.schema)
        assert got.filter("in_domain").drop("in_domain").equals(want), (filters, source, wave)
        everyone = survey_rows(loaded, source=source, waves=[wave], columns=trust)
        assert got.height == everyone.height  # the whole wave, the others outside the domain
        assert got.select(everyone.columns[1:]).equals(everyone.drop("response_id"))

    same()


def test_a_wave_read_in_slices_equals_one_read(loaded):  # noqa: F811
    """Slices of a few respondents, on the wave grown by a second upload (ids not contiguous),
    give the frame one read gives (both databases)."""
    snapshot = load_snapshot(loaded)

    def read(size: int) -> WaveAnswers:
        return wave_answers(
            loaded, source=SOURCES[0], wave=WAVES[SOURCES[0]][-1], slice_size=size,
            institutions=snapshot.institutions, population=snapshot.population,
        )  # fmt: skip

    whole, sliced = read(10**9), read(37)
    assert whole.schema == sliced.schema and whole.constants == sliced.constants
    assert whole.frame.schema == sliced.frame.schema  # kept as compactly
    assert sliced.rows(list(sliced.schema)).equals(whole.rows(list(whole.schema)))
    assert whole.frame.height > 400  # both uploads


def test_compact_keeps_every_value_and_the_row_count():
    frame = pl.DataFrame(
        {
            "score": [0.0, 10.0, None],  # whole numbers: Int8
            "half": [0.5, 1.5, 2.0],  # exact in Float32
            "weight": [0.1, 1 / 3, 2.0],  # not: stays Float64
            "odd": [float("nan"), 1.0, 300.0],  # NaN: no integer holds it
            "big": [1, 40_000, 5],
            "region": ["KZ-75", "KZ-71", None],
            "wave": ["2024-Q4"] * 3,  # one value: kept apart
            "none": pl.Series([None] * 3, dtype=pl.Float64),
        }
    )
    compact, constants = _compact(frame)
    assert constants == {"wave": "2024-Q4", "none": None}
    assert dict(compact.schema) == {
        "score": pl.Int8, "half": pl.Float32, "weight": pl.Float64, "odd": pl.Float32,
        "big": pl.Int32, "region": pl.Categorical,
    }  # fmt: skip
    kept = WaveAnswers(compact, dict(frame.schema), constants, pl.DataFrame())
    assert kept.rows(frame.columns).equals(frame)
    same = pl.DataFrame({"a": [1, 1], "b": ["x", "x"]})  # every column one value: 2 rows still
    compact, constants = _compact(same)
    assert compact.height == 2 and constants == {"b": "x"}
    kept = WaveAnswers(compact, dict(same.schema), constants, pl.DataFrame())
    assert kept.rows(same.columns).equals(same)


def test_drivers_from_a_wave_kept_across_filters_equal_the_raw_path(loaded):  # noqa: F811
    """Both databases; one ``WaveAnswers`` per wave serves every filter (its raked weights
    computed once): the models equal the raw-row path's for random filters."""
    data = load_dataset(loaded)
    snapshot = load_snapshot(loaded)
    answers = keeper(loaded, snapshot)
    fitted: list[str] = []

    @given(filters=filters_strategy(), source=st.sampled_from(SOURCES),
           outcome=st.sampled_from(OUTCOMES))  # fmt: skip
    @example(Filters(), SOURCES[0], OUTCOMES[1])  # the whole latest wave: models fitted
    @example(Filters(weights="delivered"), SOURCES[0], OUTCOMES[0])
    @SLOW
    def same(filters: Filters, source: str, outcome: str) -> None:
        def made() -> Drivers:
            return drivers_from_store(
                loaded, filters, source, outcome, strata=snapshot.strata,
                institutions=snapshot.institutions, population=snapshot.population,
                answers=answers(source, latest_wave(snapshot.strata, filters, source)),
            )  # fmt: skip

        try:
            raw = drivers_numbers(data, filters, source, outcome)
        except SenimError as exc:
            with pytest.raises(SenimError) as caught:
                made()
            assert str(caught.value) == str(exc)
            return
        assert_same_drivers(raw, made())
        fitted.extend([raw.weights] if raw.fitted else [])

    same()
    assert fitted  # some models really fitted


def assert_same_drivers(raw: Drivers, made: Drivers) -> None:
    assert_same_frame(raw.terms, made.terms, "terms")
    for field in ("outcome", "n", "df", "dropped", "reason", "weights", "uncalibrated_waves"):
        assert getattr(raw, field) == getattr(made, field), field


@pytest.mark.slow
def test_drivers_from_pushed_down_rows_equal_the_raw_path(demo_url):
    """The demo (SQLite): enough respondents for fitted models, and 2024 waves raked."""
    engine = engine_for(demo_url)
    data = load_dataset(engine)
    snapshot = load_snapshot(engine)
    answers = keeper(engine, snapshot)  # one per wave for every filter: raked once
    fitted: list[str] = []

    def drivers_of(filters: Filters, source: str, outcome: str) -> Drivers:
        return drivers_from_store(
            engine, filters, source, outcome, strata=snapshot.strata,
            institutions=snapshot.institutions, population=snapshot.population,
            answers=answers(source, latest_wave(snapshot.strata, filters, source)),
        )  # fmt: skip

    def same(filters: Filters, source: str, outcome: str) -> None:
        try:
            raw = drivers_numbers(data, filters, source, outcome)
        except SenimError as exc:  # an unknown wave or institution: the same message
            with pytest.raises(SenimError) as caught:
                drivers_of(filters, source, outcome)
            assert str(caught.value) == str(exc)
            return
        made = drivers_of(filters, source, outcome)
        assert_same_drivers(raw, made)
        fitted.extend([raw.weights] if raw.fitted else [])

    for filters in (Filters(), Filters(wave_to="2024-Q4"), Filters(weights="delivered")):
        for outcome in OUTCOMES:
            same(filters, DEFAULT_SOURCE, outcome)
    assert {"calibrated", "delivered"} <= set(fitted)  # both weights really fitted

    waves = [w for w in data.waves.get_column("wave").to_list() if w.startswith("202")]
    labels = st.one_of(st.none(), st.sampled_from([*waves, "1999-Q1"]))

    def subset(values):
        return st.lists(st.sampled_from(values), unique=True, max_size=2).map(tuple)

    @given(
        filters=st.builds(
            Filters,
            wave_from=labels,
            wave_to=labels,
            regions=subset(["KZ-75", "KZ-71", "KZ-15", "KZ-10", "KZ-63"]),
            institutions=subset(["police", "courts", "media", "unknown"]),
            sexes=subset(["male", "female"]),
            age_groups=subset(["18-29", "30-44", "45-59", "60+"]),
            settlements=subset(["urban", "rural"]),
            weights=st.sampled_from(["calibrated", "delivered"]),
        ),
        source=st.sampled_from(sorted(data.sources)),
        outcome=st.sampled_from(OUTCOMES),
    )
    @SLOW
    def random(filters: Filters, source: str, outcome: str) -> None:
        same(filters, source, outcome)

    random()


# --- the page (AppTest, the shared demo database) -------------------------------------------


@pytest.fixture
def app(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)
    return demo_url


def forbid_rows(monkeypatch) -> None:
    def refuse(engine):
        raise AssertionError("the Drivers page loaded the survey rows")

    monkeypatch.setattr(dashboard.data, "load_dataset", refuse)


def shown_terms(at, lang: str) -> tuple[list[str], list[float]]:
    table = at.dataframe[0].value
    terms = table[translate("drivers.col_term", lang)].tolist()
    return terms, table[translate("drivers.col_estimate", lang)].tolist()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_drivers_page_draws_without_loading_rows(app, monkeypatch, lang):
    filters = Filters(sexes=("female",), wave_to="2024-Q4")  # 2024: raked to region totals
    expected = drivers_numbers(load_dataset(engine_for(app)), filters, DEFAULT_SOURCE, OUTCOMES[0])
    assert expected.fitted and expected.weights == "calibrated"
    forbid_rows(monkeypatch)
    at = view("drivers", lang, params={"sex": "female", "wave_to": "2024-Q4"})
    assert not at.exception, at.exception
    terms, estimates = shown_terms(at, lang)
    assert terms == [translate(f"drivers.term_{k}", lang) for k in expected.terms["key"]]
    assert estimates == pytest.approx(expected.terms["estimate"].round(3).to_list())
    at.segmented_control(key="drivers_outcome").set_value(OUTCOMES[1]).run()
    assert not at.exception, at.exception
    assert shown_terms(at, lang)[1] != estimates  # the other model, still without the rows


def test_a_filter_change_on_the_drivers_page_stays_off_the_dataset(app, monkeypatch):
    expected = drivers_numbers(
        load_dataset(engine_for(app)), Filters(weights="delivered", settlements=("urban",)),
        DEFAULT_SOURCE, OUTCOMES[0],
    )  # fmt: skip
    assert expected.fitted
    forbid_rows(monkeypatch)
    at = view("drivers", params={"weights": "delivered"})
    assert not at.exception, at.exception
    at.multiselect(key="f_settlement").set_value(["urban"]).run()
    assert not at.exception, at.exception
    assert shown_terms(at, "en")[1] == pytest.approx(expected.terms["estimate"].round(3).to_list())
