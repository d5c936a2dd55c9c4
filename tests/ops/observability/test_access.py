"""Who may read /metrics: loopback and private networks by default, others only with the bearer token."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PUBLIC = "203.0.113.7"


@pytest.fixture
def kempelen_settings(settings):
    def change(**values: object) -> None:
        settings.KEMPELEN = {**settings.KEMPELEN, **values}

    return change


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.4.0.9", "172.20.1.1", "192.168.1.20"])
def test_loopback_and_private_networks_may_read_metrics_by_default(client, address):
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 200
    assert b"kempelen_database_up 1.0" in response.content


def test_a_public_address_is_refused(client):
    response = client.get("/metrics", REMOTE_ADDR=PUBLIC)
    assert response.status_code == 403
    assert b"kempelen_" not in response.content


def test_the_bearer_token_opens_metrics_to_any_address(client, kempelen_settings):
    kempelen_settings(METRICS_TOKEN="a-long-random-token", METRICS_ALLOWED_NETWORKS=[])
    assert client.get("/metrics", REMOTE_ADDR=PUBLIC,
                      HTTP_AUTHORIZATION="Bearer a-long-random-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=PUBLIC, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR=PUBLIC).status_code == 403
    # An empty network list leaves only the token, even on the loopback.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_configured_networks_replace_the_defaults(client, kempelen_settings):
    kempelen_settings(METRICS_ALLOWED_NETWORKS=["203.0.113.0/24"])
    assert client.get("/metrics", REMOTE_ADDR=PUBLIC).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.4.0.9").status_code == 403


def test_behind_a_trusted_proxy_the_forwarded_client_address_decides(client, kempelen_settings):
    kempelen_settings(TRUSTED_PROXY_COUNT=1)
    # The proxy itself is on the loopback; the client it forwards is not.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=PUBLIC).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.5").status_code == 200
