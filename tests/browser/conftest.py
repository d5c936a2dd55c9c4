"""Browser tests: real headless Chromium (Debian's ``chromium``, driven by Playwright) against the live server.

One browser for all of them, a fresh context (cookies, storage, cache) for every test. Workers are signed in
by injecting a session cookie made on the server (``sign_in``), except in the test of the login page itself.

Requesters' ExternalQuestion pages live on their own https sites. Here that site is ``task_site``: a tiny
HTTPS server on 127.0.0.1 (a different site from the live server's ``http://localhost``) with a self-signed
certificate generated when the session starts; the browser contexts accept it (``ignore_https_errors``), which is
the only thing that differs from a requester's real site.

``scripts/test`` installs Chromium (``scripts/install-browser``); when it is missing these tests fail loudly
instead of being skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from kempelen.accounts.models import Worker

CHROMIUM = os.environ.get("KEMPELEN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
#: Playwright waits this long (ms) for an element or a navigation before failing a test.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One browser for all the browser tests (they are this package), closed after the last of them.

    Playwright's synchronous API keeps an asyncio event loop running in this thread while it is started; Django
    would then refuse the tests' own ORM calls ("You cannot call this from an async context") although they run
    synchronously, between browser calls. Django's check is off only while the browser runs, and the browser
    stops when this package's tests end, so the rest of the suite keeps the check.
    """
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run scripts/install-browser (scripts/test does).")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield launched
            finally:
                launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def context(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = browser.new_context(base_url=live_server.url, ignore_https_errors=True, locale="en-US",
                              viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            _save_screenshots(ctx, request.node.name)
        ctx.close()


def _save_screenshots(ctx: Any, name: str) -> None:
    folder = Path(os.environ.get("KEMPELEN_TEST_SCREENSHOTS", "/tmp/kempelen-browser-failures"))
    folder.mkdir(parents=True, exist_ok=True)
    for n, pg in enumerate(ctx.pages):
        with contextlib.suppress(Exception):  # a closed or crashed page: nothing to keep
            pg.screenshot(path=str(folder / f"{name}-{n}.png"), full_page=True)


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def sign_in(context: Any, live_server: Any) -> Callable[[Worker], None]:
    """Sign a worker in by giving the browser a session cookie made on the server (what logging in leaves)."""

    def signer(worker: Worker) -> None:
        client = Client()
        client.force_login(worker.user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url,
            "httpOnly": True, "sameSite": "Lax",
        }])

    return signer


# --- The requester's own https site (ExternalQuestion pages, a collector for what task scripts found) ----------

@dataclass
class TaskSite:
    """A requester's https web site: ``pages`` maps a path to HTML; ``collected`` keeps what was posted to
    ``/collect``."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)
    collected: list[Any] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def wait_for_collected(self, count: int, timeout: float = 15.0) -> list[Any]:
        """Wait (without touching the browser) until ``count`` findings were posted to ``/collect``."""
        deadline = time.monotonic() + timeout
        while len(self.collected) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} posts to {self.url}/collect, got {len(self.collected)}")
            time.sleep(0.05)
        return list(self.collected)

    def reset(self) -> None:
        self.pages.clear()
        self.collected.clear()
        self.requests.clear()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "requester.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _handler(site: TaskSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            site.requests.append(self.path)
            page = site.pages.get(urlsplit(self.path).path)
            if page is None:
                self._send(404, b"not here", "text/plain")
            else:
                self._send(200, page.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            site.requests.append(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if urlsplit(self.path).path == "/collect":
                try:
                    site.collected.append(json.loads(body))
                except ValueError:
                    site.collected.append(body)
            self._send(204, b"", "text/plain")

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "content-type")
            self.end_headers()

    return Handler


class _QuietHTTPSServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Chromium probes the self-signed certificate and drops connections it does not use: not test failures.
        pass


@pytest.fixture(scope="session")
def _task_site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskSite]:
    cert, key = _self_signed(tmp_path_factory.mktemp("requester-tls"))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    site = TaskSite(url="")
    server = _QuietHTTPSServer(("127.0.0.1", 0), _handler(site))
    # The handshake happens in each request's own thread, so a stalled connection cannot block the others.
    server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    site.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="requester-https-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def task_site(_task_site_server: TaskSite) -> Iterator[TaskSite]:
    _task_site_server.reset()
    yield _task_site_server
    _task_site_server.reset()


# --- Question XML -------------------------------------------------------------------------------------------

HTML_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
EXTERNAL_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
QUESTION_FORM_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"


def html_question(html: str, frame_height: int = 600) -> str:
    return (f'<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[{html}]]></HTMLContent>'
            f"<FrameHeight>{frame_height}</FrameHeight></HTMLQuestion>")


def external_question(url: str, frame_height: int = 600) -> str:
    return (f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><ExternalURL>{url}</ExternalURL>'
            f"<FrameHeight>{frame_height}</FrameHeight></ExternalQuestion>")


#: The classic MTurk HTMLQuestion page: Amazon's externalHIT_v1.js, a form posted to MTurk, turkSetAssignmentID().
CLASSIC_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>
<script type="text/javascript" src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script>
</head>
<body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId"/>
<h1>What animal is this?</h1>
<p><label for="animal">Animal</label> <input type="text" name="animal" id="animal"></p>
<p><input type="submit" id="submitButton" value="Submit"></p>
</form>
<script language="Javascript">turkSetAssignmentID();</script>
</body>
</html>"""


def create_hit(client: Any, question: str, *, title: str = "Name the animal", reward: str = "0.25",
               duration: int = 300, max_assignments: int = 1, keywords: str = "test",
               **extra: Any) -> str:
    """Create a live HIT through boto3 and return its HITId."""
    return str(client.create_hit(
        Title=title, Description=f"{title}: a short task", Keywords=keywords, Reward=reward,
        LifetimeInSeconds=3600, AssignmentDurationInSeconds=duration, MaxAssignments=max_assignments,
        Question=question, **extra,
    )["HIT"]["HITId"])
