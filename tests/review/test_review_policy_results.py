"""Review policies end to end: policies set with CreateHIT through boto3, workers submitting real answers, the
engine approving, rejecting and extending, and ListReviewPolicyResultsForHIT reporting what happened."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance
from kempelen.marketplace import review_policies
from tests.notifications.helpers import HTML_QUESTION, accept, submit, work

pytestmark = pytest.mark.django_db(transaction=True)

KNOWN_ANSWERS = {
    "PolicyName": "ScoreMyKnownAnswers/2011-09-01",
    "Parameters": [
        {"Key": "AnswerKey", "MapEntries": [{"Key": "q1", "Values": ["cat"]}]},
        {"Key": "ApproveIfKnownAnswerScoreIsAtLeast", "Values": ["100"]},
        {"Key": "RejectIfKnownAnswerScoreIsLessThan", "Values": ["100"]},
        {"Key": "RejectReason", "Values": ["The picture shows a cat."]},
        {"Key": "ExtendIfKnownAnswerScoreIsLessThan", "Values": ["100"]},
        {"Key": "ExtendMaximumAssignments", "Values": ["3"]},
    ],
}


def plurality(*, reject: bool = True) -> dict:
    parameters = [
        {"Key": "QuestionIds", "Values": ["q1"]},
        {"Key": "QuestionAgreementThreshold", "Values": ["50"]},
        {"Key": "DisregardAssignmentIfRejected", "Values": ["true"]},
        {"Key": "ApproveIfWorkerAgreementScoreIsAtLeast", "Values": ["100"]},
    ]
    if reject:
        parameters += [
            {"Key": "RejectIfWorkerAgreementScoreIsLessThan", "Values": ["100"]},
            {"Key": "RejectReason", "Values": ["Most workers saw something else."]},
        ]
    return {"PolicyName": "SimplePlurality/2011-09-01", "Parameters": parameters}


def create_hit(client, *, max_assignments: int, **policies) -> str:
    return client.create_hit(
        Title="Name the animal", Description="Type the animal you see", Reward="0.50",
        LifetimeInSeconds=3600, AssignmentDurationInSeconds=600, AutoApprovalDelayInSeconds=86_400,
        MaxAssignments=max_assignments, Question=HTML_QUESTION, **policies,
    )["HIT"]["HITId"]


def results(client, hit_id: str, **params) -> dict:
    response = client.list_review_policy_results_for_hit(
        HITId=hit_id, RetrieveResults=True, RetrieveActions=True, MaxResults=100, **params
    )
    response.pop("ResponseMetadata")
    return response


def plain_results(report: dict) -> list[tuple]:
    return [(r["SubjectId"], r["SubjectType"], r.get("QuestionId"), r["Key"], r["Value"])
            for r in report["ReviewResults"]]


def plain_actions(report: dict) -> list[tuple]:
    return [(a["ActionName"], a["TargetId"], a["TargetType"], a["Status"]) for a in report["ReviewActions"]]


def earnings(worker) -> int:
    return balance(AccountKind.WORKER_EARNINGS, "live", worker=worker)


def test_score_my_known_answers_approves_rejects_and_extends(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=2, AssignmentReviewPolicy=KNOWN_ANSWERS)
    right, wrong, also_wrong = worker_factory(), worker_factory(), worker_factory()

    good = work(right, hit_id, q1=" cat ")  # trimmed before matching
    approved = client.get_assignment(AssignmentId=good)["Assignment"]
    assert approved["AssignmentStatus"] == "Approved"
    assert earnings(right) == 50  # paid, not just marked

    bad = work(wrong, hit_id, q1="dog")
    rejected = client.get_assignment(AssignmentId=bad)["Assignment"]
    assert rejected["AssignmentStatus"] == "Rejected"
    assert rejected["RequesterFeedback"] == "The picture shows a cat."
    assert earnings(wrong) == 0
    hit = client.get_hit(HITId=hit_id)["HIT"]
    # The wrong answer's slot is replaced: one more assignment, open to other workers.
    assert (hit["MaxAssignments"], hit["NumberOfAssignmentsAvailable"], hit["HITStatus"]) == (3, 1, "Assignable")

    # ExtendMaximumAssignments is 3: a second wrong answer is rejected but the HIT is not extended again.
    worse = work(also_wrong, hit_id, q1="Cat")  # case-sensitive
    hit = client.get_hit(HITId=hit_id)["HIT"]
    assert (hit["MaxAssignments"], hit["NumberOfAssignmentsAvailable"], hit["HITStatus"]) == (3, 0, "Reviewable")

    response = results(client, hit_id)
    assert response["HITId"] == hit_id
    assert response["AssignmentReviewPolicy"] == review_policies.policy_to_wire(
        review_policies.parse_assignment_policy(KNOWN_ANSWERS)
    )
    assert "HITReviewPolicy" not in response  # the HIT has none
    assert "NumResults" not in response
    report = response["AssignmentReviewReport"]
    expected = []
    for assignment_id, correct in ((good, True), (bad, False), (worse, False)):
        expected += [
            (assignment_id, "Assignment", "q1", "KnownAnswerCorrect", "true" if correct else "false"),
            (assignment_id, "Assignment", None, "KnownAnswerScore", "100" if correct else "0"),
            (assignment_id, "Assignment", None, "KnownAnswerCorrect", "1" if correct else "0"),
            (assignment_id, "Assignment", None, "KnownAnswerTotal", "1"),
        ]
    assert plain_results(report) == expected
    assert plain_actions(report) == [
        ("Approve", good, "Assignment", "Succeeded"),
        ("Reject", bad, "Assignment", "Succeeded"),
        ("Extend", hit_id, "HIT", "Succeeded"),
        ("Reject", worse, "Assignment", "Succeeded"),
    ]
    assert all(a["CompleteTime"] and a["ActionId"] for a in report["ReviewActions"])
    assert len({a["ActionId"] for a in report["ReviewActions"]}) == 4
    assert response["HITReviewReport"] == {"ReviewResults": [], "ReviewActions": []}


def test_simple_plurality_judges_the_workers_once_the_hit_is_reviewable(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=3, HITReviewPolicy=plurality())
    first, second, third = worker_factory(), worker_factory(), worker_factory()

    a1 = work(first, hit_id, q1="cat")
    a2 = work(second, hit_id, q1="cat")
    # Not reviewable yet: the policy has not run.
    early = results(client, hit_id)
    assert early["HITReviewReport"] == {"ReviewResults": [], "ReviewActions": []}
    assert client.get_assignment(AssignmentId=a1)["Assignment"]["AssignmentStatus"] == "Submitted"

    a3 = work(third, hit_id, q1="dog")
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    statuses = {a["AssignmentId"]: a for a in client.list_assignments_for_hit(HITId=hit_id)["Assignments"]}
    assert {k: v["AssignmentStatus"] for k, v in statuses.items()} == {
        a1: "Approved", a2: "Approved", a3: "Rejected"
    }
    assert statuses[a3]["RequesterFeedback"] == "Most workers saw something else."
    assert (earnings(first), earnings(second), earnings(third)) == (50, 50, 0)

    response = results(client, hit_id)
    assert response["HITReviewPolicy"]["PolicyName"] == "SimplePlurality/2011-09-01"
    assert "AssignmentReviewPolicy" not in response
    report = response["HITReviewReport"]
    assert plain_results(report) == [
        (hit_id, "HIT", "q1", "PluralityAnswer", "cat"),
        (hit_id, "HIT", "q1", "QuestionAgreementScore", "67"),
        (hit_id, "HIT", None, "HITAgreementScore", "100"),
        (a1, "Assignment", "q1", "AgreedWithPlurality", "true"),
        (a1, "Assignment", None, "WorkerAgreementScore", "100"),
        (a2, "Assignment", "q1", "AgreedWithPlurality", "true"),
        (a2, "Assignment", None, "WorkerAgreementScore", "100"),
        (a3, "Assignment", "q1", "AgreedWithPlurality", "false"),
        (a3, "Assignment", None, "WorkerAgreementScore", "0"),
    ]
    assert plain_actions(report) == [
        ("Approve", a1, "Assignment", "Succeeded"),
        ("Approve", a2, "Assignment", "Succeeded"),
        ("Reject", a3, "Assignment", "Succeeded"),
    ]
    assert response["AssignmentReviewReport"] == {"ReviewResults": [], "ReviewActions": []}
    # The HIT is fully reviewed, so it can be deleted.
    client.delete_hit(HITId=hit_id)


def test_simple_plurality_leaves_the_outlier_alone_without_a_reject_threshold(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=3, HITReviewPolicy=plurality(reject=False))
    a1, a2, a3 = (work(worker_factory(), hit_id, q1=answer) for answer in ("cat", "dog", "cat"))
    statuses = {a["AssignmentId"]: a["AssignmentStatus"]
                for a in client.list_assignments_for_hit(HITId=hit_id)["Assignments"]}
    assert statuses == {a1: "Approved", a2: "Submitted", a3: "Approved"}
    actions = plain_actions(results(client, hit_id)["HITReviewReport"])
    assert actions == [("Approve", a1, "Assignment", "Succeeded"), ("Approve", a3, "Assignment", "Succeeded")]
    client.reject_assignment(AssignmentId=a2, RequesterFeedback="Reviewed by hand.")


def test_what_is_returned_by_default_and_by_level(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=1, AssignmentReviewPolicy=KNOWN_ANSWERS,
                        HITReviewPolicy=plurality())
    work(worker_factory(), hit_id, q1="cat")

    bare = client.list_review_policy_results_for_hit(HITId=hit_id)
    bare.pop("ResponseMetadata")
    # Results and actions only when asked for; the policies always.
    assert set(bare) == {"HITId", "AssignmentReviewPolicy", "HITReviewPolicy"}

    only_results = client.list_review_policy_results_for_hit(HITId=hit_id, RetrieveResults=True)
    assert set(only_results["AssignmentReviewReport"]) == {"ReviewResults"}
    assert set(only_results["HITReviewReport"]) == {"ReviewResults"}

    hit_level = results(client, hit_id, PolicyLevels=["HIT"])
    assert set(hit_level) == {"HITId", "HITReviewPolicy", "HITReviewReport", "NextToken"}
    assert {r["Key"] for r in hit_level["HITReviewReport"]["ReviewResults"]} >= {"HITAgreementScore"}

    assignment_level = results(client, hit_id, PolicyLevels=["Assignment"])
    assert set(assignment_level) == {"HITId", "AssignmentReviewPolicy", "AssignmentReviewReport", "NextToken"}


def test_pages_cover_everything_once_and_end_without_a_token(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=2, AssignmentReviewPolicy=KNOWN_ANSWERS,
                        HITReviewPolicy=plurality())
    for answer in ("cat", "dog", "cat"):  # the wrong one is replaced by a third assignment
        work(worker_factory(), hit_id, q1=answer)
    everything = results(client, hit_id)
    token = everything.pop("NextToken")
    total = sum(len(everything[report][member]) for report in ("AssignmentReviewReport", "HITReviewReport")
                for member in ("ReviewResults", "ReviewActions"))
    assert total > 20

    collected: dict[str, dict[str, list]] = {
        "AssignmentReviewReport": {"ReviewResults": [], "ReviewActions": []},
        "HITReviewReport": {"ReviewResults": [], "ReviewActions": []},
    }
    kwargs: dict = {}
    pages = 0
    while True:
        page = client.list_review_policy_results_for_hit(
            HITId=hit_id, RetrieveResults=True, RetrieveActions=True, MaxResults=7, **kwargs
        )
        assert "NumResults" not in page
        on_page = 0
        for report, members in collected.items():
            for member, items in members.items():
                found = page.get(report, {}).get(member, [])
                items.extend(found)
                on_page += len(found)
        if "NextToken" not in page:
            assert on_page == 0
            assert "AssignmentReviewReport" not in page and "HITReviewReport" not in page
            break
        assert 1 <= on_page <= 7
        pages += 1
        kwargs = {"NextToken": page["NextToken"]}
    assert pages == -(-total // 7)
    assert collected == {k: everything[k] for k in collected}
    # The token of one request does not work with other parameters.
    with pytest.raises(client.exceptions.RequestError):
        client.list_review_policy_results_for_hit(HITId=hit_id, RetrieveResults=True, NextToken=token)


def test_a_hit_without_policies_reports_nothing(api):
    client = api().client()
    hit_id = create_hit(client, max_assignments=1)
    response = results(client, hit_id)
    assert response == {
        "HITId": hit_id,
        "AssignmentReviewReport": {"ReviewResults": [], "ReviewActions": []},
        "HITReviewReport": {"ReviewResults": [], "ReviewActions": []},
    }


def test_only_the_callers_own_hit_in_its_environment(api):
    owner, stranger = api(), api()
    hit_id = create_hit(owner.client(), max_assignments=1, AssignmentReviewPolicy=KNOWN_ANSWERS)
    for client in (stranger.client(), owner.client("sandbox")):
        with pytest.raises(client.exceptions.RequestError) as refused:
            client.list_review_policy_results_for_hit(HITId=hit_id)
        assert refused.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.HITDoesNotExist"
    client = owner.client()
    with pytest.raises(client.exceptions.RequestError):
        client.list_review_policy_results_for_hit(HITId=hit_id, NextToken="garbage.token")
    with pytest.raises(ClientError):
        client.list_review_policy_results_for_hit(HITId=hit_id, MaxResults=101)


def test_review_action_results_are_worded_properly(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=2, AssignmentReviewPolicy=KNOWN_ANSWERS)
    good = work(worker_factory(), hit_id, q1="cat")
    bad = work(worker_factory(), hit_id, q1="dog")
    actions = results(client, hit_id)["AssignmentReviewReport"]["ReviewActions"]
    assert [a["Result"] for a in actions[:2]] == [f"Approved assignment {good}", f"Rejected assignment {bad}"]


def test_in_progress_work_is_not_judged(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, max_assignments=2, AssignmentReviewPolicy=KNOWN_ANSWERS)
    worker = worker_factory()
    assignment_id = accept(worker, hit_id)
    assert results(client, hit_id)["AssignmentReviewReport"]["ReviewResults"] == []
    submit(worker, assignment_id, q1="cat")
    assert len(results(client, hit_id)["AssignmentReviewReport"]["ReviewResults"]) == 4
