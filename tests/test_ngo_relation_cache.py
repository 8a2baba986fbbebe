"""The NGO page's density-beside-trust line (``ngo_trust_relation``: a weighted fit and two dozen
leave-one-out fits) is computed once per data version and filters (``dashboard.data
.ngo_relation``), not on every run of the page (issue 11: ~12 ms of each NGO run at 10M)."""

from __future__ import annotations

from streamlit.util import calc_hash

import dashboard.data as data_module
from dashboard.i18n import translate
from tests.apptest_helpers import calls_of, signed_in_app


def test_the_relation_is_computed_once_per_filters(demo_url, monkeypatch):
    calls = calls_of(monkeypatch, data_module, "ngo_trust_relation")  # (trust, density)
    at = signed_in_app(monkeypatch, demo_url)
    at._page_hash = calc_hash("ngo")  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("ngo.title", "en")
    assert len(calls) == 1
    scatter = [c for c in at.get("plotly_chart") if "ngo_scatter" in c.proto.id]
    assert len(scatter) == 1  # the line is drawn

    at.run()  # the same filters again (any rerun: a click elsewhere, a language switch)
    assert not at.exception, at.exception
    assert len(calls) == 1

    at.multiselect(key="f_sex").set_value(["female"])
    at.run()
    assert not at.exception, at.exception
    assert len(calls) == 2  # new filters: new trust numbers, a new line
    trust, _density = calls[-1]
    assert trust.height > 0
