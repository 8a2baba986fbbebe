"""The calibrated Overview's per-unit layout kept across filter changes (issue 11,
``queries.summaries.unit_plan``): a snapshot that has served other filters gives exactly the
numbers a fresh one gives (the kept layout holds nothing of the filters), and it is reused."""

from __future__ import annotations

from queries.metrics.filters import Filters
from queries.summaries.memory import _raking, load_snapshot, overview_from_summaries
from tests.test_summaries import SOURCES, assert_same_overview
from tests.test_summaries_calibrated import calibrating as calibrating
from tests.test_summaries_calibrated import loaded as loaded

FILTERS = (  # calibrated weights (the default): the path the kept layout serves
    Filters(),
    Filters(regions=("KZ-75",), sexes=("female",)),
    Filters(age_groups=("18-29", "60+"), settlements=("rural",)),
    Filters(regions=("KZ-75", "KZ-11"), institutions=("akimat", "police")),
)


def test_a_warm_snapshot_gives_what_a_fresh_one_gives(calibrating):
    warm = load_snapshot(calibrating)
    for filters in FILTERS:  # every layout the later ones need is made by an earlier one
        overview_from_summaries(calibrating, filters, SOURCES[0], snapshot=warm)
    kept = dict(_raking(warm).plans)
    assert kept  # the calibrated path laid its units out once
    for filters in reversed(FILTERS):
        again = overview_from_summaries(calibrating, filters, SOURCES[0], snapshot=warm)
        fresh = overview_from_summaries(calibrating, filters, SOURCES[0],
                                        snapshot=load_snapshot(calibrating))  # fmt: skip
        assert_same_overview(fresh, again)
    assert all(_raking(warm).plans[key] is plan for key, plan in kept.items())  # reused
