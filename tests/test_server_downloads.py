"""Issue 11 with issue 13's rules, against the running app through Streamlit's own protocol: a
table's file is made only when the browser asks for it (the ``deferred_file`` backend operation
naming the id its run was sent), for a session still signed in with the download role, and is
then served at the media URL the answer names; each file made is audited once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.conftest import small_demo_with_users
from tests.e2e.server import serve_app
from tests.streamlit_ws import StreamlitSession
from tests.test_hostile_downloads import downloads

pytestmark = pytest.mark.slow
USERS = {"viewer": ("viewer1", "viewer-password-1"), "analyst": ("analyst1", "analyst-pass-1")}


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[tuple[str, str]]:
    url = small_demo_with_users(tmp_path_factory.mktemp("downloads") / "senim.db", USERS)
    with serve_app(url, log_name="streamlit-downloads.log", env={"SENIM_REQUIRE_LOGIN": "1"}
                   ) as (served, _process):  # fmt: skip
        yield served, url


def _signed_in(base: str, role: str) -> StreamlitSession:
    session = StreamlitSession(base)
    result = session.sign_in(*USERS[role])
    assert not [e for e in result.of_kind("text_input") if e.label == "Password"], "sign-in failed"
    return session


def _ask(session: StreamlitSession, file_id: str):
    """The browser's click: the deferred-file request; the server's answer."""
    msg = BackMsg()
    request = msg.backend_operation_request
    request.request_id = uuid.uuid4().hex
    request.session_id = session.session_id
    request.deferred_file.file_id = file_id
    session.send(msg)
    while True:
        answer = session.receive()
        if answer.WhichOneof("type") == "backend_operation_response":
            assert answer.backend_operation_response.request_id == request.request_id
            return answer.backend_operation_response


def test_a_click_makes_the_file_and_audits_it(app):
    base, url = app
    before = downloads(url)
    with _signed_in(base, "analyst") as analyst:
        page = analyst.run(query_string="lang=en", page_name="regions")
        buttons = page.of_kind("download_button")
        assert len(buttons) >= 8  # the ranking and three cross tables, CSV and xlsx each
        assert all(b.proto.deferred_file_id and not b.proto.url for b in buttons)
        assert downloads(url) == before  # drawn, not made
        csv_button = next(b for b in buttons if b.proto.id.endswith("regions_csv"))  # its key
        answer = _ask(analyst, csv_button.proto.deferred_file_id)
        assert not answer.error_msg, answer.error_msg
        served = analyst.http.get(base + answer.deferred_file.url, timeout=30)
        assert served.status_code == 200
        assert "senim-regions.csv" in served.headers.get("Content-Disposition", "")
        assert served.content.decode("utf-8-sig").splitlines()[0].startswith("Name,")
    assert downloads(url) == [*before, ("analyst1", "senim-regions.csv")]


def test_viewers_are_sent_no_file_id(app):
    base, _url = app
    with _signed_in(base, "viewer") as viewer:
        page = viewer.run(query_string="lang=en", page_name="regions")
        assert page.of_kind("dataframe") and not page.of_kind("download_button")


def test_an_id_from_before_signing_out_makes_nothing(app):
    base, url = app
    with _signed_in(base, "analyst") as analyst:
        page = analyst.run(query_string="lang=en", page_name="regions")
        file_id = page.of_kind("download_button")[0].proto.deferred_file_id
        before = downloads(url)
        analyst.click(page.widget("button", "Sign out").widget_id)
        assert analyst.run(query_string="lang=en").widget("text_input", "Password")
        answer = _ask(analyst, file_id)
        assert answer.error_msg and not answer.deferred_file.url
    assert downloads(url) == before


def test_another_sessions_file_id_makes_nothing(app):
    """Streamlit's handler does not ask who sends a deferred-file request; the server guard
    does: an id issued to one session is refused to any other, whatever its role."""
    base, url = app
    with _signed_in(base, "analyst") as owner, _signed_in(base, "analyst") as other:
        page = owner.run(query_string="lang=en", page_name="regions")
        file_id = page.of_kind("download_button")[0].proto.deferred_file_id
        before = downloads(url)
        answer = _ask(other, file_id)
        assert answer.error_msg and not answer.deferred_file.url
        with _signed_in(base, "viewer") as viewer:
            answer = _ask(viewer, file_id)
            assert answer.error_msg and not answer.deferred_file.url
        assert downloads(url) == before  # nothing made, nothing audited
        answer = _ask(owner, file_id)  # the session it was issued to still gets it
        assert not answer.error_msg and answer.deferred_file.url
    assert len(downloads(url)) == len(before) + 1
