"""The operator's path: `kempelen create-requester`, `add-funds` and `serve` as real processes on a fresh data
directory, then a boto3 client against the started server."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kempelen(env, *args, timeout=120):
    return subprocess.run([str(BIN / "kempelen"), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          check=True)


@pytest.fixture
def fresh_instance(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    env["KEMPELEN_DATA_DIR"] = str(tmp_path / "data")
    if os.environ.get("KEMPELEN_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("this test runs the embedded SQLite default, as the README's first command does")
    return env


def test_serve_starts_a_working_instance_on_a_fresh_data_directory(fresh_instance):
    env = fresh_instance
    created = _kempelen(env, "create-requester", "olga").stdout
    key = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", created).group(1)
    secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", created).group(1)
    assert "10.00" in _kempelen(env, "add-funds", "olga", "10").stdout
    port = _free_port()
    server = subprocess.Popen([str(BIN / "kempelen"), "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.2)
        client = boto3.client("mturk", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id=key, aws_secret_access_key=secret,
                              config=Config(retries={"max_attempts": 1}))
        assert client.get_account_balance()["AvailableBalance"] == "10.00"
        assert client.list_hits()["HITs"] == []
        runner = subprocess.run(["pgrep", "-f", "kempelen.cli worker"], capture_output=True, text=True)
        assert runner.stdout.strip(), "serve should start the job runner"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
    assert "create-requester" in out
    assert (Path(env["KEMPELEN_DATA_DIR"]) / "kempelen.sqlite3").exists()


def test_invite_prints_a_code_the_sign_up_page_accepts(fresh_instance):
    from django.conf import settings

    from kempelen.accounts import invitations

    env = dict(fresh_instance, KEMPELEN_SECRET_KEY=settings.SECRET_KEY, KEMPELEN_PUBLIC_URL="https://work.example.org")
    _kempelen(env, "migrate")
    out = _kempelen(env, "invite", "--note", "for the lab's pool").stdout
    code = re.search(r"Invitation code \(single use\): (\S+)", out).group(1)
    assert f"https://work.example.org/worker/signup?invitation={code}" in out
    assert invitations.verify(code)
