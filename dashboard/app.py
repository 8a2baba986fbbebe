"""Senim: `streamlit run dashboard/app.py`. Builds the page list for the signed-in user's role
(a page not in the list cannot be opened) and the sidebar's language switch."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from dashboard import auth
from dashboard.i18n import LANG_KEY, LANGUAGES, t
from dashboard.views import (
    audit,
    feedback,
    history,
    login,
    methodology,
    ngo,
    overview,
    regions,
    upload,
    users,
)

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

st.set_page_config(page_title="Senim", page_icon=":material/handshake:", layout="wide")
if LANG_KEY not in st.session_state:  # first run of this browser session: language from the link
    wanted = st.query_params.get(LANG_KEY)
    st.session_state[LANG_KEY] = wanted if wanted in LANGUAGES else "kk"
st.sidebar.segmented_control(
    t("common.language"), LANGUAGES, format_func=LANGUAGE_NAMES.get, key=LANG_KEY, required=True
)
st.query_params[LANG_KEY] = st.session_state[LANG_KEY]

user = auth.current_user()
if user is None:
    pages = [st.Page(login.render, title=t("nav.sign_in"), icon=":material/login:",
                     url_path="login", default=True)]  # fmt: skip
else:
    pages = [
        st.Page(overview.render, title=t("nav.overview"), icon=":material/dashboard:",
                url_path="overview", default=True),
        st.Page(regions.render, title=t("nav.regions"), icon=":material/map:", url_path="regions"),
        st.Page(feedback.render, title=t("nav.feedback"), icon=":material/forum:",
                url_path="feedback"),
        st.Page(ngo.render, title=t("nav.ngo"), icon=":material/diversity_3:", url_path="ngo"),
        st.Page(methodology.render, title=t("nav.methodology"), icon=":material/menu_book:",
                url_path="methodology"),
    ]  # fmt: skip
    if auth.has_role(user, "staff"):
        pages += [
            st.Page(upload.render, title=t("nav.upload"), icon=":material/upload_file:",
                    url_path="upload"),
            st.Page(history.render, title=t("nav.history"), icon=":material/history:",
                    url_path="history"),
        ]  # fmt: skip
    if auth.has_role(user, "admin"):
        pages += [
            st.Page(users.render, title=t("nav.users"), icon=":material/group:",
                    url_path="users"),
            st.Page(audit.render, title=t("nav.audit"), icon=":material/policy:",
                    url_path="audit"),
        ]  # fmt: skip
st.logo(str(Path(__file__).parent / "logo.svg"), size="large")
page = st.navigation(pages)
auth.logout_button()
page.run()
