"""The ingest pipeline: read a CSV (reading), parse values (values), check it against the data
contract (contract, validate, messages), store it all-or-nothing (store) and log it (uploads).

``pipeline`` ties the steps together; its entry points are re-exported here.
"""

from queries.ingest.pipeline import IngestReport, check_bytes, ingest_bytes, list_uploads, rollback

__all__ = ["IngestReport", "check_bytes", "ingest_bytes", "list_uploads", "rollback"]
