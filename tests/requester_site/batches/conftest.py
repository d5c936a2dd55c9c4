"""Helpers for the batch tests: a project, CSV files, publishing a file the way the site does, and the browser
tests' fixtures."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.test import Client

from kempelen.core import clock, ids
from kempelen.core.actors import Actor
from kempelen.marketplace.models import Batch, HITLayout
from kempelen.requester_site import batch_publishing
from kempelen.requester_site.decorators import ENVIRONMENT_KEY
from kempelen.requester_site.models import UploadKind
from kempelen.requester_site.uploads import keep_upload
from tests.browser.conftest import browser, context, page  # noqa: F401  (for the browser tests here)

TEMPLATE = """<!DOCTYPE html><html><body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId"/>
<img src="${image_url}" alt="picture"><p>${text}</p>
<label><input type="radio" name="label" value="cat"> cat</label>
<input type="submit" id="submitButton"/></form>
<script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
</body></html>"""


def make_project(requester, environment: str = "live", **properties) -> HITLayout:
    values = dict(
        name="Label pictures", html=TEMPLATE, frame_height=400, title="Label a picture",
        description="Say what the picture shows.", keywords="image, label", reward_cents=10, max_assignments=2,
        assignment_duration=600, lifetime=3 * 86400, auto_approval_delay=86400,
    )
    values.update(properties)
    return HITLayout.objects.create(id=ids.entity_id(), requester=requester, environment=environment,
                                    created_at=clock.now(), **values)


def csv_bytes(rows, header=("image_url", "text"), *, newline="\r\n") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def picture_rows(count: int, start: int = 0) -> list[tuple[str, str]]:
    return [(f"https://img.example.org/{i}.jpg", f"Picture {i} 😀") for i in range(start, start + count)]


def actor_for(requester) -> Actor:
    return Actor.for_requester(requester, via="site")


def start(requester, project: HITLayout, content: bytes, *, name: str = "My batch") -> Batch:
    upload = keep_upload(actor=actor_for(requester), requester=requester, environment=project.environment,
                         kind=UploadKind.BATCH_INPUT, filename="rows.csv", content=content, subject_id=project.pk)
    return batch_publishing.start_batch(actor=actor_for(requester), requester=requester,
                                        environment=project.environment, layout_id=project.pk, upload_id=upload.pk,
                                        name=name)


def publish_file(requester, project: HITLayout, content: bytes, **kwargs) -> Batch:
    """Start a batch and publish it completely, as the confirmation page and the job runner do."""
    batch = start(requester, project, content)
    return batch_publishing.publish(batch.pk, actor=actor_for(requester), **kwargs)


# --- Browser tests (headless Chromium, one browser for this package's browser tests) ------------------------------


@pytest.fixture
def sign_in_requester(context, live_server):  # noqa: F811
    """Sign a requester in, working in an environment, by giving the browser a session cookie made here."""

    def signer(requester, environment: str = "live") -> None:
        client = Client()
        client.force_login(requester.user)
        session = client.session
        session[ENVIRONMENT_KEY] = environment
        session.save()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                              "url": live_server.url, "httpOnly": True, "sameSite": "Lax"}])

    return signer
