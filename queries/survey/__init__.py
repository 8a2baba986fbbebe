"""The survey engine: per-stratum sums (sums), design-based estimators built on them (design),
the same sums as one SQL GROUP BY (sql), calibration of weights (raking) with calibration-aware
estimates (calibration), and design-based regression (regression)."""

from queries.survey.calibration import calibrated_weights
from queries.survey.design import (
    CI_METHODS,
    CiMethod,
    combine_sums,
    difference,
    difference_from_sums,
    p_values,
    survey_mean,
    survey_proportion,
    t_quantiles,
    z_value,
)
from queries.survey.raking import RakeResult, poststratify, rake
from queries.survey.regression import survey_regression
from queries.survey.sql import sums_select
from queries.survey.sums import stratum_sums

__all__ = [
    "CI_METHODS",
    "CiMethod",
    "RakeResult",
    "calibrated_weights",
    "combine_sums",
    "difference",
    "difference_from_sums",
    "p_values",
    "poststratify",
    "rake",
    "stratum_sums",
    "sums_select",
    "survey_mean",
    "survey_proportion",
    "survey_regression",
    "t_quantiles",
    "z_value",
]
