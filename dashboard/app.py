"""Senim: `streamlit run dashboard/app.py`. Builds the page list for the signed-in user's role
(a page not in the list cannot be opened) and the sidebar's language switch."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# --- issue 11 (bench/bench_ws_load.py): plotly peeks at sys.modules["pandas"] without importing
# it; when two first runs of a fresh server overlap, one thread imports pandas while the other's
# plotly finds it half-initialised (AttributeError: 'pandas' has no attribute 'Series'). An
# import here makes every run wait until pandas is whole.
import pandas  # noqa: F401

# --- end issue 11
import streamlit as st

from dashboard import auth, heap, i18n, runs, server_guard, signin_page
from dashboard.components.filters import keep_selection
from dashboard.components.regionmap import preload_map
from dashboard.i18n import LANG_KEY, LANGUAGES, t

server_guard.install()  # uploads and cache clearing only for signed-in roles (issue 13)

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOGO = Path(__file__).parent / "logo.svg"
UNHELD = "upload"  # the page whose runs do not wait for a page-run slot (dashboard/runs.py)
# (view module, icon, lowest role); url path = module name. Order = order in the menu.
PAGES = (
    ("overview", ":material/dashboard:", "viewer"),
    ("regions", ":material/map:", "viewer"),
    ("feedback", ":material/forum:", "viewer"),
    ("ngo", ":material/diversity_3:", "viewer"),
    ("drivers", ":material/insights:", "viewer"),  # issue 12: what drives trust
    ("methodology", ":material/menu_book:", "viewer"),
    ("upload", ":material/upload_file:", "staff"),
    ("history", ":material/history:", "staff"),
    ("users", ":material/group:", "admin"),
    ("audit", ":material/policy:", "admin"),
)


def _render(name: str):
    """The view's ``render`` (a missing or broken view fails loudly, never silently vanishes)."""
    return importlib.import_module(f"dashboard.views.{name}").render


def _available(role_allowed) -> list[tuple[str, str]]:
    return [(name, icon) for name, icon, role in PAGES if role_allowed(role)]


def choose_language() -> None:
    """The language switch, seeded once from the link (``?lang=ru``) and mirrored back to it."""
    if LANG_KEY not in st.session_state:  # first run of this browser session
        wanted = st.query_params.get(LANG_KEY)
        st.session_state[LANG_KEY] = wanted if wanted in LANGUAGES else "kk"
        if wanted is not None and wanted not in LANGUAGES:
            st.warning(t("filters.invalid_params", params=LANG_KEY), icon=":material/info:")
    st.sidebar.segmented_control(
        t("common.language"),
        LANGUAGES,
        format_func=LANGUAGE_NAMES.get,
        key=LANG_KEY,
        required=True,
        width="stretch",
    )
    st.query_params[LANG_KEY] = st.session_state[LANG_KEY]


def page_list(user: auth.SessionUser | None) -> list[st.Page]:
    """The pages this user may open; signed out, only the sign-in page (also under every page's
    address, hidden, so a shared link opens the linked page right after signing in)."""
    if user is None:
        login = signin_page.login_view
        pages = [st.Page(login, title=t("nav.sign_in"), icon=":material/login:",
                         url_path="login", default=True)]  # fmt: skip
        for name, _icon, _role in PAGES[1:]:  # the Overview is the root address
            pages.append(st.Page(login, title=t("nav.sign_in"), url_path=name, visibility="hidden"))
        return pages
    allowed = _available(lambda role: auth.has_role(user, role))
    return [
        st.Page(_render(name), title=t(f"nav.{name}"), icon=icon, url_path=name,
                default=name == "overview")
        for name, icon in allowed
    ]  # fmt: skip


def main() -> None:
    """One run of the app: language, the user's pages, the chosen page. Two runs compute at
    once per process, the others wait their turn (issue 11, dashboard/runs.py); the upload
    page gives its slot back (an upload check has its own limit and may take minutes)."""
    with runs.page_run() as slot:
        # A local icon: a :material/...: page icon makes browsers fetch it from
        # fonts.gstatic.com, which the deployment's CSP (docs/deploy.md) blocks and an
        # offline site cannot reach.
        st.set_page_config(page_title="Senim", page_icon=str(LOGO), layout="wide")
        choose_language()
        keep_selection()
        # issue 11: the language and the user looked up once per run
        with i18n.fixed_language(), auth.checked_for_this_run() as user:
            server_guard.note_session(user)  # what this session may do on Streamlit's endpoints
            st.logo(str(LOGO), size="large")
            page = st.navigation(page_list(user), position="sidebar" if user else "hidden")
            signin_page.logout_button()
            if user is None:  # scale (issue 11): chart code and map geometry load at sign-in
                preload_map()
                page.run()
                return
            if page.url_path == UNHELD:
                slot.give_back()
            try:
                page.run()
            finally:  # also after st.stop() or st.rerun() inside the page
                heap.settle(page.url_path)  # issue 11: later runs' garbage passes skip the rest


if __name__ == "__main__":  # `streamlit run` executes this file as __main__
    main()
