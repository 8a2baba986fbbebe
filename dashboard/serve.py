"""Senim served with its session routes: `streamlit run dashboard/serve.py`.

``st.App`` (Streamlit 1.67) runs ``app.py`` exactly like ``streamlit run dashboard/app.py`` and
mounts the two small HTTP routes that move a sign-in into an HttpOnly cookie
(``dashboard/session_routes.py``), so a reload or a new tab stays signed in. Served through
``app.py`` directly, sign-in still works but lives only in the tab.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from dashboard.session_routes import routes

app = st.App(str(Path(__file__).with_name("app.py")), routes=routes())
