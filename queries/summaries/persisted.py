"""The in-memory snapshot's frames (``queries.summaries.memory``) kept in the database per data
version (issue 11): a process starting up reads one row of compressed Arrow IPC (0.07 s at 1M
responses) instead of reading the store's cells into frames again (2.0 s at 1M, 1.4-3.7 s at
10M on SQLite with the file in the page cache, mostly SQLite formatting floats as text).

One row of ``summary_snapshots`` per data version: a header (the format, the stored variables
the frames hold, the institutions) and each frame as Arrow IPC (zstd). A row is used only when
its data version, format and variable names are today's; anything else, or a row that cannot
be decoded, is a miss and the caller builds the frames from the store. Whoever builds them
first writes the row (the app, ``summaries rebuild``), replacing the rows of older versions;
``summaries rebuild`` deletes them in its own transaction, since it may change the store
without changing the data version.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from queries.db import data_version, is_busy, without_waiting
from queries.errors import DatabaseUnavailable
from queries.schema.summaries import summary_snapshots

FORMAT = 1  # raise when what the frames hold or how they are laid out changes
FRAMES = ("strata", "cells", "totals", "population")
_LENGTH = struct.Struct("<Q")  # the header's length, before it


@dataclass(frozen=True)
class SnapshotFrames:
    """What a snapshot reads from the store, as one data version of it."""

    version: str
    names: tuple[str, ...]  # the stored variables ``cells`` holds
    institutions: tuple[str, ...]
    strata: pl.DataFrame
    cells: pl.DataFrame
    totals: pl.DataFrame
    population: pl.DataFrame


def encode(frames: SnapshotFrames) -> bytes:
    """The frames as one blob: header length, JSON header, each frame's Arrow IPC bytes."""
    parts = []
    for name in FRAMES:
        buffer = io.BytesIO()
        getattr(frames, name).write_ipc(buffer, compression="zstd")
        parts.append(buffer.getvalue())
    header = json.dumps({
        "format": FORMAT,
        "names": list(frames.names),
        "institutions": list(frames.institutions),
        "sizes": [len(p) for p in parts],
    }).encode()  # fmt: skip
    return b"".join([_LENGTH.pack(len(header)), header, *parts])


def decode(blob: bytes, *, version: str, names: tuple[str, ...]) -> SnapshotFrames | None:
    """The frames of ``blob`` when it holds ``names`` in today's format; None otherwise."""
    try:
        (length,) = _LENGTH.unpack_from(blob)
        header = json.loads(blob[_LENGTH.size : _LENGTH.size + length])
        if header["format"] != FORMAT or tuple(header["names"]) != names:
            return None
        frames, at = {}, _LENGTH.size + length
        for name, size in zip(FRAMES, header["sizes"], strict=True):
            frames[name] = pl.read_ipc(io.BytesIO(blob[at : at + size]))
            at += size
        if at != len(blob):
            return None
        institutions = tuple(header["institutions"])
    # a damaged or foreign blob is a miss, whatever broke in it: the caller builds the frames
    except (ValueError, KeyError, TypeError, struct.error, pl.exceptions.PolarsError, OSError):
        return None
    return SnapshotFrames(version, names, institutions, **frames)


def stored_frames(engine: Engine, *, version: str, names: tuple[str, ...]) -> SnapshotFrames | None:
    """The persisted frames of data ``version`` holding ``names``; None when there are none
    (or the table is missing: a database not yet upgraded)."""
    query = select(summary_snapshots.c.frames).where(
        summary_snapshots.c.version == version, summary_snapshots.c.format == FORMAT
    )
    try:
        with engine.connect() as conn:
            blob = conn.execute(query).scalar_one_or_none()
            _unpooled(conn)
    except (SQLAlchemyError, DatabaseUnavailable):
        return None  # the caller builds the frames (and meets a database that is down itself)
    return None if blob is None else decode(bytes(blob), version=version, names=names)


def store_frames(engine: Engine, frames: SnapshotFrames) -> bool:
    """Persist ``frames`` in place of every other version's, if their version is still the
    database's. Best effort (False when not written): another writer holding SQLite's lock,
    another process writing the same version at once, or a database not yet upgraded, are not
    errors: the next process to build the frames writes them."""
    blob = encode(frames)
    table = summary_snapshots
    try:
        with engine.connect() as conn:
            try:
                with without_waiting(conn), conn.begin():
                    if data_version(engine) != frames.version:
                        return False  # an upload landed meanwhile: these frames are already old
                    conn.execute(delete(table))
                    conn.execute(
                        insert(table).values(version=frames.version, format=FORMAT, frames=blob)
                    )
            finally:
                _unpooled(conn)
    except IntegrityError:
        return False  # another process stored this version first
    except OperationalError as exc:
        if is_busy(exc):
            return False  # SQLite: an upload (or another writer) holds the lock
        raise
    except DatabaseUnavailable:
        return False  # the frames were read: the page is served from them all the same
    return True


def _unpooled(conn: Connection) -> None:
    """Close ``conn`` rather than pool it, on PostgreSQL: libpq keeps its buffers as large as
    the largest message the connection carried (a snapshot, hex-encoded: ~20 MB at 10M
    responses) for the connection's life (bench: server RSS after every page 514 -> 496 MB)."""
    if conn.dialect.name == "postgresql":
        conn.invalidate()


def forget_frames(conn: Connection) -> None:
    """Delete every persisted snapshot (inside the caller's transaction): for a change of the
    store that leaves the data version as it is (``summaries rebuild``)."""
    conn.execute(delete(summary_snapshots))


__all__ = [
    "FORMAT",
    "SnapshotFrames",
    "decode",
    "encode",
    "forget_frames",
    "store_frames",
    "stored_frames",
]
