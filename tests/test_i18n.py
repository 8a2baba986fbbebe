"""Every label the UI asks for exists in kk, ru and en; the catalogue has no half-translated key."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.app import PAGES as APP_PAGES
from dashboard.components.filters import SETTLEMENTS, SEXES
from dashboard.i18n import LANGUAGES, catalogue, fmt_number, translate
from dashboard.views.audit import ACTIONS as AUDIT_ACTIONS
from queries.contract import CONTRACTS, TRUST_INSTITUTIONS
from queries.contract.model import label_name
from queries.contract.vocabulary import AGE_GROUPS
from queries.demo.proposals import TOPICS as DEMO_TOPICS
from queries.ingest.messages import TEMPLATES
from queries.vocab import ProposalSource, Role, SurveySource, UploadKind, UploadStatus

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
LITERAL = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']""")
# Keys built at run time from a prefix; each listed value must exist.
DYNAMIC = {
    "source.": [*SurveySource, *ProposalSource],
    "institution.": list(TRUST_INSTITUTIONS),
    "upload.kind_": list(UploadKind),
    "history.status_": list(UploadStatus),
    "auth.role_": list(Role),
    "contract.": [label_name(c.name) for spec in CONTRACTS.values() for c in spec.columns],
    "auth.error_": ["bad_credentials", "locked", "disabled"],
    "cards.": [
        "composite_trust",
        "trust_government",
        "state_listens",
        "participation",
        "answered_30",
        "ngos_per_10k",
    ],
    "feedback.stage_": ["received", "answered", "accepted", "implemented"],
    "feedback.var_": ["state_listens", "satisfaction", "got_response"],
    "feedback.topic_": list(DEMO_TOPICS),
    "nav.": [*(name for name, _icon, _role in APP_PAGES), "sign_in"],
    "filters.": ["source", "region", "institution", "sex", "age", "settlement"],
    "filters.age_": [g.replace("-", "_").replace("+", "_plus") for g in AGE_GROUPS],
    "filters.sex_": list(SEXES),
    "filters.settlement_": list(SETTLEMENTS),
    "regions.cross_": ["sex", "age_group", "settlement"],
    "validation.": sorted(TEMPLATES),
    "audit.action_": list(AUDIT_ACTIONS),
    "upload.delim_": ["comma", "semicolon", "tab", "other"],
}


def used_keys() -> set[str]:
    keys = set()
    for path in DASHBOARD.rglob("*.py"):
        keys |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    for prefix, values in DYNAMIC.items():
        keys |= {prefix + value for value in values}
    for page in ("overview", "regions", "feedback", "ngo"):
        keys |= {f"{page}.title", f"{page}.subtitle"}
    return keys


def test_every_used_key_is_in_the_catalogue():
    missing = sorted(used_keys() - set(catalogue()))
    assert missing == []


def test_every_entry_has_all_three_languages_and_the_same_placeholders():
    for key, entry in catalogue().items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        fields = {lang: set(re.findall(r"{(\w+)}", entry[lang])) for lang in LANGUAGES}
        assert fields["kk"] == fields["ru"] == fields["en"], key


def test_kazakh_is_kazakh():
    kk = " ".join(entry["kk"] for entry in catalogue().values())
    assert re.search("[әғқңөұүһі]", kk)
    assert translate("nav.overview", "kk") == "Шолу"


def test_numbers_follow_the_language():
    assert fmt_number(12345.67, 1, "en") == "12,345.7"
    assert fmt_number(12345.67, 1, "ru") == "12\u00a0345,7"
    assert fmt_number(12345.67, 1, "kk") == "12\u00a0345,7"


def _language_read_once_script() -> None:
    import streamlit as st

    from dashboard.i18n import fixed_language, language

    seen = []
    with fixed_language():
        seen.append(language())
        st.session_state["lang"] = "en"  # the session's language changes meanwhile
        seen.append(language())
    seen.append(language())
    st.session_state["seen"] = seen


def test_a_run_reads_the_language_once_and_the_next_read_is_fresh():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_language_read_once_script)
    at.session_state["lang"] = "ru"
    at.run()
    assert not at.exception, at.exception
    # fixed for the rest of the run; read again from the session once the run's block ends
    assert at.session_state["seen"] == ["ru", "ru", "en"]
