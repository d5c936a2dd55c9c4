"""Kempelen's Webhook transport: an HTTPS POST of the event document, signed with HMAC-SHA256.

Signing: the key is derived from the requester's oldest active API secret access key,
``HMAC-SHA256(secret_access_key, "kempelen-webhook")``, so a receiver can keep the derived key alone (it
cannot call the API with it). The signature covers the timestamp header, a dot and the body:
``X-Kempelen-Signature: v1=<hex HMAC-SHA256(key, timestamp + "." + body)>``. ``X-Kempelen-Access-Key-Id``
says which key signed, so a receiver holding several keys picks the right one (and a rotation works: the old
key signs until it is revoked).

Addresses: https only, and only to public addresses, unless ``KEMPELEN_WEBHOOK_ALLOW_HTTP`` /
``KEMPELEN_WEBHOOK_ALLOW_PRIVATE`` allow plain http / loopback and private addresses. The host is resolved
once per send and the connection made to the address that was checked, so a name cannot be switched to an
internal address between the check and the connection. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings

from . import DeliveryError, OutgoingMessage

SIGNATURE_HEADER = "X-Kempelen-Signature"
TIMESTAMP_HEADER = "X-Kempelen-Timestamp"
KEY_ID_HEADER = "X-Kempelen-Access-Key-Id"
DOC_ID_HEADER = "X-Kempelen-Event-Doc-Id"
SIGNING_LABEL = b"kempelen-webhook"
USER_AGENT = "Kempelen-Notifications/1"


def signing_key(secret_access_key: str) -> bytes:
    return hmac.new(secret_access_key.encode(), SIGNING_LABEL, hashlib.sha256).digest()


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def url_problem(url: str) -> str | None:
    """What makes ``url`` unacceptable as a webhook destination under the current settings, or None."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return f"must be an https URL such as https://example.org/kempelen-events; got {url!r}."
    allow_http = bool(settings.NOTIFICATIONS_WEBHOOK_ALLOW_HTTP)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not host or parts.username or parts.password or parts.fragment:
        wanted = "an http(s) URL" if allow_http else "an https URL"
        return f"must be {wanted} such as https://example.org/kempelen-events, without credentials; got {url!r}."
    if not settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE and _private_host(host):
        return (f"must be a public address; {host} is a loopback or private address, which this instance "
                "does not send webhooks to.")
    return None


def send_webhook(message: OutgoingMessage) -> None:
    problem = url_problem(message.destination)
    if problem:
        raise DeliveryError(f"Webhook destination {problem}")
    parts = urlsplit(message.destination)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _address(host, port)
    key_id, secret = _signing_credential(message.requester_id)
    body = message.body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DOC_ID_HEADER: message.doc_id,
        TIMESTAMP_HEADER: timestamp,
        KEY_ID_HEADER: key_id,
        SIGNATURE_HEADER: signature(signing_key(secret), timestamp, body),
    }
    timeout = float(settings.NOTIFICATIONS_TIMEOUT_SECONDS)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(host, port, address=address, timeout=timeout)
    else:
        connection = _PinnedHTTPConnection(host, port, address=address, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"Webhook {message.destination} could not be reached: {error or type(error).__name__}") \
            from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise DeliveryError(f"Webhook {message.destination} answered HTTP {response.status} {response.reason}".strip())


def _signing_credential(requester_id: int) -> tuple[str, str]:
    from kempelen.accounts.models import ApiCredential
    from kempelen.accounts.secrets import decrypt

    row = (
        ApiCredential.objects.filter(requester_id=requester_id, revoked_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("access_key_id", "secret_encrypted")
        .first()
    )
    if row is None:
        raise DeliveryError("Webhook messages are signed with the requester's API key, and this requester has no "
                            "active API key: create one, then the message is sent on its next attempt.")
    return row[0], decrypt(row[1])


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not _public(ipaddress.ip_address(host))
    except ValueError:  # a name: checked when it is resolved, at each send
        return False


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _address(host: str, port: int) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise DeliveryError(f"Webhook host {host} could not be resolved: {error}") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise DeliveryError(f"Webhook host {host} has no address.")
    if not settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not _public(ipaddress.ip_address(address.split("%")[0])):
                raise DeliveryError(f"Webhook host {host} resolves to {address}, a loopback or private address, "
                                    "which this instance does not send webhooks to.")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address resolved and checked beforehand, naming ``host`` in the Host header."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, over TLS, verifying the certificate against ``host``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
