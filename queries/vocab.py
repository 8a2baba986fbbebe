"""The project's closed vocabularies, one StrEnum each: upload kinds and statuses, roles, survey
and proposal sources, proposal statuses, progress stages.

A StrEnum member *is* its string (``UploadStatus.LOADED == "loaded"``), so values stored in the
database, the URL and the CSV files stay plain text while the code names each value once.
"""

from __future__ import annotations

from enum import StrEnum


class UploadKind(StrEnum):
    SURVEY = "survey"
    NGO = "ngo"
    PROPOSALS = "proposals"
    POPULATION = "population"


class UploadStatus(StrEnum):
    LOADING = "loading"
    LOADED = "loaded"
    PARTIAL = "partial"
    REJECTED = "rejected"
    UNCHANGED = "unchanged"
    ROLLED_BACK = "rolled_back"
    INTERRUPTED = "interrupted"


# Uploads whose rows are in the database and can be rolled back.
DONE_STATUSES = (UploadStatus.LOADED, UploadStatus.PARTIAL)


class Role(StrEnum):
    """Roles in increasing order of rights: each role can do everything the ones before it can."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role | str) -> bool:
        """Whether this role has at least the rights of ``needed``."""
        return self.rank >= Role(needed).rank


class SurveySource(StrEnum):
    PUBLIC_TRUST_COUNCIL = "public_trust_council"
    KURULTAI = "kurultai"


class ProposalSource(StrEnum):
    KURULTAI = "kurultai"
    PUBLIC_TRUST_COUNCIL = "public_trust_council"
    EOTINISH = "eotinish"
    OTHER = "other"


class ProposalStatus(StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    ACCEPTED = "accepted"
    IMPLEMENTED = "implemented"
    REJECTED = "rejected"


class Stage(StrEnum):
    """Steps of a load, reported to a progress callback."""

    READING = "reading"
    VALIDATING = "validating"
    CHECKING = "checking"
    RESPONSES = "responses"
    TRUST_SCORES = "trust scores"
    FINISHING = "finishing"
    COMMITTING = "committing"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain string values of a vocabulary, in declaration order (for CHECK constraints)."""
    return tuple(member.value for member in enum)
