"""User-supplied text (file names, headers, user names, messages that quote them) shown inside
Streamlit text that renders Markdown: the characters of Markdown syntax are backslash-escaped, so
``![t](http://host/x.png)`` stays those characters instead of an image a colleague's browser
fetches (issue 13, finding 8). Prefer st.text or a dataframe where the layout allows."""

from __future__ import annotations

import re

# The characters that open Markdown/HTML constructs (images, links, emphasis, code, raw HTML,
# Streamlit's :color[...] and $math$); CommonMark lets each be escaped with a backslash. Plain
# punctuation of file names and sentences (. , : ; - ' ") stays as it is, so messages read the
# same in the page source as on screen.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#!|~$])")


def escape_markdown(text: object) -> str:
    """``text`` as literal characters inside Markdown (one line: breaks become spaces). A URL's
    ``://`` is escaped too, so no link is made of it."""
    flat = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", flat).replace("://", r":\/\/")
