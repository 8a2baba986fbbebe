"""The database schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL.

Trust ratings of the contract's institutions are columns of ``responses`` (``trust_<institution>``,
migration 0010); any other ``trust_*`` item of an upload lives in a long table (``trust_scores``),
so a new institution needs no schema change. Every data row remembers the
upload that wrote it, so an upload can be rolled back whole; rows that an upload
replaced or updated keep their previous values in ``row_history``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
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
from queries.vocab import (
    ProposalSource,
    ProposalStatus,
    Role,
    SurveySource,
    UploadKind,
    UploadStatus,
    values,
)

# Stable constraint names make migrations identical on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UPLOAD_KINDS = values(UploadKind)
UPLOAD_STATUSES = values(UploadStatus)
SURVEY_SOURCES = values(SurveySource)
PROPOSAL_SOURCES = values(ProposalSource)
PROPOSAL_STATUSES = values(ProposalStatus)
ROLES = values(Role)


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

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(254), unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),  # NULL for accounts that sign in only through OIDC
    Column("disabled", Boolean, nullable=False, default=False),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
    CheckConstraint(f"role IN {ROLES}", name="role"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column(
        "action", String(32), nullable=False
    ),  # upload, rollback, sign_in, sign_in_failed, role_change…
    Column("target", Text),
    Column("detail", JSON),
    Index("ix_audit_log_at", "at"),
)

# --- access hardening (migration 0002) -------------------------------------------------------
# Identity-provider binding (iss + sub, set at the first verified sign-in) and the expiry of a
# one-time password, on the existing accounts table.
users.append_column(Column("oidc_issuer", Text))
users.append_column(Column("oidc_subject", Text))
users.append_column(Column("password_expires_at", DateTime(timezone=True)))
users.append_constraint(
    UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_issuer_subject")
)

# Signed-in sessions. The browser holds a random token in an HttpOnly cookie; only its SHA-256
# is stored. ``handoff_hash`` is the one-time code that moves a fresh sign-in into the cookie.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("method", String(16), nullable=False),  # password | oidc
    Column("token_hash", String(64), unique=True),
    Column("handoff_hash", String(64), unique=True),
    Column("handoff_expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # absolute cap
    Column("last_seen_at", DateTime(timezone=True), nullable=False),  # idle timeout
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_user_sessions_username", "username"),
)

# Failed sign-in counters per key (name+address, name, address, everyone): progressive delays.
signin_throttle = Table(
    "signin_throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True)),
)

# --- summary store (issue 11): per-cell sums of the survey, see queries/summaries/ ---
# One row per stratum (source|wave|region) with its respondent count, and one row per
# cell (stratum × sex × age group × settlement) × variable with a value. Keyed by the wave's
# labels rather than survey_waves.id: the summaries of a wave are a pure function of its rows.
summary_strata = Table(
    "summary_strata",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
    Column("region", String(8), primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("n_h", Integer, nullable=False),
)

summary_cells = Table(
    "summary_cells",
    metadata,
    Column("source", String(32), nullable=False),
    Column("wave", String(32), nullable=False),
    Column("region", String(8), nullable=False),
    Column("sex", String(8)),  # NULL: not answered (outside any sex filter)
    Column("age_group", String(8)),
    Column("settlement", String(8)),
    Column("variable", String(96), nullable=False),
    Column("n", Integer, nullable=False),
    Column("sw", Float, nullable=False),
    Column("swy", Float, nullable=False),
    Column("sw2", Float, nullable=False),
    Column("sw2y", Float, nullable=False),
    Column("sw2y2", Float, nullable=False),
    Column("sy", Float, nullable=False),  # unweighted Σy: calibrated (raked) estimates need it
    Index("ix_summary_cells_wave", "source", "wave", "variable"),
)

# The variables each wave has a value for (a few dozen rows per wave): which institutions
# exist is read here, not from millions of cells.
summary_variables = Table(
    "summary_variables",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
    Column("variable", String(96), primary_key=True),
    Column("n", Integer, nullable=False),
)

# --- register summaries (issue 11, migration 0007): the proposals register without its rows,
# see queries/summaries/register.py. Counts per (source, region, topic, day submitted, status)
# and per-day histograms of the days to answer and to implement under the same keys: every
# register number (30-day rates, backlog ages on any "as of" day, medians and quantiles) is an
# exact function of them. Rewritten in the transaction of each proposals upload or rollback.
register_counts = Table(
    "register_counts",
    metadata,
    Column("source", String(32), nullable=False),
    Column("region", String(8)),  # NULL: a national proposal
    Column("topic", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("n", Integer, nullable=False),
    Column("n_answered", Integer, nullable=False),  # of which have an answer date
)

register_days = Table(
    "register_days",
    metadata,
    Column("source", String(32), nullable=False),
    Column("region", String(8)),
    Column("topic", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("event", String(16), nullable=False),  # answer | implement
    Column("days", Integer, nullable=False),  # the event's date - submitted_on
    Column("n", Integer, nullable=False),
    Index("ix_register_days_submitted_on", "submitted_on"),
)
# An upload rewrites the summaries of the submission days it touched: found by upload_id, read
# and rewritten by day (register_counts' and the proposals' own indexes, migration 0007).
Index("ix_register_counts_submitted_on", register_counts.c.submitted_on)
Index("ix_proposals_submitted_on", proposals.c.submitted_on)
Index("ix_proposals_upload_id", proposals.c.upload_id)

# --- composite cache (issue 11, migration 0008): queries/summaries/composite.py ---
# The composite trust index over a non-default set of institutions (``institutions``: the set's
# names, sorted, comma-separated), summed per cell like summary_cells, one wave at a time; a
# (set, wave) row in summary_composite_waves says the wave is there (cells without a value
# have no row). An upload or rollback deletes a wave's rows with its other summaries.
summary_composite_waves = Table(
    "summary_composite_waves",
    metadata,
    Column("institutions", Text, primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
)

summary_composites = Table(
    "summary_composites",
    metadata,
    Column("institutions", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("wave", String(32), nullable=False),
    Column("region", String(8), nullable=False),
    Column("sex", String(8)),
    Column("age_group", String(8)),
    Column("settlement", String(8)),
    Column("variable", String(96), nullable=False),
    Column("n", Integer, nullable=False),
    Column("sw", Float, nullable=False),
    Column("swy", Float, nullable=False),
    Column("sw2", Float, nullable=False),
    Column("sw2y", Float, nullable=False),
    Column("sw2y2", Float, nullable=False),
    Column("sy", Float, nullable=False),
    Index("ix_summary_composites_set", "institutions", "variable", "source", "wave"),
    Index("ix_summary_composites_wave", "source", "wave"),
)

# --- persisted snapshot (issue 11, migration 0009): queries/summaries/persisted.py ---
# The in-memory snapshot's frames (strata, the Overview's cells, cell totals, population) as
# one compressed Arrow IPC blob per data version, so a starting process reads one row instead of
# summing the store again; a row of another version or format is ignored. A cache: it may be
# empty, and ``summaries rebuild`` empties it.
summary_snapshots = Table(
    "summary_snapshots",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("format", Integer, nullable=False),
    Column("frames", LargeBinary, nullable=False),
)
