"""The worker's dashboard in a real browser, after the requester approved, paid a bonus and wrote, through boto3."""

import pytest
from playwright.sync_api import expect

from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.questions.answers import Answer, answers_xml
from tests.browser.conftest import CLASSIC_TEMPLATE, create_hit, html_question
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _do(worker, hit_id: str) -> str:
    actor = Actor.for_worker(worker)
    assignment = actions.accept_assignment(actor=actor, worker=worker, environment="live", hit_id=hit_id)
    actions.submit_assignment(actor=actor, worker=worker, assignment_id=assignment.pk,
                              answer_xml=answers_xml([Answer(identifier="animal", free_text="fox")]))
    return assignment.pk


def test_the_dashboard_shows_the_approval_the_bonus_with_its_reason_and_the_message(api, page, sign_in):
    client = api().client()
    worker = make_worker()
    approved = _do(worker, create_hit(client, html_question(CLASSIC_TEMPLATE), title="Name the owl", reward="0.40"))
    _do(worker, create_hit(client, html_question(CLASSIC_TEMPLATE), title="Name the hare", reward="0.25"))

    client.approve_assignment(AssignmentId=approved, RequesterFeedback="Careful work, thank you.")
    client.send_bonus(WorkerId=worker.worker_id, AssignmentId=approved, BonusAmount="1.10",
                      Reason="You spotted the second owl.", UniqueRequestToken="owl-bonus-1")
    client.notify_workers(Subject="More owls next week", MessageText="We will post more owl HITs.",
                          WorkerIds=[worker.worker_id])
    sign_in(worker)

    page.goto("/worker/dashboard")
    money = page.get_by_role("region", name="Earnings")
    expect(money.get_by_role("definition").nth(0)).to_have_text("$0.25")  # pending approval: the hare
    expect(money.get_by_role("definition").nth(1)).to_have_text("$0.40")  # approved rewards: the owl
    expect(money.get_by_role("definition").nth(2)).to_have_text("$1.10")  # bonuses
    expect(money).to_contain_text("Total earned$1.50")
    expect(page.get_by_role("region", name="Your assignments")).to_contain_text("1 Approved")
    expect(page.get_by_role("region", name="Latest messages")).to_contain_text("More owls next week")

    # The approved assignment, with the requester's feedback and the bonus and its reason.
    page.get_by_role("region", name="Your assignments").get_by_role("link", name="Approved").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Name the owl"))
    expect(card).to_contain_text("Approved")
    expect(card).to_contain_text("Careful work, thank you.")
    expect(card).to_contain_text("Bonuses for this assignment ($1.10)")
    expect(card).to_contain_text("Reason: You spotted the second owl.")
    expect(page.get_by_role("heading", name="Name the hare")).to_have_count(0)

    # Earnings: the bonus with its reason.
    page.goto("/worker/dashboard/earnings")
    bonuses = page.get_by_role("region", name="Bonuses")
    expect(bonuses.get_by_role("row").filter(has_text="You spotted the second owl.")).to_contain_text("$1.10")
