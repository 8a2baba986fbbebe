"""Bounded keeping of what filter changes make (issue 11): the oldest entry goes when a dict is
full, never the whole dict at once. Clearing a full store made every session miss together a
few seconds later (a burst the load's p95 showed)."""

from __future__ import annotations


def make_room(kept: dict, limit: int) -> None:
    """Drop ``kept``'s oldest entries (insertion order) until one more fits under ``limit``.
    Safe when another thread changes ``kept`` meanwhile (an entry gone already is skipped)."""
    while len(kept) >= limit:
        try:
            kept.pop(next(iter(kept)), None)
        except (StopIteration, RuntimeError):  # emptied, or changed while looked at
            return
