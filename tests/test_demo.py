"""The demo generator: deterministic, in the data contract's format, with its built-in story."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Engine, func, insert, select

from queries.contract import contract
from queries.demo import (
    AS_OF,
    LoadedFile,
    generate_ngo,
    generate_proposals,
    generate_survey,
    iter_demo_files,
    iter_survey,
    load_demo,
    stored_counts,
    write_demo_files,
)
from queries.demo.common import REGION_TRUST
from queries.demo.survey import (
    GOVERNMENT_RISE,
    MOVER_REGION,
    MOVER_SHIFT,
    POLICE_DROP,
    POLICE_DROP_WAVES,
    wave_period,
)
from queries.errors import SenimError
from queries.reference.reform import REFORM_DATE
from queries.reference.regions import reference_regions
from queries.schema import data
from queries.vocab import UploadKind

TRUST_COLUMNS = [
    f"trust_{i}"
    for i in ("government", "parliament", "akimat", "courts", "police", "ngos", "media")
]
SURVEY_COLUMNS = {c.name for c in contract(UploadKind.SURVEY).columns}
YES = {"yes", "y", "1", "true", "иә", "да"}
NO = {"no", "n", "0", "false", "жоқ", "нет"}
MISSING_CODES = {"DK", "NA", "-1", "98", "99", "не знаю", "білмеймін"}
SEX = {"male", "female", "ер", "әйел", "м", "ж", "муж", "жен"}
FEMALE = {"female", "әйел", "ж", "жен"}
SETTLEMENT = {"urban", "rural", "қала", "ауыл", "город", "село"}
YES_NO_COLUMNS = [
    "participated_consultation",
    "submitted_proposal",
    "received_response",
    "ngo_involvement",
]


@pytest.fixture(scope="module")
def survey() -> dict[tuple[str, str], pl.DataFrame]:
    return generate_survey(60_000, 2025)


@pytest.fixture(scope="module")
def decoded(survey) -> pl.DataFrame:
    """All survey files as one typed frame, decoded the way the contract says."""
    return decode_survey(pl.concat(survey.values()))


def region_lookup() -> dict[str, str]:
    """Every spelling the generator may use (reference names and codes) -> ISO code."""
    ref = reference_regions()
    lookup: dict[str, str] = {}
    for column in ("code", "name_en", "name_ru", "name_kk"):
        for code, name in zip(ref["code"], ref[column], strict=True):
            assert lookup.setdefault(name, code) == code, f"{name!r} is ambiguous"
    return lookup


def parse_date(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%d.%m.%Y", strict=False),
    ).alias(column)


def score(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.when(text.is_in(list(MISSING_CODES))).then(None).otherwise(text.cast(pl.Float64))


def yes_no(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.when(text.is_in(list(YES))).then(True).when(text.is_in(list(NO))).then(False)


def decode_survey(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        parse_date("interview_date"),
        pl.col("region").replace_strict(region_lookup()).alias("region_code"),
        pl.col("weight").cast(pl.Float64),
        pl.col("age").cast(pl.Int64),
        pl.col("sex").is_in(list(FEMALE)).alias("female"),
        *[score(c).alias(c) for c in [*TRUST_COLUMNS, "state_listens", "response_satisfaction"]],
        *[yes_no(c).alias(c) for c in YES_NO_COLUMNS],
        pl.col("wave").str.slice(0, 4).cast(pl.Int64).alias("year"),
    )


def digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    first = digests(write_demo_files(tmp_path / "a", responses=60_000, seed=11))
    again = digests(write_demo_files(tmp_path / "b", responses=60_000, seed=11))
    other = digests(write_demo_files(tmp_path / "c", responses=60_000, seed=12))
    assert first == again
    assert len(first) == 30  # 28 survey files, ngo.csv, proposals.csv
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)


def test_survey_files_follow_the_contract(survey) -> None:
    assert sum(f.height for f in survey.values()) == 60_000
    for (source, wave), frame in survey.items():
        assert set(frame.columns) == SURVEY_COLUMNS
        assert frame["source"].unique().to_list() == [source]
        assert frame["wave"].unique().to_list() == [wave]
        assert frame["respondent_id"].n_unique() == frame.height
    label = re.compile(r"^(2019|202[0-5])-(Q[1-4]|0[1-9]|1[0-2])$")
    for source in ("public_trust_council", "kurultai"):
        waves = sorted(w for s, w in survey if s == source)
        assert len(waves) >= 8, source
        assert all(label.match(w) for w in waves), waves
        assert {w[:4] for w in waves} == {str(y) for y in range(2019, 2026)}

    allowed_scores = {str(i) for i in range(11)} | MISSING_CODES
    frame = pl.concat(survey.values())
    for column in [*TRUST_COLUMNS, "state_listens", "response_satisfaction"]:
        assert set(frame[column].drop_nulls().unique()) <= allowed_scores, column
    for column in YES_NO_COLUMNS:
        assert set(frame[column].drop_nulls().unique()) <= YES | NO, column
    assert set(frame["sex"].drop_nulls().unique()) <= SEX
    assert set(frame["settlement"].drop_nulls().unique()) <= SETTLEMENT
    # Missing codes are really used (blank, DK and 99), as the brief asks.
    trust = frame["trust_police"]
    assert trust.null_count() > 0 and (trust == "DK").any() and (trust == "99").any()


def test_survey_values_are_valid_and_regions_all_covered(decoded) -> None:
    assert decoded["interview_date"].null_count() == 0
    assert decoded["region_code"].null_count() == 0
    ages = decoded["age"].drop_nulls()
    assert ages.min() >= 16 and ages.max() <= 110
    assert 0 < (ages < 18).sum() < 0.02 * len(ages)  # a few 16-17 year olds
    assert decoded["weight"].min() > 0
    by_wave = decoded.group_by("source", "wave").agg(
        pl.col("weight").mean().alias("mean_weight"),
        pl.col("interview_date").min().alias("first"),
        pl.col("interview_date").max().alias("last"),
        pl.col("region_code").n_unique().alias("regions"),
    )
    for source, wave, mean_weight, first, last, n_regions in by_wave.iter_rows():
        start, end = wave_period(wave)
        assert start <= first and last <= end, (source, wave)
        assert abs(mean_weight - 1) < 0.01
        # waves ending before the 2022 reform are on the 17 old units, later ones on 20
        assert n_regions == (17 if end < REFORM_DATE else 20), (source, wave)
    cells = decoded.group_by("source", "wave", "region_code").len()
    assert cells.height == by_wave["regions"].sum()  # every unit of its vintage in every wave
    assert cells["len"].min() >= 30
    # Bigger regions get bigger samples.
    per_region = decoded.group_by("region_code").len()
    sizes = dict(per_region.iter_rows())
    assert sizes["KZ-75"] > 2 * sizes["KZ-62"]  # Almaty city vs Ulytau


def test_weights_correct_for_over_sampled_women_and_small_regions(decoded) -> None:
    women_raw = decoded["female"].mean()
    women_weighted = (decoded["female"] * decoded["weight"]).sum() / decoded["weight"].sum()
    assert women_weighted < women_raw
    small = decoded.filter(pl.col("region_code") == "KZ-62")["weight"].mean()
    large = decoded.filter(pl.col("region_code") == "KZ-75")["weight"].mean()
    assert small < large  # Ulytau is over-sampled by the minimum allocation


def test_cities_are_more_urban(decoded) -> None:
    urban = decoded.with_columns(
        urban=pl.col("settlement").is_in(["urban", "город"]),
        city=pl.col("region_code").is_in(["KZ-71", "KZ-75", "KZ-79"]),
    )
    shares = dict(urban.group_by("city").agg(pl.col("urban").mean()).iter_rows())
    assert shares[True] > 0.9 > shares[False]


def test_follow_up_questions_only_for_those_they_apply_to(decoded) -> None:
    not_submitted = decoded.filter(pl.col("submitted_proposal").fill_null(False).not_())
    assert not_submitted["received_response"].null_count() == not_submitted.height
    no_response = decoded.filter(pl.col("received_response").fill_null(False).not_())
    assert no_response["response_satisfaction"].null_count() == no_response.height
    submitted = decoded.filter(pl.col("submitted_proposal").fill_null(False))
    assert 0.55 <= submitted["received_response"].mean() <= 0.75
    rates = decoded.select(pl.col(YES_NO_COLUMNS).mean()).row(0, named=True)
    assert 0.10 <= rates["participated_consultation"] <= 0.25
    assert 0.08 <= rates["submitted_proposal"] <= 0.15
    assert 0.05 <= rates["ngo_involvement"] <= 0.12


def test_trust_levels_correlations_and_regional_differences(decoded) -> None:
    means = decoded.select(pl.col(TRUST_COLUMNS).mean()).row(0, named=True)
    assert 5.5 <= means["trust_government"] <= 6.5
    assert means["trust_courts"] < means["trust_government"]
    assert means["trust_police"] < means["trust_ngos"]
    both = decoded.drop_nulls(["trust_government", "trust_courts", "state_listens"])
    assert np.corrcoef(both["trust_government"], both["trust_courts"])[0, 1] > 0.3
    assert np.corrcoef(both["trust_government"], both["state_listens"])[0, 1] > 0.2
    by_region = dict(decoded.group_by("region_code").agg(pl.col("trust_ngos").mean()).iter_rows())
    highest = max(REGION_TRUST, key=REGION_TRUST.get)
    lowest = min(REGION_TRUST, key=REGION_TRUST.get)
    assert by_region[highest] - by_region[lowest] > 0.7 * (
        REGION_TRUST[highest] - REGION_TRUST[lowest]
    )


def test_built_in_shifts_are_there(decoded) -> None:
    gov = decoded.get_column("trust_government")
    late = gov.filter(decoded["year"] >= 2024).mean()
    early = gov.filter(decoded["year"] <= 2020).mean()
    assert late - early > 0.8 * GOVERNMENT_RISE

    for source, drop_wave in POLICE_DROP_WAVES.items():
        police = (
            decoded.filter(pl.col("source") == source)
            .group_by("wave")
            .agg(pl.col("trust_police").mean())
            .sort("wave")
        )
        position = police["wave"].to_list().index(drop_wave)
        neighbours = police["trust_police"].gather([position - 1, position + 1]).mean()
        assert neighbours - police["trust_police"][position] > 0.8 * POLICE_DROP

        mover = (
            decoded.filter((pl.col("source") == source) & (pl.col("region_code") == MOVER_REGION))
            .group_by("wave")
            .agg(pl.mean_horizontal(TRUST_COLUMNS).mean().alias("trust"))
            .sort("wave")["trust"]
        )
        assert mover[-2] - mover[-1] > 0.6 * abs(MOVER_SHIFT)


def test_ngo_rows_follow_the_contract_and_relate_to_trust() -> None:
    ngo = generate_ngo(2025)
    assert ngo.columns == [c.name for c in contract(UploadKind.NGO).columns]
    numbers = ngo.with_columns(
        pl.col("region").replace_strict(region_lookup()).alias("code"),
        pl.exclude("region", "period").cast(pl.Int64),
    )
    # 2019-2021 reported on the 17 pre-reform units, 2022-2025 on today's 20
    assert numbers.height == 17 * 3 + 20 * 4
    assert numbers.select("code", "period").n_unique() == numbers.height
    assert set(numbers["period"]) == {str(y) for y in range(2019, 2026)}
    assert (numbers["active_ngos"] <= numbers["registered_ngos"]).all()
    assert numbers.select(pl.exclude("region", "period", "code").min()).min_horizontal().item() >= 0
    population = dict(reference_regions().select("code", "population").iter_rows())
    latest = numbers.filter(pl.col("period") == "2025").with_columns(
        density=pl.col("registered_ngos")
        * 10_000
        / pl.col("code").replace_strict(population, return_dtype=pl.Float64),
        trust=pl.col("code").replace_strict(REGION_TRUST, return_dtype=pl.Float64),
    )
    assert latest["density"].min() >= 14 and latest["density"].max() <= 41
    assert np.corrcoef(latest["density"], latest["trust"])[0, 1] > 0.2
    growth = numbers.group_by("code").agg(
        (pl.col("registered_ngos").sort_by("period").diff() > 0).mean()
    )
    assert growth["registered_ngos"].min() >= 0.5  # mostly growing every year


def test_proposals_follow_the_contract_date_rules() -> None:
    raw = generate_proposals(2025, AS_OF)
    assert raw.columns == [c.name for c in contract(UploadKind.PROPOSALS).columns]
    assert 5_000 <= raw.height <= 15_000
    assert set(raw["source"]) == {"kurultai", "public_trust_council", "eotinish", "other"}
    assert raw.select("source", "proposal_id").n_unique() == raw.height
    statuses = {"received", "in_review", "answered", "accepted", "implemented", "rejected"}
    assert set(raw["status"]) == statuses
    assert raw["topic"].null_count() == 0 and raw["topic"].n_unique() == 10
    assert 0 < raw["region"].null_count() < 0.2 * raw.height  # some national proposals
    lookup = region_lookup()
    assert set(raw["region"].drop_nulls()) <= lookup.keys()

    dates = raw.with_columns(
        parse_date(c) for c in ("submitted_on", "answered_on", "implemented_on")
    )
    for column in ("submitted_on", "answered_on", "implemented_on"):
        assert dates[column].null_count() == raw[column].null_count(), column  # all parsed
        assert dates[column].drop_nulls().max() <= AS_OF
    assert dates["submitted_on"].min() >= dt.date(2019, 1, 1)
    answered = dates.filter(pl.col("answered_on").is_not_null())
    assert (answered["answered_on"] >= answered["submitted_on"]).all()
    implemented = dates.filter(pl.col("implemented_on").is_not_null())
    assert (implemented["implemented_on"] >= implemented["answered_on"]).all()
    needs_answer = dates["status"].is_in(["answered", "accepted", "implemented", "rejected"])
    assert (needs_answer == dates["answered_on"].is_not_null()).all()
    assert ((dates["status"] == "implemented") == dates["implemented_on"].is_not_null()).all()

    delay = (answered["answered_on"] - answered["submitted_on"]).dt.total_days()
    assert 18 <= delay.median() <= 27
    assert (delay > 90).sum() > 0.01 * len(delay)
    impl = (implemented["implemented_on"] - implemented["answered_on"]).dt.total_days()
    assert impl.median() > 60  # implementation months later
    recent = dates.filter(pl.col("submitted_on") > AS_OF - dt.timedelta(days=30))
    assert recent["status"].is_in(["received", "in_review"]).mean() > 0.3


def test_proposals_respect_an_earlier_as_of() -> None:
    as_of = dt.date(2023, 6, 30)
    dates = generate_proposals(7, as_of).with_columns(
        parse_date(c) for c in ("submitted_on", "answered_on", "implemented_on")
    )
    for column in ("submitted_on", "answered_on", "implemented_on"):
        assert dates[column].drop_nulls().max() <= as_of


def test_load_demo_refuses_a_database_that_holds_data(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        upload_id = conn.execute(
            insert(data.uploads).values(
                kind="ngo",
                file_name="real.csv",
                sha256="0" * 64,
                uploaded_by="staff",
                uploaded_at=dt.datetime.now(dt.UTC),
                status="loaded",
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(data.ngo_activity).values(
                upload_id=upload_id, region="KZ-75", period="2025", registered_ngos=10
            )
        )
    with pytest.raises(SenimError, match=r"empty database.*1 NGO rows"):
        load_demo(engine, folder=tmp_path / "demo")
    assert not (tmp_path / "demo").exists()  # refused before writing anything


def test_load_demo_loads_every_file_then_refuses(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a folder the files go to a temporary one, each deleted once loaded: at every
    # file loaded, no CSV is left on disk (one wave on disk at most, none between files).
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    left_on_disk: list[int] = []
    loaded: list[LoadedFile] = []

    def note(file: LoadedFile) -> None:
        loaded.append(file)
        left_on_disk.append(len(list(scratch.rglob("*.csv"))))

    summary = load_demo(engine, responses=6_000, seed=5, on_loaded=note)
    assert left_on_disk == [0] * 30 and list(scratch.iterdir()) == []
    assert [file.name for file in loaded] == summary["files"]
    assert sum(file.rows for file in loaded if file.kind == "survey") == 6_000
    assert len(summary["files"]) == 30
    assert len(summary["upload_ids"]) == 30
    proposals_rows = generate_proposals(5, AS_OF).height
    ngo_rows = 17 * 3 + 20 * 4  # 2019-2021 on the old units
    assert summary["rows_loaded"] == {"survey": 6_000, "ngo": ngo_rows, "proposals": proposals_rows}
    assert stored_counts(engine) == summary["rows_loaded"]
    with engine.connect() as conn:
        uploads = conn.execute(select(data.uploads.c.status, data.uploads.c.rows_rejected)).all()
        regions_used = conn.execute(
            select(func.count(func.distinct(data.responses.c.region)))
        ).scalar_one()
    assert {(status, rejected) for status, rejected in uploads} == {("loaded", 0)}
    assert regions_used == 20  # every spelling resolved
    with pytest.raises(SenimError, match="empty database"):
        load_demo(engine, responses=6_000, seed=5, folder=tmp_path / "again")


def test_survey_stream_yields_one_wave_at_a_time() -> None:
    stream = iter_survey(60_000, 2025)
    (source, wave), first = next(stream)  # the first wave comes before the rest is drawn
    assert first["source"].unique().to_list() == [source]
    assert first["wave"].unique().to_list() == [wave]
    rest = dict(stream)
    assert len(rest) == 27 and first.height + sum(f.height for f in rest.values()) == 60_000
    # One wave per frame, never more: the largest wave is 55% / 14 of the total, two waves
    # together at least 2 x 45% / 14.
    assert max(f.height for f in [first, *rest.values()]) < 60_000 / 20
    # The same seed streams the same waves as the all-at-once form.
    assert first.equals(generate_survey(60_000, 2025)[(source, wave)])


def test_demo_files_are_written_lazily(tmp_path: Path) -> None:
    files = iter_demo_files(tmp_path, responses=6_000, seed=3)
    first = next(files)
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # nothing else generated yet
    first.unlink()
    assert len(list(files)) == 29


STREAM_PEAK = """
import resource, sys, tempfile
from pathlib import Path
from queries.demo import iter_demo_files
with tempfile.TemporaryDirectory() as folder:
    for path in iter_demo_files(Path(folder), responses=int(sys.argv[1]), seed=1):
        path.unlink()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _stream_peak_mb(responses: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", STREAM_PEAK, str(responses)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_demo_writer_memory_does_not_grow_with_the_demo_size() -> None:
    # Holding 200k rows at once took ~110 MB more than 20k (measured with the previous
    # all-at-once generator); streaming holds one wave (~7k rows here), a few MB.
    small = _stream_peak_mb(20_000)
    large = _stream_peak_mb(200_000)
    assert large - small < 40, (small, large)
