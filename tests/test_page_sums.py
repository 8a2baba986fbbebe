"""The pages' calibrated numbers from the summary store rake each wave once per data version
(issue 11, ``queries.summaries.page_sums``): after the snapshot's raking exists, a filter
change on the Feedback, NGO or Regions page (any ``by`` domain, the pooled estimate, the
standing) runs no raking at all, and still gives the raw-row path's numbers."""

from __future__ import annotations

import pytest

import queries.summaries.calibrated
import queries.survey.calibrated_sums
from queries.metrics import page_weights
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.inference import weighted_by_group
from queries.summaries import pages
from queries.summaries.memory import load_snapshot
from queries.summaries.standing import groups_from_summaries, standing_from_summaries
from tests.test_summaries import SOURCES, assert_same_frame, loaded  # noqa: F401 (fixture)
from tests.test_summaries_calibrated import calibrating  # noqa: F401 (the fixture)

RAKED = "2025-Q2"  # the wave the population counts of ``calibrating`` rake


def _no_raking(*_args, **_kwargs):
    raise AssertionError("raked again after the snapshot's raking")


def test_a_filter_change_does_not_rake_again(calibrating, monkeypatch):  # noqa: F811
    snapshot = load_snapshot(calibrating)
    source = SOURCES[0]
    pages.feedback_numbers(snapshot, Filters(), source, RAKED)  # the snapshot rakes here
    for module in (queries.summaries.calibrated, queries.survey.calibrated_sums):
        monkeypatch.setattr(module, "rake_unit", _no_raking)
    monkeypatch.setattr(queries.survey.calibrated_sums, "rake_cells", _no_raking)
    data = load_dataset(calibrating)
    filters = Filters(sexes=("female",), age_groups=("30-44", "45-59"))
    for by in ("sex", "age_group", "settlement"):
        summed = groups_from_summaries(snapshot, filters, source, RAKED, by)
        assert summed.weights == "calibrated"
    regional = Filters(regions=("KZ-75", "KZ-11"), settlements=("urban",))
    standing = standing_from_summaries(snapshot, regional, source, RAKED)
    assert standing.weights == "calibrated"
    pooled = pages.trust_by_region(snapshot, filters, source, 2025)
    assert pooled.weights == "calibrated" and pooled.estimates.height
    variables = {"y": pages.composite_of(snapshot, ())}
    summed = pages.weighted_estimates(snapshot, regional, source, variables, by=["region"])
    monkeypatch.undo()  # the raw path rakes its rows
    raw = page_weights.weighted_estimates(data, regional, source, variables, by=["region"])
    assert (summed.weights, summed.uncalibrated_waves) == (raw.weights, raw.uncalibrated_waves)
    assert_same_frame(raw.estimates.sort("region"), summed.estimates.sort("region"), "by region")
    groups = weighted_by_group(data, filters, source, RAKED, "age_group")
    again = groups_from_summaries(snapshot, filters, source, RAKED, "age_group")
    assert_same_frame(groups.estimates.sort("age_group"), again.estimates.sort("age_group"), "")


@pytest.mark.parametrize("weights", ["calibrated", "delivered"])
def test_repeated_selections_give_the_same_numbers(calibrating, weights):  # noqa: F811
    """The per-selection stores (kept strata, the waves' raking layout) give what a fresh
    snapshot gives, also after other selections pushed them around."""
    snapshot, fresh = load_snapshot(calibrating), load_snapshot(calibrating)
    source = SOURCES[0]
    chosen = [
        Filters(weights=weights, wave_to=wave, regions=regions)
        for wave in (None, "2024-Q4", "2024-Q2")
        for regions in ((), ("KZ-75",), ("KZ-75", "KZ-11"))
    ]
    for filters in [*chosen, *chosen]:
        made = pages.trust_by_region(snapshot, filters, source, 2024)
        assert_same_frame(pages.trust_by_region(fresh, filters, source, 2024).estimates,
                          made.estimates, str(filters))  # fmt: skip
