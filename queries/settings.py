"""Deployment settings, read from the environment (one place, plain values)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
VAR_DIR = PROJECT_ROOT / "var"


def database_url() -> str:
    """The database to use: ``SENIM_DATABASE_URL``, else a SQLite file under ``var/``."""
    url = os.environ.get("SENIM_DATABASE_URL", "").strip()
    if url:
        return url
    VAR_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'senim.db'}"


def require_login() -> bool:
    """Whether viewing needs sign-in (``SENIM_REQUIRE_LOGIN``, default yes)."""
    return os.environ.get("SENIM_REQUIRE_LOGIN", "1").strip().lower() not in {"0", "no", "false"}


def max_upload_mb() -> int:
    """Largest upload accepted, in megabytes (``SENIM_MAX_UPLOAD_MB``, default 200)."""
    try:
        return max(1, int(os.environ.get("SENIM_MAX_UPLOAD_MB", "200")))
    except ValueError:
        return 200


def session_minutes() -> int:
    """How long a signed-in session lasts without activity (``SENIM_SESSION_MINUTES``)."""
    try:
        return max(1, int(os.environ.get("SENIM_SESSION_MINUTES", "480")))
    except ValueError:
        return 480
