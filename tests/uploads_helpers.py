"""Small contract files built in tests, so each test shows the exact rows it loads."""

from __future__ import annotations

SURVEY_HEADER = (
    "respondent_id,source,wave,region,sex,age,weight,trust_government,trust_police,"
    "submitted_proposal,received_response"
)


def survey_csv(rows: list[str], header: str = SURVEY_HEADER) -> bytes:
    """A UTF-8 survey file from data rows (each a comma-joined string)."""
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def survey_rows(
    n: int, *, wave: str = "2025-Q3", start: int = 1, region: str = "Алматы"
) -> list[str]:
    """``n`` valid survey rows with distinct respondent ids."""
    return [
        f"R{i:05d},public_trust_council,{wave},{region},female,{20 + i % 50},1.5,{i % 11},"
        f"{(i * 3) % 11},yes,no"
        for i in range(start, start + n)
    ]


NGO_HEADER = "region,period,registered_ngos,active_ngos,grants_count,grants_kzt"
PROPOSALS_HEADER = "proposal_id,source,region,topic,submitted_on,status,answered_on,implemented_on"


def csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")
