"""English templates of validation messages, by code. The dashboard translates the same codes
(dashboard/i18n/validation.toml); params fill the ``{placeholders}``."""

from __future__ import annotations

TEMPLATES: dict[str, str] = {
    "missing_column": "Required column '{column}' is missing (columns found: {found}).",
    "no_trust_column": "The file has no trust_* column; a survey file needs at least one.",
    "no_rows": "The file has a header but no data rows.",
    "missing_value": "Required value is blank.",
    "unknown_region": "Unknown region '{value}'; did you mean {suggestion}?",
    "unknown_region_no_hint": "Unknown region '{value}'.",
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


def render(code: str, params: dict) -> str:
    """The English message for an error code."""
    template = TEMPLATES.get(code, code)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
