"""The Upload page through AppTest on a real SQLite file: files go in through st.file_uploader,
the database is read back to see what was (or was not) stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.runtime.memory_media_file_storage import MemoryFile, MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest, app_test

from dashboard.i18n import catalogue, translate
from dashboard.views.upload import STAGE_KEYS
from queries.contract import template_csv
from queries.db import make_engine
from queries.schema.data import responses, uploads
from queries.vocab import Stage
from tests.apptest_helpers import use_database, view
from tests.uploads_helpers import SURVEY_HEADER, survey_csv, survey_rows

TIMEOUT = 60
STAFF = {"username": "staff1", "role": "staff"}


@pytest.fixture
def db_file(sqlite_db_url, monkeypatch) -> str:
    """A fresh, initialised SQLite database of this test's own, the app pointed at it."""
    use_database(monkeypatch, sqlite_db_url, require_login=True)
    return sqlite_db_url


class RecordingStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media store, remembered so a test can read what a download serves."""

    latest: MemoryMediaFileStorage | None = None

    def __init__(self, media_endpoint: str) -> None:
        super().__init__(media_endpoint)
        RecordingStorage.latest = self


@pytest.fixture(autouse=True)
def served(monkeypatch):
    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", RecordingStorage)


def downloaded(at: AppTest, key: str) -> MemoryFile:
    """The file a download button serves (name and bytes), from the last run's media store."""
    url = at.download_button(key=key).proto.url
    return RecordingStorage.latest.get_file(url.rsplit("/", 1)[1])


def page(name: str = "upload", user: dict | None = STAFF, lang: str = "en") -> AppTest:
    return view(name, lang, user, timeout=TIMEOUT)


def count(url: str, table=responses) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="upload_file_survey").set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_a_viewer_sees_not_allowed_and_no_uploader(db_file):
    at = page(user={"username": "leader", "role": "viewer"})
    assert not at.exception
    assert at.error[0].value == translate("auth.not_allowed", "en")
    assert len(at.file_uploader) == 0 and len(at.download_button) == 0


def test_signed_out_sees_not_allowed(db_file):
    at = page(user=None)
    assert at.error[0].value == translate("auth.not_allowed", "en")
    assert len(at.file_uploader) == 0


@pytest.mark.parametrize("kind", ["survey", "ngo", "proposals"])
def test_the_template_of_each_kind_is_offered(db_file, kind):
    # In Kazakh: AppTest formats option labels outside the script run, where t() falls back
    # to the default language, so the labels only match in kk.
    at = page(lang="kk")
    if kind != "survey":
        at.segmented_control(key="upload_kind").set_value(kind).run()
    assert at.segmented_control(key="upload_kind").value == kind
    button = at.download_button(key="upload_template")
    assert button.label == translate("upload.template", "kk")
    served = downloaded(at, "upload_template")
    assert served.filename == f"senim-{kind}-template.csv"
    assert served.content == template_csv(kind)
    # the uploader follows the kind (its key carries it), so a survey file is not kept for NGO
    assert len(at.file_uploader) == 1 and at.file_uploader[0].key == f"upload_file_{kind}"


def test_a_valid_survey_file_loads_and_the_count_grows(db_file):
    at = page()
    upload(at, "wave.csv", survey_csv(survey_rows(25)))
    assert at.success[0].value == translate("upload.valid", "en", rows=25)
    assert at.dataframe[0].value.shape[0] == 10  # the preview: first rows only
    assert count(db_file) == 0  # checking stores nothing
    at.button(key="upload_load").click().run()
    assert not at.exception
    assert translate("upload.done_loaded", "en", id=1, loaded="25") in texts(at.success)
    assert count(db_file) == 25
    # the same page again: it says what happened, it does not offer to load the file twice
    at.run()
    assert translate("upload.done_loaded", "en", id=1, loaded="25") in texts(at.success)
    assert not [b for b in at.button if b.key == "upload_load"]


def test_a_bad_file_shows_row_and_column_and_loads_nothing(db_file):
    at = page()
    rows = survey_rows(3)
    rows[1] = rows[1].replace("Алматы", "Mars")
    upload(at, "bad.csv", survey_csv(rows))
    assert at.error[0].value == translate("upload.problems", "en", count=1, rows=1)
    errors = at.dataframe[-1].value
    first = errors.iloc[0]
    assert (first["Row"], first["Column"], first["Value"]) == (2, "region", "Mars")
    assert "Mars" in first["What is wrong"]
    assert at.button(key="upload_load").disabled
    report = downloaded(at, "upload_errors_csv")
    assert report.content.decode("utf-8").splitlines()[1].startswith("2,region,Mars,")
    assert count(db_file) == 0 and count(db_file, uploads) == 0


def test_problems_are_shown_in_the_session_language(db_file):
    at = page(lang="ru")
    upload(at, "bad.csv", survey_csv([survey_rows(1)[0].replace("Алматы", "Mars")]))
    errors = at.dataframe[-1].value
    message = errors.iloc[0][translate("upload.col_message", "ru")]
    assert message.startswith("Неизвестный регион «Mars»")


def test_keep_valid_loads_the_good_rows_and_offers_the_rejected_ones(db_file):
    at = page()
    rows = survey_rows(4)
    rows[2] = rows[2].replace(",1.5,", ",-3,")  # weight must be > 0
    upload(at, "mixed.csv", survey_csv(rows))
    assert at.button(key="upload_load").disabled
    at.button(key="upload_load_valid").click().run()
    assert not at.exception
    done = translate("upload.done_partial", "en", id=1, loaded="3", rejected="1")
    assert done in texts(at.success)
    assert count(db_file) == 3
    rejected = downloaded(at, "upload_rejected").content.decode("utf-8").splitlines()
    assert len(rejected) == 2 and rejected[1].startswith("3,weight")
    assert ",R00003," in rejected[1]


def test_a_file_wide_problem_cannot_be_loaded_even_partly(db_file):
    at = page()
    header = SURVEY_HEADER.replace("respondent_id,", "")
    rows = [r.split(",", 1)[1] for r in survey_rows(3)]
    upload(at, "no-ids.csv", survey_csv(rows, header=header))
    errors = at.dataframe[-1].value
    assert errors.iloc[0]["Row"] == 0 and errors.iloc[0]["Column"] == "respondent_id"
    assert at.button(key="upload_load").disabled
    assert at.button(key="upload_load_valid").disabled


def test_an_unknown_header_is_mapped_to_a_contract_column(db_file):
    at = page(lang="kk")  # kk: see the template test on AppTest's option labels
    header = SURVEY_HEADER.replace("respondent_id", "Анкета №")
    upload(at, "renamed.csv", survey_csv(survey_rows(5), header=header))
    assert at.button(key="upload_load").disabled  # respondent_id is missing until mapped
    mapping = [s for s in at.selectbox if s.key.startswith("map_survey_")]
    assert [s.label for s in mapping] == ["анкета №"]
    mapping[0].set_value("respondent_id").run()
    assert not at.exception
    assert at.success[0].value == translate("upload.valid", "kk", rows=5)
    at.button(key="upload_load").click().run()
    assert count(db_file) == 5


def test_source_and_wave_for_the_whole_file_come_from_the_page(db_file):
    at = page(lang="kk")  # kk: see the template test on AppTest's option labels
    header = "respondent_id,region,trust_government"
    content = survey_csv([f"Z{i},Алматы,{i % 11}" for i in range(6)], header=header)
    upload(at, "bare.csv", content)
    assert at.button(key="upload_load").disabled  # no source / wave yet
    at.selectbox(key="upload_source").set_value("kurultai")
    at.text_input(key="upload_wave").input("2026-02").run()
    assert at.success[0].value == translate("upload.valid", "kk", rows=6)
    at.button(key="upload_load").click().run()
    engine = make_engine(db_file)
    with engine.connect() as conn:
        row = conn.execute(select(uploads.c.source, uploads.c.wave)).one()
    engine.dispose()
    assert tuple(row) == ("kurultai", "2026-02") and count(db_file) == 6


def test_a_file_over_the_size_limit_is_refused_before_reading(db_file, monkeypatch):
    monkeypatch.setenv("SENIM_MAX_UPLOAD_MB", "1")
    at = page()
    rows = survey_rows(15_000)
    content = survey_csv(rows)
    assert len(content) > 1_000_000
    upload(at, "huge.csv", content)
    size = f"{len(content) / 1_000_000:,.1f}"
    assert at.error[0].value == translate(
        "upload.too_large", "en", name="huge.csv", size=size, mb=1
    )
    assert len(at.dataframe) == 0 and count(db_file, uploads) == 0


def test_a_file_that_is_not_a_table_gets_a_message_not_a_traceback(db_file):
    at = page()
    upload(at, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    message = at.error[0].value
    assert message.startswith(translate("upload.unreadable", "en", reason="photo.csv"))
    assert "PNG" in message and len(at.dataframe) == 0
    assert not [b for b in at.button if b.key == "upload_load"]
    assert count(db_file, uploads) == 0


def test_every_progress_stage_has_a_label_in_three_languages():
    assert set(STAGE_KEYS) == set(Stage)  # a stage the pipeline reports without a label shows
    for key in STAGE_KEYS.values():
        assert set(catalogue()[key]) == {"kk", "ru", "en"}


def test_an_ngo_file_loads_and_a_corrected_one_updates_its_rows(db_file):
    from queries.schema.data import ngo_activity

    at = page(lang="kk")  # kk: see the template test on AppTest's option labels
    at.segmented_control(key="upload_kind").set_value("ngo").run()
    header = "region;period;registered_ngos;active_ngos"
    first = f"{header}\nKZ-75;2025;4100;2600\nKZ-71;2025;3000;1900\n".encode()
    at.file_uploader(key="upload_file_ngo").set_value(("ngo.csv", first, "text/csv")).run()
    assert at.success[0].value == translate("upload.valid", "kk", rows=2)
    at.button(key="upload_load").click().run()
    assert count(db_file, ngo_activity) == 2
    corrected = first.replace(b"3000;1900", b"3050;1950")
    at.file_uploader(key="upload_file_ngo").set_value(("ngo-v2.csv", corrected, "text/csv"))
    at.run()
    at.button(key="upload_load").click().run()
    assert not at.exception
    assert translate("upload.new_updated", "kk", new="0", updated="1") in texts(at.caption)
    assert count(db_file, ngo_activity) == 2


def test_the_same_file_again_is_refused_as_already_stored(db_file):
    at = page()
    content = survey_csv(survey_rows(3))
    upload(at, "wave.csv", content)
    at.button(key="upload_load").click().run()
    assert count(db_file) == 3
    at.file_uploader(key="upload_file_survey").set_value(None).run()  # the staff removes it
    assert len(at.dataframe) == 0
    upload(at, "wave-again.csv", content)
    errors = at.dataframe[-1].value
    assert errors["What is wrong"].str.startswith("Already stored by upload 1").all()
    assert errors["Row"].tolist() == [1, 2, 3]
    assert at.button(key="upload_load").disabled and count(db_file) == 3


def test_a_message_without_a_translation_stays_in_english():
    from dashboard.components.upload_report import translated_message

    assert translated_message("no_such_code", "{}", "Plain English.") == "Plain English."
    assert translated_message("unknown_region", "not json", "Unknown region 'X'.") == (
        "Unknown region 'X'."
    )
    assert translated_message("unknown_region_no_hint", '{"value": "X"}', "en") == translate(
        "validation.unknown_region_no_hint", "kk", value="X"
    )  # outside a run the language is the default, kk
