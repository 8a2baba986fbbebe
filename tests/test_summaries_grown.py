"""An upload adding respondents to a wave that already has rows (issue 11, ingest at speed): the
upload's rows come from its validated frame and only the earlier rows are read back, yet the
stored summaries are those a rebuild makes from all the rows (to the last bits, which polars'
threaded sums do not fix). SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from queries.ingest.pipeline import ingest_bytes
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries.rebuild import check
from tests.uploads_helpers import survey_csv

FIRST = "respondent_id,source,wave,region,sex,age,weight,trust_government,trust_police"
# the later file rates one more institution and has a column nobody answered
LATER = FIRST + ",trust_courts,trust_media"
WAVE = "2025-Q2"


def rows(start: int, n: int, *, later: bool) -> list[str]:
    out = []
    for i in range(start, start + n):
        sex = ("female", "male", "")[i % 3]
        line = (
            f"G{i:05d},public_trust_council,{WAVE},{('Алматы', 'Астана')[i % 2]},{sex},"
            f"{18 + (i * 7) % 60},{0.3 + (i * 37 % 101) / 13},{i % 11},{'' if i % 4 else i % 7}"
        )
        out.append(line + (f",{(i * 5) % 11}," if later else ""))
    return out


def stored(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(
                (tuple(r) for r in conn.execute(select(t)).all()),
                key=lambda r: tuple((v is None, str(v)) for v in r),
            )
            for t in (summary_strata, summary_cells, summary_variables)
        }


def test_an_upload_growing_a_stored_wave_stores_what_a_rebuild_makes(engine):
    first = ingest_bytes(engine, "survey", survey_csv(rows(1, 120, later=False), FIRST), "a.csv")
    later = ingest_bytes(engine, "survey", survey_csv(rows(500, 90, later=True), LATER), "b.csv")
    assert (first.status, later.status) == ("loaded", "loaded")
    after_upload = stored(engine)
    variables = {r[2] for r in after_upload["summary_variables"]}
    assert "institution:courts" in variables and "institution:media" not in variables
    counts = pl.DataFrame(after_upload["summary_strata"], orient="row").get_column("column_4")
    assert counts.sum() == 120 + 90
    with engine.connect() as conn:
        assert check(conn) == []  # every cell and stratum recomputed from all the stored rows
