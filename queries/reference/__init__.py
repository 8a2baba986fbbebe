"""Reference data shipped in data/: the 20 units and their names (regions), boundaries (geo)."""

from queries.reference.geo import boundaries
from queries.reference.regions import (
    reference_regions,
    region_label,
    resolve_column,
    resolve_region,
    suggest_region,
)

__all__ = [
    "boundaries",
    "reference_regions",
    "region_label",
    "resolve_column",
    "resolve_region",
    "suggest_region",
]
