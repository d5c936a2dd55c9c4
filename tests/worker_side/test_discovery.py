"""What a worker may discover and preview: the queries the worker pages are built on."""

import pytest

from kempelen.core.errors import NotQualified
from kempelen.marketplace.queries import discoverable_groups, hit_for_preview
from tests.conftest import make_requester, make_worker

LOCALE = "00000000000000000071"
QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<form><input name="x"></form>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"""


def _group(client, title, reward="0.10", requirements=(), keywords=""):
    hit_type = client.create_hit_type(
        Title=title, Description=f"{title} task", Reward=reward, AssignmentDurationInSeconds=300,
        Keywords=keywords, QualificationRequirements=list(requirements),
    )["HITTypeId"]
    client.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=600, Question=QUESTION, MaxAssignments=2)
    return hit_type


def _titles(groups):
    return [g.hit_type.title for g in groups]


@pytest.mark.django_db(transaction=True)
def test_groups_guarded_from_discovery_never_appear_to_unqualified_workers(api):
    client = api().client()
    _group(client, "Open to all")
    us_only = {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}],
               "ActionsGuarded": "DiscoverPreviewAndAccept"}
    _group(client, "US only", requirements=[us_only])
    assert sorted(_titles(discoverable_groups(make_worker(country="US"), "live"))) == ["Open to all", "US only"]
    assert _titles(discoverable_groups(make_worker(country="DE"), "live")) == ["Open to all"]


@pytest.mark.django_db(transaction=True)
def test_qualified_only_hides_groups_whose_accept_requirements_fail(api):
    client = api().client()
    accept_guarded = {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
    _group(client, "Visible but not for you", requirements=[accept_guarded])
    worker = make_worker(country="FR")
    assert _titles(discoverable_groups(worker, "live")) == ["Visible but not for you"]
    assert discoverable_groups(worker, "live", qualified_only=True) == []


@pytest.mark.django_db(transaction=True)
def test_a_blocked_worker_no_longer_sees_that_requesters_groups(api):
    client = api().client()
    _group(client, "From a requester who blocks")
    _group(api().client(), "From another requester")
    worker = make_worker()
    client.create_worker_block(WorkerId=worker.worker_id, Reason="copied answers")
    assert _titles(discoverable_groups(worker, "live")) == ["From another requester"]


@pytest.mark.django_db(transaction=True)
def test_search_filters_and_sorts_groups(api):
    client = api().client()
    _group(client, "Transcribe audio", reward="0.50", keywords="audio,speech")
    _group(client, "Label cats", reward="0.05", keywords="image")
    _group(client, "Label dogs", reward="0.20", keywords="image")
    worker = make_worker()
    assert _titles(discoverable_groups(worker, "live", sort="reward")) == ["Transcribe audio", "Label dogs", "Label cats"]
    assert sorted(_titles(discoverable_groups(worker, "live", search="label"))) == ["Label cats", "Label dogs"]
    assert _titles(discoverable_groups(worker, "live", search="speech")) == ["Transcribe audio"]
    assert _titles(discoverable_groups(worker, "live", min_reward_cents=20, sort="reward")) == [
        "Transcribe audio", "Label dogs"]
    assert len(discoverable_groups(worker, "live", limit=2)) == 2
    assert len(discoverable_groups(worker, "live", offset=2, limit=2)) == 1
    assert discoverable_groups(worker, "sandbox") == []


@pytest.mark.django_db(transaction=True)
def test_preview_is_refused_when_a_preview_guarded_requirement_fails(api):
    client = api().client()
    guarded = {"QualificationTypeId": LOCALE, "Comparator": "In",
               "LocaleValues": [{"Country": "US"}, {"Country": "CA"}], "ActionsGuarded": "PreviewAndAccept"}
    hit_type = _group(client, "North America", requirements=[guarded])
    assert hit_for_preview(make_worker(country="CA"), "live", hit_type).hit_type_id == hit_type
    with pytest.raises(NotQualified, match="Worker_Locale one of US, CA"):
        hit_for_preview(make_worker(country="GB"), "live", hit_type)


@pytest.mark.django_db
def test_make_requester_helper_gives_live_funds():
    handle = make_requester()
    from kempelen.ledger.queries import requester_balances

    assert requester_balances(handle.requester, "live") == (100_000, 0)


@pytest.mark.django_db(transaction=True)
def test_the_group_list_may_be_as_old_as_its_max_age_and_no_older(api, settings, move_clock):
    settings.KEMPELEN = {**settings.KEMPELEN, "GROUP_LIST_MAX_AGE": 2}
    client = api().client()
    _group(client, "First")
    worker = make_worker()
    assert _titles(discoverable_groups(worker, "live")) == ["First"]
    _group(client, "Second")
    assert _titles(discoverable_groups(worker, "live")) == ["First"]  # the copy made a moment ago
    # Other searches are aggregated on their own and see the new group at once; so does the group page.
    assert _titles(discoverable_groups(worker, "live", search="Second")) == ["Second"]
    move_clock(2.5)
    assert sorted(_titles(discoverable_groups(worker, "live"))) == ["First", "Second"]
