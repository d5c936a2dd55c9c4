"""SQS and SNS, through boto3 clients configured by settings (an emulator's endpoint, a region, credentials).

Credentials are taken only from ``KEMPELEN_AWS_ACCESS_KEY_ID``/``KEMPELEN_AWS_SECRET_ACCESS_KEY``, or, when
``KEMPELEN_AWS_DEFAULT_CREDENTIALS`` is on, from boto3's own chain (environment, ~/.aws, instance or task
roles). Without either, delivery fails with a message saying so, and nothing is sent anywhere: an instance
never speaks to AWS with an identity it was not given on purpose.

The region is the destination's own (an SNS topic ARN's region; an AWS queue URL's host), else
``KEMPELEN_AWS_REGION``. FIFO queues and topics get the requester as the message group and the EventDocId as
the deduplication id.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from . import DeliveryError, OutgoingMessage

_clients: dict[tuple[object, ...], Any] = {}
_lock = threading.Lock()
_QUEUE_HOST_REGION = re.compile(r"^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$")


def send_sqs(message: OutgoingMessage) -> None:
    params: dict[str, Any] = {"QueueUrl": message.destination, "MessageBody": message.body}
    if message.destination.rstrip("/").endswith(".fifo"):
        params.update(MessageGroupId=message.customer_id, MessageDeduplicationId=message.doc_id)
    client = _client("sqs", queue_region(message.destination))
    _call("SQS SendMessage", message.destination, lambda: client.send_message(**params))


def send_sns(message: OutgoingMessage) -> None:
    # MTurk set the Subject to the sending time in epoch milliseconds; receivers see it in SNS's envelope.
    params: dict[str, Any] = {
        "TopicArn": message.destination, "Message": message.body, "Subject": str(int(time.time() * 1000)),
    }
    if message.destination.endswith(".fifo"):
        params.update(MessageGroupId=message.customer_id, MessageDeduplicationId=message.doc_id)
    client = _client("sns", topic_region(message.destination))
    _call("SNS Publish", message.destination, lambda: client.publish(**params))


def queue_region(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    if host == "queue.amazonaws.com":
        return "us-east-1"
    match = _QUEUE_HOST_REGION.match(host)
    if match:
        return match.group(1) or match.group(2)
    return str(settings.NOTIFICATIONS_AWS_REGION)


def topic_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else str(settings.NOTIFICATIONS_AWS_REGION)


def _call(operation: str, destination: str, call: Any) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        call()
    except ClientError as error:
        details = error.response.get("Error", {})
        raise DeliveryError(
            f"{operation} to {destination} was refused: {details.get('Code', 'Error')}: {details.get('Message', '')}"
        ) from None
    except BotoCoreError as error:
        raise DeliveryError(f"{operation} to {destination} failed: {error}") from None


def _client(service: str, region: str) -> Any:
    endpoint = settings.NOTIFICATIONS_SQS_ENDPOINT_URL if service == "sqs" else settings.NOTIFICATIONS_SNS_ENDPOINT_URL
    key_id = settings.NOTIFICATIONS_AWS_ACCESS_KEY_ID
    secret = settings.NOTIFICATIONS_AWS_SECRET_ACCESS_KEY
    use_chain = bool(settings.NOTIFICATIONS_AWS_DEFAULT_CREDENTIALS)
    if not (key_id and secret) and not use_chain:
        raise DeliveryError(
            f"{service.upper()} delivery is not configured: set KEMPELEN_AWS_ACCESS_KEY_ID and "
            "KEMPELEN_AWS_SECRET_ACCESS_KEY, or KEMPELEN_AWS_DEFAULT_CREDENTIALS=on to use boto3's own credentials."
        )
    timeout = float(settings.NOTIFICATIONS_TIMEOUT_SECONDS)
    # Settings are part of the key, so a changed setting (tests override them) gets a client of its own.
    key = (service, region, endpoint, key_id, secret, use_chain, timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore.config import Config

            credentials = {} if use_chain and not (key_id and secret) else {
                "aws_access_key_id": key_id, "aws_secret_access_key": secret,
            }
            client = boto3.session.Session().client(
                service, region_name=region, endpoint_url=endpoint or None,
                config=Config(connect_timeout=timeout, read_timeout=timeout,
                              retries={"mode": "standard", "max_attempts": 2}),
                **credentials,
            )
            _clients[key] = client
    return client
