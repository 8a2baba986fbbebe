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


# --- upload limits (access hardening, issue 13) ---
def _positive_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


def max_upload_rows() -> int:
    """Most data rows an upload may have (``SENIM_MAX_UPLOAD_ROWS``, default 2,000,000);
    counted on the raw bytes before any row is parsed."""
    return _positive_int("SENIM_MAX_UPLOAD_ROWS", 2_000_000)


def page_runs() -> int:
    """Page runs computing at once in one app process (``SENIM_PAGE_RUNS``, default 2); the
    others wait their turn. Each session's run is a thread of its own and they share one
    interpreter lock: 50 sessions' runs at once cost ~120 ms of CPU each on two cores, two at a
    time ~80-90 ms (issue 11, bench/bench_ws_load.py)."""
    return _positive_int("SENIM_PAGE_RUNS", 2)


def max_checks() -> int:
    """Upload checks or loads running at once in one app process (``SENIM_MAX_CHECKS``,
    default 2); each user may run one at a time."""
    return _positive_int("SENIM_MAX_CHECKS", 2)


# --- end upload limits ---


# --- access settings (issue 13: sign-in, sessions, identity provider) ---
def idle_minutes() -> int:
    """A session ends after this long without activity (``SENIM_IDLE_MINUTES``, default 60);
    ``session_minutes()`` is the absolute cap counted from sign-in."""
    return _positive_int("SENIM_IDLE_MINUTES", 60)


def one_time_password_hours() -> int:
    """How long a one-time password set by an admin stays usable (``SENIM_OTP_HOURS``, 24)."""
    return _positive_int("SENIM_OTP_HOURS", 24)


def oidc_issuers() -> tuple[str, ...]:
    """Identity-provider issuers whose verified e-mails may sign in (``SENIM_OIDC_ISSUERS``,
    comma-separated, exact ``iss`` values); empty: no provider sign-in is accepted."""
    raw = os.environ.get("SENIM_OIDC_ISSUERS", "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def cookie_secure() -> bool:
    """Whether the session cookie carries ``Secure`` (``SENIM_COOKIE_SECURE``, default yes;
    browsers treat http://localhost and 127.0.0.1 as secure, so local runs keep working)."""
    return os.environ.get("SENIM_COOKIE_SECURE", "1").strip().lower() not in {"0", "no", "false"}


def trust_forwarded_for() -> bool:
    """Whether the client address for sign-in throttling is the last ``X-Forwarded-For`` hop
    (``SENIM_TRUST_FORWARDED_FOR``, default no: only behind a proxy that sets it)."""
    return os.environ.get("SENIM_TRUST_FORWARDED_FOR", "0").strip().lower() in {"1", "yes", "true"}


# --- end access settings ---
