"""The two HTTP routes of the session cookie (dashboard/session_routes.py), called as ASGI
handlers: cookie flags, one use per code, no open redirect, sign-out revokes server-side."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from dashboard import session_routes
from queries.access import sessions
from queries.db import init_db, make_engine


@pytest.fixture
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'senim.db'}"
    monkeypatch.setenv("SENIM_DATABASE_URL", url)
    engine = make_engine(url)
    init_db(engine)
    yield engine
    engine.dispose()


def call(handler, path: str, params: dict, cookie: str = ""):
    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {
        "type": "http", "method": "GET", "path": path, "query_string": urlencode(params).encode(),
        "headers": headers, "scheme": "http", "server": ("127.0.0.1", 8501),
    }  # fmt: skip
    return asyncio.run(handler(Request(scope)))


def test_a_fresh_code_becomes_an_httponly_secure_strict_cookie_once(engine):
    _sid, code = sessions.open_session(engine, username="aliya", method="password")
    response = call(session_routes._session, "/senim/session", {"code": code, "next": "/ngo?x=1"})
    assert response.status_code == 303 and response.headers["location"] == "/ngo?x=1"
    cookie = response.headers["set-cookie"]
    token = cookie.split(";")[0].split("=", 1)[1]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes
    assert response.headers["cache-control"] == "no-store"
    assert sessions.resume(engine, token=token).username == "aliya"
    again = call(session_routes._session, "/senim/session", {"code": code})
    assert "set-cookie" not in again.headers


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_no_open_redirect(engine, target):
    response = call(session_routes._session, "/senim/session", {"code": "x", "next": target})
    assert response.headers["location"] == "/"


def test_sign_out_revokes_the_session_and_deletes_the_cookie(engine):
    _sid, code = sessions.open_session(engine, username="aliya", method="password")
    token, _ = sessions.redeem_handoff(engine, code=code)
    response = call(
        session_routes._signout, "/senim/signout", {"next": "/?lang=ru"}, f"senim_session={token}"
    )
    assert response.headers["location"] == "/?lang=ru"
    assert 'senim_session=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert sessions.resume(engine, token=token) is None
