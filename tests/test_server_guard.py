"""Issue 13, findings 2 and 3, against the running app through Streamlit's own protocol:
uploads and "clear cache" are refused for sessions without a signed-in user of the right role,
and ``server.maxUploadSize`` follows ``SENIM_MAX_UPLOAD_MB``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import small_demo_with_users
from tests.e2e.server import serve_app
from tests.streamlit_ws import StreamlitSession

pytestmark = pytest.mark.slow
USERS = {
    "viewer": ("viewer1", "viewer-password-1"),
    "staff": ("staff1", "staff-password-1"),
    "admin": ("admin1", "admin-password-1"),
}
LIMIT_MB = 3
MB = 1_000_000


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    url = small_demo_with_users(tmp_path_factory.mktemp("guard") / "senim.db", USERS)
    env = {"SENIM_REQUIRE_LOGIN": "1", "SENIM_MAX_UPLOAD_MB": str(LIMIT_MB)}
    with serve_app(url, log_name="streamlit-guard.log", env=env) as (served, _process):
        yield served


def _signed_in(app_url: str, role: str) -> StreamlitSession:
    session = StreamlitSession(app_url)
    result = session.sign_in(*USERS[role])
    assert not [e for e in result.of_kind("text_input") if e.label == "Password"], "sign-in failed"
    return session


def _csv(size: int) -> bytes:
    line = b"respondent_id,region,trust_akimat\n"
    return (line * (size // len(line) + 1))[:size]


def test_signed_out_session_cannot_upload(app_url):
    with StreamlitSession(app_url) as session:
        session.run(query_string="lang=en")  # the sign-in page
        assert session.session_id
        status, _ = session.upload("big.csv", _csv(2 * MB))
        assert status != 204


def test_viewer_cannot_upload_but_staff_can_up_to_the_setting(app_url):
    with _signed_in(app_url, "viewer") as viewer:
        assert viewer.upload("v.csv", _csv(2 * MB))[0] != 204
    with _signed_in(app_url, "staff") as staff:
        # 2 MB: above the 1 MB start-up floor of config.toml, within SENIM_MAX_UPLOAD_MB.
        assert staff.upload("ok.csv", _csv(2 * MB))[0] == 204
        assert staff.upload("big.csv", _csv(LIMIT_MB * MB + 200_000))[0] in (413, 0)


def test_uploader_widget_announces_the_setting(app_url):
    with _signed_in(app_url, "staff") as staff:
        page = staff.run(query_string="lang=en", page_name="upload")
        (uploader,) = page.of_kind("file_uploader")
        assert uploader.proto.max_upload_size_mb * 1_048_576 >= LIMIT_MB * MB
        assert uploader.proto.max_upload_size_mb * 1_048_576 < (LIMIT_MB + 1) * MB


def _cache_misses(app_url: str) -> int:
    text = requests.get(f"{app_url}/_stcore/metrics", timeout=30).text
    lines = [ln for ln in text.splitlines() if ln.startswith("cache_lookups") and "miss" in ln]
    assert lines, "no cache lookup metrics"
    return sum(int(float(re.split(r"\s+", ln)[-1])) for ln in lines)


@pytest.mark.parametrize("sender", [None, "viewer", "staff"])
def test_clear_cache_refused_below_admin(app_url, sender):
    reader = _signed_in(app_url, "viewer")
    attacker = StreamlitSession(app_url) if sender is None else _signed_in(app_url, sender)
    with reader, attacker:
        attacker.run(query_string="lang=en")
        reader.run(query_string="lang=en")  # warm: every cached value of the Overview is in
        before = _cache_misses(app_url)
        attacker.clear_cache()
        attacker.run(query_string="lang=en")  # handled in order: the clear came first
        reader.run(query_string="lang=en")
        assert _cache_misses(app_url) == before


def test_admin_may_clear_the_caches(app_url):
    """The observable works: an admin's clear makes the next run recompute."""
    with _signed_in(app_url, "viewer") as reader, _signed_in(app_url, "admin") as admin:
        reader.run(query_string="lang=en")
        before = _cache_misses(app_url)
        admin.clear_cache()
        admin.run(query_string="lang=en")  # handled in order: the clear came first
        reader.run(query_string="lang=en")
        assert _cache_misses(app_url) > before


def test_built_in_table_download_is_off(app_url):
    with StreamlitSession(app_url) as session:
        session.run(query_string="lang=en")
        assert session.config is not None and session.config.disable_data_export


def test_signing_out_ends_the_upload_right(app_url):
    with _signed_in(app_url, "staff") as staff:
        assert staff.upload("ok.csv", _csv(100_000))[0] == 204
        page = staff.run(query_string="lang=en")
        staff.click(page.widget("button", "Sign out").widget_id)
        signed_out = staff.run(query_string="lang=en")
        assert signed_out.widget("text_input", "Password")  # back on the sign-in page
        assert staff.upload("late.csv", _csv(100_000))[0] != 204


def test_staff_upload_reaches_the_page_through_the_protocol(app_url):
    """The whole path a browser takes: PUT the file, point the uploader at it, rerun."""
    from tests.uploads_helpers import survey_csv, survey_rows

    content = survey_csv(survey_rows(7, start=900_000))
    with _signed_in(app_url, "staff") as staff:
        page = staff.run(query_string="lang=en", page_name="upload")
        (uploader,) = page.of_kind("file_uploader")
        status, file_id = staff.upload("wave.csv", content)
        assert status == 204
        staff.set_file(uploader.widget_id, file_id=file_id, name="wave.csv", size=len(content))
        checked = staff.run(query_string="lang=en", page_name="upload")
    assert any("7 rows" in text and "no problems" in text.lower() for text in checked.texts())
