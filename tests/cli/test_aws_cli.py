"""The AWS CLI (awscli v1) as requesters run it against Kempelen: ``aws mturk … --endpoint-url``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import HTML_QUESTION, create_hit

pytestmark = pytest.mark.django_db(transaction=True)

AWS = Path(sys.executable).parent / "aws"


@pytest.fixture
def aws(api, tmp_path):
    """Run ``aws mturk …`` as a requester whose machine has no AWS configuration of its own."""
    handle = api()
    empty = tmp_path / "aws-empty"
    empty.write_text("")

    def run(*args: str, endpoint: str | None = "flag", region: str | None = "us-east-1", check: bool = True,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "AWS_ACCESS_KEY_ID": handle.access_key_id,
            "AWS_SECRET_ACCESS_KEY": handle.secret,
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_PAGER": "",
            **(extra_env or {}),
        }
        command = [str(AWS), "mturk", *args, "--output", "json"]
        if endpoint == "flag":
            command += ["--endpoint-url", handle.url]
        if region:
            command += ["--region", region]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    run.handle = handle  # type: ignore[attr-defined]
    return run


def _json(done: subprocess.CompletedProcess) -> Any:
    return json.loads(done.stdout)


def test_the_aws_cli_is_installed():
    assert AWS.exists(), f"awscli is expected at {AWS}"


def test_get_account_balance(aws):
    assert _json(aws("get-account-balance"))["AvailableBalance"] == "1000.00"


def test_create_hit_with_a_question_file(aws, tmp_path):
    question = tmp_path / "question.xml"
    question.write_text(HTML_QUESTION)
    hit = _json(aws("create-hit", "--title", "Label a picture", "--description", "Say what is in it",
                    "--reward", "0.25", "--lifetime-in-seconds", "3600", "--assignment-duration-in-seconds", "600",
                    "--max-assignments", "2", "--question", f"file://{question}"))["HIT"]
    assert hit["HITStatus"] == "Assignable"
    assert hit["Reward"] == "0.25"
    assert hit["Question"] == HTML_QUESTION
    assert hit["QualificationRequirements"] == []
    # awscli v1 prints timestamps as they came: epoch numbers.
    assert isinstance(hit["CreationTime"], int | float) and isinstance(hit["Expiration"], int | float)
    assert hit["Expiration"] - hit["CreationTime"] == pytest.approx(3600, abs=1)
    got = aws.handle.client().get_hit(HITId=hit["HITId"])["HIT"]
    assert got["Title"] == "Label a picture"


def test_list_hits_follows_next_token_across_more_than_ten_hits(aws):
    client = aws.handle.client()
    made = [create_hit(client)["HITId"] for _ in range(13)]
    listed = _json(aws("list-hits"))
    seen = [h["HITId"] for h in listed["HITs"]]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    small_pages = _json(aws("list-hits", "--page-size", "4"))
    assert sorted(h["HITId"] for h in small_pages["HITs"]) == sorted(made)


def test_update_expiration_with_an_iso_date_expires_the_hit(aws):
    client = aws.handle.client()
    hit = create_hit(client)["HITId"]
    done = aws("update-expiration-for-hit", "--hit-id", hit, "--expire-at", "2015-01-01T00:00:00Z")
    assert done.stdout.strip() in ("", "{}")
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"


def test_an_error_is_reported_with_mturks_message(aws):
    done = aws("get-hit", "--hit-id", "3NOSUCHHIT", check=False)
    assert done.returncode != 0
    assert "RequestError" in done.stderr
    assert "Hit 3NOSUCHHIT does not exist." in done.stderr


def test_aws_endpoint_url_mturk_replaces_the_endpoint_flag(aws):
    done = aws("get-account-balance", endpoint=None, extra_env={"AWS_ENDPOINT_URL_MTURK": aws.handle.url})
    assert _json(done)["AvailableBalance"] == "1000.00"


def test_region_sandbox_selects_the_sandbox(aws, tmp_path):
    question = tmp_path / "question.xml"
    question.write_text(HTML_QUESTION)
    assert _json(aws("get-account-balance", region="sandbox"))["AvailableBalance"] == "10000.00"
    hit = _json(aws("create-hit", "--title", "Sandbox task", "--description", "d", "--reward", "0.10",
                    "--lifetime-in-seconds", "600", "--assignment-duration-in-seconds", "60",
                    "--question", f"file://{question}", region="sandbox"))["HIT"]
    assert [h["HITId"] for h in _json(aws("list-hits", region="sandbox"))["HITs"]] == [hit["HITId"]]
    assert _json(aws("list-hits"))["HITs"] == []
