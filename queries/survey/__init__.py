"""The survey engine: per-stratum sums (sums), design-based estimators built on them (design),
the same sums as one SQL GROUP BY (sql) and calibration of weights (raking)."""

from queries.survey.design import (
    combine_sums,
    difference,
    difference_from_sums,
    p_value,
    survey_mean,
    survey_proportion,
    z_value,
)
from queries.survey.raking import RakeResult, poststratify, rake
from queries.survey.sql import sums_select
from queries.survey.sums import stratum_sums

__all__ = [
    "RakeResult",
    "combine_sums",
    "difference",
    "difference_from_sums",
    "p_value",
    "poststratify",
    "rake",
    "stratum_sums",
    "sums_select",
    "survey_mean",
    "survey_proportion",
    "z_value",
]
