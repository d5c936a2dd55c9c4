"""/healthz says the process is up without touching the database; /readyz says whether it can serve."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.db.migrations.recorder import MigrationRecorder


def test_healthz_answers_without_touching_the_database(client):
    # No database mark: any query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.django_db
def test_readyz_is_not_ready_while_a_migration_is_unapplied(client):
    latest = MigrationRecorder.Migration.objects.filter(app="ledger").order_by("-applied", "-id").first()
    MigrationRecorder.Migration.objects.filter(pk=latest.pk).delete()  # as if `migrate ledger <previous>` had run
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert f"ledger.{latest.name}" in body["problems"][0]
    assert "kempelen migrate" in body["problems"][0]


def _wsgi_get(path: str, **environ: str) -> tuple[str, dict[str, str], bytes]:
    """GET ``path`` through the production WSGI application (``kempelen.wsgi``), as gunicorn would."""
    from kempelen.wsgi import application

    captured: dict[str, object] = {}

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        captured.update(status=status, headers=dict(headers))

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "10.1.2.3", "SERVER_PORT": "8000",
           "HTTP_HOST": "10.1.2.3:8000", "REMOTE_ADDR": "10.1.2.4", "wsgi.input": io.BytesIO(b""),
           "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1", **environ}
    # As Django's test client does: the test's open transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(application(env, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return str(captured["status"]), captured["headers"], body  # type: ignore[return-value]


@pytest.mark.django_db
def test_probes_pass_by_host_checks_and_https_redirects_that_pages_get(settings):
    settings.ALLOWED_HOSTS = ["work.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    # A load balancer probes the node by its address, over plain http.
    for path in ("/healthz", "/readyz"):
        status, headers, _ = _wsgi_get(path)
        assert status.startswith("200"), (path, status)
        assert headers["X-Request-Id"]
    status, _, _ = _wsgi_get("/metrics")
    assert status.startswith("200")
    page_status, _, _ = _wsgi_get("/worker/login")
    assert page_status[:3] in {"301", "400"}  # redirected to https, or refused for its Host


def _readyz_in_a_fresh_process(tmp_path, database_url: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    env.update(KEMPELEN_DATA_DIR=str(tmp_path / "data"), KEMPELEN_DATABASE_URL=database_url,
               DJANGO_SETTINGS_MODULE="kempelen.settings")
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/readyz'); print(json.dumps([r.status_code, r.json()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    status, body = json.loads(done.stdout.strip().splitlines()[-1])
    return status, body


def test_readyz_is_not_ready_on_an_empty_database(tmp_path):
    status, body = _readyz_in_a_fresh_process(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert status == 503
    assert body["problems"] == ["the database has no migrations applied (run `kempelen migrate`)"]


def test_readyz_is_not_ready_when_the_database_is_unreachable(tmp_path):
    with __import__("socket").socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, body = _readyz_in_a_fresh_process(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/nothing")
    assert status == 503
    assert body["problems"][0].startswith("the database is unreachable")
