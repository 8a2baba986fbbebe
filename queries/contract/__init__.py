"""The data contract: what each upload kind's file holds (columns), and the words staff write
for its vocabularies (vocabulary). Everything else reads these; nothing here reads anything else."""

from queries.contract.columns import (
    CONTRACTS,
    NGO,
    PROPOSALS,
    ROW,
    SURVEY,
    TRUST_INSTITUTIONS,
    TRUST_PREFIX,
    Column,
    Contract,
    Parser,
    Storage,
    canonical_header,
    contract,
    contract_columns,
    template_csv,
)

__all__ = [
    "CONTRACTS",
    "NGO",
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
