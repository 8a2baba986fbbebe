"""The data contract (docs/data-contract.md) as data: the columns of each upload kind, their
types, which are required, the header synonyms staff use, and the CSV templates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from queries.ingest.values import SURVEY_SOURCE
from queries.schema import PROPOSAL_SOURCES, PROPOSAL_STATUSES, UPLOAD_KINDS

TRUST_INSTITUTIONS = ("government", "parliament", "akimat", "courts", "police", "ngos", "media")
TRUST_PREFIX = "trust_"
TRUST_ITEM = re.compile(r"trust_[a-z][a-z0-9_]{0,39}")
SEPARATORS = re.compile(r"[\s\-_.]+")


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column: its canonical name, whether it is required, its type and meaning."""

    name: str
    required: bool
    type: str
    description: str
    example: str = ""
    synonyms: tuple[str, ...] = ()


SURVEY = (
    ColumnSpec(
        "respondent_id",
        True,
        "text",
        "unique within (source, wave)",
        "PTC-2025Q3-000001",
        ("id", "respondent", "resp_id", "анкета", "id респондента"),
    ),
    ColumnSpec(
        "source",
        True,
        "choice",
        "public_trust_council or kurultai (or the upload form)",
        "public_trust_council",
        ("источник", "дереккөз"),
    ),
    ColumnSpec(
        "wave",
        True,
        "wave",
        "fieldwork round, e.g. 2025-Q3 or 2025-10 (or the form)",
        "2025-Q3",
        ("волна", "толқын", "round"),
    ),
    ColumnSpec(
        "interview_date",
        False,
        "date",
        "date of the interview",
        "2025-08-14",
        ("date", "дата", "күні", "дата интервью"),
    ),
    ColumnSpec(
        "region",
        True,
        "region",
        "region name (kk/ru/en) or ISO code",
        "Алматы",
        ("регион", "область", "облыс", "oblast", "аймақ"),
    ),
    ColumnSpec(
        "settlement",
        False,
        "choice",
        "urban / rural",
        "urban",
        ("тип поселения", "елді мекен", "город/село"),
    ),
    ColumnSpec("sex", False, "choice", "male / female", "female", ("пол", "жынысы", "gender")),
    ColumnSpec("age", False, "integer", "age in years, 16-110", "34", ("возраст", "жасы")),
    ColumnSpec(
        "weight", False, "number", "survey weight > 0, default 1", "1.0", ("вес", "салмақ", "wt")
    ),
    *(
        ColumnSpec(f"trust_{i}", False, "score", f"trust in {i}, 0-10", "6")
        for i in TRUST_INSTITUTIONS
    ),
    ColumnSpec("state_listens", False, "score", "'The state listens to people like me', 0-10", "5"),
    ColumnSpec(
        "participated_consultation",
        False,
        "yes_no",
        "took part in a public consultation in the last 12 months",
        "no",
    ),
    ColumnSpec(
        "submitted_proposal",
        False,
        "yes_no",
        "sent a proposal or appeal in the last 12 months",
        "yes",
    ),
    ColumnSpec(
        "received_response",
        False,
        "yes_no",
        "got a response (asked only when submitted_proposal = yes)",
        "yes",
    ),
    ColumnSpec("response_satisfaction", False, "score", "satisfaction with the answer, 0-10", "7"),
    ColumnSpec("ngo_involvement", False, "yes_no", "member of or volunteer for an NGO", "no"),
)

NGO = (
    ColumnSpec(
        "region",
        True,
        "region",
        "region name (kk/ru/en) or ISO code",
        "Абай облысы",
        ("регион", "область", "облыс"),
    ),
    ColumnSpec("period", True, "period", "2025 or 2025-Q3", "2025", ("период", "год", "year")),
    ColumnSpec("registered_ngos", True, "count", "registered NGOs, integer >= 0", "1520"),
    ColumnSpec("active_ngos", False, "count", "active NGOs, <= registered_ngos", "910"),
    ColumnSpec("grants_count", False, "count", "state grants and social order contracts", "85"),
    ColumnSpec("grants_kzt", False, "amount", "grant money, tenge, >= 0", "412000000"),
    ColumnSpec("volunteers", False, "count", "volunteers, integer >= 0", "5400"),
    ColumnSpec("beneficiaries", False, "count", "beneficiaries, integer >= 0", "48000"),
)

PROPOSALS = (
    ColumnSpec(
        "proposal_id",
        True,
        "text",
        "unique within source",
        "EO-2025-000123",
        ("id", "номер", "нөмірі"),
    ),
    ColumnSpec(
        "source",
        True,
        "choice",
        ", ".join(PROPOSAL_SOURCES),
        "eotinish",
        ("источник", "дереккөз", "channel"),
    ),
    ColumnSpec(
        "region",
        False,
        "region",
        "region name or code; blank = national",
        "ВКО",
        ("регион", "область", "облыс"),
    ),
    ColumnSpec("topic", True, "text", "category, e.g. education", "education", ("тема", "тақырып")),
    ColumnSpec(
        "submitted_on", True, "date", "date submitted", "2025-03-02", ("submitted", "дата подачи")
    ),
    ColumnSpec(
        "status", True, "choice", ", ".join(PROPOSAL_STATUSES), "answered", ("статус", "мәртебе")
    ),
    ColumnSpec(
        "answered_on",
        False,
        "date",
        ">= submitted_on; required once answered",
        "2025-03-20",
        ("answered", "дата ответа"),
    ),
    ColumnSpec(
        "implemented_on",
        False,
        "date",
        ">= answered_on; required when implemented",
        "",
        ("implemented", "дата реализации"),
    ),
)

# Names staff use for the proposals register's vocabularies (matched lower-case).
PROPOSAL_SOURCE_NAMES = {
    **{s: s for s in PROPOSAL_SOURCES},
    **SURVEY_SOURCE,
    "e-otinish": "eotinish",
    "eötinish": "eotinish",
    "е-отиниш": "eotinish",
    "другое": "other",
    "басқа": "other",
}
STATUS_NAMES = {
    **{s: s for s in PROPOSAL_STATUSES},
    "in review": "in_review",
    "получено": "received",
    "на рассмотрении": "in_review",
    "отвечено": "answered",
    "принято": "accepted",
    "реализовано": "implemented",
    "отклонено": "rejected",
    "қабылданды": "received",
    "қаралуда": "in_review",
    "жауап берілді": "answered",
    "қолдау тапты": "accepted",
    "іске асырылды": "implemented",
    "қабылданбады": "rejected",
}
# Columns of validate()'s clean frame, in order (survey trust_* items follow).
CLEAN_ORDER = {
    "survey": (
        "_row",
        "respondent_id",
        "source",
        "wave",
        "period_start",
        "interview_date",
        "region_code",
        "settlement",
        "sex",
        "age",
        "weight",
        "state_listens",
        "participated_consultation",
        "submitted_proposal",
        "received_response",
        "response_satisfaction",
        "ngo_involvement",
    ),
    "ngo": (
        "_row",
        "region_code",
        "period",
        "registered_ngos",
        "active_ngos",
        "grants_count",
        "grants_kzt",
        "volunteers",
        "beneficiaries",
    ),
    "proposals": (
        "_row",
        "proposal_id",
        "source",
        "region_code",
        "topic",
        "submitted_on",
        "status",
        "answered_on",
        "implemented_on",
    ),
}

_BY_KIND = {"survey": SURVEY, "ngo": NGO, "proposals": PROPOSALS}
assert set(_BY_KIND) == set(UPLOAD_KINDS)


def _specs(kind: str) -> tuple[ColumnSpec, ...]:
    if kind not in _BY_KIND:
        raise ValueError(f"unknown upload kind {kind!r}; expected one of {', '.join(_BY_KIND)}")
    return _BY_KIND[kind]


def contract_columns(kind: str) -> list[ColumnSpec]:
    """The contract columns of an upload kind, in template order."""
    return list(_specs(kind))


def canonical_header(kind: str, header: str) -> str | None:
    """The contract column a file header stands for (case, spaces, hyphens and underscores
    ignored: "Respondent ID" -> respondent_id), or None if unknown. Any ``trust_<word>``
    header is a trust item in a survey file; the word must be plain ASCII so it can become
    an institution code."""
    if kind not in _BY_KIND or not isinstance(header, str):
        return None
    name = " ".join(header.split()).lower()
    snake = SEPARATORS.sub("_", name).strip("_")
    for spec in _BY_KIND[kind]:
        if snake == spec.name or name in spec.synonyms or snake in spec.synonyms:
            return spec.name
    if kind == "survey" and TRUST_ITEM.fullmatch(snake):
        return snake
    return None


def template_csv(kind: str) -> bytes:
    """A CSV template for staff: every column, one example row; UTF-8 with a BOM for Excel."""
    specs = _specs(kind)
    header = ",".join(spec.name for spec in specs)
    example = ",".join(spec.example for spec in specs)
    return ("\ufeff" + header + "\r\n" + example + "\r\n").encode("utf-8")
