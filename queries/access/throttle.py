"""Sign-in throttling: progressive delays per name+address, per name, per address and for
everyone, kept in the database (so they hold across sessions and app processes).

Why not a lock: a hard lock after N failures lets anyone lock the owner out, and answering
"locked" only for real names tells which names exist. Here every counter is keyed on the *typed*
name, whether or not an account has it, so an unknown name gets exactly the same answers and
delays as a real one; and the strictest counter is per name **and** client address, so someone
guessing from elsewhere barely delays the owner. A delay is a wait, not a lock: once it has
passed, the right password works and clears the name's counters. Attempts refused during a
delay are not counted (hammering does not extend it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Connection, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from queries.access.common import aware as _aware
from queries.schema.access import signin_throttle

WINDOW = dt.timedelta(hours=1)  # a counter whose last failure is older starts again at zero


@dataclass(frozen=True)
class Limit:
    """After ``free`` failures in a row, a wait of ``base`` seconds, doubling with every further
    failure, at most ``cap``."""

    free: int
    base: int
    cap: int

    def delay(self, failures: int) -> int:
        over = failures - self.free
        if over < 0:
            return 0
        return min(self.cap, self.base * 2 ** min(over, 30))


# pair: one name from one address (the ordinary guessing case); name: one name from anywhere
# (distributed guessing, kept short so strangers cannot shut the owner out for long); address:
# one address trying many names; all: the whole install (a botnet spraying passwords).
LIMITS = {
    "pair": Limit(free=5, base=30, cap=900),
    "name": Limit(free=20, base=10, cap=300),
    "address": Limit(free=30, base=10, cap=900),
    "all": Limit(free=300, base=1, cap=60),
}


def normal_name(name: str) -> str:
    """The counter key of a typed name: trimmed, cut to 64 characters, case-folded."""
    return name.strip()[:64].casefold()


def _keys(name: str, address: str) -> dict[str, str]:
    name, address = normal_name(name), (address or "unknown")[:200]
    return {
        "pair": f"p:{name}|{address}",
        "name": f"n:{name}",
        "address": f"a:{address}",
        "all": "all",
    }


def wait_seconds(conn: Connection, *, name: str, address: str, now: dt.datetime) -> int:
    """Seconds before this name may be tried again from this address (0: now)."""
    keys = list(_keys(name, address).values())
    rows = conn.execute(
        select(signin_throttle.c.blocked_until).where(signin_throttle.c.key.in_(keys))
    ).scalars()
    waits = [(_aware(until) - now).total_seconds() for until in rows if until is not None]
    return max([0, *(math.ceil(w) for w in waits if w > 0)])


def _locked_row(conn: Connection, key: str, now: dt.datetime):
    """The counter row of ``key`` (created empty if missing), locked for the transaction."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(signin_throttle)
        .values(key=key, failures=0, last_failure_at=now, blocked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return conn.execute(
        select(signin_throttle).where(signin_throttle.c.key == key).with_for_update()
    ).one()


def hold(conn: Connection, *, name: str, address: str, now: dt.datetime) -> None:
    """Lock this name+address's counter for the caller's write transaction, so that attempts
    sent at the same moment are judged one after another (each sees the previous one's count)."""
    _locked_row(conn, _keys(name, address)["pair"], now)


def record_failure(conn: Connection, *, name: str, address: str, now: dt.datetime) -> int:
    """Count one failed attempt on every key; the longest delay it starts, in seconds."""
    longest = 0
    for scope, key in _keys(name, address).items():
        row = _locked_row(conn, key, now)
        stale = _aware(row.last_failure_at) < now - WINDOW
        failures = (0 if stale else row.failures) + 1
        delay = LIMITS[scope].delay(failures)
        longest = max(longest, delay)
        conn.execute(
            update(signin_throttle)
            .where(signin_throttle.c.key == key)
            .values(
                failures=failures,
                last_failure_at=now,
                blocked_until=now + dt.timedelta(seconds=delay) if delay else None,
            )
        )
    return longest


def record_success(conn: Connection, *, name: str, address: str) -> None:
    """The right password: the name's own counters start again (address and global stay)."""
    keys = _keys(name, address)
    conn.execute(
        delete(signin_throttle).where(signin_throttle.c.key.in_((keys["pair"], keys["name"])))
    )


def forget_name(conn: Connection, *, name: str) -> None:
    """An administrator re-enabled the account: drop every counter of this name."""
    name = normal_name(name)
    conn.execute(
        delete(signin_throttle).where(
            or_(
                signin_throttle.c.key == f"n:{name}",
                signin_throttle.c.key.startswith(f"p:{name}|", autoescape=True),
            )
        )
    )
