"""The uploaded data: uploads, survey waves and responses, NGO activity, proposals, population,
the regions they refer to, and what an upload replaced.

Trust ratings of the contract's institutions are columns of ``responses`` (``trust_<institution>``,
migration 0010); any other ``trust_*`` item of an upload lives in a long table (``trust_scores``),
so a new institution needs no schema change. Every data row remembers the
upload that wrote it, so an upload can be rolled back whole; rows that an upload
replaced or updated keep their previous values in ``row_history``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from queries.contract import NGO, POPULATION, PROPOSALS, SURVEY, Contract, Parser, Storage
from queries.contract.columns import TRUST_INSTITUTIONS, TRUST_PREFIX
from queries.schema.base import metadata
from queries.vocab import (
    ProposalSource,
    ProposalStatus,
    SurveySource,
    UploadKind,
    UploadStatus,
    values,
)

UPLOAD_KINDS = values(UploadKind)
UPLOAD_STATUSES = values(UploadStatus)
SURVEY_SOURCES = values(SurveySource)
PROPOSAL_SOURCES = values(ProposalSource)
PROPOSAL_STATUSES = values(ProposalStatus)


def contract_columns(contract: Contract) -> list[Column]:
    """The table columns of an upload kind, derived from its contract (one description per
    column): blank allowed unless required or defaulted; regions refer to the regions table."""
    return [
        Column(
            c.name,
            c.sql,
            *([ForeignKey("regions.code")] if c.parser is Parser.REGION else []),
            nullable=not (c.required or c.default is not None),
        )
        for c in contract.columns
        if c.storage is Storage.ROW
    ]


regions = Table(
    "regions",
    metadata,
    Column("code", String(8), primary_key=True),  # ISO 3166-2:KZ, e.g. KZ-75
    Column("kato", Integer, nullable=False, unique=True),
    Column("name_en", Text, nullable=False),
    Column("name_kk", Text, nullable=False),
    Column("name_ru", Text, nullable=False),
    Column("name_kk_latn", Text, nullable=False),
    Column("centre_en", Text, nullable=False),
    Column("kind", String(8), nullable=False),  # region | city
    Column("population", Integer, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("source", String(32)),  # file-wide source given on the form / command line
    Column("wave", String(32)),  # file-wide wave given on the form / command line
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_loaded", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("rows_new", Integer, nullable=False, default=0),
    Column("rows_updated", Integer, nullable=False, default=0),
    Column("rows_unchanged", Integer, nullable=False, default=0),
    Column("message", Text),
    Column("pid", Integer),  # the loading process, to detect an interrupted load
    Column("rolled_back_at", DateTime(timezone=True)),
    Column("rolled_back_by", Text),
    CheckConstraint(f"kind IN {UPLOAD_KINDS}", name="kind"),
    CheckConstraint(f"status IN {UPLOAD_STATUSES}", name="status"),
    Index("ix_uploads_sha256", "sha256"),
)

survey_waves = Table(
    "survey_waves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("wave", String(32), nullable=False),  # label, e.g. 2025-Q3 or 2025-10
    Column("period_start", Date, nullable=False),  # sort key derived from the label
    UniqueConstraint("source", "wave", name="uq_survey_waves_source_wave"),
    CheckConstraint(f"source IN {SURVEY_SOURCES}", name="source"),
)

# responses' foreign keys (upload, wave, region): on PostgreSQL checked once per load, not per
# row (migration 0011, ingest.store.hold_references); SQLite enforces them per row
responses = Table(
    "responses",
    metadata,
    Column(
        "id", Integer, primary_key=True, autoincrement=False
    ),  # assigned in the load transaction
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),
    Column("wave_id", Integer, ForeignKey("survey_waves.id"), nullable=False),
    *contract_columns(SURVEY),
    # the contract's trust items, one column each (migration 0010 adds them last)
    *(
        Column(
            f"{TRUST_PREFIX}{i}",
            SmallInteger,
            CheckConstraint(f"{TRUST_PREFIX}{i} BETWEEN 0 AND 10", name=f"{TRUST_PREFIX}{i}_range"),
        )
        for i in TRUST_INSTITUTIONS
    ),
    UniqueConstraint("wave_id", "respondent_id", name="uq_responses_wave_respondent"),
    CheckConstraint("weight > 0", name="weight_positive"),
    Index("ix_responses_upload_id", "upload_id"),
)

# trust items beyond the contract's institutions (those are columns of responses)
trust_scores = Table(
    "trust_scores",
    metadata,
    Column("response_id", Integer, primary_key=True),
    Column("institution", String(64), primary_key=True),  # e.g. council (from trust_council)
    Column("score", SmallInteger, nullable=False),
    # ingest speed (issue 11, migration 0006): response_id refers to responses.id, but not as a
    # per-row foreign key; the load checks each batch once and the rollback deletes scores first
    CheckConstraint("score BETWEEN 0 AND 10", name="score_range"),
)


def trust_score(institution: str) -> ColumnElement:
    """The score a respondent gave ``institution`` (NULL when none), in a SELECT over
    ``responses``: its column (the contract's institutions), else a lookup by the key."""
    if institution in TRUST_INSTITUTIONS:
        return responses.c[f"{TRUST_PREFIX}{institution}"]
    t = trust_scores.c
    found = select(t.score).where(t.response_id == responses.c.id, t.institution == institution)
    return found.scalar_subquery()


ngo_activity = Table(
    "ngo_activity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),
    *contract_columns(NGO),
    UniqueConstraint(*NGO.key, name="uq_ngo_activity_region_period"),
)

proposals = Table(
    "proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),  # last upload to set it
    *contract_columns(PROPOSALS),
    UniqueConstraint(*PROPOSALS.key, name="uq_proposals_source_proposal_id"),
    CheckConstraint(f"status IN {PROPOSAL_STATUSES}", name="status"),
)
# An upload rewrites the register summaries (summaries.py) of the submission days it touched:
# its proposals are found by upload_id and read by day (migration 0007).
Index("ix_proposals_submitted_on", proposals.c.submitted_on)
Index("ix_proposals_upload_id", proposals.c.upload_id)

# Residents per region, sex and age group and year: the margins survey weights are calibrated to.
population = Table(
    "population",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),
    *contract_columns(POPULATION),
    UniqueConstraint(*POPULATION.key, name="uq_population_region"),
)

# What an upload replaced (NGO, population rows) or updated (proposals), so a rollback restores it.
row_history = Table(
    "row_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Integer, ForeignKey("uploads.id"), nullable=False),
    Column("table_name", String(32), nullable=False),
    Column("row_key", Text, nullable=False),  # JSON of the natural key
    Column("previous", JSON),  # NULL when the upload inserted the row
    Index("ix_row_history_upload_id", "upload_id"),
    Index("ix_row_history_key", "table_name", "row_key"),
)
