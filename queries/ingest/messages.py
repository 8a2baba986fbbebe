"""Validation messages: English templates by code (the dashboard translates the same codes in
dashboard/i18n/validation.toml; params fill the ``{placeholders}``), and the collector that turns
per-column problems into error rows ``row, column, value, message, code, params``."""

from __future__ import annotations

import json

import polars as pl

TEMPLATES: dict[str, str] = {
    "unreadable": "The file cannot be read: {reason}",
    "duplicate_column": "Column '{column}' is given twice (two file headers stand for it).",
    "missing_column": "Required column '{column}' is missing (columns found: {found}).",
    "no_trust_column": "The file has no trust_* column; a survey file needs at least one.",
    "no_rows": "The file has a header but no data rows.",
    "missing_value": "Required value is blank.",
    "unknown_region": "Unknown region '{value}'; did you mean {suggestion}?",
    "unknown_region_no_hint": "Unknown region '{value}'.",
    # region-reform (queries/reference/regions.py, reform.py)
    "ambiguous_region": "Region '{value}' fits several units: {candidates}; write which one.",
    "region_before_reform": (
        "{unit} did not exist before {reform_date}: this period is on the old boundaries, "
        "where it was part of {parent}."
    ),
    "bad_choice": "'{value}' is not one of: {allowed}.",
    "bad_integer": "'{value}' is not a whole number.",
    "bad_number": "'{value}' is not a number.",
    "out_of_range": "{value} is outside the allowed range {low}-{high}.",
    "not_positive": "{value} must be greater than 0.",
    "negative": "{value} must be 0 or more.",
    "bad_score": "'{value}' is not a 0-10 score or a missing code (blank, DK, NA, -1, 98, 99).",
    "bad_yes_no": "'{value}' is not yes/no (yes, no, 1, 0, да, нет, иә, жоқ).",
    "bad_date": "'{value}' is not a date (2025-10-08, 08.10.2025 or 08/10/2025).",
    "bad_wave": "'{value}' is not a wave label like 2025-Q3, 2025-10 or 2025.",
    "bad_period": "'{value}' is not a period like 2025 or 2025-Q3.",
    "conflict": "'{value}' differs from {column} '{given}' chosen for the whole file.",
    "duplicate_in_file": "Duplicate of data row {first} ({key}).",
    "duplicate_in_database": "Already stored by upload {upload_id} ({key}).",
    "received_without_proposal": "received_response is asked only when submitted_proposal = yes.",
    "active_over_registered": "active_ngos ({value}) is more than registered_ngos ({registered}).",
    "answered_on_required": "answered_on is required when status is '{status}'.",
    "implemented_on_required": "implemented_on is required when status is 'implemented'.",
    "date_before": "{column} ({value}) is before {other} ({other_value}).",
}
MAX_REPORTED_ERRORS = 10_000
MAX_VALUE_CHARS = 200  # a 1 MB cell quoted back in full would swamp the report
ERROR_SCHEMA = {
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "message": pl.String,
    "code": pl.String,
    "params": pl.String,
}


def render(code: str, params: dict) -> str:
    """The English message for an error code."""
    template = TEMPLATES.get(code, code)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template


def empty_errors() -> pl.DataFrame:
    """An error table with no rows (the shape every error table has)."""
    return pl.DataFrame(schema=ERROR_SCHEMA)


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class ErrorCollector:
    """Collects error rows column by column (vectorised masks); messages are rendered once at
    the end, for the first ``MAX_REPORTED_ERRORS`` rows only, while every problem is counted."""

    def __init__(self, rows: pl.Series) -> None:
        self.rows = rows
        self.parts: list[pl.DataFrame] = []
        self.file_level: list[dict] = []

    def file(self, code: str, column: str = "", value: str = "", **params: object) -> None:
        """A problem with the whole file (row 0)."""
        self.file_level.append(
            {"row": 0, "column": column, "value": value, "code": code, "params": params}
        )

    def add(
        self,
        mask: pl.Series,
        column: str,
        text: pl.Series,
        code: str,
        params: dict | pl.Series | None = None,
    ) -> None:
        """One error row per True in ``mask``; ``params`` is one dict or a JSON text per row."""
        mask = mask.fill_null(False)
        if not mask.any():
            return
        frame = pl.DataFrame(
            {"row": self.rows, "column": column, "value": text.cast(pl.String), "code": code}
        ).with_columns(
            params=params if isinstance(params, pl.Series) else pl.lit(json.dumps(params or {}))
        )
        self.parts.append(frame.filter(mask))

    def bad_rows(self) -> pl.Series:
        """The data rows with at least one problem."""
        if not self.parts:
            return pl.Series("row", [], dtype=pl.Int64)
        return pl.concat([p.get_column("row") for p in self.parts]).unique()

    def table(self) -> tuple[pl.DataFrame, int]:
        """The error rows (file-wide first, then by row) and the count of all problems."""
        rows = list(self.file_level)
        count = len(rows)
        if self.parts:
            frame = pl.concat(self.parts).sort("row", maintain_order=True)
            count += frame.height
            rows += frame.head(MAX_REPORTED_ERRORS).to_dicts()
        out = []
        for row in rows[:MAX_REPORTED_ERRORS]:
            params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"])
            value = _short(row["value"])
            params = {"value": value, "column": row["column"], **params}
            out.append(
                {
                    **row,
                    "value": value,
                    "message": render(row["code"], params),
                    "params": json.dumps(params, ensure_ascii=False, default=str),
                }
            )
        return pl.DataFrame(out, schema=ERROR_SCHEMA) if out else empty_errors(), count
