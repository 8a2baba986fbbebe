"""The data contract (docs/data-contract.md) as data: one ``Column`` per file column of each upload
kind — its canonical name, parser, storage type, whether it is required or part of the natural
key, the header synonyms staff use — and the functions that read it (headers, CSV templates).

Validation, the database tables, the store, the upload log's keys, the dataset's selects, the demo
writer, the templates and the docs all derive from these three tuples: a new optional column is a
change here plus a migration.
"""

from __future__ import annotations

import re

from sqlalchemy import Boolean, Date, Float, Integer, SmallInteger, String, Text

from queries.contract.model import Column, Contract, Parser, Storage
from queries.contract.vocabulary import (
    AGE_GROUP,
    AGE_GROUPS,
    PERIOD_PATTERN,
    PROPOSAL_SOURCE_NAMES,
    SETTLEMENT,
    SEX,
    SEX_OR_TOTAL,
    STATUS_NAMES,
    SURVEY_SOURCE,
    WAVE_PATTERN,
)
from queries.vocab import ProposalSource, ProposalStatus, UploadKind

TRUST_INSTITUTIONS = ("government", "parliament", "akimat", "courts", "police", "ngos", "media")
TRUST_PREFIX = "trust_"
TRUST_ITEM = re.compile(r"trust_[a-z][a-z0-9_]{0,39}")
SEPARATORS = re.compile(r"[\s\-_.]+")


def _region(description: str, example: str, *, required: bool, key: bool = False) -> Column:
    """The region column, alike in every kind (its meaning and example differ)."""
    return Column(
        "region",
        Parser.REGION,
        String(8),
        description,
        example,
        ("регион", "область", "облыс", "oblast", "аймақ"),
        required=required,
        key=key,
    )


SURVEY = Contract(
    UploadKind.SURVEY,
    "responses",
    (
        Column(
            "respondent_id",
            Parser.TEXT,
            Text(),
            "unique within (source, wave)",
            "PTC-2025Q3-000001",
            ("id", "respondent", "resp_id", "анкета", "id респондента"),
            required=True,
            key=True,
        ),
        Column(
            "source",
            Parser.CHOICE,
            String(32),
            "public_trust_council or kurultai (or the upload form)",
            "public_trust_council",
            ("источник", "дереккөз"),
            required=True,
            key=True,
            storage=Storage.WAVE,
            choices=SURVEY_SOURCE,
            file_wide=True,
        ),
        Column(
            "wave",
            Parser.WAVE,
            String(32),
            "fieldwork round, e.g. 2025-Q3 or 2025-10 (or the form)",
            "2025-Q3",
            ("волна", "толқын", "round"),
            required=True,
            key=True,
            storage=Storage.WAVE,
            file_wide=True,
        ),
        Column(
            "interview_date",
            Parser.DATE,
            Date(),
            "date of the interview",
            "2025-08-14",
            ("date", "дата", "күні", "дата интервью"),
        ),
        _region("region name (kk/ru/en) or ISO code", "Алматы", required=True),
        Column(
            "settlement",
            Parser.CHOICE,
            String(8),
            "urban / rural",
            "urban",
            ("тип поселения", "елді мекен", "город/село"),
            choices=SETTLEMENT,
        ),
        Column(
            "sex",
            Parser.CHOICE,
            String(8),
            "male / female",
            "female",
            ("пол", "жынысы", "gender"),
            choices=SEX,
        ),
        Column(
            "age",
            Parser.INTEGER,
            SmallInteger(),
            "age in years, 16-110",
            "34",
            ("возраст", "жасы"),
            low=16,
            high=110,
        ),
        Column(
            "weight",
            Parser.NUMBER,
            Float(),
            "survey weight > 0, default 1",
            "1.0",
            ("вес", "салмақ", "wt"),
            positive=True,
            default=1.0,
        ),
        *(
            Column(
                f"{TRUST_PREFIX}{i}",
                Parser.SCORE,
                SmallInteger(),
                f"trust in {i}, 0-10",
                "6",
                storage=Storage.LONG,
            )
            for i in TRUST_INSTITUTIONS
        ),
        Column(
            "state_listens",
            Parser.SCORE,
            SmallInteger(),
            "'The state listens to people like me', 0-10",
            "5",
        ),
        Column(
            "participated_consultation",
            Parser.YES_NO,
            Boolean(),
            "took part in a public consultation in the last 12 months",
            "no",
        ),
        Column(
            "submitted_proposal",
            Parser.YES_NO,
            Boolean(),
            "sent a proposal or appeal in the last 12 months",
            "yes",
        ),
        Column(
            "received_response",
            Parser.YES_NO,
            Boolean(),
            "got a response (asked only when submitted_proposal = yes)",
            "yes",
        ),
        Column(
            "response_satisfaction",
            Parser.SCORE,
            SmallInteger(),
            "satisfaction with the answer, 0-10",
            "7",
        ),
        Column(
            "ngo_involvement",
            Parser.YES_NO,
            Boolean(),
            "member of or volunteer for an NGO",
            "no",
        ),
    ),
)


def _count(name: str, description: str, example: str, *, required: bool = False) -> Column:
    return Column(name, Parser.INTEGER, Integer(), description, example, required=required, low=0)


NGO = Contract(
    UploadKind.NGO,
    "ngo_activity",
    (
        _region("region name (kk/ru/en) or ISO code", "Абай облысы", required=True, key=True),
        Column(
            "period",
            Parser.PERIOD,
            String(16),
            "2025 or 2025-Q3",
            "2025",
            ("период", "год", "year"),
            required=True,
            key=True,
        ),
        _count("registered_ngos", "registered NGOs, integer >= 0", "1520", required=True),
        _count("active_ngos", "active NGOs, <= registered_ngos", "910"),
        _count("grants_count", "state grants and social order contracts", "85"),
        Column(
            "grants_kzt", Parser.NUMBER, Float(), "grant money, tenge, >= 0", "412000000", low=0
        ),
        _count("volunteers", "volunteers, integer >= 0", "5400"),
        _count("beneficiaries", "beneficiaries, integer >= 0", "48000"),
    ),
)

PROPOSALS = Contract(
    UploadKind.PROPOSALS,
    "proposals",
    (
        Column(
            "proposal_id",
            Parser.TEXT,
            Text(),
            "unique within source",
            "EO-2025-000123",
            ("id", "номер", "нөмірі"),
            required=True,
            key=True,
        ),
        Column(
            "source",
            Parser.CHOICE,
            String(32),
            ", ".join(ProposalSource),
            "eotinish",
            ("источник", "дереккөз", "channel"),
            required=True,
            key=True,
            choices=PROPOSAL_SOURCE_NAMES,
        ),
        _region("region name or code; blank = national", "ВКО", required=False),
        Column(
            "topic",
            Parser.TEXT,
            Text(),
            "category, e.g. education",
            "education",
            ("тема", "тақырып"),
            required=True,
            lower=True,
        ),
        Column(
            "submitted_on",
            Parser.DATE,
            Date(),
            "date submitted",
            "2025-03-02",
            ("submitted", "дата подачи"),
            required=True,
        ),
        Column(
            "status",
            Parser.CHOICE,
            String(16),
            ", ".join(ProposalStatus),
            "answered",
            ("статус", "мәртебе"),
            required=True,
            choices=STATUS_NAMES,
        ),
        Column(
            "answered_on",
            Parser.DATE,
            Date(),
            ">= submitted_on; required once answered",
            "2025-03-20",
            ("answered", "дата ответа"),
        ),
        Column(
            "implemented_on",
            Parser.DATE,
            Date(),
            ">= answered_on; required when implemented",
            "",
            ("implemented", "дата реализации"),
        ),
    ),
)

POPULATION = Contract(
    UploadKind.POPULATION,
    "population",
    (
        _region("region name (kk/ru/en) or ISO code", "Алматы", required=True, key=True),
        Column(
            "sex",
            Parser.CHOICE,
            String(8),
            "male / female, or total (both)",
            "total",
            ("пол", "жынысы", "gender"),
            required=True,
            key=True,
            choices=SEX_OR_TOTAL,
        ),
        Column(
            "age_group",
            Parser.CHOICE,
            String(8),
            ", ".join(AGE_GROUPS) + ", or total (all ages)",
            "18-29",
            ("возрастная группа", "жас тобы", "age"),
            required=True,
            key=True,
            choices=AGE_GROUP,
        ),
        Column(
            "year",
            Parser.INTEGER,
            SmallInteger(),
            "the year the count is for (1 January)",
            "2024",
            ("год", "жыл"),
            required=True,
            key=True,
            low=1990,
            high=2100,
        ),
        Column(
            "count",
            Parser.INTEGER,
            Integer(),
            "residents, integer >= 0 (the national statistics bureau's figure)",
            "124500",
            ("численность", "саны", "population"),
            required=True,
            low=0,
        ),
    ),
)

CONTRACTS: dict[UploadKind, Contract] = {c.kind: c for c in (SURVEY, NGO, PROPOSALS, POPULATION)}
WAVE_PATTERNS = {Parser.WAVE: WAVE_PATTERN, Parser.PERIOD: PERIOD_PATTERN}


def contract(kind: str) -> Contract:
    """The contract of an upload kind; a clear error for an unknown kind."""
    try:
        return CONTRACTS[UploadKind(kind)]
    except ValueError:
        expected = ", ".join(UploadKind)
        raise ValueError(f"unknown upload kind {kind!r}; expected one of {expected}") from None


def contract_columns(kind: str) -> list[Column]:
    """The contract columns of an upload kind, in template order."""
    return list(contract(kind).columns)


def canonical_header(kind: str, header: str) -> str | None:
    """The contract column a file header stands for (case, spaces, hyphens and underscores
    ignored: "Respondent ID" -> respondent_id), or None if unknown. Any ``trust_<word>``
    header is a trust item in a survey file; the word must be plain ASCII so it can become
    an institution code."""
    if kind not in CONTRACTS or not isinstance(header, str):
        return None
    name = " ".join(header.split()).lower()
    snake = SEPARATORS.sub("_", name).strip("_")
    for spec in CONTRACTS[UploadKind(kind)].columns:
        if snake == spec.name or name in spec.synonyms or snake in spec.synonyms:
            return spec.name
    if kind == UploadKind.SURVEY and TRUST_ITEM.fullmatch(snake):
        return snake
    return None


def template_csv(kind: str) -> bytes:
    """A CSV template for staff: every column, one example row; UTF-8 with a BOM for Excel."""
    specs = contract(kind).columns
    header = ",".join(spec.name for spec in specs)
    example = ",".join(spec.example for spec in specs)
    return ("\ufeff" + header + "\r\n" + example + "\r\n").encode("utf-8")
