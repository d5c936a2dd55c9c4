"""Pagination as botocore's paginators, the AWS CLI and hand-written loops (oTree, Mephisto, Dallinger) use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kempelen.qualifications import system

from .helpers import create_hit, do_work, refused

pytestmark = pytest.mark.django_db(transaction=True)

LOCALE_US = {"QualificationTypeId": system.LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}


@dataclass
class Listing:
    """A paginated operation with ``n`` items to find, and how to recognise each item."""

    client: Any
    operation: str  # the boto3 method name, which is also the paginator's name
    kwargs: dict[str, Any]
    member: str
    key: Callable[[dict], str]
    expected: list[str] = field(default_factory=list)

    def call(self, **extra: Any) -> dict:
        return getattr(self.client, self.operation)(**self.kwargs, **extra)


def _hits(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    ids = [create_hit(client)["HITId"] for _ in range(n)]
    return Listing(client, "list_hits", {}, "HITs", lambda h: h["HITId"], ids)


def _reviewable_hits(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    create_hit(client)  # an open HIT, never listed
    ids = []
    for _ in range(n):
        hit_id = create_hit(client)["HITId"]
        client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
        ids.append(hit_id)
    return Listing(client, "list_reviewable_hits", {}, "HITs", lambda h: h["HITId"], ids)


def _hits_for_qualification_type(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    create_hit(client)  # no requirement, never listed
    ids = [create_hit(client, QualificationRequirements=[LOCALE_US])["HITId"] for _ in range(n)]
    return Listing(client, "list_hits_for_qualification_type", {"QualificationTypeId": system.LOCALE}, "HITs",
                   lambda h: h["HITId"], ids)


def _assignments(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    hit_id = create_hit(client, MaxAssignments=max(n, 1))["HITId"]
    ids = [do_work(worker_factory(), hit_id).assignment_id for _ in range(n)]
    return Listing(client, "list_assignments_for_hit", {"HITId": hit_id}, "Assignments",
                   lambda a: a["AssignmentId"], ids)


def _bonus_payments(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    hit_id = create_hit(client, MaxAssignments=1)["HITId"]
    work = do_work(worker_factory(), hit_id)
    reasons = [f"bonus {i}" for i in range(n)]
    for reason in reasons:
        client.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount="0.01",
                          Reason=reason)
    return Listing(client, "list_bonus_payments", {"HITId": hit_id}, "BonusPayments", lambda b: b["Reason"],
                   reasons)


def _worker_blocks(handle, worker_factory, n: int) -> Listing:
    client = handle.client()
    ids = [f"A{i:013d}" for i in range(1, n + 1)]
    for worker_id in ids:
        client.create_worker_block(WorkerId=worker_id, Reason="spam")
    return Listing(client, "list_worker_blocks", {}, "WorkerBlocks", lambda b: b["WorkerId"], ids)


BUILDERS = {
    "ListHITs": _hits,
    "ListReviewableHITs": _reviewable_hits,
    "ListHITsForQualificationType": _hits_for_qualification_type,
    "ListAssignmentsForHIT": _assignments,
    "ListBonusPayments": _bonus_payments,
    "ListWorkerBlocks": _worker_blocks,
}
operations = pytest.mark.parametrize("operation", list(BUILDERS))


@pytest.fixture
def listing(api, worker_factory):
    def build(operation: str, n: int) -> Listing:
        return BUILDERS[operation](api(), worker_factory, n)

    return build


def test_every_paginated_operation_of_these_groups_is_covered():
    import botocore.session

    paginated = set(botocore.session.get_session().get_paginator_model("mturk")._paginator_config)
    mine = paginated - {"ListQualificationRequests", "ListQualificationTypes", "ListWorkersWithQualificationType"}
    assert mine == set(BUILDERS)


@operations
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_the_paginator_collects_every_item_exactly_once(listing, operation, page_size):
    found = listing(operation, 7)
    paginator = found.client.get_paginator(found.operation)
    seen = []
    pages = 0
    for page in paginator.paginate(**found.kwargs, PaginationConfig={"PageSize": page_size}):
        assert len(page[found.member]) <= page_size
        assert page["NumResults"] == len(page[found.member])
        seen += [found.key(item) for item in page[found.member]]
        pages += 1
    assert sorted(seen) == sorted(found.expected)
    assert len(seen) == len(set(seen))
    assert pages >= -(-7 // page_size)


@operations
def test_the_default_page_size_is_ten(listing, operation):
    found = listing(operation, 12)
    first = found.call()
    assert len(first[found.member]) == 10
    assert first["NumResults"] == 10
    second = found.call(NextToken=first["NextToken"])
    assert len(second[found.member]) == 2
    assert sorted(found.key(i) for i in first[found.member] + second[found.member]) == sorted(found.expected)


@operations
def test_every_non_empty_page_has_a_token_and_the_last_page_is_empty_without_one(listing, operation):
    found = listing(operation, 4)
    sizes = []
    token = None
    for _ in range(10):  # a hand-written loop, as oTree's and Mephisto's
        page = found.call(MaxResults=3, **({"NextToken": token} if token else {}))
        sizes.append(len(page[found.member]))
        if not page[found.member]:
            assert "NextToken" not in page
            assert page["NumResults"] == 0
            break
        assert page["NextToken"]
        token = page["NextToken"]
    assert sizes == [3, 1, 0]


@operations
def test_an_empty_listing_has_no_token(listing, operation):
    found = listing(operation, 0)
    page = found.call()
    assert page[found.member] == [] and page["NumResults"] == 0 and "NextToken" not in page


@operations
def test_max_results_over_100_is_a_validation_exception(listing, operation):
    found = listing(operation, 1)
    failure = refused(found.call, MaxResults=101)
    assert failure.code == "ValidationException"
    assert "maxResults" in failure.message and "less than or equal to 100" in failure.message


@operations
def test_max_results_100_is_allowed(listing, operation):
    found = listing(operation, 2)
    assert sorted(found.key(i) for i in found.call(MaxResults=100)[found.member]) == sorted(found.expected)


@operations
@pytest.mark.parametrize("spoil", ["garbage", "flip-a-character", "truncate"])
def test_a_garbage_or_tampered_token_is_refused_clearly(listing, operation, spoil):
    found = listing(operation, 2)
    token = found.call(MaxResults=1)["NextToken"]
    if spoil == "garbage":
        bad = "not-a-real-token"
    elif spoil == "flip-a-character":
        i = len(token) // 3
        bad = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    else:
        bad = token[:-3]
    failure = refused(found.call, NextToken=bad)
    assert failure.status == 400
    assert failure.code in ("RequestError", "ValidationException")
    assert "pagination token is invalid" in failure.message


def test_a_token_of_one_listing_is_refused_by_another(api, worker_factory):
    hits = _hits(api(), worker_factory, 2)
    token = hits.call(MaxResults=1)["NextToken"]
    failure = refused(hits.client.list_worker_blocks, NextToken=token)
    assert "pagination token is invalid" in failure.message


def test_a_token_of_one_requester_reveals_nothing_to_another(api, worker_factory):
    mine = _hits(api(), worker_factory, 3)
    token = mine.call(MaxResults=1)["NextToken"]
    other = api().client()
    create_hit(other)
    try:
        page = other.list_hits(NextToken=token)
    except other.exceptions.RequestError:
        return
    assert not {h["HITId"] for h in page["HITs"]} & set(mine.expected)


def test_disposed_hits_are_absent_from_list_hits_on_every_page(api, worker_factory):
    found = _hits(api(), worker_factory, 6)
    for hit_id in found.expected[1::2]:
        found.client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
        found.client.delete_hit(HITId=hit_id)
    paginator = found.client.get_paginator("list_hits")
    seen = [h["HITId"] for page in paginator.paginate(PaginationConfig={"PageSize": 2}) for h in page["HITs"]]
    assert sorted(seen) == sorted(found.expected[0::2])


def test_hits_created_while_paginating_are_found_and_none_repeats(api, worker_factory):
    found = _hits(api(), worker_factory, 4)
    first = found.call(MaxResults=2)
    added = create_hit(found.client)["HITId"]
    seen = [h["HITId"] for h in first["HITs"]]
    token = first["NextToken"]
    while token:
        page = found.call(MaxResults=2, NextToken=token)
        seen += [h["HITId"] for h in page["HITs"]]
        token = page.get("NextToken")
    assert sorted(seen) == sorted([*found.expected, added])


def test_list_hits_pages_are_in_creation_order(api, worker_factory):
    found = _hits(api(), worker_factory, 5)
    paginator = found.client.get_paginator("list_hits")
    seen = [h["HITId"] for page in paginator.paginate(PaginationConfig={"PageSize": 2}) for h in page["HITs"]]
    assert seen == found.expected
