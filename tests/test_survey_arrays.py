"""Rows factorised by their keys (queries/survey/arrays.py): Python's dicts for small frames
and one polars pass for large ones group every row alike, leave the same rows out (a null among
the first ``nullable`` keys) and name the same first row of every group."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from queries.survey.arrays import _ranked, groups_of

ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
        st.sampled_from(["x", "y"]),
        st.integers(0, 3),
    ),
    max_size=60,
)


def _by_row(groups, n: int) -> list:
    """Each row's key (None: left out) and each key's first row, whatever the numbering."""
    keys = [None if c < 0 else groups.keys[c] for c in groups.code.tolist()]
    firsts = {groups.keys[g]: int(i) for g, i in enumerate(groups.first.tolist())}
    assert len(keys) == n
    return [keys, firsts]


@given(rows=ROWS, nullable=st.integers(0, 2))
@settings(max_examples=300, deadline=None)
def test_small_and_large_frames_group_alike(rows, nullable):
    frame = pl.DataFrame(rows, schema={"g": pl.String, "v": pl.String, "s": pl.Int64},
                         orient="row")  # fmt: skip
    small = groups_of(frame, ["g", "v", "s"], nullable=nullable)
    large = _ranked(frame, ["g", "v", "s"], nullable=nullable)
    assert _by_row(small, len(rows)) == _by_row(large, len(rows))
    # the small path numbers groups in order of first appearance
    assert small.first.tolist() == sorted(small.first.tolist())
