"""Assignments as the requester API shows them: get, list, approve, reject, auto-approval."""

from __future__ import annotations

import datetime as dt
import xml.dom.minidom

import pytest

from .helpers import accept, create_hit, do_work, raw_request, refused

pytestmark = pytest.mark.django_db(transaction=True)

ASSIGNMENT_FIELDS = {"AssignmentId", "WorkerId", "HITId", "AssignmentStatus", "AutoApprovalTime", "AcceptTime",
                     "SubmitTime", "Deadline", "Answer"}


def _balances(client) -> tuple[str, str]:
    b = client.get_account_balance()
    return b["AvailableBalance"], b["OnHoldBalance"]


def _statuses(listed) -> list[str]:
    return sorted(a["AssignmentStatus"] for a in listed["Assignments"])


# --- GetAssignment ---------------------------------------------------------------------------------------


def test_get_assignment_returns_the_assignment_and_its_hit(api, worker_factory):
    client = api().client()
    hit = create_hit(client, AutoApprovalDelayInSeconds=3600)
    worker = worker_factory()
    work = do_work(worker, hit["HITId"], label="a tabby cat")
    got = client.get_assignment(AssignmentId=work.assignment_id)
    a = got["Assignment"]
    assert set(a) >= ASSIGNMENT_FIELDS
    assert (a["AssignmentId"], a["WorkerId"], a["HITId"], a["AssignmentStatus"]) == (
        work.assignment_id, worker.worker_id, hit["HITId"], "Submitted")
    for field in ("AutoApprovalTime", "AcceptTime", "SubmitTime", "Deadline"):
        assert isinstance(a[field], dt.datetime) and a[field].tzinfo is not None
    assert a["AcceptTime"] <= a["SubmitTime"] < a["AutoApprovalTime"]
    assert abs((a["AutoApprovalTime"] - a["SubmitTime"]).total_seconds() - 3600) < 1
    assert abs((a["Deadline"] - a["AcceptTime"]).total_seconds() - 600) < 1
    assert "ApprovalTime" not in a and "RejectionTime" not in a
    answer = xml.dom.minidom.parseString(a["Answer"])  # clients parse it with minidom
    answers = answer.getElementsByTagName("Answer")
    assert answers[0].getElementsByTagName("QuestionIdentifier")[0].firstChild.data == "label"
    assert answers[0].getElementsByTagName("FreeText")[0].firstChild.data == "a tabby cat"
    assert got["HIT"]["HITId"] == hit["HITId"]
    assert (got["HIT"]["HITStatus"], got["HIT"]["NumberOfAssignmentsAvailable"]) == ("Assignable", 2)


def test_an_accepted_but_unsubmitted_assignment_does_not_exist(api, worker_factory):
    client = api().client()
    hit = create_hit(client)
    assignment_id = accept(worker_factory(), hit["HITId"])
    failure = refused(client.get_assignment, AssignmentId=assignment_id)
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert failure.bare_message == f"Assignment {assignment_id} does not exist."


def test_get_assignment_of_an_unknown_id(api):
    failure = refused(api().client().get_assignment, AssignmentId="3NOSUCHASSIGNMENT")
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert "does not exist" in failure.message


# --- ListAssignmentsForHIT -------------------------------------------------------------------------------


@pytest.fixture
def three_outcomes(api, worker_factory):
    """A HIT with one Submitted, one Approved and one Rejected assignment, and one still in progress."""
    handle = api()
    client = handle.client()
    hit = create_hit(client, MaxAssignments=4)["HITId"]
    submitted, approved, rejected = (do_work(worker_factory(), hit) for _ in range(3))
    accept(worker_factory(), hit)
    client.approve_assignment(AssignmentId=approved.assignment_id, RequesterFeedback="Great work")
    client.reject_assignment(AssignmentId=rejected.assignment_id, RequesterFeedback="Answer was blank")
    return client, hit, submitted, approved, rejected


def test_list_assignments_without_a_filter_returns_all_three_statuses(three_outcomes):
    client, hit, *_ = three_outcomes
    listed = client.list_assignments_for_hit(HITId=hit)
    assert _statuses(listed) == ["Approved", "Rejected", "Submitted"]
    assert listed["NumResults"] == 3
    for a in listed["Assignments"]:
        assert set(a) >= ASSIGNMENT_FIELDS


@pytest.mark.parametrize("statuses, expected", [
    (["Submitted"], ["Submitted"]),
    (["Approved"], ["Approved"]),
    (["Approved", "Rejected"], ["Approved", "Rejected"]),
    (["Submitted", "Approved", "Rejected"], ["Approved", "Rejected", "Submitted"]),
])
def test_list_assignments_filters_by_status(three_outcomes, statuses, expected):
    client, hit, *_ = three_outcomes
    assert _statuses(client.list_assignments_for_hit(HITId=hit, AssignmentStatuses=statuses)) == expected


def test_approved_and_rejected_assignments_carry_their_times_and_feedback(three_outcomes):
    client, _, _, approved, rejected = three_outcomes
    a = client.get_assignment(AssignmentId=approved.assignment_id)["Assignment"]
    assert a["AssignmentStatus"] == "Approved"
    assert isinstance(a["ApprovalTime"], dt.datetime)
    assert a["RequesterFeedback"] == "Great work"
    r = client.get_assignment(AssignmentId=rejected.assignment_id)["Assignment"]
    assert r["AssignmentStatus"] == "Rejected"
    assert isinstance(r["RejectionTime"], dt.datetime)
    assert r["RequesterFeedback"] == "Answer was blank"
    assert "ApprovalTime" not in r


def test_list_assignments_of_an_unknown_hit(api):
    failure = refused(api().client().list_assignments_for_hit, HITId="3NOSUCHHIT")
    assert failure.turk_code == "AWS.MechanicalTurk.HITDoesNotExist"


def test_list_assignments_of_a_hit_without_work_is_empty(api):
    client = api().client()
    listed = client.list_assignments_for_hit(HITId=create_hit(client)["HITId"])
    assert listed["Assignments"] == [] and listed["NumResults"] == 0 and "NextToken" not in listed


# --- ApproveAssignment -----------------------------------------------------------------------------------


def test_approve_pays_the_worker_from_escrow(api, worker_factory):
    client = api().client()
    hit = create_hit(client, Reward="0.50", MaxAssignments=3)
    work = do_work(worker_factory(), hit["HITId"])
    assert _balances(client) == ("998.20", "1.80")
    client.approve_assignment(AssignmentId=work.assignment_id)
    assert _balances(client) == ("998.20", "1.20")  # the slot's 0.60 left escrow as payment
    got = client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert isinstance(got["ApprovalTime"], dt.datetime)


def test_approving_twice_is_an_invalid_state_and_pays_once(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.approve_assignment(AssignmentId=work.assignment_id)
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert "This operation can be called with a status of: Submitted" in failure.message
    assert _balances(client) == ("998.20", "1.20")


def test_approve_of_an_unsubmitted_assignment_does_not_exist(api, worker_factory):
    client = api().client()
    assignment_id = accept(worker_factory(), create_hit(client)["HITId"])
    failure = refused(client.approve_assignment, AssignmentId=assignment_id)
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert "does not exist" in failure.message


def test_a_rejection_can_be_overridden_only_when_asked(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="")
    assert _balances(client) == ("998.80", "1.20")  # the rejected slot's escrow came back
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id)
    assert "status of: Submitted" in failure.message
    client.approve_assignment(AssignmentId=work.assignment_id, OverrideRejection=True)
    got = client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert _balances(client) == ("998.20", "1.20")


def test_overriding_a_rejection_needs_the_funds_to_pay(api, worker_factory):
    client = api(funds_cents=300).client()
    work = do_work(worker_factory(), create_hit(client, Reward="1.00", MaxAssignments=1)["HITId"])
    client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="")
    create_hit(client, Reward="1.00", MaxAssignments=2)  # 2.40 held: 0.60 left
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id, OverrideRejection=True)
    assert failure.turk_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Rejected"
    assert _balances(client) == ("0.60", "2.40")


def test_a_rejection_cannot_be_overridden_after_thirty_days(api, worker_factory, move_clock):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="no")
    move_clock(31 * 86400)
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id, OverrideRejection=True)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Rejected"


def test_approve_with_feedback_too_long_is_refused(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id, RequesterFeedback="x" * 1025)
    assert failure.code in ("ValidationException", "RequestError")
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"


def test_auto_approval_approves_and_pays_when_its_time_comes(api, worker_factory, move_clock):
    client = api().client()
    hit = create_hit(client, AutoApprovalDelayInSeconds=3600)
    work = do_work(worker_factory(), hit["HITId"])
    move_clock(3601)
    got = client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert got["ApprovalTime"] == got["AutoApprovalTime"]
    assert _statuses(client.list_assignments_for_hit(HITId=hit["HITId"])) == ["Approved"]


def test_an_auto_approval_delay_of_zero_approves_on_submission(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client, AutoApprovalDelayInSeconds=0)["HITId"])
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Approved"
    # Dallinger approves anyway and only logs the failure.
    failure = refused(client.approve_assignment, AssignmentId=work.assignment_id)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"


# --- RejectAssignment ------------------------------------------------------------------------------------


def test_reject_with_empty_feedback_is_accepted(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    assert client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="").keys() == {
        "ResponseMetadata"}
    got = client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]
    assert got["AssignmentStatus"] == "Rejected"
    assert isinstance(got["RejectionTime"], dt.datetime)


def test_reject_without_feedback_is_a_validation_exception_naming_requester_feedback(api, worker_factory):
    handle = api()
    client = handle.client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    # botocore refuses to send this, so send it as oTree's hand-written client did.
    response = raw_request(handle.url, operation="RejectAssignment", body={"AssignmentId": work.assignment_id},
                           access_key_id=handle.access_key_id, secret=handle.secret)
    assert response.status == 400
    body = response.json()
    assert body["__type"] == "ValidationException"
    assert "Value null at 'requesterFeedback' failed to satisfy constraint: Member must not be null" in \
        body["message"]
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"


def test_reject_feedback_with_control_characters_is_refused(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    failure = refused(client.reject_assignment, AssignmentId=work.assignment_id, RequesterFeedback="bad\x07bell")
    assert failure.code == "RequestError"
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidParameterValue"
    assert "control characters" in failure.message
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"


def test_feedback_may_contain_tabs_and_newlines(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="Line one\n\tLine two\r\n")
    got = client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]
    assert got["RequesterFeedback"] == "Line one\n\tLine two\r\n"


def test_rejecting_an_approved_assignment_is_an_invalid_state(api, worker_factory):
    client = api().client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    client.approve_assignment(AssignmentId=work.assignment_id)
    failure = refused(client.reject_assignment, AssignmentId=work.assignment_id, RequesterFeedback="oops")
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert "This operation can be called with a status of: Submitted" in failure.message
    assert client.get_assignment(AssignmentId=work.assignment_id)["Assignment"]["AssignmentStatus"] == "Approved"


def test_reject_of_an_unsubmitted_assignment_does_not_exist(api, worker_factory):
    client = api().client()
    assignment_id = accept(worker_factory(), create_hit(client)["HITId"])
    failure = refused(client.reject_assignment, AssignmentId=assignment_id, RequesterFeedback="")
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"


def test_submissions_after_expiry_are_still_listed(api, worker_factory):
    """A worker who accepted before the HIT expired may still submit until their own deadline."""
    from .helpers import submit

    client = api().client()
    hit = create_hit(client, MaxAssignments=2)["HITId"]
    worker = worker_factory()
    assignment_id = accept(worker, hit)
    client.update_expiration_for_hit(HITId=hit, ExpireAt=0)
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Unassignable"
    submit(worker, assignment_id)
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"
    assert _statuses(client.list_assignments_for_hit(HITId=hit)) == ["Submitted"]
