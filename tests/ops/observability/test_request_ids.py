"""Every response carries its request's id, the API's x-amzn-RequestId is that id, and so is every log line
written while the request is served."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from kempelen.mturk_api import views as api_views
from kempelen.observability.logs import JsonFormatter, RequestContextFilter, TextFormatter
from tests.api.helpers import create_hit


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Kempelen's log records as the server writes them with KEMPELEN_LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("kempelen")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_every_response_has_its_own_request_id(client):
    ids = [client.get(path)["X-Request-Id"] for path in ("/worker/login", "/worker/login", "/no/such/page", "/")]
    assert len(set(ids)) == 4
    assert all(uuid.UUID(i) for i in ids)


@pytest.mark.django_db
def test_an_incoming_request_id_is_kept_only_when_the_proxy_is_trusted(client, settings):
    assert client.get("/worker/login", HTTP_X_REQUEST_ID="lb-7f3a")["X-Request-Id"] != "lb-7f3a"
    settings.KEMPELEN = {**settings.KEMPELEN, "TRUST_REQUEST_ID": True}
    assert client.get("/worker/login", HTTP_X_REQUEST_ID="lb-7f3a")["X-Request-Id"] == "lb-7f3a"
    # Something that is not an id (spaces, markup, too long) is replaced rather than echoed into logs.
    for bad in ("two words", "<script>", "x" * 200):
        assert client.get("/worker/login", HTTP_X_REQUEST_ID=bad)["X-Request-Id"] != bad


@pytest.mark.django_db(transaction=True)
def test_the_api_request_id_is_the_x_request_id(api):
    mturk = api().client()
    meta = mturk.get_account_balance()["ResponseMetadata"]
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-request-id"]
    with pytest.raises(ClientError) as refused:
        mturk.get_hit(HITId="3NOSUCHHIT0000000000000000000")
    meta = refused.value.response["ResponseMetadata"]
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-request-id"]


@pytest.mark.django_db(transaction=True)
def test_the_access_log_line_of_an_api_call_names_its_operation_and_requester(api, json_log):
    handle = api()
    mturk = handle.client()
    hit = create_hit(mturk)
    meta = mturk.get_hit(HITId=hit["HITId"])["ResponseMetadata"]
    line = next(entry for entry in _lines(json_log) if entry["request_id"] == meta["RequestId"])
    assert line["logger"] == "kempelen.http"
    assert line["level"] == "INFO"
    assert line["message"] == "POST mturk-api GetHIT 200"
    assert (line["method"], line["route"], line["status"]) == ("POST", "mturk-api", 200)
    assert (line["operation"], line["outcome"], line["environment"]) == ("GetHIT", "Success", "live")
    assert line["customer_id"] == handle.requester.customer_id
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("Z")


@pytest.mark.django_db(transaction=True)
def test_every_log_line_of_a_request_carries_its_id(api, json_log, monkeypatch):
    mturk = api().client()

    def broken(call, params):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_views, "handler_for", lambda operation: broken)
    with pytest.raises(ClientError) as failed:
        mturk.get_account_balance()
    request_id = failed.value.response["ResponseMetadata"]["HTTPHeaders"]["x-request-id"]
    lines = [entry for entry in _lines(json_log) if entry["request_id"] == request_id]
    assert [entry["logger"] for entry in lines] == ["kempelen.api", "kempelen.http"]
    fault, access = lines
    assert fault["level"] == "ERROR"
    assert "RuntimeError: a bug" in fault["exception"]
    assert (access["status"], access["outcome"]) == (500, "ServiceFault")


def test_text_log_lines_end_with_the_request_id():
    record = logging.LogRecord("kempelen.http", logging.INFO, __file__, 1, "GET %s 200", ("worker:groups",), None)
    record.request_id = "4b1c"
    assert TextFormatter().format(record).endswith(" INFO kempelen.http GET worker:groups 200 [request 4b1c]")
