"""HTTP routes that put the sign-in session into an HttpOnly cookie (Streamlit's websocket, where
the sign-in form runs, cannot set cookies). Mounted by ``dashboard/serve.py`` through ``st.App``.

- ``GET /senim/session?code=…&next=/path``: redeems the one-time handoff code made at sign-in
  (``queries.access.sessions``), sets ``senim_session`` (HttpOnly; Secure; SameSite=Strict;
  Path=/; Max-Age = what is left of the session) and sends the browser back to ``next`` (a path
  of this site only).
- ``GET /senim/signout?next=/path``: revokes the cookie's session server-side, deletes the
  cookie, back to ``next`` (the sign-in page in the user's language).

Every later page load and new tab opens a websocket that carries the cookie; ``dashboard.auth``
reads it from ``st.context.cookies`` and resumes the server-side session.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from queries import settings
from queries.access import sessions
from queries.db import engine_for

COOKIE = "senim_session"
SESSION_PATH = "/senim/session"
SIGNOUT_PATH = "/senim/signout"
mounted = False  # set when serve.py builds the app: only then can sign-in hand off to a cookie


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site; "/" otherwise (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _engine():
    return engine_for(settings.database_url())


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the code must not leak onwards
    return response


async def _session(request: Request) -> Response:
    code = request.query_params.get("code", "")
    target = safe_next(request.query_params.get("next"))
    redeemed = await run_in_threadpool(lambda: sessions.redeem_handoff(_engine(), code=code))
    response = _no_store(RedirectResponse(target, status_code=303))
    if redeemed is not None:
        token, max_age = redeemed
        response.set_cookie(
            COOKIE,
            token,
            max_age=max_age,
            path="/",
            secure=settings.cookie_secure(),
            httponly=True,
            samesite="strict",
        )
    return response


async def _signout(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token:
        with contextlib.suppress(Exception):  # signing out must work with the database down
            await run_in_threadpool(lambda: sessions.revoke(_engine(), token=token))
    target = safe_next(request.query_params.get("next"))
    response = _no_store(RedirectResponse(target, status_code=303))
    response.delete_cookie(
        COOKIE, path="/", secure=settings.cookie_secure(), httponly=True, samesite="strict"
    )
    return response


def routes() -> list[Route]:
    """The two routes, for ``st.App(routes=...)``; marks the cookie hand-off as available."""
    global mounted
    mounted = True
    return [
        Route(SESSION_PATH, _session, methods=["GET"]),
        Route(SIGNOUT_PATH, _signout, methods=["GET"]),
    ]
