"""A small client that speaks Streamlit's own protocol to a running server (tests and bench/).

What a browser tab does, without a browser: fetch the XSRF cookie (``/_stcore/health``), open
the websocket ``/_stcore/stream`` (subprotocol ``streamlit, <xsrf token>``), send ``BackMsg``
protobufs (rerun with widget states, clear cache), read ``ForwardMsg`` protobufs until the script
run finishes, and PUT files to ``/_stcore/upload_file/<session>/<file>`` as ``st.file_uploader``
does. Elements of the last run are kept by delta path so a caller can find widgets by label
and read what was shown (markdown bodies, text, errors).

``StreamlitSession`` blocks (one tab per thread); ``AsyncStreamlitSession`` is the same tab on an
asyncio event loop, so one process can hold many (the load generator, bench/bench_ws_load.py).
Both build and read messages through ``_Protocol``.

Written against Streamlit 1.67's protos (``streamlit.proto``); used by tests/test_server_*.py
and bench/bench_access.py, bench/bench_page.py and bench/bench_ws_load.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import ClientConnection, connect

XSRF_COOKIE = "_streamlit_xsrf"
DEFAULT_TIMEOUT = 60.0
SIGN_IN_LABELS = ("User name", "Password", "Sign in")  # the form's labels in English


@dataclass
class Shown:
    """One element of the last script run: its proto type name and the proto itself."""

    kind: str
    proto: object

    @property
    def label(self) -> str:
        return str(getattr(self.proto, "label", ""))

    @property
    def widget_id(self) -> str:
        return str(getattr(self.proto, "id", ""))


@dataclass
class RunResult:
    """What one script run sent: elements by delta path, and how the run ended."""

    elements: dict[tuple[int, ...], Shown] = field(default_factory=dict)
    finished: int | None = None  # ForwardMsg.ScriptFinishedStatus
    page_not_found: bool = False

    def of_kind(self, kind: str) -> list[Shown]:
        return [e for _p, e in sorted(self.elements.items()) if e.kind == kind]

    def widget(self, kind: str, label: str) -> Shown:
        """The widget of ``kind`` whose label is ``label`` (KeyError when absent)."""
        for shown in self.of_kind(kind):
            if shown.label == label:
                return shown
        labels = [e.label for e in self.of_kind(kind)]
        raise KeyError(f"no {kind} labelled {label!r}; have {labels}")

    def texts(self) -> list[str]:
        """Every text-like body shown (markdown, text, alerts, captions, headings)."""
        out = []
        for shown in self.elements.values():
            body = getattr(shown.proto, "body", None)
            if isinstance(body, str):
                out.append(body)
        return out


def _xsrf_cookies(base_url: str, *, timeout: float, verify: bool) -> requests.Session:
    """An HTTP session holding the XSRF cookie a tab gets from the health endpoint."""
    http = requests.Session()
    # Per request: a Session's verify=False loses against REQUESTS_CA_BUNDLE.
    response = http.get(f"{base_url}/_stcore/health", timeout=timeout, verify=verify)
    response.raise_for_status()
    return http


def _stream_address(base_url: str, http: requests.Session, *, verify: bool
                    ) -> tuple[str, list[str], dict[str, str], ssl.SSLContext | None]:  # fmt: skip
    """The websocket URI, subprotocols, headers and TLS context a tab connects with."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    xsrf = http.cookies.get(XSRF_COOKIE, "")
    protocols = ["streamlit", xsrf] if xsrf else ["streamlit"]
    tls = None
    if scheme == "wss":
        tls = ssl.create_default_context()
        if not verify:
            tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    uri = f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream"
    return uri, protocols, {"Origin": base_url, "Cookie": cookie}, tls


class _Protocol:
    """What both sessions share: the widget states to send, the rerun message, and reading the
    ForwardMsgs of a run."""

    base_url: str
    session_id: str
    config: object
    widget_states: dict[str, WidgetState]
    last: RunResult

    def _rerun_message(self, *, query_string: str, page_name: str) -> BackMsg:
        """A rerun with the current widget states; trigger values (buttons) are then dropped:
        they count for one run only, as in the browser."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query_string
        state.page_name = page_name
        state.widget_states.widgets.extend(self.widget_states.values())
        state.context_info.timezone = "Asia/Almaty"
        state.context_info.locale = "en-US"
        state.context_info.url = self.base_url + "/" + page_name
        for key in [k for k, w in self.widget_states.items() if w.WhichOneof("value") in
                    ("trigger_value", "json_trigger_value")]:  # fmt: skip
            del self.widget_states[key]
        return msg

    def _read(self, msg: ForwardMsg, result: RunResult) -> bool:
        """Add one ForwardMsg to ``result``; True when the run is over (``script_finished``,
        except a rerun the script asked for with st.rerun, which follows at once)."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # each script run starts with one
            result.elements.clear()
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
            self.config = msg.new_session.config
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            element_kind = element.WhichOneof("type") or ""
            path = tuple(msg.metadata.delta_path)
            result.elements[path] = Shown(element_kind, getattr(element, element_kind, None))
        elif kind == "page_not_found":
            result.page_not_found = True
        elif kind == "script_finished":
            result.finished = msg.script_finished
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.last = result
                return True
        return False

    # --- widgets --------------------------------------------------------------------------
    def set_text(self, widget_id: str, value: str) -> None:
        self.widget_states[widget_id] = WidgetState(id=widget_id, string_value=value)

    def set_strings(self, widget_id: str, values: list[str]) -> None:
        """A multiselect's choice: its options as shown (``proto.options``), not their values."""
        state = WidgetState(id=widget_id)
        state.string_array_value.data.extend(values)
        self.widget_states[widget_id] = state

    def click(self, widget_id: str) -> None:
        self.widget_states[widget_id] = WidgetState(id=widget_id, trigger_value=True)

    def _fill_sign_in(self, form: RunResult, username: str, password: str,
                      labels: tuple[str, str, str] = SIGN_IN_LABELS) -> None:  # fmt: skip
        """Type the name and password into the local sign-in form and press its button, found
        by their ``labels`` (name, password, button) in the form's language."""
        name_label, password_label, button_label = labels
        self.set_text(form.widget("text_input", name_label).widget_id, username)
        self.set_text(form.widget("text_input", password_label).widget_id, password)
        self.click(form.widget("button", button_label).widget_id)


class StreamlitSession(_Protocol):
    """One browser-tab-like session on a running Streamlit server."""

    def __init__(
        self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT, verify: bool = True
    ) -> None:
        """``verify=False``: accept any TLS certificate (a test proxy's self-signed one)."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.http = _xsrf_cookies(self.base_url, timeout=timeout, verify=verify)
        self.xsrf = self.http.cookies.get(XSRF_COOKIE, "")
        self.session_id = ""
        self.config = None  # NewSession.config of the last run
        self.widget_states: dict[str, WidgetState] = {}
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(self._connect())
        self.last = RunResult()

    def _connect(self) -> ClientConnection:
        uri, protocols, headers, tls = _stream_address(self.base_url, self.http, verify=self.verify)
        return connect(
            uri,
            ssl=tls,
            subprotocols=protocols,  # type: ignore[arg-type]
            additional_headers=headers,
            max_size=None,
            open_timeout=self.timeout,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()
        self.http.close()

    def __enter__(self) -> StreamlitSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- messages -------------------------------------------------------------------------
    def send(self, msg: BackMsg) -> None:
        self.ws.send(msg.SerializeToString())

    def receive(self, timeout: float | None = None) -> ForwardMsg:
        msg = ForwardMsg()
        msg.ParseFromString(self.ws.recv(timeout=timeout or self.timeout))
        return msg

    def run(self, *, query_string: str = "", page_name: str = "") -> RunResult:
        """Rerun the script with the current widget states; wait until the run finishes."""
        self.send(self._rerun_message(query_string=query_string, page_name=page_name))
        return self.wait_for_run()

    def wait_for_run(self) -> RunResult:
        """Read ForwardMsgs until ``script_finished``; the elements of that run."""
        result = RunResult()
        while not self._read(self.receive(), result):
            pass
        return result

    def clear_cache(self) -> None:
        """The "Clear cache" menu item: empties st.cache_data/resource (when allowed)."""
        msg = BackMsg()
        msg.clear_cache = True
        self.send(msg)

    # --- widgets --------------------------------------------------------------------------
    def set_file(self, widget_id: str, *, file_id: str, name: str, size: int) -> None:
        """Point a file_uploader at a file already PUT under ``file_id``."""
        state = WidgetState(id=widget_id)
        info = UploadedFileInfo(file_id=file_id, name=name, size=size)
        info.file_urls.CopyFrom(FileURLs(file_id=file_id, upload_url=self.upload_url(file_id)))
        state.file_uploader_state_value.uploaded_file_info.append(info)
        self.widget_states[widget_id] = state

    def sign_in(self, username: str, password: str, *, lang: str = "en",
                labels: tuple[str, str, str] = SIGN_IN_LABELS) -> RunResult:  # fmt: skip
        """Fill the local sign-in form and submit it (``?lang=``, English by default; other
        languages need the form's ``labels`` in that language)."""
        form = self.run(query_string=f"lang={lang}")
        self._fill_sign_in(form, username, password, labels)
        return self.run(query_string=f"lang={lang}")

    # --- uploads --------------------------------------------------------------------------
    def upload_url(self, file_id: str) -> str:
        return f"{self.base_url}/_stcore/upload_file/{self.session_id}/{file_id}"

    def upload(self, name: str, data: bytes | Iterator[bytes], *, file_id: str | None = None
               ) -> tuple[int, str]:  # fmt: skip
        """PUT a file as st.file_uploader does: (HTTP status or 0 when the server hung up
        before reading the body, file id)."""
        file_id = file_id or uuid.uuid4().hex
        try:
            response = self.http.put(
                self.upload_url(file_id),
                files={"file": (name, data, "text/csv")},
                headers={"X-Xsrftoken": self.xsrf},
                timeout=self.timeout,
                verify=self.verify,
            )
        except requests.ConnectionError:
            return 0, file_id
        return response.status_code, file_id


class AsyncStreamlitSession(_Protocol):
    """A ``StreamlitSession`` on an asyncio event loop: ``await AsyncStreamlitSession.open(url)``,
    then ``await run(...)``; many of them share one loop (a load generator's sessions)."""

    def __init__(self, base_url: str, *, timeout: float, ws: AsyncConnection) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.ws = ws
        self.session_id = ""
        self.config = None
        self.widget_states: dict[str, WidgetState] = {}
        self.last = RunResult()

    @classmethod
    async def open(
        cls, base_url: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> AsyncStreamlitSession:
        base_url = base_url.rstrip("/")
        http = await asyncio.to_thread(_xsrf_cookies, base_url, timeout=timeout, verify=True)
        try:
            uri, protocols, headers, tls = _stream_address(base_url, http, verify=True)
        finally:
            http.close()
        ws = await async_connect(
            uri,
            ssl=tls,
            subprotocols=protocols,  # type: ignore[arg-type]
            additional_headers=headers,
            max_size=None,
            open_timeout=timeout,
            ping_interval=None,  # a busy client loop must not time its own connection out
        )
        return cls(base_url, timeout=timeout, ws=ws)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def run(self, *, query_string: str = "", page_name: str = "") -> RunResult:
        """Rerun the script with the current widget states; wait until the run finishes
        (``TimeoutError`` after ``timeout`` seconds without the end)."""
        msg = self._rerun_message(query_string=query_string, page_name=page_name)
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self.wait_for_run(), self.timeout)

    async def wait_for_run(self) -> RunResult:
        result = RunResult()
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            if self._read(msg, result):
                return result

    async def sign_in(
        self, username: str, password: str, *, lang: str = "en",
        labels: tuple[str, str, str] = SIGN_IN_LABELS,
    ) -> RunResult:  # fmt: skip
        """Open the app in ``lang`` (``?lang=``; the session keeps it) and sign in through its
        form, whose ``labels`` (name, password, button) are in that language."""
        form = await self.run(query_string=f"lang={lang}")
        self._fill_sign_in(form, username, password, labels)
        return await self.run(query_string=f"lang={lang}")
