"""docs/deploy.md's nginx configuration, as documented, in front of the real app on loopback:
TLS, /_stcore/metrics blocked, anti-framing and CSP headers on every response, body-size limits
(pages and the upload path) and the upload rate limit; Streamlit's websocket works through it.
Also the SQLite file created 0600. Needs Debian's nginx (scripts/install-test-deps)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3

from queries.db import init_db, make_engine
from tests.e2e.server import free_port, serve_app
from tests.streamlit_ws import StreamlitSession

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
VIEWER = ("viewer1", "viewer-password-1")
UPLOAD_MB = 2  # the app's SENIM_MAX_UPLOAD_MB in this test; the proxy's limit is one more


def documented_config() -> str:
    """The nginx block of docs/deploy.md (between the nginx:begin/end markers)."""
    text = DEPLOY.read_text(encoding="utf-8")
    block = text.split("<!-- nginx:begin -->", 1)[1].split("<!-- nginx:end -->", 1)[0]
    return block.split("```nginx", 1)[1].split("```", 1)[0]


def local_config(app_port: int, tls_port: int, http_port: int, tmp: Path) -> str:
    """The documented block with this machine's ports, a self-signed certificate and the
    upload limit of this test; everything else exactly as documented."""
    conf = documented_config()
    replacements = {
        "server 127.0.0.1:8501;": f"server 127.0.0.1:{app_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/senim/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/ssl/senim/privkey.pem": str(tmp / "key.pem"),
        "client_max_body_size 201m;": f"client_max_body_size {UPLOAD_MB + 1}m;",
    }
    for old, new in replacements.items():
        assert old in conf, f"docs/deploy.md no longer has {old!r}"
        conf = conf.replace(old, new)
    return conf


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[tuple[str, str]]:
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed: run scripts/install-test-deps")
    tmp = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    from queries.access.accounts import create_user
    from queries.demo import load_demo

    url = f"sqlite:///{tmp / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=1_500, folder=tmp / "demo")
    create_user(engine, *VIEWER, role="viewer")
    engine.dispose()
    env = {"SENIM_MAX_UPLOAD_MB": str(UPLOAD_MB), "SENIM_REQUIRE_LOGIN": "1"}
    with serve_app(url, log_name="streamlit-proxy.log", env=env) as (app_url, _process):
        app_port = int(app_url.rsplit(":", 1)[1])
        tls_port, http_port = free_port(), free_port()
        (tmp / "senim.conf").write_text(local_config(app_port, tls_port, http_port, tmp))
        (tmp / "nginx.conf").write_text(
            f"user root;\nworker_processes 1;\nerror_log {tmp}/error.log;\npid {tmp}/nginx.pid;\n"
            "daemon off;\nevents {}\nhttp {\n"
            f"  access_log off;\n  client_body_temp_path {tmp}/body;\n"
            f"  proxy_temp_path {tmp}/proxy;\n  include {tmp}/senim.conf;\n}}\n"
        )
        check = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                               capture_output=True, text=True)  # fmt: skip
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")])
        proxy_url = f"https://127.0.0.1:{tls_port}"
        try:
            _wait_for(proxy_url, nginx)
            yield proxy_url, app_url
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)


def _wait_for(url: str, process: subprocess.Popen, deadline_s: float = 30) -> None:
    """Poll the proxied health URL until nginx answers (a readiness probe)."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with code {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if get(f"{url}/_stcore/health").status_code == 200:
                return
        time.sleep(0.2)  # polling interval of a readiness probe, not synchronisation
    raise RuntimeError("nginx did not answer in time")


pytestmark = pytest.mark.slow


def get(url: str, **options) -> requests.Response:
    return requests.get(url, verify=False, timeout=30, **options)


def test_metrics_blocked_behind_the_proxy_only(proxied):
    proxy_url, app_url = proxied
    assert requests.get(f"{app_url}/_stcore/metrics", timeout=30).status_code == 200
    assert get(f"{proxy_url}/_stcore/metrics").status_code == 404
    assert get(f"{proxy_url}/_stcore/script-health-check").status_code == 404
    assert get(f"{proxy_url}/_stcore/health").status_code == 200  # the page needs it


def test_every_response_carries_the_security_headers(proxied):
    proxy_url, _ = proxied
    for path in ("/", "/_stcore/health", "/_stcore/metrics"):
        headers = get(proxy_url + path).headers
        assert headers["X-Frame-Options"] == "DENY"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "max-age=" in headers["Strict-Transport-Security"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_plain_http_is_sent_to_https(proxied):
    proxy_url, _ = proxied
    conf = documented_config()
    assert "return 301 https://" in conf
    # The TLS port answers TLS only.
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(proxy_url.replace("https://", "http://") + "/", timeout=10).raise_for_status()


def test_body_limits_pages_and_uploads(proxied):
    proxy_url, _ = proxied
    big = b"x" * 2_000_000
    assert requests.post(f"{proxy_url}/", data=big, verify=False, timeout=30).status_code == 413
    too_big = b"x" * ((UPLOAD_MB + 1) * 1_048_576 + 100_000)
    target = f"{proxy_url}/_stcore/upload_file/{uuid.uuid4()}/{uuid.uuid4()}"
    response = requests.put(target, data=too_big, verify=False, timeout=30)
    assert response.status_code == 413


def test_websocket_works_and_upload_rate_is_limited(proxied):
    proxy_url, _ = proxied
    with StreamlitSession(proxy_url, verify=False) as session:
        page = session.run(query_string="lang=en")
        assert page.widget("text_input", "User name")  # the sign-in page, through the proxy
        statuses = [session.upload("x.csv", b"a,b\n1,2\n")[0] for _ in range(12)]
    assert 204 not in statuses  # signed out: the app refuses each one
    assert 400 in statuses and 429 in statuses  # ...and the proxy stops the flood


def test_sqlite_file_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
        init_db(engine)
        engine.dispose()
    finally:
        os.umask(old)
    for path in tmp_path.glob("new.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_documented_block_is_the_one_tested():
    conf = documented_config()
    assert re.search(r"location = /_stcore/metrics \{ return 404; \}", conf)
    assert "proxy_request_buffering off;" in conf


def test_the_app_runs_in_a_browser_under_the_documented_csp(proxied):
    """The CSP must not break Streamlit's or plotly's bundles: Chromium signs in through the
    proxy and opens the Overview (charts) with no Content-Security-Policy violation reported."""
    from tests.e2e.server import chromium, prepare, wait_for_app

    proxy_url, _ = proxied
    violations: list[str] = []
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True, locale="en-US")
        page = context.new_page()
        page.on("console", lambda msg: violations.append(msg.text)
                if "Content Security Policy" in msg.text else None)  # fmt: skip
        prepare(page)
        page.goto(f"{proxy_url}/?lang=en")
        wait_for_app(page)
        try:
            page.get_by_label("User name").fill(VIEWER[0])
            page.get_by_role("textbox", name="Password").fill(VIEWER[1])
            page.get_by_role("button", name="Sign in").click()
            page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
            wait_for_app(page)
        finally:
            page.screenshot(path=str(ROOT / "test-artifacts" / "proxy-csp.png"))
            context.close()
    assert not violations, violations
