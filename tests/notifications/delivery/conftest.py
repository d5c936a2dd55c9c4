"""Real local services for delivery tests: moto in server mode (SQS, SNS), an SMTP server (aiosmtpd), and an
HTTP webhook receiver, with Kempelen's delivery settings pointed at them."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import boto3
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start listening")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on a free loopback port, for the whole session."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Aws:
    url: str
    sqs: Any
    sns: Any

    def queue(self, name: str, **attributes: str) -> str:
        return str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def topic_with_queue(self, name: str) -> tuple[str, str]:
        """A topic and a queue subscribed to it: (topic ARN, queue URL)."""
        topic = str(self.sns.create_topic(Name=name)["TopicArn"])
        queue = self.queue(f"{name}-subscriber")
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        return topic, queue

    def received(self, queue_url: str, *, expect: int = 1) -> list[dict[str, Any]]:
        """Messages now in the queue (waits briefly for ``expect`` of them)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"],
            ).get("Messages", [])
            found += batch
            if len(found) >= expect and not batch:
                break
        return found


@pytest.fixture
def aws(moto_url: str, settings: Any) -> Aws:
    """Kempelen's SQS and SNS clients pointed at moto, and test clients to look at what arrived."""
    settings.NOTIFICATIONS_SQS_ENDPOINT_URL = moto_url
    settings.NOTIFICATIONS_SNS_ENDPOINT_URL = moto_url
    settings.NOTIFICATIONS_AWS_REGION = "us-east-1"
    settings.NOTIFICATIONS_AWS_ACCESS_KEY_ID = "kempelen-test"
    settings.NOTIFICATIONS_AWS_SECRET_ACCESS_KEY = "kempelen-test-secret"
    options = {"endpoint_url": moto_url, "region_name": "us-east-1", "aws_access_key_id": "inspector",
               "aws_secret_access_key": "inspector"}
    return Aws(moto_url, boto3.client("sqs", **options), boto3.client("sns", **options))


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    """An SMTP server on a free loopback port, with Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = mailbox.host, mailbox.port
    settings.DEFAULT_FROM_EMAIL = "notifications@kempelen.test"
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    path: str


class Receiver:
    """A webhook receiver on a fixed loopback port: down until started; answers ``statuses`` (then 200);
    over TLS when given a certificate."""

    def __init__(self) -> None:
        self.port = free_port()
        self.certificate: tuple[str, str] | None = None  # (certificate file, key file)
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []  # answers for the next requests, then 200
        self.delay = 0.0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://127.0.0.1:{self.port}/kempelen/events"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body, self.path))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A webhook receiver (not yet listening), with plain http to loopback addresses allowed."""
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = True
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "receiver.pem", folder / "receiver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
