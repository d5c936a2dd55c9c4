"""FileUploadAnswer files: stored while the worker works, fetched by the requester through GetFileUploadURL's
60-second link, refused once the link is old, changed, or the HIT is gone."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kempelen.core.errors import InvalidAssignmentState
from kempelen.marketplace import files
from kempelen.marketplace.models import Assignment, UploadedFile
from kempelen.mturk_api.handlers import review as review_handlers
from kempelen.questions.answers import answers_from_question_form
from kempelen.questions.formats import parse_question
from tests.notifications.helpers import HTML_QUESTION, accept, work

pytestmark = [pytest.mark.django_db(transaction=True)]

FORM_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionForm.xsd"
QUESTION_FORM = f"""<?xml version="1.0" encoding="UTF-8"?>
<QuestionForm xmlns="{FORM_NS}">
  <Question>
    <QuestionIdentifier>photo</QuestionIdentifier>
    <IsRequired>false</IsRequired>
    <QuestionContent><Text>Upload a photo of your cat.</Text></QuestionContent>
    <AnswerSpecification>
      <FileUploadAnswer><MaxFileSizeInBytes>1000000</MaxFileSizeInBytes><MinFileSizeInBytes>1</MinFileSizeInBytes></FileUploadAnswer>
    </AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>caption</QuestionIdentifier>
    <QuestionContent><Text>Describe it.</Text></QuestionContent>
    <AnswerSpecification><FreeTextAnswer/></AnswerSpecification>
  </Question>
</QuestionForm>"""
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def uploads(settings, tmp_path, live_server):
    """Files go to a temporary MEDIA_ROOT; links point at the live server."""
    settings.MEDIA_ROOT = tmp_path
    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": live_server.url}
    return tmp_path


def create_form_hit(client: Any, question: str = QUESTION_FORM) -> str:
    return client.create_hit(
        Title="Photograph your cat", Description="Upload a photo", Reward="0.25", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, AutoApprovalDelayInSeconds=86_400, MaxAssignments=3, Question=question,
    )["HIT"]["HITId"]


def submit_form(worker: Any, assignment_id: str, *, caption: str = "A tabby", photo: UploadedFile | None = None) -> None:
    from kempelen.core.actors import Actor
    from kempelen.marketplace import actions

    form = parse_question(QUESTION_FORM)
    posted_files = {"photo": (photo.size, photo.key)} if photo else {}
    xml, errors = answers_from_question_form(form, {"caption": [caption]}, posted_files)
    assert errors == {}
    actions.submit_assignment(actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id,
                              answer_xml=xml)


def fetch(url: str) -> tuple[int, bytes, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def refusal(client: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(client.exceptions.RequestError) as refused:
        client.get_file_upload_url(**params)
    return refused.value.response["TurkErrorCode"], refused.value.response["Message"]


def test_store_fetch_and_expire(api, worker_factory, uploads, live_server, move_clock):
    client = api().client()
    hit_id = create_form_hit(client)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    assignment = Assignment.objects.get(pk=assignment_id)

    stored = files.store_upload(assignment, "photo",
                                SimpleUploadedFile("../my cat (1).png", PICTURE, content_type="image/png"))
    assert stored.size == len(PICTURE) and len(stored.key) == 32
    on_disk = files.absolute_path(stored)
    assert on_disk.parent == uploads / "uploads" / assignment_id
    assert on_disk.read_bytes() == PICTURE
    # Still in progress: the requester cannot see the assignment yet.
    code, _ = refusal(client, AssignmentId=assignment_id, QuestionIdentifier="photo")
    assert code == "AWS.MechanicalTurk.AssignmentDoesNotExist"

    submit_form(worker, assignment_id, photo=stored)
    answer = client.get_assignment(AssignmentId=assignment_id)["Assignment"]["Answer"]
    assert f"<UploadedFileKey>{stored.key}</UploadedFileKey>" in answer
    assert f"<UploadedFileSizeInBytes>{len(PICTURE)}</UploadedFileSizeInBytes>" in answer

    url = client.get_file_upload_url(AssignmentId=assignment_id, QuestionIdentifier="photo")["FileUploadURL"]
    assert url.startswith(f"{live_server.url}/files/")
    status, body, headers = fetch(url)
    assert (status, body) == (200, PICTURE)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "my_cat_1.png" in headers["Content-Disposition"]
    assert headers["X-Content-Type-Options"] == "nosniff"

    move_clock(59)
    assert fetch(url)[0] == 200  # still within its 60 seconds
    move_clock(2)
    status, body, _ = fetch(url)
    assert status == 410 and b"expired" in body
    # A new link works again.
    fresh = client.get_file_upload_url(AssignmentId=assignment_id, QuestionIdentifier="photo")["FileUploadURL"]
    assert fetch(fresh)[:2] == (200, PICTURE)


def test_changed_links_are_refused(api, worker_factory, uploads):
    client = api().client()
    hit_id = create_form_hit(client)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    stored = files.store_upload(Assignment.objects.get(pk=assignment_id), "photo", PICTURE)
    submit_form(worker, assignment_id, photo=stored)
    url = client.get_file_upload_url(AssignmentId=assignment_id, QuestionIdentifier="photo")["FileUploadURL"]
    base, token = url.rsplit("/", 1)
    key, stamp, signature = token.split(":")
    other_key = "0" * 32
    for forged in (f"{other_key}:{stamp}:{signature}", f"{key}:{stamp}:{signature[:-2]}xx", "garbage",
                   f"{key}:{'z' * len(stamp)}:{signature}"):
        assert fetch(f"{base}/{forged}")[0] == 403
    # A link signed by this instance for a key that does not exist (never handed out) is simply gone.
    assert fetch(files.signed_url(base.rsplit("/files", 1)[0], UploadedFile(key=other_key)))[0] == 410


def test_refusals(api, worker_factory, uploads):
    owner, stranger = api(), api()
    client = owner.client()
    hit_id = create_form_hit(client)
    with_file, without_file = worker_factory(), worker_factory()
    a1 = accept(with_file, hit_id)
    submit_form(with_file, a1, photo=files.store_upload(Assignment.objects.get(pk=a1), "photo", PICTURE))
    a2 = accept(without_file, hit_id)
    submit_form(without_file, a2)

    code, message = refusal(client, AssignmentId=a2, QuestionIdentifier="photo")
    assert code == "AWS.MechanicalTurk.UploadedFileDoesNotExist"
    assert "did not upload" in message
    _, message = refusal(client, AssignmentId=a1, QuestionIdentifier="caption")
    assert "not a FileUploadAnswer" in message
    _, message = refusal(client, AssignmentId=a1, QuestionIdentifier="selfie")
    assert "no question with the QuestionIdentifier 'selfie'" in message
    for other in (stranger.client(), owner.client("sandbox")):
        code, _ = refusal(other, AssignmentId=a1, QuestionIdentifier="photo")
        assert code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    code, _ = refusal(client, AssignmentId="NOSUCHASSIGNMENT00000000000000", QuestionIdentifier="photo")
    assert code == "AWS.MechanicalTurk.AssignmentDoesNotExist"

    html_hit = client.create_hit(
        Title="Other", Description="Other", Reward="0.10", LifetimeInSeconds=3600, AssignmentDurationInSeconds=600,
        Question=HTML_QUESTION,
    )["HIT"]["HITId"]
    html_assignment = work(worker_factory(), html_hit)
    _, message = refusal(client, AssignmentId=html_assignment, QuestionIdentifier="q1")
    assert "does not use a QuestionForm" in message


def test_no_links_once_the_hit_is_deleted(api, worker_factory, uploads):
    client = api().client()
    hit_id = client.create_hit(
        Title="Photograph your cat", Description="Upload a photo", Reward="0.25", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, MaxAssignments=1, Question=QUESTION_FORM,
    )["HIT"]["HITId"]
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    submit_form(worker, assignment_id, photo=files.store_upload(Assignment.objects.get(pk=assignment_id), "photo",
                                                                 PICTURE))
    url = client.get_file_upload_url(AssignmentId=assignment_id, QuestionIdentifier="photo")["FileUploadURL"]
    client.approve_assignment(AssignmentId=assignment_id)
    client.delete_hit(HITId=hit_id)
    _, message = refusal(client, AssignmentId=assignment_id, QuestionIdentifier="photo")
    assert "has been deleted" in message
    assert fetch(url)[0] == 410


def test_deleting_a_hit_deletes_its_files(api, worker_factory, uploads):
    client = api().client()
    hit_id = client.create_hit(
        Title="Photograph your cat", Description="Upload a photo", Reward="0.25", LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600, MaxAssignments=1, Question=QUESTION_FORM,
    )["HIT"]["HITId"]
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    stored = files.store_upload(Assignment.objects.get(pk=assignment_id), "photo", PICTURE)
    submit_form(worker, assignment_id, photo=stored)
    client.approve_assignment(AssignmentId=assignment_id)
    client.delete_hit(HITId=hit_id)
    assert not files.absolute_path(stored).exists()


def test_a_new_upload_replaces_the_old_one_and_submitted_work_is_closed(worker_factory, api, uploads):
    client = api().client()
    hit_id = create_form_hit(client)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    assignment = Assignment.objects.get(pk=assignment_id)
    first = files.store_upload(assignment, "photo", SimpleUploadedFile("first.png", b"first"))
    second = files.store_upload(assignment, "photo", SimpleUploadedFile("second.png", b"second!"))
    assert list(UploadedFile.objects.filter(assignment=assignment).values_list("key", flat=True)) == [second.key]
    assert not files.absolute_path(first).exists()
    assert files.absolute_path(second).read_bytes() == b"second!"
    submit_form(worker, assignment_id, photo=second)
    with pytest.raises(InvalidAssignmentState):
        files.store_upload(assignment, "photo", b"too late")
    # The refused file left nothing behind.
    assert sorted(p.name for p in (uploads / "uploads" / assignment_id).iterdir()) == [Path(second.path).name]


@dataclass
class _CallWithBase:
    """What the API view will pass once ``Call`` carries the request's base URL."""

    requester: Any
    environment: str
    base_url: str | None = None


def test_link_base_public_url_then_request_then_default(api, worker_factory, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    handle = api()
    client = handle.client()
    hit_id = create_form_hit(client)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    submit_form(worker, assignment_id, photo=files.store_upload(Assignment.objects.get(pk=assignment_id), "photo",
                                                                 PICTURE))
    params = {"AssignmentId": assignment_id, "QuestionIdentifier": "photo"}

    def link(base_url: str | None) -> str:
        call = _CallWithBase(handle.requester, "live", base_url)
        return review_handlers.get_file_upload_url(call, params)["FileUploadURL"]  # type: ignore[arg-type]

    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": "https://turk.example.org"}
    assert link("http://10.0.0.5:8000").startswith("https://turk.example.org/files/")
    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": ""}
    assert link("http://10.0.0.5:8000/").startswith("http://10.0.0.5:8000/files/")
    monkeypatch.setenv("KEMPELEN_HOST", "0.0.0.0")
    monkeypatch.setenv("KEMPELEN_PORT", "9000")
    assert link(None).startswith("http://0.0.0.0:9000/files/")


def test_discard_hit_files_removes_rows_and_files_after_commit(api, worker_factory, uploads):
    from django.db import transaction

    client = api().client()
    hit_id = create_form_hit(client)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    stored = files.store_upload(Assignment.objects.get(pk=assignment_id), "photo", PICTURE)
    with transaction.atomic():
        assert files.discard_hit_files(hit_id) == 1
        assert files.absolute_path(stored).exists()  # kept until the deletion commits
    assert not files.absolute_path(stored).exists()
    assert not UploadedFile.objects.exists()
