"""`kempelen serve` with two worker processes: /metrics reports totals across both, logs are JSON lines that
carry the request id each response returned, and the metrics directory is removed when the server stops."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from .helpers import samples, value

BIN = Path(sys.executable).parent
HEALTHZ = {"method": "GET", "route": "healthz", "status": "200"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _healthz_count_by_process(directory: Path) -> dict[int, float]:
    """What each worker process counted, read from its own file."""
    counted: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[-1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == "kempelen_http_requests_total" and sample.labels == HEALTHZ:
                    counted[pid] = sample.value
    return counted


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """On a PostgreSQL run, a database of the server's own (its connection pool is part of what is tested)."""
    url = os.environ.get("KEMPELEN_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield None
        return
    base, _, _ = url.rpartition("/")
    name = f"kempelen_serve_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_with_two_workers_reports_totals_across_them(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEMPELEN_", "PROMETHEUS_"))}
    env.update(KEMPELEN_DATA_DIR=str(tmp_path / "data"), TMPDIR=str(tmp_path / "tmp"))
    if database_url:
        env["KEMPELEN_DATABASE_URL"] = database_url
    (tmp_path / "tmp").mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen([str(BIN / "kempelen"), "serve", "--port", str(port), "--workers", "2",
                                   "--no-jobs"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.2)
        sent = 1
        (directory,) = (tmp_path / "tmp").glob("kempelen-metrics-*")
        # Each request comes on a new connection, and either worker may take it: go on until both have served.
        while len(_healthz_count_by_process(directory)) < 2:
            assert sent < 2000, "one worker process served every request"
            for _ in range(20):
                _get(f"{base}/healthz")
            sent += 20
        # Both workers use the database at once: each has connections of its own (none inherited from the
        # process that migrated before starting them).
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _get(f"{base}/readyz"), range(40)))
        assert {(status, body) for status, _, body in answers} == {(200, b'{"status": "ready"}')}
        _, headers, _ = _get(f"{base}/worker/login")
        page_request_id = headers["X-Request-Id"]

        metrics = samples(_get(f"{base}/metrics")[2].decode())
        by_process = _healthz_count_by_process(directory)
        assert len(by_process) == 2 and all(by_process.values())
        assert value(metrics, "kempelen_http_requests_total", **HEALTHZ) == sent == sum(by_process.values())
        assert value(metrics, "kempelen_http_request_duration_seconds_count", method="GET", route="healthz") == sent
        assert value(metrics, "kempelen_database_up") == 1
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    page = [line for line in lines if line.get("request_id") == page_request_id]
    assert len(page) == 1
    assert page[0]["route"] == "worker:login" and page[0]["status"] == 200 and page[0]["logger"] == "kempelen.http"
    assert not directory.exists(), "serve removes its metrics directory when it stops"
