"""HITs and HIT types, through boto3, as requesters' scripts use them."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.core import clock, ids
from kempelen.marketplace.models import HIT, HITLayout
from kempelen.qualifications import system

from .helpers import (
    EXTERNAL_QUESTION,
    HTML_QUESTION,
    QUESTION_FORM,
    create_hit,
    do_work,
    hit_args,
    hit_type_args,
    refused,
)

pytestmark = pytest.mark.django_db(transaction=True)

HIT_FIELDS = {
    "HITId", "HITTypeId", "HITGroupId", "CreationTime", "Title", "Description", "Question", "Keywords",
    "HITStatus", "MaxAssignments", "Reward", "AutoApprovalDelayInSeconds", "Expiration",
    "AssignmentDurationInSeconds", "QualificationRequirements", "HITReviewStatus",
    "NumberOfAssignmentsPending", "NumberOfAssignmentsAvailable", "NumberOfAssignmentsCompleted",
}
LOCALE_US = {"QualificationTypeId": system.LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
APPROVAL_95 = {"QualificationTypeId": system.PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo",
               "IntegerValues": [95], "RequiredToPreview": True}


def _balance(client) -> str:
    return client.get_account_balance()["AvailableBalance"]


def _ids(hits) -> list[str]:
    return [h["HITId"] for h in hits]


def _expire(client, hit_id: str) -> None:
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)


# --- CreateHIT -------------------------------------------------------------------------------------------


def test_create_hit_returns_every_field_clients_index(api):
    client = api().client()
    before = dt.datetime.now(dt.UTC)
    hit = create_hit(client, RequesterAnnotation="batch=7")
    assert set(hit) >= HIT_FIELDS
    assert hit["HITStatus"] == "Assignable"
    assert hit["HITReviewStatus"] == "NotReviewed"
    assert hit["QualificationRequirements"] == []
    assert hit["Keywords"] == ""
    assert (hit["NumberOfAssignmentsAvailable"], hit["NumberOfAssignmentsPending"],
            hit["NumberOfAssignmentsCompleted"]) == (3, 0, 0)
    assert hit["Reward"] == "0.50"
    assert hit["MaxAssignments"] == 3
    assert hit["AutoApprovalDelayInSeconds"] == 2_592_000  # MTurk's default: 30 days
    assert hit["AssignmentDurationInSeconds"] == 600
    assert hit["RequesterAnnotation"] == "batch=7"
    assert hit["Question"] == HTML_QUESTION
    for field in ("HITId", "HITTypeId", "HITGroupId"):
        assert len(hit[field]) == 30 and hit[field].isalnum() and hit[field].upper() == hit[field]
    for field in ("CreationTime", "Expiration"):
        assert isinstance(hit[field], dt.datetime) and hit[field].tzinfo is not None
    assert abs((hit["CreationTime"] - before).total_seconds()) < 60
    assert abs((hit["Expiration"] - hit["CreationTime"]).total_seconds() - 3600) < 1


def test_create_hit_reserves_reward_and_fee_for_every_slot(api):
    client = api().client()
    create_hit(client, Reward="0.50", MaxAssignments=3)
    assert _balance(client) == "998.20"  # 3 x (0.50 + 20% fee)
    assert client.get_account_balance()["OnHoldBalance"] == "1.80"


def test_ten_or_more_assignments_pay_the_larger_commission(api):
    client = api().client()
    create_hit(client, Reward="0.50", MaxAssignments=10)
    assert client.get_account_balance()["OnHoldBalance"] == "7.00"  # 10 x (0.50 + 40%)


def test_the_commission_is_at_least_a_cent(api):
    client = api().client()
    create_hit(client, Reward="0.01", MaxAssignments=1)
    assert client.get_account_balance()["OnHoldBalance"] == "0.02"


@pytest.mark.parametrize("sent, shown", [("5", "5.00"), ("0.1", "0.10"), ("0.10", "0.10"), ("12.34", "12.34"),
                                         ("0", "0.00")])
def test_reward_is_always_shown_with_two_decimals(api, sent, shown):
    client = api().client()
    assert create_hit(client, Reward=sent)["Reward"] == shown


def test_keywords_and_requirements_are_echoed(api):
    client = api().client()
    hit = create_hit(client, Keywords="image, label", QualificationRequirements=[LOCALE_US, APPROVAL_95])
    assert hit["Keywords"] == "image, label"
    assert hit["QualificationRequirements"] == [LOCALE_US, APPROVAL_95]
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["QualificationRequirements"] == [LOCALE_US, APPROVAL_95]


@pytest.mark.parametrize("question", [HTML_QUESTION, EXTERNAL_QUESTION, QUESTION_FORM],
                         ids=["HTMLQuestion-with-xml-declaration", "ExternalQuestion-with-amp", "QuestionForm"])
def test_each_question_format_is_accepted_and_echoed_verbatim(api, question):
    client = api().client()
    hit = create_hit(client, Question=question)
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Question"] == question


def test_a_hit_layout_with_parameters_becomes_an_html_question(api):
    handle = api()
    client = handle.client()
    layout = HITLayout.objects.create(
        id=ids.entity_id(), requester=handle.requester, environment="live", name="Label",
        html='<p>What is in <img src="${image_url}" alt="${alt}"></p><input name="label">', frame_height=400,
        created_at=clock.now(),
    )
    hit = create_hit(client, Question=None, HITLayoutId=layout.pk, HITLayoutParameters=[
        {"Name": "image_url", "Value": "https://img.example.org/1.png?a=1&b=2"},
        {"Name": "alt", "Value": 'a "cat"'},
    ])
    assert hit["HITLayoutId"] == layout.pk
    assert "<HTMLQuestion" in hit["Question"]
    assert "https://img.example.org/1.png?a=1&amp;b=2" in hit["Question"]
    assert "a &quot;cat&quot;" in hit["Question"]
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITLayoutId"] == layout.pk


def _layout(handle, html='<p>${image_url}</p>'):
    return HITLayout.objects.create(id=ids.entity_id(), requester=handle.requester, environment="live",
                                    name="Label", html=html, created_at=clock.now())


@pytest.mark.parametrize("question, needle", [
    ("<HTMLQuestion><unclosed>", "not well-formed XML"),
    ('<?xml version="1.0"?><Survey xmlns="urn:x"><Q/></Survey>',
     "'HTMLQuestion', 'ExternalQuestion', or 'QuestionForm'"),
    (EXTERNAL_QUESTION.replace("https://", "http://"), "HTTPS"),
    (HTML_QUESTION.replace("<FrameHeight>", "<!--" + "x" * 66_000 + "--><FrameHeight>"), "65535"),
], ids=["malformed", "unknown-root", "http-external-url", "over-65535-bytes"])
def test_bad_questions_are_refused_and_nothing_is_created_or_reserved(api, question, needle):
    client = api().client()
    failure = refused(client.create_hit, **hit_args(Question=question))
    assert (failure.code, failure.status) == ("RequestError", 400)
    assert failure.turk_code.startswith("AWS.MechanicalTurk.")
    assert needle in failure.message
    assert client.list_hits()["HITs"] == []
    assert _balance(client) == "1000.00"


def test_question_and_layout_together_are_refused(api):
    handle = api()
    client = handle.client()
    layout = _layout(handle)
    failure = refused(client.create_hit, **hit_args(HITLayoutId=layout.pk,
                                                    HITLayoutParameters=[{"Name": "image_url", "Value": "x"}]))
    assert failure.code == "RequestError"
    assert "exactly one of Question or HITLayoutId" in failure.message
    assert client.list_hits()["HITs"] == []


def test_neither_question_nor_layout_is_refused(api):
    client = api().client()
    failure = refused(client.create_hit, **hit_args(Question=None))
    assert failure.code == "RequestError"
    assert "exactly one of Question or HITLayoutId" in failure.message
    assert client.list_hits()["HITs"] == []
    assert _balance(client) == "1000.00"


def test_a_missing_layout_parameter_is_refused_by_name(api):
    handle = api()
    client = handle.client()
    layout = _layout(handle, html="<p>${image_url} ${caption}</p>")
    failure = refused(client.create_hit, **hit_args(Question=None, HITLayoutId=layout.pk,
                                                    HITLayoutParameters=[{"Name": "image_url", "Value": "x"}]))
    assert failure.code == "RequestError"
    assert "caption" in failure.message
    assert client.list_hits()["HITs"] == []


def test_another_requesters_layout_does_not_exist(api):
    owner, other = api(), api()
    layout = _layout(owner)
    failure = refused(other.client().create_hit, **hit_args(Question=None, HITLayoutId=layout.pk,
                                                            HITLayoutParameters=[{"Name": "image_url",
                                                                                  "Value": "x"}]))
    assert failure.turk_code == "AWS.MechanicalTurk.HITLayoutDoesNotExist"
    assert "does not exist" in failure.message


def test_create_hit_with_insufficient_funds_is_refused(api):
    client = api(funds_cents=100).client()
    failure = refused(client.create_hit, **hit_args(Reward="1.00", MaxAssignments=1))
    assert failure.turk_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert "insufficient funds" in failure.message
    assert client.list_hits()["HITs"] == []
    assert _balance(client) == "1.00"


def test_a_repeated_unique_request_token_names_the_existing_hit(api):
    client = api().client()
    first = create_hit(client, UniqueRequestToken="otree_abc123")
    failure = refused(client.create_hit, **hit_args(UniqueRequestToken="otree_abc123"))
    assert failure.turk_code == "AWS.MechanicalTurk.HitAlreadyExists"
    assert first["HITId"] in failure.message
    assert _ids(client.list_hits()["HITs"]) == [first["HITId"]]


# --- HIT types -------------------------------------------------------------------------------------------


def test_create_hit_type_with_identical_attributes_returns_the_same_id(api):
    client = api().client()
    first = client.create_hit_type(**hit_type_args(QualificationRequirements=[LOCALE_US]))["HITTypeId"]
    again = client.create_hit_type(**hit_type_args(QualificationRequirements=[LOCALE_US]))["HITTypeId"]
    other = client.create_hit_type(**hit_type_args(Reward="0.51"))["HITTypeId"]
    assert first == again
    assert other != first


def test_hit_types_are_separate_per_requester(api):
    one, two = api().client(), api().client()
    assert one.create_hit_type(**hit_type_args())["HITTypeId"] != two.create_hit_type(**hit_type_args())["HITTypeId"]


def test_create_hit_with_hit_type_takes_the_types_attributes(api):
    client = api().client()
    type_id = client.create_hit_type(**hit_type_args(QualificationRequirements=[LOCALE_US]))["HITTypeId"]
    hit = client.create_hit_with_hit_type(HITTypeId=type_id, LifetimeInSeconds=600, MaxAssignments=2,
                                          Question=EXTERNAL_QUESTION, RequesterAnnotation="batch=1")["HIT"]
    assert set(hit) >= HIT_FIELDS
    assert hit["HITTypeId"] == type_id
    assert (hit["Title"], hit["Description"], hit["Reward"], hit["Keywords"]) == (
        "Label a picture", "Say what is in the picture", "0.50", "image, label")
    assert hit["AutoApprovalDelayInSeconds"] == 86400
    assert hit["QualificationRequirements"] == [LOCALE_US]
    second = client.create_hit_with_hit_type(HITTypeId=type_id, LifetimeInSeconds=600,
                                             Question=EXTERNAL_QUESTION)["HIT"]
    assert second["MaxAssignments"] == 1  # MTurk's default
    assert second["HITGroupId"] == hit["HITGroupId"]
    assert second["HITGroupId"] != create_hit(client, Title="Something else")["HITGroupId"]


def test_create_hit_finds_the_matching_hit_type(api):
    client = api().client()
    type_id = client.create_hit_type(**hit_type_args(AutoApprovalDelayInSeconds=None, Keywords=None))["HITTypeId"]
    assert create_hit(client)["HITTypeId"] == type_id


def test_create_hit_with_an_unknown_hit_type_is_refused(api):
    client = api().client()
    failure = refused(client.create_hit_with_hit_type, HITTypeId="3NOSUCHTYPE", LifetimeInSeconds=600,
                      Question=HTML_QUESTION)
    assert failure.code == "RequestError"
    assert "does not exist" in failure.message
    assert client.list_hits()["HITs"] == []


# --- GetHIT / ListHITs -----------------------------------------------------------------------------------


def test_get_hit_of_an_unknown_id_uses_mturks_wording(api):
    failure = refused(api().client().get_hit, HITId="3NOSUCHHIT")
    assert failure.turk_code == "AWS.MechanicalTurk.HITDoesNotExist"
    assert failure.bare_message == "Hit 3NOSUCHHIT does not exist."


def test_list_hits_shows_the_callers_hits_with_all_fields(api):
    client = api().client()
    made = [create_hit(client)["HITId"] for _ in range(3)]
    listed = client.list_hits()
    assert listed["NumResults"] == 3
    assert sorted(_ids(listed["HITs"])) == sorted(made)
    for hit in listed["HITs"]:
        assert set(hit) >= HIT_FIELDS


def test_list_hits_when_there_are_none(api):
    listed = api().client().list_hits()
    assert listed["HITs"] == [] and listed["NumResults"] == 0 and "NextToken" not in listed


# --- Counters through the lifecycle ----------------------------------------------------------------------


def test_counters_follow_accepts_and_submissions(api, worker_factory):
    from .helpers import accept, submit

    client = api().client()
    hit = create_hit(client, MaxAssignments=2)
    w1, w2 = worker_factory(), worker_factory()
    a1 = accept(w1, hit["HITId"])
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["NumberOfAssignmentsAvailable"], got["NumberOfAssignmentsPending"]) == (1, 1)
    a2 = accept(w2, hit["HITId"])
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["HITStatus"] == "Unassignable"
    submit(w1, a1)
    submit(w2, a2)
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["HITStatus"] == "Reviewable"
    assert (got["NumberOfAssignmentsAvailable"], got["NumberOfAssignmentsPending"],
            got["NumberOfAssignmentsCompleted"]) == (0, 0, 0)
    client.approve_assignment(AssignmentId=a1)
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["NumberOfAssignmentsCompleted"] == 1
    # psiTurk: submitted-but-unreviewed = Max - Completed - Pending - Available
    assert got["MaxAssignments"] - got["NumberOfAssignmentsCompleted"] - got["NumberOfAssignmentsPending"] \
        - got["NumberOfAssignmentsAvailable"] == 1


# --- ListReviewableHITs ----------------------------------------------------------------------------------


def test_list_reviewable_hits_defaults_to_reviewable_and_filters_by_status_and_type(api, worker_factory):
    client = api().client()
    type_a = client.create_hit_type(**hit_type_args())["HITTypeId"]
    type_b = client.create_hit_type(**hit_type_args(Title="Other"))["HITTypeId"]

    def make(type_id):
        return client.create_hit_with_hit_type(HITTypeId=type_id, LifetimeInSeconds=600,
                                               Question=HTML_QUESTION)["HIT"]["HITId"]

    open_hit = make(type_a)
    done_a = make(type_a)
    do_work(worker_factory(), done_a)
    expired_b = make(type_b)
    _expire(client, expired_b)
    reviewing_a = make(type_a)
    _expire(client, reviewing_a)
    client.update_hit_review_status(HITId=reviewing_a, Revert=False)

    assert sorted(_ids(client.list_reviewable_hits()["HITs"])) == sorted([done_a, expired_b])
    assert sorted(_ids(client.list_reviewable_hits(Status="Reviewable")["HITs"])) == sorted([done_a, expired_b])
    assert _ids(client.list_reviewable_hits(Status="Reviewing")["HITs"]) == [reviewing_a]
    assert _ids(client.list_reviewable_hits(HITTypeId=type_a)["HITs"]) == [done_a]
    assert _ids(client.list_reviewable_hits(HITTypeId=type_b, Status="Reviewing")["HITs"]) == []
    assert open_hit not in _ids(client.list_reviewable_hits()["HITs"])
    listed = client.list_reviewable_hits(HITTypeId=type_a)
    assert listed["NumResults"] == 1 and set(listed["HITs"][0]) >= HIT_FIELDS


def test_list_reviewable_hits_counts_timers_that_have_elapsed(api, worker_factory, move_clock):
    from .helpers import accept

    client = api().client()
    hit = create_hit(client, LifetimeInSeconds=300, AssignmentDurationInSeconds=60, MaxAssignments=1)
    accept(worker_factory(), hit["HITId"])  # taken, then abandoned when its deadline passes
    assert client.list_reviewable_hits()["HITs"] == []
    move_clock(400)  # the deadline and the HIT's lifetime have both passed
    assert _ids(client.list_reviewable_hits()["HITs"]) == [hit["HITId"]]


# --- ListHITsForQualificationType ------------------------------------------------------------------------


def test_list_hits_for_qualification_type_finds_hits_requiring_it(api):
    client = api().client()
    with_locale = create_hit(client, QualificationRequirements=[LOCALE_US])["HITId"]
    with_both = create_hit(client, QualificationRequirements=[APPROVAL_95, LOCALE_US])["HITId"]
    create_hit(client)
    listed = client.list_hits_for_qualification_type(QualificationTypeId=system.LOCALE)
    assert sorted(_ids(listed["HITs"])) == sorted([with_locale, with_both])
    assert listed["NumResults"] == 2
    assert _ids(client.list_hits_for_qualification_type(
        QualificationTypeId=system.PERCENT_APPROVED)["HITs"]) == [with_both]


def test_list_hits_for_qualification_type_excludes_deleted_hits(api):
    client = api().client()
    hit = create_hit(client, QualificationRequirements=[LOCALE_US])["HITId"]
    _expire(client, hit)
    client.delete_hit(HITId=hit)
    assert client.list_hits_for_qualification_type(QualificationTypeId=system.LOCALE)["HITs"] == []


def test_list_hits_for_an_unknown_qualification_type_is_refused(api):
    failure = refused(api().client().list_hits_for_qualification_type, QualificationTypeId="3NOSUCHQUAL")
    assert failure.code == "RequestError"
    assert "does not exist" in failure.message


# --- UpdateExpirationForHIT ------------------------------------------------------------------------------


@pytest.mark.parametrize("expire_at", [0, dt.datetime(2015, 1, 1), "now", 1420070400.0],
                         ids=["epoch-0", "datetime-2015", "now", "float-2015"])
def test_update_expiration_to_the_past_expires_the_hit_at_once(api, expire_at):
    client = api().client()
    hit = create_hit(client)
    if expire_at == "now":
        expire_at = dt.datetime.now(dt.UTC)
    assert client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=expire_at).keys() == {"ResponseMetadata"}
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["HITStatus"] == "Reviewable"
    assert got["Expiration"] <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert got["NumberOfAssignmentsAvailable"] == 3  # unfilled slots stay visible (Mephisto)
    assert _balance(client) == "1000.00"  # escrow for unfilled slots released
    # Expiring again is harmless (clients expire before deleting, ignoring errors or not).
    client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=0)


def test_update_expiration_to_the_future_extends_the_hit(api):
    client = api().client()
    hit = create_hit(client, LifetimeInSeconds=3600)
    later = hit["Expiration"].replace(microsecond=0) + dt.timedelta(hours=2)
    client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=later)
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["Expiration"] == later
    assert got["HITStatus"] == "Assignable"


def test_an_expired_hit_extended_into_the_future_is_assignable_again(api):
    client = api().client()
    hit = create_hit(client)
    _expire(client, hit["HITId"])
    client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["HITStatus"] == "Assignable"
    assert _balance(client) == "998.20"  # escrow for the open slots is held again


def test_expiring_and_extending_again_and_again_keeps_the_balance_right(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    for hours in (1, 2, 3):
        _expire(client, hit)
        assert client.get_account_balance()["OnHoldBalance"] == "0.00"
        client.update_expiration_for_hit(HITId=hit, ExpireAt=dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours))
        assert client.get_account_balance()["OnHoldBalance"] == "1.80"
    assert _balance(client) == "998.20"


def test_extending_an_expired_hit_needs_the_funds_for_its_open_slots(api):
    client = api(funds_cents=200).client()
    hit = create_hit(client, Reward="1.00", MaxAssignments=1)["HITId"]
    _expire(client, hit)
    create_hit(client, Reward="0.50", MaxAssignments=1)
    create_hit(client, Reward="0.50", MaxAssignments=1)  # 1.20 held: 0.80 left, short of the 1.20 needed
    failure = refused(client.update_expiration_for_hit, HITId=hit,
                      ExpireAt=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert failure.turk_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"
    assert _balance(client) == "0.80"


def test_update_expiration_cannot_shorten_a_future_expiry(api):
    client = api().client()
    hit = create_hit(client, LifetimeInSeconds=7200)
    failure = refused(client.update_expiration_for_hit, HITId=hit["HITId"],
                      ExpireAt=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    assert failure.code == "RequestError"
    assert "not shortened" in failure.message
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Expiration"] == hit["Expiration"]


def test_update_expiration_of_an_unknown_hit(api):
    failure = refused(api().client().update_expiration_for_hit, HITId="3NOSUCHHIT", ExpireAt=0)
    assert failure.turk_code == "AWS.MechanicalTurk.HITDoesNotExist"


# --- CreateAdditionalAssignmentsForHIT ------------------------------------------------------------------


def test_additional_assignments_add_slots_and_reserve_their_cost(api):
    client = api().client()
    hit = create_hit(client, MaxAssignments=3)
    assert client.create_additional_assignments_for_hit(
        HITId=hit["HITId"], NumberOfAdditionalAssignments=2).keys() == {"ResponseMetadata"}
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["MaxAssignments"], got["NumberOfAssignmentsAvailable"]) == (5, 5)
    assert _balance(client) == "997.00"


def test_additional_assignments_make_a_reviewable_hit_assignable(api, worker_factory):
    client = api().client()
    hit = create_hit(client, MaxAssignments=1)
    do_work(worker_factory(), hit["HITId"])
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITStatus"] == "Reviewable"
    client.create_additional_assignments_for_hit(HITId=hit["HITId"], NumberOfAdditionalAssignments=1)
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITStatus"] == "Assignable"


def test_additional_assignments_may_not_cross_from_below_ten_to_ten(api):
    client = api().client()
    hit = create_hit(client, MaxAssignments=9)
    failure = refused(client.create_additional_assignments_for_hit, HITId=hit["HITId"],
                      NumberOfAdditionalAssignments=1)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["MaxAssignments"] == 9


def test_additional_assignments_with_a_repeated_token_are_refused(api):
    client = api().client()
    hit = create_hit(client, MaxAssignments=1)
    client.create_additional_assignments_for_hit(HITId=hit["HITId"], NumberOfAdditionalAssignments=1,
                                                 UniqueRequestToken="1700000000.123")
    failure = refused(client.create_additional_assignments_for_hit, HITId=hit["HITId"],
                      NumberOfAdditionalAssignments=1, UniqueRequestToken="1700000000.123")
    assert failure.code == "RequestError"
    assert 'The idempotency token "1700000000.123" has already been processed.' in failure.message
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["MaxAssignments"] == 2


# --- UpdateHITReviewStatus -------------------------------------------------------------------------------


def test_update_hit_review_status_toggles_reviewable_and_reviewing(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    _expire(client, hit)
    client.update_hit_review_status(HITId=hit)  # Revert defaults to false
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewing"
    client.update_hit_review_status(HITId=hit, Revert=True)
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"


def test_update_hit_review_status_refuses_other_states(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    failure = refused(client.update_hit_review_status, HITId=hit, Revert=False)
    assert failure.code == "RequestError"
    assert "currently in the state 'Assignable'" in failure.message
    _expire(client, hit)
    failure = refused(client.update_hit_review_status, HITId=hit, Revert=True)
    assert "currently in the state 'Reviewable'" in failure.message
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Reviewable"


# --- UpdateHITTypeOfHIT ----------------------------------------------------------------------------------


def test_update_hit_type_of_hit_gives_the_hit_the_new_types_properties(api):
    client = api().client()
    hit = create_hit(client, Reward="0.50", MaxAssignments=2)
    new_type = client.create_hit_type(**hit_type_args(Title="Better title", Reward="1.00"))["HITTypeId"]
    assert client.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=new_type).keys() == {"ResponseMetadata"}
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["HITTypeId"], got["Title"], got["Reward"]) == (new_type, "Better title", "1.00")
    assert _balance(client) == "997.60"  # 2 slots re-priced at 1.00 + 20%


def test_update_hit_type_of_hit_to_an_unknown_type(api):
    client = api().client()
    hit = create_hit(client)
    failure = refused(client.update_hit_type_of_hit, HITId=hit["HITId"], HITTypeId="3NOSUCHTYPE")
    assert "does not exist" in failure.message
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITTypeId"] == hit["HITTypeId"]


# --- DeleteHIT -------------------------------------------------------------------------------------------


def test_delete_hit_refuses_an_assignable_hit_with_mturks_wording(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    failure = refused(client.delete_hit, HITId=hit)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidHITState"
    assert "This HIT is currently in the state 'Assignable'. This operation can be called with a status of: " \
        "Reviewing, Reviewable" in failure.message
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Assignable"


def test_delete_hit_disposes_of_an_expired_hit_and_a_second_delete_names_disposed(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    _expire(client, hit)
    assert client.delete_hit(HITId=hit).keys() == {"ResponseMetadata"}
    assert client.list_hits()["HITs"] == []
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Disposed"
    failure = refused(client.delete_hit, HITId=hit)
    assert "currently in the state 'Disposed'" in failure.message  # Dallinger's "already deleted"
    assert _balance(client) == "1000.00"


def test_delete_hit_disposes_of_a_reviewing_hit(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    _expire(client, hit)
    client.update_hit_review_status(HITId=hit, Revert=False)
    client.delete_hit(HITId=hit)
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Disposed"


def test_delete_hit_waits_until_submitted_work_is_reviewed(api, worker_factory):
    client = api().client()
    hit = create_hit(client, MaxAssignments=1)["HITId"]
    work = do_work(worker_factory(), hit)
    failure = refused(client.delete_hit, HITId=hit)
    assert failure.turk_code == "AWS.MechanicalTurk.InvalidHITState"
    client.approve_assignment(AssignmentId=work.assignment_id)
    client.delete_hit(HITId=hit)
    assert client.get_hit(HITId=hit)["HIT"]["HITStatus"] == "Disposed"


def test_a_deleted_hit_cannot_be_extended(api):
    client = api().client()
    hit = create_hit(client)["HITId"]
    _expire(client, hit)
    client.delete_hit(HITId=hit)
    failure = refused(client.update_expiration_for_hit, HITId=hit,
                      ExpireAt=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert "currently in the state 'Disposed'" in failure.message
    failure = refused(client.create_additional_assignments_for_hit, HITId=hit, NumberOfAdditionalAssignments=1)
    assert "currently in the state 'Disposed'" in failure.message
    assert HIT.objects.get(pk=hit).max_assignments == 3
