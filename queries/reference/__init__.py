"""Reference data shipped in data/: the 20 units and their names (regions, spelling),
boundaries (geo), and the 2022 reform's vintages and comparable units (reform)."""

from queries.reference.geo import boundaries, old_boundaries
from queries.reference.reform import comparable_expr, comparable_region, vintage_of
from queries.reference.regions import (
    reference_regions,
    region_candidates,
    region_label,
    resolve_column,
    resolve_region,
    suggest_region,
)

__all__ = [
    "boundaries",
    "comparable_expr",
    "comparable_region",
    "old_boundaries",
    "reference_regions",
    "region_candidates",
    "region_label",
    "resolve_column",
    "resolve_region",
    "suggest_region",
    "vintage_of",
]
