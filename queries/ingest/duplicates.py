"""Survey respondents of a file that an earlier upload already stored: found before the load
(the check) and again under the writer lock, reported as errors of their rows."""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Connection, select

from queries.ingest.messages import render
from queries.ingest.reading import ROW
from queries.ingest.validate import ERROR_SCHEMA, Validation, empty_errors
from queries.schema.data import responses, survey_waves


def existing_wave_ids(conn: Connection) -> pl.DataFrame:
    """The ``survey_waves`` ids already stored (read-only: safe inside a check)."""
    rows = conn.execute(select(survey_waves.c.id, survey_waves.c.source, survey_waves.c.wave))
    return pl.DataFrame(
        rows.all(),
        schema={"wave_id": pl.Int64, "source": pl.String, "wave": pl.String},
        orient="row",
    )


def stored_respondents(conn: Connection, ids: pl.DataFrame) -> pl.DataFrame:
    """Respondents of these waves already stored: wave_id, respondent_id, upload_id."""
    wave_list = ids.get_column("wave_id").unique().to_list()
    query = select(responses.c.wave_id, responses.c.respondent_id, responses.c.upload_id).where(
        responses.c.wave_id.in_(wave_list)
    )
    schema = {"wave_id": pl.Int64, "respondent_id": pl.String, "stored_by": pl.Int64}
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def database_duplicates(
    conn: Connection, validation: Validation
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Survey respondents already stored by an earlier upload: errors, and the rows to drop."""
    clean = validation.clean
    if validation.kind != "survey" or clean.is_empty():
        return empty_errors(), clean.clear()
    ids = existing_wave_ids(conn)
    keyed = clean.join(ids, on=["source", "wave"], how="inner")
    if keyed.is_empty():  # every wave of the file is new: nothing can clash
        return empty_errors(), keyed
    stored = stored_respondents(conn, keyed.select("wave_id"))  # only the file's waves
    clash = keyed.join(stored, on=["wave_id", "respondent_id"], how="inner")
    if clash.is_empty():
        return empty_errors(), clash
    rows = []
    for row in clash.head(10_000).iter_rows(named=True):
        params = {
            "value": row["respondent_id"],
            "upload_id": row["stored_by"],
            "key": f"{row['source']} / {row['wave']}",
            "column": "respondent_id",
        }
        rows.append(
            {
                "row": row[ROW],
                "column": "respondent_id",
                "value": row["respondent_id"],
                "message": render("duplicate_in_database", params),
                "code": "duplicate_in_database",
                "params": json.dumps(params),
            }
        )
    return pl.DataFrame(rows, schema=ERROR_SCHEMA), clash
