"""Sign-in page (only page when nobody is signed in)."""

from __future__ import annotations

from dashboard import auth


def render() -> None:
    auth.login_view()
