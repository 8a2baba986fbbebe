"""The data contract: what each upload kind's file holds (columns), and the words staff write
for its vocabularies (vocabulary). Everything else reads these; nothing here reads anything else."""

from queries.contract.columns import (
    CONTRACTS,
    NGO,
    POPULATION,
    PROPOSALS,
    SURVEY,
    TRUST_INSTITUTIONS,
    TRUST_PREFIX,
    canonical_header,
    contract,
    contract_columns,
    template_csv,
)
from queries.contract.labels import LABELS
from queries.contract.model import ROW, Column, Contract, Parser, Storage

__all__ = [
    "CONTRACTS",
    "LABELS",
    "NGO",
    "POPULATION",
    "PROPOSALS",
    "ROW",
    "SURVEY",
    "TRUST_INSTITUTIONS",
    "TRUST_PREFIX",
    "Column",
    "Contract",
    "Parser",
    "Storage",
    "canonical_header",
    "contract",
    "contract_columns",
    "template_csv",
]
